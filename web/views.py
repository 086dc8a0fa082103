"""The desk's pages: each parses the request, calls one service, renders a template.

Who is asking and the request's database session (`visit()`) come from web/security.py;
a service's refusal becomes the error page there.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta

from aiohttp import web

from bot.i18n import _, set_locale
from bot.services import desk, desk_tasks, overview, tasks
from bot.services.completion import Completion
from bot.services.errors import BadInputError, NotFoundError
from bot.services.people import Reach, Requester, TelegramIdentity, identify, remember_user
from web.render import render
from web.security import SESSION_COOKIE, deps_of, set_cookie, visit
from web.view_helpers import (
    actor_of,
    admin_asking,
    form_field,
    path_id,
    see_other,
    sign_in_page,
    signed_in_person,
)

log = logging.getLogger(__name__)


def _home(who: Requester) -> str:
    return "/" if who.is_admin else "/my"


async def overview_page(request: web.Request) -> web.StreamResponse:
    who = signed_in_person()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    councils = await overview.council_overviews(
        visit().db, who, deps.clock.now(), deps.timing.calendar
    )
    return render(
        request, "overview.html", councils=councils, classes=list(Completion), reach=Reach
    )


async def tasks_page(request: web.Request) -> web.StreamResponse:
    who = signed_in_person()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    query = request.query
    wanted = desk_tasks.TaskFilter(
        council=query.get("council") or None,
        agency=query.get("agency") or None,
        completion=query.get("class") or None,
        period=query.get("period") or None,
    )
    listed = await desk_tasks.list_tasks(
        visit().db, who, deps.clock.now(), deps.timing.calendar, wanted
    )
    return render(request, "tasks.html", listed=listed, wanted=wanted, classes=list(Completion))


async def task_detail(request: web.Request) -> web.StreamResponse:
    who = signed_in_person()
    if who is None:
        return sign_in_page(request)
    return await _task_page(request, who, path_id(request, "task_id"))


async def _task_page(
    request: web.Request,
    who: Requester,
    task_id: int,
    *,
    edit: tasks.TaskEdit | None = None,
    error: str = "",
) -> web.Response:
    """A task's page; for an admin with the edit form, filled with `edit` as typed."""
    deps = deps_of(request)
    page = await desk_tasks.task_page(
        visit().db, who, deps.clock.now(), deps.timing.calendar, task_id
    )
    agencies = []
    if who.is_admin:
        agencies = (await desk_tasks.form_choices(visit().db, who)).agencies
        task = page.task
        edit = edit or tasks.TaskEdit(
            title=task.title,
            deadline=task.due_on.isoformat(),
            agencies=tuple(part.agency.code for part in task.assignments),
            ref=task.ref or "",  # as stored: '6411/VPCP-KTTH ngày 19/08/2023'
        )
    return render(
        request,
        "task.html",
        status=400 if error else 200,
        page=page,
        edit=edit,
        agencies=agencies,
        error=error,
    )


# --- creating, editing and cancelling a task (admins) ---------------------------------------


def _recurrences() -> list[tuple[str, str]]:
    return [
        ("", _("Does not repeat")),
        ("month", _("Every month")),
        ("quarter", _("Every quarter")),
        ("half", _("Every half-year")),
        ("year", _("Every year")),
    ]


async def new_task_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    return await _new_task_form(request, who, tasks.TaskFields(), secrets.token_urlsafe(24))


async def _new_task_form(
    request: web.Request,
    who: Requester,
    values: tasks.TaskFields,
    form_key: str,
    error: str = "",
) -> web.Response:
    choices = await desk_tasks.form_choices(visit().db, who)
    return render(
        request,
        "task_new.html",
        status=400 if error else 200,
        choices=choices,
        values=values,
        form_key=form_key,
        recurrences=_recurrences(),
        error=error,
    )


async def create_task(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    form = await request.post()
    values = tasks.TaskFields(
        council=form_field(form, "council"),
        agencies=tuple(str(code)[:40] for code in form.getall("agencies", [])),
        title=form_field(form, "title"),
        deadline=form_field(form, "deadline"),
        period=form_field(form, "period"),
        report_period=form_field(form, "report_period"),
        recurrence=form_field(form, "recurrence"),
        ref=form_field(form, "ref"),
    )
    form_key = form_field(form, "form_key")
    now = deps.clock.now()
    try:
        new = tasks.parse_task_fields(values, deps.timing.today(now))
        task, _planned = await tasks.create_new_task(
            visit().db, now, who, deps.timing, new, actor_of(who), form_key=form_key
        )
    except (BadInputError, NotFoundError) as error:
        # Shown next to the form, every value kept as typed; nothing was written.
        form_key = form_key or secrets.token_urlsafe(24)  # a form that lost its key gets one
        return await _new_task_form(request, who, values, form_key, error.message.render())
    return see_other(f"/tasks/{task.id}")


async def edit_task(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    form = await request.post()
    task_id = path_id(request, "task_id")
    edit = tasks.TaskEdit(
        title=form_field(form, "title"),
        deadline=form_field(form, "deadline"),
        agencies=tuple(str(code)[:40] for code in form.getall("agencies", [])),
        ref=form_field(form, "ref"),
    )
    await desk_tasks.open_task(visit().db, who, task_id)  # else not found (404)
    try:
        await tasks.edit_task(
            visit().db, deps.clock.now(), who, deps.timing, task_id, edit, actor_of(who)
        )
    except (BadInputError, NotFoundError) as error:  # e.g. an agency that does not exist
        return await _task_page(request, who, task_id, edit=edit, error=error.message.render())
    return see_other(f"/tasks/{task_id}")


async def cancel_task_page(request: web.Request) -> web.StreamResponse:
    """The confirmation: cancelling is one more, deliberate press."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    task = await desk_tasks.open_task(visit().db, who, path_id(request, "task_id"))
    return render(request, "task_cancel.html", task=task)


async def cancel_task(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    deps = deps_of(request)
    task_id = path_id(request, "task_id")
    await tasks.cancel_task_by_id(visit().db, deps.clock.now(), who, task_id, actor_of(who))
    return see_other(f"/tasks/{task_id}")


# --- signing in and out ---------------------------------------------------------------------


async def link_page(request: web.Request) -> web.StreamResponse:
    """The one-time link opens a page with one button: the link is used by that POST,
    not by this GET, so a link preview or a prefetching browser does not use it up."""
    return render(request, "link.html", token=request.match_info["token"])


async def link_sign_in(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    session, now = visit().db, deps.clock.now()
    user_id = await desk.redeem_link(session, now, request.match_info["token"])
    who = await identify(session, TelegramIdentity(user_id), deps.settings.default_locale)
    return _signed_in(request, who, await desk.open_session(session, now, who, desk.VIA_LINK))


async def telegram_sign_in(request: web.Request) -> web.StreamResponse:
    """The Mini App posts Telegram's initData (a form field or a JSON property)."""
    deps = deps_of(request)
    session, now = visit().db, deps.clock.now()
    init_data = await _init_data(request)
    try:
        identity = desk.verify_init_data(
            init_data,
            deps.settings.token,
            now,
            timedelta(seconds=deps.settings.web_auth_max_age),
        )
    except desk.SignInRefused as refused:
        log.info("desk: initData refused (%s)", refused)
        return web.json_response({"ok": False}, status=401)
    # Telegram vouches for the name and language: kept, as a message would keep them.
    await remember_user(session, now, identity, private_chat=False)
    who = await identify(session, identity, deps.settings.default_locale)
    set_locale(who.locale)
    opened = await desk.open_session(session, now, who, desk.VIA_TELEGRAM)
    if request.content_type == "application/json":
        response = web.json_response({"ok": True, "redirect": _home(who)})
        _set_session(request, response, opened)
        return response
    return _signed_in(request, who, opened)


async def _init_data(request: web.Request) -> str:
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except ValueError:
            return ""
        value = body.get("initData") if isinstance(body, dict) else None
        return value if isinstance(value, str) else ""
    return str((await request.post()).get("initData", ""))


def _signed_in(request: web.Request, who: Requester, opened: desk.Opened) -> web.Response:
    response = see_other(_home(who))
    _set_session(request, response, opened)
    return response


def _set_session(request: web.Request, response: web.StreamResponse, opened: desk.Opened) -> None:
    max_age = int(desk.SESSION_TTL.total_seconds())
    set_cookie(request, response, SESSION_COOKIE, opened.session_id, max_age=max_age)


async def logout(request: web.Request) -> web.StreamResponse:
    deps = deps_of(request)
    current = visit()
    if current.session_id:
        await desk.end_session(current.db, deps.clock.now(), current.session_id)
    current.who = None  # the page shows no one signed in
    response = render(request, "signed_out.html")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
