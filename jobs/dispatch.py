"""The sending pass, run as a chain of one-off jobs rather than a fixed interval: a
pass may take seconds when much is due (pacing), and the next one should start as soon
as it ends — never overlap it, never wait a full interval with work left."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.app import Deps, deps_of
from bot.db import transaction
from bot.outbox import store
from jobs.sender import BATCH, Dispatcher

log = logging.getLogger(__name__)

# Never spin: a due row another instance is holding is left alone this long.
MIN_PAUSE = 0.05


def schedule(application: Application) -> None:
    assert application.job_queue is not None
    dispatcher = Dispatcher(application.bot_data["deps"], application.bot)
    application.bot_data["dispatcher"] = dispatcher
    application.job_queue.run_once(dispatch_job, when=0.0, name="outbox-send")


async def dispatch_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    dispatcher: Dispatcher = context.bot_data["dispatcher"]
    deps = deps_of(context)
    delay = deps.settings.outbox_poll_seconds
    try:
        result = await dispatcher.run_pass()
        if result.claimed >= BATCH:
            delay = 0.0
        else:
            delay = await _until_next(deps, delay)
    except Exception:
        # A database hiccup must not end the chain: log, wait, look again.
        log.exception("outbox pass failed")
    finally:
        assert context.job_queue is not None
        context.job_queue.run_once(dispatch_job, when=delay, name="outbox-send")


async def _until_next(deps: Deps, poll: float) -> float:
    """Sleep until the next row is due, but look again at least every `poll` seconds
    (another instance, a command or the planner may add an earlier one)."""
    async with transaction(deps.sessions()) as session:
        due = await store.next_due_at(session)
    if due is None:
        return poll
    seconds = (due - deps.clock.now()).total_seconds()
    return min(poll, max(MIN_PAUSE, seconds))
