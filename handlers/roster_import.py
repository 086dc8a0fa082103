"""/import: an admin sends a roster file with the caption /import, in a private chat.
/invite: fresh invitation links, for one member or for a council's unregistered members.

Both answer with invitation links, which are personal: in a group they are refused, and
a roster sent there is not even downloaded.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram import Document, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.i18n import _, ngettext
from bot.models import Member
from bot.services import invites, roster, roster_template
from bot.services.errors import BadInputError, ServiceError
from bot.services.invites import invite_link
from bot.services.permissions import require_admin
from bot.text import Html, bold, escape, html_format, join_lines
from handlers.common import Reply, Turn, handler, who_is_asking

IMPORT_CAPTION = filters.CaptionRegex(r"^/import(@\w+)?(\s|$)")


async def import_roster(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Look, fetch and read, import: nothing holds the database (on SQLite, its only
    connection) while the file comes from Telegram and is parsed in a worker thread,
    which takes seconds for a large roster. The file is fetched only for an admin in a
    private chat; the import itself is an ordinary handler, which checks again (the right
    may have gone meanwhile) and refuses, or imports, in its one transaction."""
    message = update.effective_message
    document = message.document if message is not None else None
    assert document is not None  # the filter guarantees it
    chat = update.effective_chat
    outcome: list[roster.RosterRow] | ServiceError | None = None
    who = await who_is_asking(update, context)
    in_private = chat is not None and chat.type == ChatType.PRIVATE
    if who.is_admin and in_private:
        if document.file_size and document.file_size > roster.MAX_FILE_BYTES:
            outcome = BadInputError(roster.too_large())
        else:
            outcome = await _read(document)

    @handler
    async def store(turn: Turn) -> Reply:
        refusal = _refusal(turn)
        if refusal is not None:
            return refusal
        if isinstance(outcome, ServiceError):
            raise outcome
        assert outcome is not None  # an admin in private: the file was read
        report = await roster.import_roster(
            turn.session,
            turn.now,
            outcome,
            by=turn.who,
            ttl_days=turn.deps.settings.invite_ttl_days,
        )
        return Reply(render_report(report, turn.context.bot.username))

    await store(update, context)


def _refusal(turn: Turn) -> Reply | None:
    """Admins only, and in private: the answer holds invitation links."""
    require_admin(turn.who)
    if not turn.in_private:
        return Reply(
            escape(
                _(
                    "Send the roster to the bot in a private chat, as a document with the "
                    "caption /import: the answer holds personal invitation links."
                )
            )
        )
    return None


async def _read(document: Document) -> list[roster.RosterRow] | ServiceError:
    telegram_file = await document.get_file()
    data = bytes(await telegram_file.download_as_bytearray())
    try:
        # Off the event loop: everyone else is served while a large file is parsed.
        return await asyncio.to_thread(roster.read_roster, document.file_name or "roster", data)
    except ServiceError as error:
        return error


def render_report(report: roster.ImportReport, bot_username: str) -> Html:
    lines: list[str] = [
        bold(_("Roster imported.")),
        escape(
            _(
                "New members: {new} · updated: {updated} · unchanged: {unchanged} · "
                "refused rows: {errors} · seats removed: {removed}"
            ).format(
                new=len(report.new_members),
                updated=report.updated,
                unchanged=report.unchanged,
                errors=len(report.errors),
                removed=len(report.seats_removed),
            )
        ),
    ]
    if report.errors:
        lines.append("")
        lines.append(bold(_("Rows not imported:")))
        for error in report.errors:
            lines.append(
                html_format(
                    _("Row {row}: {reason}"), row=error.number, reason=error.reason.render()
                )
            )
    if report.seats_removed:
        lines.append("")
        lines.append(
            bold(_("Seats removed (the file names the council but no longer the member):"))
        )
        for removal in report.seats_removed:
            lines.append(
                html_format(
                    "{id}. {name} ({agency}) — {council}",
                    id=removal.member.id,
                    name=removal.member.full_name,
                    agency=removal.member.agency.code,
                    council=removal.council,
                )
            )
    if report.returned:
        lines.append("")
        lines.append(bold(_("Back on the roster (removed before):")))
        for member, _token in report.returned:
            lines.append(html_format("{id}. {name}", id=member.id, name=member.full_name))
    if report.invitations:
        lines.append("")
        lines += _link_lines(report.invitations, bot_username)
    return join_lines(lines)


def _link_lines(issued: list[tuple[Member, str]], bot_username: str) -> list[str]:
    lines: list[str] = [
        bold(
            ngettext(
                "Invitation link (send it to the member personally; valid once):",
                "Invitation links (send each to its member personally; each valid once):",
                len(issued),
            )
        )
    ]
    for member, token in issued:
        lines.append(
            html_format(
                "{id}. {name} — {link}",
                id=member.id,
                name=member.full_name,
                link=invite_link(bot_username, token),
            )
        )
    return lines


@handler
async def import_usage(turn: Turn) -> Reply:
    """/import without a file: the template to fill in."""
    refusal = _refusal(turn)
    if refusal is not None:
        return refusal
    caption = escape(
        _(
            "📋 The roster template: fill in one row per person (the sheet “Hướng dẫn” "
            "explains each column) and send the file back as a document with the caption "
            "/import. CSV files with the same columns are accepted too."
        )
    )
    return Reply(caption, document=(roster_template.FILE_NAME, roster_template.roster_template()))


@handler
async def invite(turn: Turn) -> Reply:
    require_admin(turn.who)
    if not turn.in_private:
        return Reply(
            escape(_("Send /invite to the bot in a private chat: invitation links are personal."))
        )
    council, issued = await invites.fresh_invites(
        turn.session,
        turn.now,
        turn.who,
        turn.args,
        ttl=timedelta(days=turn.deps.settings.invite_ttl_days),
    )
    if council is not None and not issued:
        return Reply(
            html_format(
                _("Every member of {council} has registered: no link to issue."),
                council=council.code,
            )
        )
    lines = _link_lines(issued, turn.context.bot.username)
    lines.append("")
    lines.append(
        escape(
            ngettext(
                "The earlier link of this member no longer works.",
                "The earlier links of these members no longer work.",
                len(issued),
            )
        )
    )
    return Reply(join_lines(lines))


def handlers() -> list[BaseHandler]:
    return [
        MessageHandler(filters.Document.ALL & IMPORT_CAPTION, import_roster),
        CommandHandler("import", import_usage),
        CommandHandler("invite", invite),
    ]
