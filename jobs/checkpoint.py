"""SQLite only: copy the write-ahead log back into the database file every few seconds.

The bot's own connection never does it in a commit (bot/db.py): this job does it from a
worker thread, so the disk's flush does not hold up the button presses being recorded.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application, ContextTypes

from bot.db import checkpoint, commits, sqlite_path
from bot.logs import Throttled

log = logging.getLogger(__name__)
_trouble = Throttled(log)

CHECKPOINT_EVERY_SECONDS = 5.0


def schedule(application: Application) -> None:
    path = sqlite_path(application.bot_data["deps"].settings.database_url)
    if path is None:
        return
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        checkpoint_job,
        interval=CHECKPOINT_EVERY_SECONDS,
        first=CHECKPOINT_EVERY_SECONDS,
        name="sqlite-checkpoint",
        data=path,
    )


_seen: dict[str, int] = {}


async def checkpoint_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None
    path = str(context.job.data)
    written = commits(path)
    if _seen.get(path) == written:
        return  # nothing was written since the last checkpoint: an idle bot does nothing
    try:
        await asyncio.to_thread(checkpoint, path)
    except Exception as error:
        _trouble.failure("checkpoint", "the SQLite checkpoint failed", error)
        return
    _trouble.recovered("checkpoint")
    _seen[path] = written
