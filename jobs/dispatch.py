"""The sending loop: one pass after another while rows are due, then asleep until the
next row is due or a commit adds one (bot/wake.py). A pass may take seconds when much is
due (pacing); the next starts as soon as it ends, never overlapping it."""

from __future__ import annotations

import logging

from telegram.ext import Application

from bot.app import Deps
from bot.db import transaction
from bot.outbox import store
from bot.wake import OUTBOX, Waker
from jobs.loops import Loop
from jobs.sender import BATCH, Dispatcher

log = logging.getLogger(__name__)

# Never spin: a due row another instance is holding is left alone this long.
MIN_PAUSE = 0.05
# A process that may not send now (its heartbeat is late) looks again this soon.
NOT_NOW = 1.0


def schedule(application: Application) -> Loop:
    deps: Deps = application.bot_data["deps"]
    dispatcher = Dispatcher(deps, application.bot)
    application.bot_data["dispatcher"] = dispatcher

    async def send_pass() -> float:
        if not deps.presence.may_send():
            # Still a look at the database, so a failing one is told, and its recovery.
            return await until_next(deps, NOT_NOW)
        result = await dispatcher.run_pass()
        if result.claimed >= dispatcher.batch_limit():
            return 0.0
        # Asleep at most OUTBOX_POLL_SECONDS: a row added by a process that cannot wake
        # this one (another instance on SQLite, the command line) waits no longer.
        return await until_next(deps, deps.settings.outbox_poll_seconds)

    loop = Loop("outbox-send", send_pass, Waker(OUTBOX))
    loop.start()
    return loop


async def until_next(deps: Deps, longest: float) -> float:
    """Seconds until the next row is due, at most `longest`."""
    async with transaction(deps.sessions()) as session:
        due = await store.next_due_at(session)
    if due is None:
        return longest
    seconds = (due - deps.clock.now()).total_seconds()
    return min(longest, max(MIN_PAUSE, seconds))


__all__ = ["BATCH", "schedule", "until_next"]
