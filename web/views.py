"""The desk's pages: each parses the request, calls one service, renders a template.

Who is asking and the request's database session (`visit()`) come from web/security.py;
a service's refusal becomes the error page there.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from aiohttp import web

from bot.i18n import set_locale
from bot.services import desk, desk_tasks, overview
from bot.services.completion import Completion
from bot.services.people import Requester, TelegramIdentity, identify, remember_user
from web.render import render
from web.security import SESSION_COOKIE, deps_of, set_cookie, visit

log = logging.getLogger(__name__)


def _who(request: web.Request) -> Requester | None:
    return visit().who


def _see_other(location: str) -> web.Response:
    # Returned, not raised: raising would roll back the request's transaction.
    return web.Response(status=303, headers={"Location": location})


def _home(who: Requester) -> str:
    return "/" if who.is_admin else "/my"


def _sign_in_page(request: web.Request) -> web.Response:
    return render(request, "signin.html", status=401)


async def overview_page(request: web.Request) -> web.StreamResponse:
    who = _who(request)
    if who is None:
        return _sign_in_page(request)
    deps = deps_of(request)
    councils = await overview.council_overviews(
        visit().db, who, deps.clock.now(), deps.timing.calendar
    )
    return render(request, "overview.html", councils=councils, classes=list(Completion))


async def my_page(request: web.Request) -> web.StreamResponse:
    who = _who(request)
    if who is None:
        return _sign_in_page(request)
    deps = deps_of(request)
    mine = await overview.my_desk(visit().db, who, deps.clock.now(), deps.timing.calendar)
    return render(request, "my.html", mine=mine)


async def tasks_page(request: web.Request) -> web.StreamResponse:
    who = _who(request)
    if who is None:
        return _sign_in_page(request)
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
    who = _who(request)
    if who is None:
        return _sign_in_page(request)
    deps = deps_of(request)
    raw = request.match_info["task_id"]  # digits only (routes.py)
    # An id no task can have is simply not found (and never reaches a 32-bit column).
    task_id = int(raw) if len(raw) <= 9 else 0
    page = await desk_tasks.task_page(
        visit().db, who, deps.clock.now(), deps.timing.calendar, task_id
    )
    return render(request, "task.html", page=page)


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
    response = _see_other(_home(who))
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
