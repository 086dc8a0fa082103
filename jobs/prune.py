"""Prune what is only history: outbox rows sent, skipped or dropped more than
OUTBOX_RETENTION_DAYS ago, updates finished more than a week ago (Telegram gives an
update again for a day at most; a week leaves time to look into a failed one), and the
desk's sessions and sign-in links a day after they ended."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.app import Deps, deps_of
from bot.db import transaction
from bot.inbox import store as inbox_store
from bot.logs import Throttled
from bot.outbox import store as outbox_store
from bot.services import desk
from jobs.repeat import every

log = logging.getLogger(__name__)
_trouble = Throttled(log)

PRUNE_EVERY_SECONDS = 3600.0
INBOX_KEPT = timedelta(days=7)
# Deleted a chunk per transaction, so no transaction holds the database for long.
CHUNK = 5000


def schedule(application: Application) -> None:
    every(application, prune_job, PRUNE_EVERY_SECONDS, "prune")


async def prune_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        outbox, updates = await prune(deps_of(context))
    except Exception as error:
        _trouble.failure("prune", "pruning old rows failed; it is tried again in an hour", error)
        return
    _trouble.recovered("prune")
    if outbox or updates:
        log.info("pruned %s old outbox rows and %s old updates", outbox, updates)


async def prune(deps: Deps) -> tuple[int, int]:
    """Delete the old rows; returns how many outbox rows and updates."""
    now = deps.clock.now()
    outbox_before = now - timedelta(days=deps.settings.outbox_retention_days)
    outbox = 0
    while True:
        async with transaction(deps.sessions()) as session:
            deleted = await outbox_store.prune(session, outbox_before, CHUNK)
        outbox += deleted
        if deleted < CHUNK:
            break
    async with transaction(deps.sessions()) as session:
        updates = await inbox_store.prune(session, now - INBOX_KEPT)
        # The desk's ended sessions and used links: a handful a day, in the same pass.
        await desk.prune(session, now)
    return outbox, updates
