"""Scheduled work.

Jobs only say *when* to look; the database says *what* is due. `start` is called once
the database is open. Through PTB's JobQueue (APScheduler): the heartbeat (every 2 s:
this instance is alive, and polls if it holds the lease), the planner (every minute),
the pruning of old rows (every hour) and, on SQLite, the log checkpoint. As loops that
run as long as the bot and sleep until there is work (jobs/loops.py): the sender, the
broadcast follower and the downloader of report files.
"""

from __future__ import annotations

from telegram.ext import Application

from jobs import broadcasts, checkpoint, dispatch, downloads, heartbeat, planning, prune
from jobs.loops import Loop


def start(application: Application) -> list[Loop]:
    heartbeat.schedule(application)
    planning.schedule(application)
    prune.schedule(application)
    checkpoint.schedule(application)
    return [
        dispatch.schedule(application),
        broadcasts.schedule(application),
        downloads.schedule(application),
    ]
