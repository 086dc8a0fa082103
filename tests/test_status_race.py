"""The last two ✅ of a task pressed at the same moment (SPEC §5: a task is done when every
assigned agency has pressed ✅). Meaningful on PostgreSQL, where two transactions run side
by side; SQLite runs one writer at a time and must give the same result."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.callbacks import TaskStatus
from bot.db import transaction
from bot.models import Task, TaskAgency
from bot.services import people, reports, tasks
from bot.services.people import TelegramIdentity
from tests.harness import deps_of_app
from tests.people import registered

TASKS = 30


async def _press_done(bot, user, task_id: int) -> reports.Recorded:
    """One ✅ through the service, in its own transaction on its own connection."""
    async with transaction(bot.sessions) as session:
        who = await people.identify(session, TelegramIdentity(user.id), "vi")
        return await reports.record_status(session, bot.clock.now(), who, task_id, TaskStatus.DONE)


async def test_two_agencies_pressing_the_last_two_done_at_once_leave_the_task_done(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    timing = deps_of_app(bot.app).timing
    async with transaction(bot.sessions) as session:
        for n in range(TASKS):
            await tasks.create_task(
                session, bot.clock.now(), None, timing, f"DBSH BTC,HN Q4/2026 | Việc {n}", "test"
            )

    closed_by = []
    for task_id in range(1, TASKS + 1):
        pair = await asyncio.gather(_press_done(bot, an, task_id), _press_done(bot, binh, task_id))
        closed_by.append(sorted(recorded.task_done for recorded in pair))

    async with bot.sessions() as session:
        open_tasks = await session.scalar(
            select(func.count()).select_from(Task).where(Task.done_at.is_(None))
        )
        open_parts = await session.scalar(
            select(func.count()).select_from(TaskAgency).where(TaskAgency.done_at.is_(None))
        )
    assert (open_tasks, open_parts) == (0, 0), f"{open_tasks} of {TASKS} tasks left open"
    # Exactly one of the two presses is the one that closed the task (and said so).
    assert closed_by == [[False, True]] * TASKS
