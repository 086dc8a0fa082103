"""A member's report through the desk's form on /my: a status, a note, a file — any of the
three, in one press, through the same services as the chat's buttons, note replies and
documents (so the same checks: their agency's task, open, in their council or one they
stand in for today).

Every input is read and checked before anything is written, the file's bytes last, and the
whole form is undone together (the caller's savepoint): a refused file leaves no answer
behind, a refused answer no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import TaskStatus
from bot.i18n import msg
from bot.models import StatusReport, Task
from bot.services import report_files, reports
from bot.services.errors import BadInputError, NotFoundError
from bot.services.people import Requester
from bot.services.permissions import require_member

# The form's values for the four answers: the statuses as the database names them.
STATUS_CHOICES = {status.value: button for button, status in reports.STATUS_OF_BUTTON.items()}


@dataclass(frozen=True)
class DeskReport:
    """What the member filled in; empty strings and None for what they left out."""

    status: str = ""
    note: str = ""
    document: str = ""  # the official number and date, as a caption gives them
    upload: report_files.Upload | None = None


@dataclass(frozen=True)
class Saved:
    status: TaskStatus | None
    noted: bool
    file: report_files.Received | None
    task_done: bool


def _status(value: str) -> TaskStatus | None:
    if not value:
        return None
    try:
        return STATUS_CHOICES[value]
    except KeyError:
        raise BadInputError(msg("Choose one of the four answers.")) from None


def _check_note(note: str) -> str:
    note = note.strip()
    if len(note) > reports.MAX_NOTE:
        raise BadInputError(
            msg(
                "The note is {length} characters long; at most {limit} are allowed. "
                "Nothing was recorded.",
                length=len(note),
                limit=reports.MAX_NOTE,
            )
        )
    return note


async def save(
    session: AsyncSession,
    now: datetime,
    today: date,
    who: Requester,
    task_id: int,
    form: DeskReport,
    files_dir: Path,
) -> Saved:
    """Record what the member filled in for their agency on task `task_id`."""
    require_member(who)
    status = _status(form.status)
    note = _check_note(form.note)
    caption = report_files.parse_caption(form.document) if form.document.strip() else None
    if status is None and not note and form.upload is None:
        raise BadInputError(msg("Choose an answer, write a note or attach a file."))
    if caption is not None and form.upload is None:
        raise BadInputError(msg("The official number and date go with a file: attach it."))
    await _own_task(session, who, task_id)
    task_done = False
    report: StatusReport | None = None
    if status is not None:
        recorded = await reports.record_status(session, now, who, task_id, status, today=today)
        task_done = recorded.task_done
        report = await session.get(StatusReport, recorded.report_id)
    if note:
        report = report or await _latest_report(session, who, task_id)
        if report is None:
            raise NotFoundError(msg("Please first choose an answer, then add your note."))
        reports.write_note(session, now, who, report, note)
    # The file last: its bytes are written to FILES_DIR only once everything else has
    # been accepted (a refusal of its own undoes the answer and note with the caller's
    # savepoint, and leaves no file behind).
    received = None
    if form.upload is not None:
        received = await report_files.submit_upload(
            session,
            now,
            who,
            form.upload,
            task_id,
            caption or report_files.Caption(),
            today,
            files_dir,
        )
    return Saved(status, bool(note), received, task_done)


async def _own_task(session: AsyncSession, who: Requester, task_id: int) -> None:
    """Another agency's task, or none, is not found (as its page is); whether the agency
    may still answer on it (open, a stand-in's day…) the services below decide."""
    assert who.member is not None
    task = await session.get(Task, task_id)
    if task is None or all(part.agency_id != who.member.agency_id for part in task.assignments):
        raise NotFoundError(msg("There is no task #{id}.", id=task_id))


async def _latest_report(
    session: AsyncSession, who: Requester, task_id: int
) -> StatusReport | None:
    assert who.member is not None
    return await session.scalar(
        select(StatusReport)
        .where(StatusReport.task_id == task_id, StatusReport.member_id == who.member.id)
        .order_by(StatusReport.created_at.desc(), StatusReport.id.desc())
        .limit(1)
    )
