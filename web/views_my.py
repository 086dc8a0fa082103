"""A member's desk, /my: their agency's open tasks with a form each (an answer, a note, a
file), and their councils' coming meetings."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.i18n import msg
from bot.keyboards import task_word
from bot.services import desk_reports, overview, report_files, reports
from bot.services.errors import BadInputError, ServiceError
from bot.services.people import Requester
from web.render import render
from web.security import UPLOAD, Upload, deps_of, visit
from web.view_helpers import path_id, see_other, sign_in_page, signed_in_person


@dataclass(frozen=True)
class Refused:
    """A form sent back: which task's, why, and what was typed (a file must be chosen
    again: a browser never lets a page fill in a file field)."""

    task_id: int
    message: str
    form: desk_reports.DeskReport


async def my_page(request: web.Request) -> web.StreamResponse:
    who = signed_in_person()
    if who is None:
        return sign_in_page(request)
    saved = request.query.get("saved", "")
    return await _my(request, who, saved=int(saved) if saved.isdigit() and len(saved) < 10 else 0)


async def _my(request: web.Request, who: Requester, *, saved: int = 0) -> web.Response:
    deps = deps_of(request)
    mine = await overview.my_desk(visit().db, who, deps.clock.now(), deps.timing.calendar)
    return _my_page(request, mine, saved=saved)


def _my_page(
    request: web.Request,
    mine: overview.MyDesk,
    *,
    saved: int = 0,
    refused: Refused | None = None,
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "my.html",
        status=status,
        mine=mine,
        saved=saved,
        refused=refused,
        answers=[
            (value, f"{button.emoji} {task_word(button)}")
            for value, button in desk_reports.STATUS_CHOICES.items()
        ],
        note_limit=reports.MAX_NOTE,
        accepted=",".join(sorted(report_files.ACCEPTED_EXTENSIONS)),
    )


async def report_on_task(request: web.Request) -> web.StreamResponse:
    who = signed_in_person()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    task_id = path_id(request, "task_id")
    form, problem = _read_form(request)
    now = deps.clock.now()
    session = visit().db
    try:
        if problem is not None:
            raise problem.error
        # A savepoint: a refusal undoes whatever part of the form was already written.
        async with session.begin_nested():
            await desk_reports.save(
                session, now, deps.timing.today(now), who, task_id, form, deps.settings.files_dir
            )
    except ServiceError as error:
        mine = await overview.my_desk(session, who, now, deps.timing.calendar)
        if not _listed(mine, task_id):
            raise  # not a task of theirs: the error page (404/403), no form to show again
        refused = Refused(task_id, error.render(), _without_file(form))
        return _my_page(request, mine, refused=refused, status=problem.status if problem else 400)
    return see_other(f"/my?saved={task_id}#task-{task_id}")


def _listed(mine: overview.MyDesk, task_id: int) -> bool:
    return any(task.id == task_id for task, _found in mine.tasks)


def _without_file(form: desk_reports.DeskReport) -> desk_reports.DeskReport:
    return desk_reports.DeskReport(form.status, form.note, form.document, None)


def _read_form(request: web.Request) -> tuple[desk_reports.DeskReport, Refusal | None]:
    """The form as web/security.py `uploads` received it (before the transaction opened),
    and why it cannot be taken as it came (a file over the limit: 413)."""
    sent = request.get(UPLOAD)
    if not isinstance(sent, Upload) or sent.unreadable:
        unreadable = BadInputError(msg("The form could not be read; nothing was recorded."))
        return desk_reports.DeskReport(), Refusal(unreadable, 400)
    upload = None
    if sent.filename and sent.data is not None:
        upload = report_files.Upload(sent.filename, sent.content_type, sent.data)
    form = desk_reports.DeskReport(
        status=sent.fields.get("status", "")[:40],
        note=sent.fields.get("note", ""),
        document=sent.fields.get("document", ""),
        upload=upload,
    )
    if sent.too_large:
        return form, Refusal(report_files.upload_too_large(), 413)
    return form, None


@dataclass(frozen=True)
class Refusal:
    error: ServiceError
    status: int
