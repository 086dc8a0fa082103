"""Follow running broadcasts: edit each one's progress message (at most every 3 s, SPEC
§6) and, when no copy is waiting any more, post the summary once."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, ContextTypes

from bot.app import Deps, deps_of
from bot.db import transaction
from bot.flood import patiently
from bot.i18n import _, ngettext, use_locale
from bot.models import Announcement, TelegramUser
from bot.services import broadcasts
from bot.services.broadcasts import Progress
from bot.text import Html, bold, escape, html_format, join_lines

log = logging.getLogger(__name__)

EDIT_EVERY = timedelta(seconds=3)
CHECK_EVERY_SECONDS = 1.0


def schedule(application: Application) -> None:
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        progress_job, interval=CHECK_EVERY_SECONDS, first=CHECK_EVERY_SECONDS, name="broadcasts"
    )


async def progress_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await follow(deps_of(context), context.bot)
    except Exception:
        log.exception("broadcast progress pass failed")


def progress_text(announcement: Announcement, progress: Progress) -> Html:
    return html_format(
        _("📣 Announcement #{id}: sent {sent}/{total} · {failed} failed"),
        id=announcement.id,
        sent=progress.delivered,
        total=progress.total,
        failed=progress.failed,
    )


def summary_text(announcement: Announcement, progress: Progress) -> Html:
    lines: list[str] = [
        bold(_("📣 Announcement #{id} is finished.").format(id=announcement.id)),
        html_format(_("Delivered: {n}"), n=progress.delivered),
        html_format(_("Failed: {n}"), n=progress.failed),
        html_format(_("👍 Received: {n}"), n=progress.acks),
    ]
    if progress.unreachable:
        lines.append(
            escape(
                ngettext(
                    "{n} member cannot be reached in private (never started the bot, or "
                    "blocked it):",
                    "{n} members cannot be reached in private (never started the bot, or "
                    "blocked it):",
                    len(progress.unreachable),
                ).format(n=len(progress.unreachable))
            )
        )
        lines += [html_format("• {name}", name=name) for name in progress.unreachable]
    if progress.failures:
        lines.append(escape(_("Not delivered after several attempts:")))
        lines += [html_format("• {name}", name=name) for name in progress.failures]
    return join_lines(lines)


async def follow(deps: Deps, bot: Bot) -> None:
    now = deps.clock.now()
    async with transaction(deps.sessions()) as session:
        running = await broadcasts.sending(session)
    for announcement in running:
        await _follow_one(deps, bot, announcement.id, now)


async def _follow_one(deps: Deps, bot: Bot, announcement_id: int, now: datetime) -> None:
    async with transaction(deps.sessions()) as session:
        # Locked: every instance follows every broadcast, and on PostgreSQL two could
        # otherwise both read the old progress_at and both edit within 3 s. (SQLite
        # runs one write transaction at a time anyway.)
        announcement = await session.get(Announcement, announcement_id, with_for_update=True)
        if announcement is None:
            return
        progress = await broadcasts.progress(session, announcement_id)
        admin = await session.get(TelegramUser, announcement.confirmed_by or 0)
        locale = admin.language if admin and admin.language else deps.settings.default_locale
        with use_locale(locale):
            text = progress_text(announcement, progress)
            due = announcement.progress_at is None or now - announcement.progress_at >= EDIT_EVERY
            edit = due and text != announcement.progress_text
            if edit:
                announcement.progress_text, announcement.progress_at = text, now
            # The last edit keeps the 3 s spacing too: the summary waits for its turn.
            finished = (
                progress.finished and due and await broadcasts.finish(session, announcement_id, now)
            )
            summary = summary_text(announcement, progress) if finished else None
    if edit and announcement.progress_message_id is not None:
        try:
            await patiently(
                functools.partial(
                    bot.edit_message_text,
                    text,
                    chat_id=announcement.progress_chat_id,
                    message_id=announcement.progress_message_id,
                    parse_mode=ParseMode.HTML,
                )
            )
        except BadRequest as error:  # "message is not modified", or deleted by the admin
            log.info("broadcast %s: progress not edited: %s", announcement_id, error)
    if summary is not None and announcement.confirmed_by is not None:
        await patiently(
            functools.partial(
                bot.send_message, announcement.confirmed_by, summary, parse_mode=ParseMode.HTML
            )
        )
