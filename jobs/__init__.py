"""Scheduled work (APScheduler through PTB's JobQueue).

Jobs only say *when* to look; the database says *what* is due. `start` is called once
the database is open; it schedules the heartbeat (every 2 s: this instance is alive,
and polls if it holds the lease), the planner (every minute) and the sender (a chain
of one-off passes: right away again while there is work, else after
OUTBOX_POLL_SECONDS), and on SQLite the log checkpoint (every 5 s).
"""

from __future__ import annotations

from telegram.ext import Application

from jobs import broadcasts, checkpoint, dispatch, heartbeat, planning


def start(application: Application) -> None:
    heartbeat.schedule(application)
    planning.schedule(application)
    dispatch.schedule(application)
    broadcasts.schedule(application)
    checkpoint.schedule(application)
