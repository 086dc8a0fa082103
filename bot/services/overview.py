"""What the desk's first pages show: the admins' overview of every council, and a
member's own tasks and meetings. Read only; the same rules as /tasks and /meetings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import (
    Agency,
    Council,
    CouncilMembership,
    Meeting,
    MeetingResponse,
    Member,
    RsvpAnswer,
    Task,
    TaskAgency,
    TelegramUser,
)
from bot.services import rsvp
from bot.services.completion import (
    Completion,
    Week,
    classify,
    classify_part,
    weekly,
    weeks_window,
)
from bot.services.meetings import upcoming_meetings
from bot.services.people import Reach, Requester, reach_of
from bot.services.permissions import require_admin, require_member
from bot.services.tasks import tasks_of_member
from bot.worktime import WorkCalendar

MEETINGS_PER_COUNCIL = 5
MATRIX_ROWS = 25


@dataclass(frozen=True)
class OpenTask:
    """What a row of the matrix shows of a task (read as plain columns, not as objects)."""

    id: int
    title: str
    due_on: date


@dataclass(frozen=True)
class TaskRow:
    task: OpenTask
    # One per column of the council's matrix: the agency's class, None if not assigned.
    cells: list[Completion | None]


@dataclass(frozen=True)
class MeetingRow:
    meeting: Meeting
    answers: Counter[RsvpAnswer]


@dataclass
class CouncilOverview:
    council: Council
    agencies: list[Agency] = field(default_factory=list)  # the matrix's columns
    # The open tasks with the nearest deadlines (overdue first), MATRIX_ROWS at most: a
    # council has hundreds; /tasks?council=… lists them all.
    tasks: list[TaskRow] = field(default_factory=list)
    open_tasks: int = 0
    overdue: dict[int, int] = field(default_factory=dict)  # by agency id
    meetings: list[MeetingRow] = field(default_factory=list)
    weeks: list[Week] = field(default_factory=list)  # the on-time trend, oldest first
    reach: Counter[Reach] = field(default_factory=Counter)  # the council's members

    @property
    def weeks_scale(self) -> int:
        """The chart's height: the busiest week's number of parts due."""
        return max((week.due for week in self.weeks), default=0)


async def council_overviews(
    session: AsyncSession, who: Requester, now: datetime, calendar: WorkCalendar
) -> list[CouncilOverview]:
    """Per council: open tasks × assigned agencies in the four completion classes, the
    overdue count of each agency, the upcoming meetings with their answers (admins)."""
    require_admin(who)
    councils = (await session.scalars(select(Council).order_by(Council.id))).all()
    overviews = {c.id: CouncilOverview(c) for c in councils}
    await _matrices(session, overviews, now, calendar)
    meetings = await upcoming_meetings(session, now, who, None, limit=1000)
    answers = await rsvp.counts(session, [m.id for m in meetings])
    for meeting in meetings:
        view = overviews[meeting.council_id]
        if len(view.meetings) < MEETINGS_PER_COUNCIL:
            view.meetings.append(MeetingRow(meeting, answers[meeting.id]))
    await _trends(session, overviews, now, calendar)
    await _reach(session, overviews)
    return list(overviews.values())


async def _matrices(
    session: AsyncSession,
    overviews: dict[int, CouncilOverview],
    now: datetime,
    calendar: WorkCalendar,
) -> None:
    """Each council's open tasks × agencies, from plain rows (a council has hundreds of
    open tasks: building them as objects with their parts cost most of the page)."""
    agencies = {a.id: a for a in (await session.scalars(select(Agency))).all()}
    rows = await session.execute(
        select(
            Task.council_id,
            Task.id,
            Task.title,
            Task.due_on,
            TaskAgency.agency_id,
            TaskAgency.done_at,
        )
        .join(TaskAgency, TaskAgency.task_id == Task.id)
        .where(Task.cancelled_at.is_(None), Task.done_at.is_(None))
        .order_by(Task.due_on, Task.id)
    )
    # council → task → agency → class, in deadline order (dicts keep it).
    classes: dict[int, dict[OpenTask, dict[int, Completion]]] = {c: {} for c in overviews}
    for council_id, task_id, title, due_on, agency_id, done_at in rows:
        task = OpenTask(task_id, title, due_on)
        found = classify(due_on, done_at, now, calendar)
        classes[council_id].setdefault(task, {})[agency_id] = found
    for council_id, by_task in classes.items():
        view = overviews[council_id]
        assigned = {agency_id for parts in by_task.values() for agency_id in parts}
        view.agencies = sorted((agencies[a] for a in assigned), key=lambda a: a.code)
        view.open_tasks = len(by_task)
        for index, (task, parts) in enumerate(by_task.items()):
            if index < MATRIX_ROWS:
                view.tasks.append(TaskRow(task, [parts.get(a.id) for a in view.agencies]))
            for agency_id, found in parts.items():
                if found == Completion.OVERDUE:
                    view.overdue[agency_id] = view.overdue.get(agency_id, 0) + 1


async def _trends(
    session: AsyncSession,
    overviews: dict[int, CouncilOverview],
    now: datetime,
    calendar: WorkCalendar,
) -> None:
    """Each council's last twelve weeks of on-time reporting, from plain rows: closed
    tasks count too, and a council has thousands of parts."""
    first, last = weeks_window(now, calendar)
    rows = await session.execute(
        select(Task.council_id, Task.due_on, TaskAgency.done_at)
        .join(TaskAgency, TaskAgency.task_id == Task.id)
        .where(Task.cancelled_at.is_(None), Task.due_on.between(first, last))
    )
    parts: dict[int, list[tuple[date, datetime | None]]] = {c: [] for c in overviews}
    for council_id, due_on, done_at in rows:
        parts[council_id].append((due_on, done_at))
    for council_id, view in overviews.items():
        view.weeks = weekly(parts[council_id], now, calendar)


async def _reach(session: AsyncSession, overviews: dict[int, CouncilOverview]) -> None:
    """How many of each council's members the bot can write to."""
    rows = await session.execute(
        select(CouncilMembership.council_id, Member.telegram_user_id, TelegramUser.private_chat_ok)
        .join(Member, Member.id == CouncilMembership.member_id)
        .outerjoin(TelegramUser, TelegramUser.id == Member.telegram_user_id)
        .where(Member.removed_at.is_(None))
    )
    for council_id, telegram_user_id, private_chat_ok in rows:
        if council_id in overviews:
            overviews[council_id].reach[reach_of(telegram_user_id, private_chat_ok)] += 1


@dataclass(frozen=True)
class MyMeeting:
    meeting: Meeting
    answer: MeetingResponse | None


@dataclass(frozen=True)
class MyDesk:
    tasks: list[tuple[Task, Completion]]
    meetings: list[MyMeeting]


async def my_desk(
    session: AsyncSession, who: Requester, now: datetime, calendar: WorkCalendar
) -> MyDesk:
    """A member's page: their agency's open tasks and their councils' coming meetings."""
    require_member(who)
    tasks = await tasks_of_member(session, who)  # refuses anyone who is not a member
    assert who.member is not None
    agency_id = who.member.agency_id
    rows = []
    for task in tasks:
        part = next(p for p in task.assignments if p.agency_id == agency_id)
        rows.append((task, classify_part(task, part, now, calendar)))
    meetings = await upcoming_meetings(session, now, who, None)
    answers = await rsvp.answers_of(session, who.member.id, [m.id for m in meetings])
    return MyDesk(rows, [MyMeeting(m, answers.get(m.id)) for m in meetings])
