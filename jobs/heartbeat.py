"""The heartbeat: every BEAT_SECONDS this instance says it is alive, releases what dead
instances had claimed, and (polling mode) takes or renews the polling lease and starts
or stops polling to match (bot/instances.py, bot/polling.py)."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot import instances
from bot.app import deps_of
from bot.db import transaction
from bot.logs import Throttled
from bot.polling import Poller
from jobs.repeat import every

log = logging.getLogger(__name__)
_trouble = Throttled(log)


def schedule(application: Application) -> None:
    assert application.job_queue is not None
    every(application, heartbeat_job, instances.BEAT_SECONDS, "heartbeat")


async def heartbeat_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    deps = deps_of(context)
    presence = deps.presence
    # Only in polling mode (bot/polling.py); with a webhook every instance serves.
    poller: Poller | None = context.bot_data.get("poller")
    leader = False
    try:
        async with transaction(deps.sessions()) as session:
            beat = await instances.beat(session, presence.name, deps.clock.now())
            if poller is not None:
                leader = await instances.hold(
                    session, instances.POLLING, presence.name, instances.POLLING_LEASE
                )
        if beat.rejoined:
            presence.joined(beat.peers)  # a newcomer again: the others may be alone now
        else:
            presence.beaten(beat.peers)
        if beat.reaped and (flow := context.bot_data.get("flow")) is not None:
            flow.wake_sweep()  # the dead instances' unfinished updates are free now
        if leader and poller is not None:
            poller.renewed()
        _trouble.recovered("heartbeat")
    except Exception as error:
        # The database is unreachable or busy: look again at the next beat. Keep polling
        # only while the lease surely has not run out under us.
        _trouble.failure("heartbeat", "the heartbeat cannot reach the database", error)
        leader = poller is not None and poller.polling and poller.may_keep_polling()
    if poller is not None:
        await poller.lead(leader)
