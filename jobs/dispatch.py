"""The sending pass, run as a chain of one-off jobs rather than a fixed interval: a
pass may take seconds when much is due (pacing), and the next one should start as soon
as it ends — never overlap it, never wait a full interval with work left."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.app import deps_of
from jobs.sender import BATCH, Dispatcher

log = logging.getLogger(__name__)


def schedule(application: Application) -> None:
    assert application.job_queue is not None
    dispatcher = Dispatcher(application.bot_data["deps"], application.bot)
    application.bot_data["dispatcher"] = dispatcher
    application.job_queue.run_once(dispatch_job, when=0.0, name="outbox-send")


async def dispatch_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    dispatcher: Dispatcher = context.bot_data["dispatcher"]
    busy = False
    try:
        result = await dispatcher.run_pass()
        busy = result.claimed >= BATCH
    except Exception:
        # A database hiccup must not end the chain: log, wait, look again.
        log.exception("outbox pass failed")
    finally:
        assert context.job_queue is not None
        poll = deps_of(context).settings.outbox_poll_seconds
        context.job_queue.run_once(dispatch_job, when=0.0 if busy else poll, name="outbox-send")
