"""Jobs that run once at start-up and then at a fixed interval."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import Application, ContextTypes

JobCallback = Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def every(application: Application, callback: JobCallback, seconds: float, name: str) -> None:
    """Run `callback` now, then every `seconds`.

    Not `run_repeating(first=0)`: jobs are scheduled before the scheduler starts, and
    APScheduler moves a start that has passed, even by a millisecond, to the next
    interval, so the first run came one interval late (the first heartbeat, hence the
    first poll, after 2 s; the first planning pass after a minute).
    """
    assert application.job_queue is not None
    application.job_queue.run_once(callback, when=0.0, name=name)
    application.job_queue.run_repeating(callback, interval=seconds, first=seconds, name=name)
