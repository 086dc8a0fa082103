"""Follow running broadcasts: queue the copies 📣 left to write, edit each one's progress
message (at most every 3 s, SPEC §6) and, when no copy is waiting any more, queue the
summary once.

A loop that sleeps while no broadcast runs, and is woken when one starts (bot/wake.py).
The edits go through the pacer like every message to a chat (bot/replies.py); the
summary is an outbox row (bot/services/broadcasts.finish): paced, retried, split when it
names hundreds of people.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram.ext import Application

from bot import replies
from bot.app import Deps
from bot.db import transaction
from bot.i18n import use_locale
from bot.models import Announcement, TelegramUser
from bot.outbox.render import progress_text
from bot.replies import Speaker, speaker_of
from bot.services import broadcasts
from bot.services.broadcasts import COPIES_PER_CHUNK
from bot.wake import BROADCASTS, Waker
from jobs.loops import Loop

log = logging.getLogger(__name__)

EDIT_EVERY = timedelta(seconds=3)
# While a broadcast runs, its progress is looked at this often.
CHECK_EVERY_SECONDS = 1.0
# With none running, the follower sleeps until one starts, or this long at most (one
# started by another instance on SQLite cannot wake it).
IDLE_MAX = 60.0


def schedule(application: Application) -> Loop:
    deps: Deps = application.bot_data["deps"]
    speaker = speaker_of(application)

    async def follow_pass() -> float:
        running = await follow(deps, speaker)
        return CHECK_EVERY_SECONDS if running else IDLE_MAX

    loop = Loop("broadcasts", follow_pass, Waker(BROADCASTS))
    loop.start()
    return loop


async def follow(deps: Deps, speaker: Speaker) -> int:
    """One look at every running broadcast; returns how many are running."""
    now = deps.clock.now()
    async with transaction(deps.sessions()) as session:
        running = await broadcasts.sending(session)
    for announcement in running:
        await _follow_one(deps, speaker, announcement.id, now)
    return len(running)


async def _queue_the_rest(deps: Deps, announcement_id: int, now: datetime) -> None:
    """Write the copies 📣 did not, a chunk per transaction: each commit wakes the sender,
    which is already sending the first ones."""
    while True:
        async with transaction(deps.sessions()) as session:
            announcement = await session.get(Announcement, announcement_id, with_for_update=True)
            if announcement is None or announcement.queued_at is not None:
                return
            await broadcasts.queue_more(session, announcement, now, COPIES_PER_CHUNK)


async def _follow_one(deps: Deps, speaker: Speaker, announcement_id: int, now: datetime) -> None:
    await _queue_the_rest(deps, announcement_id, now)
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
        if progress.finished and due:
            await broadcasts.finish(session, announcement_id, now)
    chat_id, message_id = announcement.progress_chat_id, announcement.progress_message_id
    if edit and chat_id is not None and message_id is not None:
        # A progress edit Telegram does not take now is not kept: the next one follows.
        await speaker.say([replies.edit(chat_id, message_id, text)])
