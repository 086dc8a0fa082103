"""The desk's announcements (admins): compose, preview, confirm, follow the progress.

Each view parses the request, calls one service (bot/services/desk_announcements.py, over
the same `broadcasts` as /announce) and renders a template.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.services import broadcasts, desk_announcements
from bot.services.errors import BadInputError, NotFoundError
from bot.services.people import Requester
from web.render import render
from web.security import deps_of, visit
from web.view_helpers import admin_asking, form_field, path_id, see_other, sign_in_page

# Longer than any announcement may be: the service then says how long it is.
TEXT_FIELD_LIMIT = 4 * broadcasts.MAX_TEXT


async def announcements_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    listed = await desk_announcements.recent(visit().db, who)
    return render(request, "announcements.html", listed=listed)


async def new_announcement_page(request: web.Request) -> web.StreamResponse:
    """The form; `?from=<id>` fills it with that announcement (Edit on a preview)."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    target, text = "", ""
    source = request.query.get("from", "")
    if source.isdigit() and len(source) <= 9:
        target, text = await desk_announcements.text_of(visit().db, who, int(source))
    return await _form(request, who, target, text, secrets.token_urlsafe(24))


async def _form(
    request: web.Request, who: Requester, target: str, text: str, form_key: str, error: str = ""
) -> web.Response:
    councils = await desk_announcements.councils(visit().db, who)
    return render(
        request,
        "announcement_new.html",
        status=400 if error else 200,
        councils=councils,
        target=target,
        text=text,
        form_key=form_key,
        limit=desk_announcements.MAX_TEXT,
        error=error,
    )


async def compose_announcement(request: web.Request) -> web.StreamResponse:
    """The form sent: a draft (nothing queued), then its preview."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    form = await request.post()
    target = form_field(form, "target", 40)
    text = form_field(form, "text", TEXT_FIELD_LIMIT)
    form_key = form_field(form, "form_key", 100)
    try:
        made = await desk_announcements.compose(
            visit().db, deps_of(request).clock.now(), who, target, text, form_key
        )
    except (BadInputError, NotFoundError) as error:
        # The form again, the text as typed; nothing was written.
        form_key = form_key or secrets.token_urlsafe(24)
        return await _form(request, who, target, text, form_key, error.message.render())
    return see_other(f"/announcements/{made.id}")


async def announcement_page(request: web.Request) -> web.StreamResponse:
    """A draft: its preview with Confirm and Edit. Confirmed: progress, then summary."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    view = await desk_announcements.announcement_page(
        visit().db, who, path_id(request, "announcement_id")
    )
    return render(request, "announcement.html", view=view, limit=desk_announcements.MAX_TEXT)


async def confirm_announcement(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    announcement_id = path_id(request, "announcement_id")
    await desk_announcements.confirm(visit().db, deps_of(request).clock.now(), who, announcement_id)
    return see_other(f"/announcements/{announcement_id}")


async def edit_announcement(request: web.Request) -> web.StreamResponse:
    """Edit: the draft is withdrawn and its text goes back into a new form."""
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    announcement_id = path_id(request, "announcement_id")
    await desk_announcements.withdraw(
        visit().db, deps_of(request).clock.now(), who, announcement_id
    )
    return see_other(f"/announcements/new?from={announcement_id}")
