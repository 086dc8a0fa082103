"""The desk's audit log (admins): filters by person, action and days; a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.services import desk_audit
from bot.services.errors import BadInputError
from web.render import render
from web.security import deps_of, visit
from web.view_helpers import admin_asking, sign_in_page


async def audit_page(request: web.Request) -> web.StreamResponse:
    who = admin_asking()
    if who is None:
        return sign_in_page(request)
    query = request.query
    wanted = desk_audit.AuditFilter(
        actor=query.get("actor", "")[:64],
        action=query.get("action", "")[:64],
        since=query.get("from", "")[:40],
        until=query.get("to", "")[:40],
        page=query.get("page", "")[:20],
    )
    db = visit().db
    choices = await desk_audit.choices(db, who)
    error = ""
    try:
        found = await desk_audit.audit_page(db, who, deps_of(request).settings.tz, wanted)
    except BadInputError as refused:
        # The filters again, as typed, with what is wrong; no records.
        found, error = desk_audit.AuditPage(), refused.message.render()
    older = ""
    if found.older:
        kept = {"actor": wanted.actor, "action": wanted.action}
        kept |= {"from": wanted.since, "to": wanted.until, "page": str(found.page + 1)}
        older = "/audit?" + urlencode({k: v for k, v in kept.items() if v})
    return render(
        request,
        "audit.html",
        status=400 if error else 200,
        found=found,
        wanted=wanted,
        choices=choices,
        older=older,
        error=error,
    )
