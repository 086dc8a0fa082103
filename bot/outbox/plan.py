"""Turn meetings and tasks into outbox rows, idempotently.

Creating a meeting or a task plans all of its reminders at once, for the people known
then. A periodic pass (`plan_pass`) plans again what falls due within the next day,
which picks up members who registered since, groups linked since, admins added since,
and nudges and escalations; the unique dedupe keys make planning twice harmless.

Keys say who gets what: `task:42:agency:7:member:13:T-3d`, `meeting:5:r2:group:3:T-1d`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from bot.models import CouncilMembership, GroupChat, Meeting, Member, Task, TaskAgency
from bot.outbox.store import NewRow, add_rows
from bot.periods import Due, next_due
from bot.schedule import (
    Timing,
    Weekly,
    meeting_reminders,
    nudges,
    on_a_working_day,
    task_reminders,
)
from bot.services.admins import admin_ids

log = logging.getLogger(__name__)

# Lower goes first when several rows are due: a meeting reminder is time-critical.
PRIORITY_MEETING = 10
PRIORITY_TASK = 30
PRIORITY_ESCALATION = 30
PRIORITY_DIGEST = 40
# A scheduled digest missed during downtime is still posted within this time.
DIGEST_LATE_LIMIT = timedelta(days=7)
WEEK = timedelta(weeks=1)

# How far ahead the periodic pass plans rows.
HORIZON = timedelta(days=1)
# Nudges and the escalation fall within 12 working days of the due day; Tết can add
# nine days off, so the pass looks back this far for overdue tasks.
NUDGE_WINDOW = timedelta(days=40)


def meeting_subject(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


def task_subject(task_id: int) -> str:
    return f"task:{task_id}"


def task_key(task: Task) -> str:
    """The start of the outbox keys of a task's reminders: revision 0 keeps the keys tasks
    had before they could be edited; an edit's re-planned reminders get keys of their own."""
    return f"task:{task.id}:r{task.revision}" if task.revision else f"task:{task.id}"


def digest_subject(council_code: str) -> str:
    return f"digest:{council_code}"


@dataclass
class Directory:
    """Who can be reached, loaded once per planning pass."""

    members_by_council: dict[int, list[int]] = field(default_factory=dict)
    # (council id, agency id) -> registered members of that agency in that council
    members_by_agency: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    groups_by_council: dict[int, list[int]] = field(default_factory=dict)
    admin_ids: list[int] = field(default_factory=list)

    @classmethod
    async def load(cls, session: AsyncSession) -> Directory:
        by_council: dict[int, list[int]] = defaultdict(list)
        by_agency: dict[tuple[int, int], list[int]] = defaultdict(list)
        registered = await session.execute(
            select(CouncilMembership.council_id, Member.id, Member.agency_id)
            .join(Member, Member.id == CouncilMembership.member_id)
            .where(Member.telegram_user_id.is_not(None))
            .order_by(Member.id)
        )
        for council_id, member_id, agency_id in registered:
            by_council[council_id].append(member_id)
            by_agency[(council_id, agency_id)].append(member_id)
        groups: dict[int, list[int]] = defaultdict(list)
        for group_id, council_id in await session.execute(
            select(GroupChat.id, GroupChat.council_id).order_by(GroupChat.id)
        ):
            groups[council_id].append(group_id)
        admins = await admin_ids(session)  # current admins only, not removed ones
        return cls(dict(by_council), dict(by_agency), dict(groups), admins)


def _within(moment: datetime, until: datetime | None) -> bool:
    return until is None or moment <= until


def meeting_rows(
    meeting: Meeting, timing: Timing, directory: Directory, now: datetime, until: datetime | None
) -> list[NewRow]:
    if meeting.cancelled_at is not None:
        return []
    base = f"meeting:{meeting.id}:r{meeting.revision}"
    rows = []
    moments = meeting_reminders(
        meeting.starts_at, timing.meeting_offsets, now, planned_at=meeting.planned_at
    )
    for moment in moments:
        if not _within(moment.due_at, until):
            continue
        payload = {"meeting_id": meeting.id, "revision": meeting.revision, "label": moment.label}
        common = {
            "kind": "meeting_reminder",
            "subject": meeting_subject(meeting.id),
            "due_at": moment.due_at,
            "expires_at": moment.expires_at,
            "payload": payload,
            "priority": PRIORITY_MEETING,
        }
        for member_id in directory.members_by_council.get(meeting.council_id, []):
            key = f"{base}:member:{member_id}:{moment.label}"
            rows.append(NewRow(dedupe_key=key, member_id=member_id, **common))  # type: ignore[arg-type]
        for group_id in directory.groups_by_council.get(meeting.council_id, []):
            key = f"{base}:group:{group_id}:{moment.label}"
            rows.append(NewRow(dedupe_key=key, group_id=group_id, **common))  # type: ignore[arg-type]
    return rows


def meeting_change_rows(
    meeting: Meeting, change: str, directory: Directory, now: datetime
) -> list[NewRow]:
    """Tell the council a meeting was moved or cancelled, now."""
    base = f"meeting:{meeting.id}:r{meeting.revision}:{change}"
    payload = {"meeting_id": meeting.id, "revision": meeting.revision, "change": change}
    common = {
        "kind": "meeting_change",
        "subject": f"{meeting_subject(meeting.id)}:change",
        "due_at": now,
        "expires_at": None,
        "payload": payload,
        "priority": PRIORITY_MEETING,
    }
    rows = [
        NewRow(dedupe_key=f"{base}:member:{member_id}", member_id=member_id, **common)  # type: ignore[arg-type]
        for member_id in directory.members_by_council.get(meeting.council_id, [])
    ]
    rows += [
        NewRow(dedupe_key=f"{base}:group:{group_id}", group_id=group_id, **common)  # type: ignore[arg-type]
        for group_id in directory.groups_by_council.get(meeting.council_id, [])
    ]
    return rows


def task_rows(
    task: Task, timing: Timing, directory: Directory, until: datetime | None
) -> list[NewRow]:
    if not task.is_open:
        return []
    calendar = timing.calendar
    planned_at = task.planned_at or task.created_at
    reminders = task_reminders(task.due_on, timing.task_days, calendar, planned_at=planned_at)
    later = nudges(task.due_on, calendar, planned_at=planned_at)
    key = task_key(task)
    rows: list[NewRow] = []
    open_parts = [a for a in task.assignments if a.done_at is None]
    for part in open_parts:
        members = directory.members_by_agency.get((task.council_id, part.agency_id), [])
        for moment in [*reminders, *(m for m in later if m.label != "ESC")]:
            if not _within(moment.due_at, until):
                continue
            kind = "task_reminder" if moment.label.startswith("T-") else "task_nudge"
            payload = {"task_id": task.id, "agency_id": part.agency_id, "label": moment.label}
            for member_id in members:
                rows.append(
                    NewRow(
                        dedupe_key=f"{key}:agency:{part.agency_id}:member:{member_id}:"
                        f"{moment.label}",
                        kind=kind,
                        subject=task_subject(task.id),
                        due_at=moment.due_at,
                        expires_at=moment.expires_at,
                        member_id=member_id,
                        payload=payload,
                        priority=PRIORITY_TASK,
                    )
                )
    escalation = next((m for m in later if m.label == "ESC"), None)
    if open_parts and escalation is not None and _within(escalation.due_at, until):
        # One escalation per admin per morning, listing every task escalated that day:
        # tasks due on the same day escalate together, in one message, not seven.
        day = escalation.due_at.astimezone(timing.tz).date().isoformat()
        for admin_id in directory.admin_ids:
            rows.append(
                NewRow(
                    dedupe_key=f"escalation:{day}:admin:{admin_id}",
                    kind="task_escalation",
                    subject="escalation",
                    due_at=escalation.due_at,
                    telegram_user_id=admin_id,
                    payload={"day": day},
                    priority=PRIORITY_ESCALATION,
                )
            )
    return rows


def digest_rows(
    groups: list[GroupChat], timing: Timing, now: datetime, until: datetime
) -> list[NewRow]:
    """Each linked group's weekly digest, at its council's schedule, from when it was linked;
    one due on a day off goes out on the next working day at the same time."""
    rows = []
    for group in groups:
        council = group.council
        schedule = (
            Weekly.parse(council.digest_schedule) if council.digest_schedule else timing.digest
        )
        for slot in schedule.slots(timing.tz, now - DIGEST_LATE_LIMIT, until):
            if slot < group.linked_at:
                continue
            # The period keeps the scheduled day, so the key is the same whichever
            # day the calendar moves the sending to.
            period = slot.astimezone(timing.tz).date().isoformat()
            due_at = on_a_working_day(slot, timing.calendar)
            if due_at >= slot + WEEK:
                continue  # a whole week off (Tết): the next week's digest covers it
            rows.append(
                NewRow(
                    dedupe_key=f"digest:{council.code}:{period}:group:{group.id}",
                    kind="digest",
                    subject=digest_subject(council.code),
                    due_at=due_at,
                    expires_at=due_at + DIGEST_LATE_LIMIT,
                    group_id=group.id,
                    payload={"council_id": council.id, "period": period},
                    priority=PRIORITY_DIGEST,
                )
            )
    return rows


async def plan_meeting(
    session: AsyncSession, meeting: Meeting, timing: Timing, now: datetime
) -> int:
    directory = await Directory.load(session)
    return await add_rows(session, meeting_rows(meeting, timing, directory, now, None), now)


async def plan_task(session: AsyncSession, task: Task, timing: Timing, now: datetime) -> int:
    directory = await Directory.load(session)
    return await add_rows(session, task_rows(task, timing, directory, None), now)


@dataclass(frozen=True)
class PassReport:
    rows: int
    tasks_created: int


async def plan_pass(session: AsyncSession, timing: Timing, now: datetime) -> PassReport:
    """Plan what falls due within HORIZON, and start the next task of recurring series."""
    created = await continue_series(session, timing, now)
    directory = await Directory.load(session)
    until = now + HORIZON
    longest = max(timing.meeting_offsets, default=timedelta(0))
    meetings = await session.scalars(
        select(Meeting).where(
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at > now,
            Meeting.starts_at <= until + longest,
        )
    )
    rows = []
    for meeting in meetings:
        rows += meeting_rows(meeting, timing, directory, now, until)
    today = timing.today(now)
    ahead = timedelta(days=max(timing.task_days, default=0) + 2)
    tasks = await session.scalars(
        select(Task)
        .where(
            Task.cancelled_at.is_(None),
            Task.done_at.is_(None),
            Task.due_on >= today - NUDGE_WINDOW,
            Task.due_on <= today + ahead,
        )
        .options(selectinload(Task.assignments))
    )
    for task in tasks:
        rows += task_rows(task, timing, directory, until)
    groups = list((await session.scalars(select(GroupChat))).all())
    rows += digest_rows(groups, timing, now, until)
    return PassReport(await add_rows(session, rows, now), created)


async def continue_series(session: AsyncSession, timing: Timing, now: datetime) -> int:
    """When a recurring task falls due, create the next period's task (once)."""
    today = timing.today(now)
    following_task = aliased(Task)
    due = await session.scalars(
        select(Task)
        .outerjoin(following_task, following_task.previous_id == Task.id)
        .where(
            Task.recurrence.is_not(None),
            Task.cancelled_at.is_(None),
            Task.due_on <= today,
            following_task.id.is_(None),
        )
        .options(selectinload(Task.assignments))
    )
    created = 0
    for task in due.all():
        assert task.recurrence is not None
        following = next_due(Due(task.due_on, task.period, task.report_period), task.recurrence)
        new = Task(
            council_id=task.council_id,
            title=task.title,
            due_on=following.day,
            period=following.period,
            report_period=following.reported,
            recurrence=task.recurrence,
            ref=task.ref,
            previous_id=task.id,
            created_at=now,
            created_by=task.created_by,
            assignments=[TaskAgency(agency_id=a.agency_id) for a in task.assignments],
        )
        try:
            async with session.begin_nested():
                session.add(new)
        except IntegrityError:
            # Another instance created it a moment ago: the series does not fork.
            continue
        await plan_task(session, new, timing, now)
        created += 1
        log.info("task %s recurs as task %s due %s", task.id, new.id, new.due_on)
    return created
