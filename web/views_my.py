"""A member's desk, /my: their agency's open tasks with a form each (an answer, a note, a
file), and their councils' coming meetings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from bot.keyboards import task_word
from bot.services import desk_reports, overview, report_files, reports
from bot.services.errors import NotAllowedError, NotFoundError, ServiceError
from bot.services.people import Requester
from bot.services.report_files import Upload
from web.render import render
from web.security import deps_of, visit

# Longer than any field may be: cut, and the service's own limits then speak.
FIELD_LIMIT = 5000


@dataclass(frozen=True)
class Refused:
    """A form sent back: which task's, why, and what was typed (a file must be chosen
    again: a browser never lets a page fill in a file field)."""

    task_id: int
    message: str
    form: desk_reports.DeskReport


async def my_page(request: web.Request) -> web.StreamResponse:
    who = visit().who
    if who is None:
        return render(request, "signin.html", status=401)
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
) -> web.Response:
    return render(
        request,
        "my.html",
        status=400 if refused else 200,
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
    who = visit().who
    if who is None:
        return render(request, "signin.html", status=401)
    deps = deps_of(request)
    raw = request.match_info["task_id"]
    task_id = int(raw) if len(raw) <= 9 else 0
    form = await _read_form(request)
    now = deps.clock.now()
    session = visit().db
    try:
        # A savepoint: a refusal undoes whatever part of the form was already written.
        async with session.begin_nested():
            await desk_reports.save(
                session, now, deps.timing.today(now), who, task_id, form, deps.settings.files_dir
            )
    except ServiceError as error:
        mine = await overview.my_desk(session, who, now, deps.timing.calendar)
        if isinstance(error, (NotFoundError, NotAllowedError)) and not _listed(mine, task_id):
            raise  # not a task of theirs: the error page (404/403), no form to show again
        refused = Refused(task_id, error.render(), _without_file(form))
        return _my_page(request, mine, refused=refused)
    return web.Response(status=303, headers={"Location": f"/my?saved={task_id}#task-{task_id}"})


def _listed(mine: overview.MyDesk, task_id: int) -> bool:
    return any(task.id == task_id for task, _found in mine.tasks)


def _without_file(form: desk_reports.DeskReport) -> desk_reports.DeskReport:
    return desk_reports.DeskReport(form.status, form.note, form.document, None)


async def _read_form(request: web.Request) -> desk_reports.DeskReport:
    posted = await request.post()  # a file is spooled to disk by aiohttp, within the limit
    upload = None
    field = posted.get("file")
    if isinstance(field, web.FileField) and field.filename:
        data = await _read(field)
        upload = Upload(field.filename[:255], field.content_type, data)
    return desk_reports.DeskReport(
        status=str(posted.get("status", ""))[:40],
        note=str(posted.get("note", ""))[:FIELD_LIMIT],
        document=str(posted.get("document", ""))[:FIELD_LIMIT],
        upload=upload,
    )


async def _read(field: web.FileField) -> bytes:
    # Spooled to disk past a size: read off the event loop.
    return await asyncio.to_thread(field.file.read)
