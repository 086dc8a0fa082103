"""The desk's meeting pages (admins) and a member's answer from /my: each view parses the
request, calls one service, renders a template (see web/views.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from bot.services import desk_meetings, desk_tasks, meetings, overview
from bot.services.attendance_export import attendance_list
from bot.services.errors import BadInputError, NotFoundError
from bot.services.people import Requester
from web.render import render
from web.security import deps_of, visit, writes
from web.view_helpers import (
    actor_of,
    admin_asking,
    form_field,
    path_id,
    see_other,
    sign_in_page,
    signed_in_person,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def meetings_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    council = request.query.get("council", "")[:40] or None
    listed = await desk_meetings.list_meetings(
        visit().db, who, deps_of(request).clock.now(), council
    )
    return render(request, "meetings.html", listed=listed, wanted=council or "")


# --- creating a meeting ---------------------------------------------------------------------


async def new_meeting_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    return await _new_meeting_form(
        request, who, meetings.MeetingFields(), secrets.token_urlsafe(24)
    )


async def _new_meeting_form(
    request: web.Request,
    who: Requester,
    values: meetings.MeetingFields,
    form_key: str,
    error: str = "",
) -> web.Response:
    choices = await desk_tasks.form_choices(visit().db, who)
    return render(
        request,
        "meeting_new.html",
        status=400 if error else 200,
        councils=choices.councils,
        values=values,
        form_key=form_key,
        error=error,
    )


async def create_meeting(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    form = await request.post()
    values = meetings.MeetingFields(
        council=form_field(form, "council", 40),
        title=form_field(form, "title"),
        day=form_field(form, "day", 40),
        time=form_field(form, "time", 40),
        place=form_field(form, "place"),
    )
    form_key = form_field(form, "form_key")
    now = deps.clock.now()
    try:
        new = meetings.parse_meeting_fields(values, deps.timing.tz, now)
        meeting, _planned = await meetings.create_new_meeting(
            visit().db, now, who, deps.timing, new, actor_of(who), form_key=form_key
        )
    except (BadInputError, NotFoundError) as error:
        # Shown next to the form, every value kept as typed; nothing was written.
        form_key = form_key or secrets.token_urlsafe(24)  # a form that lost its key gets one
        return await _new_meeting_form(request, who, values, form_key, error.message.render())
    return see_other(f"/meetings/{meeting.id}")


# --- one meeting: its page, moving and cancelling it, its attendance list --------------------


@dataclass(frozen=True)
class MoveFields:
    day: str
    time: str
    place: str


async def meeting_detail(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    return await _meeting_page(request, who, path_id(request, "meeting_id"))


async def _meeting_page(
    request: web.Request,
    who: Requester,
    meeting_id: int,
    *,
    move: MoveFields | None = None,
    error: str = "",
) -> web.Response:
    """A meeting's page; its move form filled with `move` as typed, else as it stands."""
    deps = deps_of(request)
    page = await desk_meetings.meeting_page(visit().db, who, deps.clock.now(), meeting_id)
    if move is None:
        local = page.meeting.starts_at.astimezone(deps.timing.tz)
        # The pickers' own formats (YYYY-MM-DD, HH:MM), not shown text.
        place = page.meeting.place or ""
        move = MoveFields(local.date().isoformat(), local.strftime("%H:%M"), place)
    return render(
        request,
        "meeting.html",
        status=400 if error else 200,
        page=page,
        move=move,
        error=error,
    )


async def move_meeting(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    form = await request.post()
    meeting_id = path_id(request, "meeting_id")
    move = MoveFields(
        form_field(form, "day", 40), form_field(form, "time", 40), form_field(form, "place")
    )
    try:
        await meetings.move_meeting_to(
            visit().db,
            deps.clock.now(),
            who,
            deps.timing,
            meeting_id,
            move.day,
            move.time,
            move.place,
            actor_of(who),
        )
    except BadInputError as error:
        message = error.message.render()
        return await _meeting_page(request, who, meeting_id, move=move, error=message)
    return see_other(f"/meetings/{meeting_id}")


async def cancel_meeting_page(request: web.Request) -> web.StreamResponse:
    """The confirmation: cancelling is one more, deliberate press."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    meeting = await desk_meetings.open_meeting(visit().db, who, path_id(request, "meeting_id"))
    return render(request, "meeting_cancel.html", meeting=meeting)


async def cancel_meeting(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    meeting_id = path_id(request, "meeting_id")
    await meetings.cancel_meeting(
        visit().db, deps_of(request).clock.now(), who, [str(meeting_id)], actor_of(who)
    )
    return see_other(f"/meetings/{meeting_id}")


@writes  # the export is in the audit log
async def attendance_file(request: web.Request) -> web.StreamResponse:
    """The attendance list as the chat's /export MEETING_ID sends it."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    listed = await attendance_list(
        visit().db, who, path_id(request, "meeting_id"), deps.timing.tz, deps.clock.now()
    )
    name = quote(listed.file_name())
    return web.Response(
        body=listed.content,
        content_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- a member's answer, from /my ------------------------------------------------------------


async def answer_meeting(request: web.Request) -> web.StreamResponse:
    who = signed_in_person()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    form = await request.post()
    meeting_id = path_id(request, "meeting_id")
    choice, delegate = form_field(form, "answer", 40), form_field(form, "delegate")
    try:
        await desk_meetings.answer_meeting(
            visit().db, deps.clock.now(), who, meeting_id, choice, delegate
        )
    except BadInputError as error:
        # /my again, the error next to that meeting's answer and the name as typed.
        mine = await overview.my_desk(visit().db, who, deps.clock.now(), deps.timing.calendar)
        return render(
            request,
            "my.html",
            status=400,
            mine=mine,
            rsvp_error=error.message.render(),
            rsvp_meeting=meeting_id,
            rsvp_delegate=delegate,
        )
    return see_other(f"/my#meeting-{meeting_id}")
