"""The desk's task pages: the list with its filters (admins), and one task's page with
each agency's history and its reminders from the outbox. A member sees only their own
agency's part of a task of their council; any other task is "not found" to them, so the
desk does not even tell them it exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import (
    Agency,
    Council,
    GroupChat,
    Member,
    Outbox,
    StatusReport,
    Task,
    TaskAgency,
)
from bot.outbox.plan import task_subject
from bot.services.completion import Completion, classify_part
from bot.services.errors import BadInputError, NotFoundError
from bot.services.people import Requester
from bot.services.permissions import require_admin, require_member
from bot.worktime import WorkCalendar

LIST_LIMIT = 300


@dataclass(frozen=True)
class TaskFilter:
    """What the list is narrowed to; every field optional (None: all)."""

    council: str | None = None
    agency: str | None = None
    completion: str | None = None
    period: str | None = None

    def completion_class(self) -> Completion | None:
        if not self.completion:
            return None
        try:
            return Completion(self.completion)
        except ValueError:
            raise BadInputError(
                msg("Unknown completion class {value}.", value=self.completion[:40])
            ) from None


@dataclass(frozen=True)
class ListedTask:
    task: Task
    parts: list[tuple[Agency, Completion]]


@dataclass
class TaskList:
    tasks: list[ListedTask] = field(default_factory=list)
    # The choices of the filter form.
    councils: list[Council] = field(default_factory=list)
    agencies: list[Agency] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    more: bool = False  # more tasks match than are shown


async def list_tasks(
    session: AsyncSession,
    who: Requester,
    now: datetime,
    calendar: WorkCalendar,
    wanted: TaskFilter,
) -> TaskList:
    """Tasks not cancelled, soonest deadline first, narrowed by `wanted` (admins)."""
    require_admin(who)
    completion = wanted.completion_class()
    query = select(Task).where(Task.cancelled_at.is_(None))
    if wanted.council:
        query = query.where(Task.council.has(Council.code == wanted.council.upper()))
    if wanted.agency:
        query = query.where(
            Task.assignments.any(TaskAgency.agency.has(Agency.code == wanted.agency.upper()))
        )
    if wanted.period:
        query = query.where(or_(Task.period == wanted.period, Task.report_period == wanted.period))
    found = TaskList()
    for task in (await session.scalars(query.order_by(Task.due_on, Task.id))).all():
        parts = [(p.agency, classify_part(task, p, now, calendar)) for p in task.assignments]
        judged = [
            c for agency, c in parts if not wanted.agency or agency.code == wanted.agency.upper()
        ]
        if completion is not None and completion not in judged:
            continue
        if len(found.tasks) == LIST_LIMIT:
            found.more = True
            break
        found.tasks.append(ListedTask(task, parts))
    found.councils = list((await session.scalars(select(Council).order_by(Council.code))).all())
    found.agencies = list(
        (
            await session.scalars(
                select(Agency)
                .where(Agency.id.in_(select(TaskAgency.agency_id).distinct()))
                .order_by(Agency.code)
            )
        ).all()
    )
    labels = await session.execute(select(Task.period, Task.report_period).distinct())
    found.periods = sorted({label for pair in labels for label in pair if label})
    return found


@dataclass(frozen=True)
class PartHistory:
    agency: Agency
    completion: Completion
    done_at: datetime | None
    reports: list[StatusReport]  # newest first


@dataclass(frozen=True)
class Reminder:
    row: Outbox
    recipient: str  # a member's name, a group's title; "" for an admin


@dataclass(frozen=True)
class TaskPage:
    task: Task
    parts: list[PartHistory]
    reminders: list[Reminder]


async def task_page(
    session: AsyncSession, who: Requester, now: datetime, calendar: WorkCalendar, task_id: int
) -> TaskPage:
    """One task: each agency's part with its reports and notes, and its reminders
    (planned, sent, failed). A member: only their agency's, of their council's tasks."""
    require_member(who)
    task = await session.get(Task, task_id)
    missing = NotFoundError(msg("There is no task #{id}.", id=task_id))
    if task is None:
        raise missing
    parts = list(task.assignments)
    reminders = (
        select(Outbox, Member.full_name, GroupChat.title)
        .outerjoin(Member, Member.id == Outbox.member_id)
        .outerjoin(GroupChat, GroupChat.id == Outbox.group_id)
        .where(Outbox.subject == task_subject(task.id))
        .order_by(Outbox.due_at, Outbox.id)
    )
    if not who.is_admin:
        member = who.member
        parts = [p for p in parts if member is not None and p.agency_id == member.agency_id]
        if member is None or not parts or task.council.code not in who.council_codes:
            raise missing
        reminders = reminders.where(Outbox.member_id == member.id)
    reports = (
        await session.scalars(
            select(StatusReport)
            .where(
                StatusReport.task_id == task.id,
                StatusReport.agency_id.in_([p.agency_id for p in parts]),
            )
            .order_by(StatusReport.created_at.desc(), StatusReport.id.desc())
        )
    ).all()
    return TaskPage(
        task,
        [
            PartHistory(
                p.agency,
                classify_part(task, p, now, calendar),
                p.done_at,
                [r for r in reports if r.agency_id == p.agency_id],
            )
            for p in parts
        ],
        [
            Reminder(row, name or title or "")
            for row, name, title in (await session.execute(reminders)).all()
        ],
    )


@dataclass(frozen=True)
class FormChoices:
    """What the task forms offer: every council, and every agency (a task may go to any)."""

    councils: list[Council]
    agencies: list[Agency]


async def form_choices(session: AsyncSession, who: Requester) -> FormChoices:
    require_admin(who)
    councils = (await session.scalars(select(Council).order_by(Council.code))).all()
    agencies = (await session.scalars(select(Agency).order_by(Agency.code))).all()
    return FormChoices(list(councils), list(agencies))


async def open_task(session: AsyncSession, who: Requester, task_id: int) -> Task:
    """An open task, for an admin to change or cancel."""
    require_admin(who)
    task = await session.get(Task, task_id)
    if task is None or not task.is_open:
        raise NotFoundError(msg("There is no open task #{id} to change.", id=task_id))
    return task
