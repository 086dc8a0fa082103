"""The planning pass: turns what falls due within a day into outbox rows."""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.app import deps_of
from bot.db import transaction
from bot.logs import Throttled
from bot.outbox.plan import plan_pass
from jobs.repeat import every

log = logging.getLogger(__name__)
_trouble = Throttled(log)

PLAN_EVERY_SECONDS = 60.0


def schedule(application: Application) -> None:
    assert application.job_queue is not None
    every(application, plan_job, PLAN_EVERY_SECONDS, "outbox-plan")


async def plan_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    deps = deps_of(context)
    try:
        async with transaction(deps.sessions()) as session:
            report = await plan_pass(session, deps.timing, deps.clock.now())
    except Exception as error:
        _trouble.failure("plan", "the planning pass failed; it runs again in a minute", error)
        return
    _trouble.recovered("plan")
    if report.rows or report.tasks_created:
        log.info("planned %s outbox rows, %s recurring tasks", report.rows, report.tasks_created)
