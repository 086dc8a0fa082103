"""Status reports: a member answers for their agency on a task with one button.

Every press is checked here, at the moment of the press: the presser must be a
registered member of an agency assigned to the task, in the task's council, and the
task must still be open. `✅` closes the agency's part (its nudges stop, because the
outbox renderer skips them), and the task when every agency is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.callbacks import TaskStatus
from bot.i18n import msg, verbatim
from bot.models import Council, Outbox, ReportStatus, StatusReport, Task, TaskAgency
from bot.services import absences, audit, questions
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.people import Requester

# The same button pressed again this soon is one answer, not two (a double tap).
REPEAT_WINDOW = timedelta(minutes=2)

STATUS_OF_BUTTON = {
    TaskStatus.DONE: ReportStatus.DONE,
    TaskStatus.ON_TRACK: ReportStatus.ON_TRACK,
    TaskStatus.AT_RISK: ReportStatus.AT_RISK,
    TaskStatus.BLOCKED: ReportStatus.BLOCKED,
}
BUTTON_OF_STATUS = {status: button for button, status in STATUS_OF_BUTTON.items()}


def emoji(status: ReportStatus) -> str:
    return BUTTON_OF_STATUS[status].emoji


NO_ANSWER = "—"


def mark(done: bool, latest: ReportStatus | None) -> str:
    """How an agency's part of a task is shown: ✅ when done, else its latest status."""
    if done:
        return emoji(ReportStatus.DONE)
    return emoji(latest) if latest is not None else NO_ANSWER


@dataclass(frozen=True)
class Recorded:
    report_id: int
    task_id: int
    repeated: bool  # a double tap: nothing new was recorded
    task_done: bool


# Built once: a status press is the busiest path, and building a statement costs about as
# much as running it.
_LATEST = aliased(StatusReport)
_TASK_AND_PART = (
    select(
        Task.cancelled_at,
        Task.done_at.label("task_done_at"),
        Council.code.label("council_code"),
        TaskAgency.id.label("part_id"),
        TaskAgency.done_at.label("part_done_at"),
        # The member's own latest report on the task, to see a double tap.
        _LATEST.id.label("latest_id"),
        _LATEST.status.label("latest_status"),
        _LATEST.created_at.label("latest_at"),
    )
    .join(Council, Council.id == Task.council_id)
    .outerjoin(
        TaskAgency,
        and_(TaskAgency.task_id == Task.id, TaskAgency.agency_id == bindparam("agency_id")),
    )
    .outerjoin(
        _LATEST,
        _LATEST.id
        == (
            select(StatusReport.id)
            .where(
                StatusReport.task_id == Task.id,
                StatusReport.member_id == bindparam("member_id"),
            )
            .order_by(StatusReport.created_at.desc(), StatusReport.id.desc())
            .limit(1)
            .scalar_subquery()
        ),
    )
    .where(Task.id == bindparam("task_id"))
)
_NEW_REPORT = insert(StatusReport).returning(StatusReport.id)


async def record_status(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    task_id: int,
    button: TaskStatus,
    ask_in_chat: int | None = None,
    today: date | None = None,
) -> Recorded:
    """Record the member's answer for their agency. `ask_in_chat`: the chat where the bot
    will ask for a note (its message id is attached once sent). `today` (local): on that
    day a stand-in may answer for their agency in the council of the member they stand in
    for (bot/services/absences.py), though they have no seat there themselves.

    This runs for every status button, the busiest path of the bot at a deadline: it reads
    plain columns in one statement and inserts with one, rather than loading the task
    with all its parts and agencies as objects (docs/benchmarks.md §4).
    """
    member = who.member
    if member is None:
        raise NotAllowedError(msg("Only registered members can report on tasks."))
    # Plain rows straight from the connection: no ORM objects to build for a check.
    connection = await session.connection()
    asked = {"task_id": task_id, "agency_id": member.agency_id, "member_id": member.id}
    found = (await connection.execute(_TASK_AND_PART, asked)).first()
    if found is None or found.cancelled_at is not None:
        raise NotFoundError(msg("This task no longer exists or has been cancelled."))
    if found.part_id is None or not await absences.may_answer_in(
        session, who, found.council_code, today
    ):
        raise NotAllowedError(msg("This task is not assigned to your agency."))
    if found.part_done_at is not None:
        raise NotAllowedError(msg("Your agency has already reported this task as done."))
    status = STATUS_OF_BUTTON[button]
    task_done_at = found.task_done_at
    if found.latest_status == status and now - found.latest_at < REPEAT_WINDOW:
        return Recorded(found.latest_id, task_id, repeated=True, task_done=task_done_at is not None)
    report_id = (
        await connection.execute(
            _NEW_REPORT,
            {
                "task_id": task_id,
                "agency_id": member.agency_id,
                "member_id": member.id,
                "status": status,
                "created_at": now,
                "prompt_chat_id": ask_in_chat,
            },
        )
    ).scalar_one()
    part_id = found.part_id
    task_done = task_done_at is not None
    if status == ReportStatus.DONE:
        task_done = await _close_part(session, task_id, part_id, now)
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "task.report",
        task_id=task_id,
        agency_id=member.agency_id,
        status=status.value,
    )
    return Recorded(report_id, task_id, repeated=False, task_done=task_done)


_LOCK_TASK = select(Task.id).where(Task.id == bindparam("task_id")).with_for_update(key_share=True)


async def _close_part(session: AsyncSession, task_id: int, part_id: int, now: datetime) -> bool:
    """Close the agency's part, and the task when it was the last open one.

    Two agencies pressing the last two ✅ at the same moment must not each count the
    other's part as still open (under PostgreSQL's READ COMMITTED neither sees the
    other's uncommitted update, and the task would stay open for ever). So the decision
    is taken one press at a time per task: the task row is locked first, and the second
    press, once the first has committed, counts with the first one's part closed.
    FOR NO KEY UPDATE, not FOR UPDATE: each press has already inserted a report, whose
    foreign key holds a KEY SHARE lock on the task, which FOR UPDATE would wait for (a
    deadlock between the two presses). SQLite runs one writer at a time and ignores it.
    """
    await session.execute(_LOCK_TASK, {"task_id": task_id})
    await session.execute(update(TaskAgency).where(TaskAgency.id == part_id).values(done_at=now))
    still_open = await session.scalar(
        select(func.count())
        .select_from(TaskAgency)
        .where(TaskAgency.task_id == task_id, TaskAgency.done_at.is_(None))
    )
    if still_open:
        return False
    await session.execute(update(Task).where(Task.id == task_id).values(done_at=now))
    return True


async def attach_prompt(
    session: AsyncSession, report_id: int, chat_id: int, message_id: int
) -> None:
    """Remember the question that asks for a note, so a reply to it finds this report."""
    await session.execute(
        update(StatusReport)
        .where(StatusReport.id == report_id)
        .values(prompt_chat_id=chat_id, prompt_message_id=message_id)
    )


async def latest_statuses(
    session: AsyncSession, task_ids: list[int]
) -> dict[tuple[int, int], ReportStatus]:
    """The latest reported status of each (task, agency)."""
    if not task_ids:
        return {}
    rows = await session.execute(
        select(StatusReport.task_id, StatusReport.agency_id, StatusReport.status)
        .where(StatusReport.task_id.in_(task_ids))
        .order_by(StatusReport.created_at, StatusReport.id)
    )
    return {(task_id, agency_id): status for task_id, agency_id, status in rows}


MAX_NOTE = 1000
NOTE_KINDS = ("task_reminder", "task_nudge")


async def add_note(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    chat_id: int,
    replied_to: int,
    text: str,
    *,
    to_the_bot: bool = True,
    replied_at: datetime | None = None,
) -> StatusReport | None:
    """Record a note written as a reply to the bot's note question, or to a task reminder.

    The question is matched by its message id; one whose id is not recorded yet takes
    the reply only as bot/services/questions.py says (`replied_at`: when the replied-to
    bot message was sent). Returns None when the replied-to message is none of these (the
    caller gives a hint). A note that is too long is refused with the text echoed back,
    so nothing typed is lost.
    """
    member = who.member
    if member is None:
        return None
    asked_here = and_(StatusReport.prompt_chat_id == chat_id, StatusReport.member_id == member.id)
    matches = [StatusReport.prompt_message_id == replied_to]
    fresh = questions.being_asked(StatusReport.created_at, now, replied_at, to_the_bot=to_the_bot)
    if fresh is not None:
        newest = select(func.max(StatusReport.id)).where(asked_here).scalar_subquery()
        # Only the newest: an older question that was never sent (a newer press replaced
        # it) must not catch replies meant for something else.
        matches.append(
            and_(StatusReport.prompt_message_id.is_(None), StatusReport.id == newest, fresh)
        )
    report = await session.scalar(
        select(StatusReport)
        .where(asked_here, or_(*matches))
        # The question replied to, if its id is known, before one being asked.
        .order_by(
            StatusReport.prompt_message_id.is_(None),
            StatusReport.created_at.desc(),
            StatusReport.id.desc(),
        )
        .limit(1)
    )
    if report is None:
        task_id = await task_of_reminder(session, chat_id, replied_to)
        if task_id is None:
            return None
        report = await session.scalar(
            select(StatusReport)
            .where(StatusReport.task_id == task_id, StatusReport.member_id == member.id)
            .order_by(StatusReport.created_at.desc(), StatusReport.id.desc())
            .limit(1)
        )
        if report is None:
            raise NotFoundError(
                msg("Please first answer with one of the buttons, then add your note.")
            )
    write_note(session, now, who, report, text)
    return report


def write_note(
    session: AsyncSession, now: datetime, who: Requester, report: StatusReport, text: str
) -> None:
    """Set the note of `report` (the member's own), refusing an empty or too long one; the
    audit log keeps the note it replaces."""
    note = text.strip()
    if not note:
        raise BadInputError(msg("The note is empty; nothing was recorded."))
    if len(note) > MAX_NOTE:
        raise BadInputError(
            msg(
                "The note is {length} characters long; at most {limit} are allowed. "
                "Nothing was recorded. Your text, to shorten and send again:",
                length=len(note),
                limit=MAX_NOTE,
            ),
            verbatim(note),
        )
    # A note replaces the report's earlier one: the log keeps what it said.
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "task.note",
        task_id=report.task_id,
        report_id=report.id,
        agency_id=report.agency_id,
        note=note,
        previous=report.note,
    )
    report.note = note


async def answers_a_task(session: AsyncSession, chat_id: int, message_id: int) -> bool:
    """Whether a reply to this bot message is a note: it is a note question or a reminder."""
    question = await session.scalar(
        select(StatusReport.id)
        .where(StatusReport.prompt_chat_id == chat_id, StatusReport.prompt_message_id == message_id)
        .limit(1)
    )
    return question is not None or await task_of_reminder(session, chat_id, message_id) is not None


async def task_of_reminder(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    row = await session.scalar(
        select(Outbox).where(
            Outbox.chat_id == chat_id,
            Outbox.message_id == message_id,
            Outbox.kind.in_(NOTE_KINDS),
        )
    )
    return int(row.payload["task_id"]) if row is not None else None
