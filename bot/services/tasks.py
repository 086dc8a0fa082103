"""Tasks with deadlines, assigned to agencies of a council. Reminders, nudges and the
escalation go through the outbox (see bot/schedule.py for when)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.documents import DocumentFormatError, parse_document
from bot.formats import numeric_day
from bot.i18n import Msg, msg
from bot.models import WHOLE_CHAT, Agency, Council, Task, TaskAgency
from bot.outbox import store
from bot.outbox.plan import plan_task, task_subject
from bot.periods import Due, DueFormatError, Recurrence, cut_off, parse_due, parse_recurrence
from bot.schedule import Timing
from bot.services import audit
from bot.services.arguments import one_line, title_of
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.form_keys import add_once, check_form_key, made_by_form
from bot.services.groups import council_by_code
from bot.services.people import Requester
from bot.services.permissions import require_admin
from bot.services.visibility import visible_councils

MAX_REF = 100
# The desk's form key (secrets.token_urlsafe(24) is 32 characters; the column takes 64).


def newtask_usage() -> Msg:
    return msg(
        "Usage: /newtask COUNCIL AGENCY[,AGENCY…] DUE | TITLE "
        "[| every=month|quarter|half|year] [| period=PERIOD] [| ref=DOCUMENT]\n"
        "DUE is a date (31/12/2026) or a period, which means its last day: Q4/2026, "
        "H1/2027, H2/2026, 9M/2026, 2027, or as written in Vietnamese: tháng 12/2026, "
        "quý IV/2026, 6 tháng đầu năm 2027, 9 tháng năm 2026, năm 2027.\n"
        "PERIOD is the period a report covers, written the same way; its data run from the "
        "15th of the month before it to the 14th of its last month, and DUE is then the "
        "send deadline, not before that 14th.\n"
        "DOCUMENT is the number and symbol of the letter that assigned the task, "
        "optionally with its date: 6411/VPCP-KTTH ngày 19/8/2023.\n"
        "Example: /newtask DBSH BTC,HN 18/12/2026 | Báo cáo tình hình thực hiện quy hoạch "
        "vùng | every=quarter | period=Q4/2026 | ref=6411/VPCP-KTTH ngày 19/8/2023"
    )


def canceltask_usage() -> Msg:
    return msg("Usage: /canceltask TASK_ID — the id is shown by /tasks.\nExample: /canceltask 42")


@dataclass(frozen=True)
class NewTask:
    council_code: str
    agency_codes: list[str]
    due: Due
    title: str
    recurrence: Recurrence | None
    ref: str | None

    @property
    def report_period(self) -> str | None:
        return self.due.reported


def parse_new_task(text: str, today: date) -> NewTask:
    usage = newtask_usage()
    parts = [part.strip() for part in text.split("|")]
    if len(parts) < 2:
        raise BadInputError(msg("Separate the deadline and the title with “|”."), usage)
    head = parts[0].split()
    if len(head) < 3:
        raise BadInputError(
            msg("Give the council, the agencies and the deadline before the first “|”."), usage
        )
    code, agencies_text, due_text = head[0], head[1], " ".join(head[2:])
    agency_codes = _agency_codes(agencies_text.split(","))
    due = _due(due_text, today, usage)
    title = title_of(parts[1], usage)
    recurrence: Recurrence | None = None
    ref: str | None = None
    reported: str | None = None
    for option in parts[2:]:
        name, sep, value = option.partition("=")
        name, value = name.strip().lower(), one_line(value)
        if sep and name == "every" and recurrence is None:
            recurrence = _recurrence(value, option, usage)
        elif sep and name == "ref" and ref is None:
            ref = _cited_document(value, usage)
        elif sep and name == "period" and reported is None:
            reported = _reported_period(value, due, usage)
        else:
            raise BadInputError(msg("“{text}” is not an option of /newtask.", text=option), usage)
    due = Due(due.day, due.period, reported)
    return NewTask(code.upper(), agency_codes, due, title, recurrence, ref)


@dataclass(frozen=True)
class TaskFields:
    """A task as typed in the desk's form: what /newtask reads, each value in its own field
    ("" when left empty)."""

    council: str = ""
    agencies: tuple[str, ...] = ()
    title: str = ""
    deadline: str = ""  # a date: the date input's 2026-12-31, or 31/12/2026
    period: str = ""  # or a period, which means its last day (Q4/2026, quý IV/2026, …)
    report_period: str = ""
    recurrence: str = ""
    ref: str = ""


def parse_task_fields(fields: TaskFields, today: date) -> NewTask:
    """The form's values read by the same rules as /newtask's text."""
    usage = newtask_usage()
    deadline, period = one_line(fields.deadline), one_line(fields.period)
    if deadline and period:
        raise BadInputError(
            msg("Give the deadline either as a date or as a period, not both."), usage
        )
    if not deadline and not period:
        raise BadInputError(msg("Give the deadline: a date or a period."), usage)
    due = _due(deadline or period, today, usage)
    title = title_of(fields.title, usage)
    recurrence = (
        _recurrence(fields.recurrence, fields.recurrence, usage)
        if one_line(fields.recurrence)
        else None
    )
    ref = _cited_document(one_line(fields.ref), usage) if one_line(fields.ref) else None
    reported = (
        _reported_period(one_line(fields.report_period), due, usage)
        if one_line(fields.report_period)
        else None
    )
    return NewTask(
        one_line(fields.council).upper(),
        _chosen_agencies(fields.agencies, usage),
        Due(due.day, due.period, reported),
        title,
        recurrence,
        ref,
    )


def _agency_codes(texts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(c.strip().upper() for c in texts if c.strip()))


def _chosen_agencies(texts: Iterable[str], usage: Msg) -> list[str]:
    """The agencies chosen in a form's multi-select: at least one."""
    codes = _agency_codes(texts)
    if not codes:
        raise BadInputError(msg("Choose at least one agency."), usage)
    return codes


def _due(text: str, today: date, usage: Msg) -> Due:
    try:
        due = parse_due(text)
    except DueFormatError:
        raise BadInputError(
            msg(
                "“{text}” is not a valid deadline: write a date (31/12/2026) or a period "
                "(tháng 12/2026, Q4/2026, H1/2027, 9M/2026, 2027).",
                text=text,
            ),
            usage,
        ) from None
    if due.day < today:
        raise BadInputError(msg("That deadline is already in the past."), usage)
    return due


def _recurrence(value: str, option: str, usage: Msg) -> Recurrence:
    try:
        return parse_recurrence(value)
    except DueFormatError:
        raise BadInputError(
            msg(
                "“{text}” is not a repetition: use every=month, quarter, half or year.",
                text=option,
            ),
            usage,
        ) from None


def _reported_period(text: str, due: Due, usage: Msg) -> str:
    """The period of `period=` as a label; the send deadline may not come before its data
    are complete (the 14th of its last month)."""
    try:
        label = parse_due(text).period
    except DueFormatError:
        label = None
    if label is None:
        raise BadInputError(
            msg(
                "“period={text}” is not a reporting period: write one as for a deadline, "
                "e.g. period=Q4/2026 or period=quý IV/2026.",
                text=text,
            ),
            usage,
        )
    _check_send_deadline(label, due, usage)
    return label


def _check_send_deadline(label: str, due: Due, usage: Msg) -> None:
    last = cut_off(label).last
    if due.day < last:
        raise BadInputError(
            msg(
                "The send deadline {due} comes before the data of the period end ({last}): "
                "please set a deadline on {last} or later.",
                due=numeric_day(due.day),
                last=numeric_day(last),
            ),
            usage,
        )


def _cited_document(text: str, usage: Msg) -> str:
    """The document of `ref=` as stored ('6411/VPCP-KTTH ngày 19/08/2023')."""
    try:
        stored = parse_document(text).stored()
    except DocumentFormatError:
        stored = ""
    if not stored or len(stored) > MAX_REF:
        raise BadInputError(
            msg(
                "“ref={text}” is not a document: write its number and symbol, optionally "
                "with its date, e.g. ref=6411/VPCP-KTTH ngày 19/8/2023.",
                text=text,
            ),
            usage,
        )
    return stored


async def _agencies(session: AsyncSession, codes: list[str]) -> list[Agency]:
    found = {
        a.code: a for a in (await session.scalars(select(Agency).where(Agency.code.in_(codes))))
    }
    unknown = [code for code in codes if code not in found]
    if unknown or not codes:
        raise NotFoundError(
            msg("Unknown agency code: {codes}.", codes=", ".join(unknown) or "—"), newtask_usage()
        )
    return [found[code] for code in codes]


async def create_task(
    session: AsyncSession,
    now: datetime,
    who: Requester | None,
    timing: Timing,
    text: str,
    actor: str,
) -> tuple[Task, int]:
    """Create a task; returns it and how many reminders were planned."""
    require_admin(who)
    new = parse_new_task(text, timing.today(now))
    return await create_new_task(session, now, who, timing, new, actor)


async def create_new_task(
    session: AsyncSession,
    now: datetime,
    who: Requester | None,
    timing: Timing,
    new: NewTask,
    actor: str,
    *,
    form_key: str | None = None,
) -> tuple[Task, int]:
    """Create a task from values already read (/newtask's text or the desk's form).

    `form_key`: the desk form's own key; the same form sent again (a double click, back
    and resend) returns the task it made the first time, with 0 reminders planned. The
    unique column decides even between two requests at the same instant."""
    require_admin(who)
    check_form_key(form_key)
    made = await made_by_form(session, Task, form_key)
    if made is not None:
        return made, 0
    council = await council_by_code(session, new.council_code, newtask_usage())
    agencies = await _agencies(session, new.agency_codes)
    task = Task(
        council_id=council.id,
        council=council,
        title=new.title,
        due_on=new.due.day,
        period=new.due.period,
        report_period=new.report_period,
        recurrence=new.recurrence,
        ref=new.ref,
        created_at=now,
        created_by=actor,
        assignments=[TaskAgency(agency_id=a.id, agency=a) for a in agencies],
        form_key=form_key,
    )
    saved = await add_once(session, task)
    if saved is not task:  # the same form, sent again while the first was being saved
        return saved, 0
    planned = await plan_task(session, task, timing, now)
    audit.record(
        session,
        now,
        actor,
        "task.create",
        task_id=task.id,
        council=council.code,
        agencies=new.agency_codes,
        due_on=task.due_on.isoformat(),
        report_period=task.report_period,
    )
    return task, planned


@dataclass(frozen=True)
class TaskEdit:
    """What the desk's edit form may fix ("" when left empty; the ref may be emptied)."""

    title: str
    deadline: str
    agencies: tuple[str, ...]
    ref: str


async def edit_task(
    session: AsyncSession,
    now: datetime,
    who: Requester | None,
    timing: Timing,
    task_id: int,
    edit: TaskEdit,
    actor: str,
) -> tuple[Task, int]:
    """Fix an open task's title, deadline, agencies or cited document; returns the task and
    how many reminders were planned again.

    A new deadline or new agencies re-plan its reminders as moving a meeting does: the
    pending ones are withdrawn, the revision (part of their keys) bumped, and the reminders
    planned anew from now. A title or document alone changes no reminder: each is written
    from the task when it goes out."""
    require_admin(who)
    task = await session.get(Task, task_id)
    if task is None or not task.is_open:
        raise NotFoundError(msg("There is no open task #{id} to change.", id=task_id))
    usage = newtask_usage()
    title = title_of(edit.title, usage)
    ref = _cited_document(one_line(edit.ref), usage) if one_line(edit.ref) else None
    due = Due(task.due_on, task.period)
    deadline = one_line(edit.deadline)
    if not deadline:
        raise BadInputError(msg("Give the deadline: a date or a period."), usage)
    try:
        unchanged = parse_due(deadline).day == task.due_on
    except DueFormatError:
        unchanged = False
    if not unchanged:  # a deadline left as it was is not checked again (it may be past)
        due = _due(deadline, timing.today(now), usage)
    if task.report_period:
        _check_send_deadline(task.report_period, due, usage)
    codes = _chosen_agencies(edit.agencies, usage)
    agencies = await _agencies(session, codes)
    before = [part.agency.code for part in task.assignments]
    changes: dict[str, object] = {}
    if title != task.title:
        changes["title"] = title
    if ref != task.ref:
        changes["ref"] = ref
    if due.day != task.due_on:
        changes["due_on"] = due.day.isoformat()
    if codes != before:
        changes["agencies"] = codes
    if not changes:
        raise BadInputError(msg("Task #{id} already reads so: nothing was changed.", id=task.id))
    task.title, task.ref = title, ref
    planned = 0
    if "due_on" in changes or "agencies" in changes:
        task.due_on, task.period = due.day, due.period
        kept = {part.agency_id: part for part in task.assignments}
        task.assignments = [
            kept.get(a.id) or TaskAgency(agency_id=a.id, agency=a) for a in agencies
        ]
        await store.withdraw(session, task_subject(task.id))
        task.revision += 1
        task.planned_at = now
        if all(part.done_at is not None for part in task.assignments):
            # The agencies left have all reported it done: done, as a last ✅ makes it.
            task.done_at = now
            changes["done"] = True
        await session.flush()
        planned = await plan_task(session, task, timing, now)
    audit.record(
        session, now, actor, "task.edit", task_id=task.id, previous_agencies=before, **changes
    )
    return task, planned



async def cancel_task(
    session: AsyncSession, now: datetime, who: Requester | None, args: list[str], actor: str
) -> Task:
    require_admin(who)
    usage = canceltask_usage()
    if len(args) != 1 or not args[0].isascii() or not args[0].isdigit():
        raise BadInputError(msg("Give the id of the task to cancel."), usage)
    return await cancel_task_by_id(session, now, who, int(args[0]), actor)


async def cancel_task_by_id(
    session: AsyncSession, now: datetime, who: Requester | None, task_id: int, actor: str
) -> Task:
    """Cancel an open task and withdraw its reminders still to go (the chat and the desk)."""
    require_admin(who)
    task = await session.get(Task, task_id)
    if task is None or task.cancelled_at is not None:
        raise NotFoundError(msg("There is no task #{id} to cancel.", id=task_id))
    task.cancelled_at = now
    await store.withdraw(session, task_subject(task.id))
    audit.record(session, now, actor, "task.cancel", task_id=task.id)
    return task


async def open_tasks(
    session: AsyncSession,
    who: Requester,
    code: str | None,
    *,
    group_chat_id: int | None = None,
    thread_id: int = WHOLE_CHAT,
) -> list[Task]:
    """Open tasks of the councils `who` may see (in a group chat: of its council), soonest
    deadline first."""
    councils = await visible_councils(
        session, who, code, group_chat_id=group_chat_id, thread_id=thread_id
    )
    return list(
        (
            await session.scalars(
                select(Task)
                .where(
                    Task.council_id.in_([c.id for c in councils]),
                    Task.cancelled_at.is_(None),
                    Task.done_at.is_(None),
                )
                .options(selectinload(Task.assignments))
                .order_by(Task.due_on, Task.id)
            )
        ).all()
    )


async def tasks_of_member(session: AsyncSession, who: Requester) -> list[Task]:
    """Open tasks of the member's agency in the member's councils, still to be done."""
    member = who.member
    if member is None:
        raise NotAllowedError(msg("Only registered members have tasks to report on."))
    return list(
        (
            await session.scalars(
                select(Task)
                .join(Council, Council.id == Task.council_id)
                .join(TaskAgency, TaskAgency.task_id == Task.id)
                .where(
                    Council.code.in_(who.council_codes),
                    Task.cancelled_at.is_(None),
                    Task.done_at.is_(None),
                    TaskAgency.agency_id == member.agency_id,
                    TaskAgency.done_at.is_(None),
                )
                .order_by(Task.due_on, Task.id)
            )
        ).all()
    )
