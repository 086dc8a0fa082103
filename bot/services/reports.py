"""Status reports: a member answers for their agency on a task with one button.

Every press is checked here, at the moment of the press: the presser must be a
registered member of an agency assigned to the task, in the task's council, and the
task must still be open. `✅` closes the agency's part (its nudges stop, because the
outbox renderer skips them), and the task when every agency is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import TaskStatus
from bot.i18n import msg, verbatim
from bot.models import Outbox, ReportStatus, StatusReport, Task, TaskAgency
from bot.services import audit
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
    report: StatusReport
    task: Task
    repeated: bool  # a double tap: nothing new was recorded
    task_done: bool


async def record_status(
    session: AsyncSession, now: datetime, who: Requester, task_id: int, button: TaskStatus
) -> Recorded:
    member = who.member
    if member is None:
        raise NotAllowedError(msg("Only registered members can report on tasks."))
    task = await session.get(Task, task_id)
    if task is None or task.cancelled_at is not None:
        raise NotFoundError(msg("This task no longer exists or has been cancelled."))
    part = next((a for a in task.assignments if a.agency_id == member.agency_id), None)
    in_council = task.council.code in who.council_codes
    if part is None or not in_council:
        raise NotAllowedError(msg("This task is not assigned to your agency."))
    if part.done_at is not None:
        raise NotAllowedError(msg("Your agency has already reported this task as done."))
    status = STATUS_OF_BUTTON[button]
    latest = await session.scalar(
        select(StatusReport)
        .where(StatusReport.task_id == task.id, StatusReport.member_id == member.id)
        .order_by(StatusReport.created_at.desc(), StatusReport.id.desc())
        .limit(1)
    )
    if latest is not None and latest.status == status and now - latest.created_at < REPEAT_WINDOW:
        return Recorded(latest, task, repeated=True, task_done=task.done_at is not None)
    report = StatusReport(
        task_id=task.id,
        agency_id=member.agency_id,
        member_id=member.id,
        status=status,
        created_at=now,
    )
    session.add(report)
    if status == ReportStatus.DONE:
        _close_part(task, part, now)
    await session.flush()
    audit.record(
        session,
        now,
        audit.telegram_actor(who.telegram_user_id),
        "task.report",
        task_id=task.id,
        agency_id=member.agency_id,
        status=status.value,
    )
    return Recorded(report, task, repeated=False, task_done=task.done_at is not None)


def _close_part(task: Task, part: TaskAgency, now: datetime) -> None:
    part.done_at = now
    if all(a.done_at is not None for a in task.assignments):
        task.done_at = now


def expect_prompt(report: StatusReport, chat_id: int) -> None:
    """The bot is about to ask for a note in `chat_id` (its message id follows)."""
    report.prompt_chat_id, report.prompt_message_id = chat_id, None


async def attach_prompt(
    session: AsyncSession, report_id: int, chat_id: int, message_id: int
) -> None:
    """Remember the question that asks for a note, so a reply to it finds this report."""
    report = await session.get(StatusReport, report_id)
    if report is not None:
        report.prompt_chat_id, report.prompt_message_id = chat_id, message_id


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
    who: Requester,
    chat_id: int,
    replied_to: int,
    text: str,
    *,
    to_the_bot: bool = True,
) -> StatusReport | None:
    """Record a note written as a reply to the bot's note question, or to a task reminder.

    Returns None when the replied-to message is neither (the caller gives a hint). A note
    that is too long is refused with the text echoed back, so nothing typed is lost.
    """
    member = who.member
    if member is None:
        return None
    report = await session.scalar(
        select(StatusReport)
        .where(
            StatusReport.prompt_chat_id == chat_id,
            StatusReport.member_id == member.id,
            # The question's id is written just after it is sent; a quick reply to a
            # bot message in between still belongs to the question being asked.
            or_(
                StatusReport.prompt_message_id == replied_to,
                and_(StatusReport.prompt_message_id.is_(None), literal(to_the_bot)),
            ),
        )
        .order_by(StatusReport.created_at.desc(), StatusReport.id.desc())
        .limit(1)
    )
    if report is None:
        task_id = await _task_of_reminder(session, chat_id, replied_to)
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
    report.note = note
    return report


async def _task_of_reminder(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    row = await session.scalar(
        select(Outbox).where(
            Outbox.chat_id == chat_id,
            Outbox.message_id == message_id,
            Outbox.kind.in_(NOTE_KINDS),
        )
    )
    return int(row.payload["task_id"]) if row is not None else None
