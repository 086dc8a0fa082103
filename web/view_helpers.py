"""What every page of the desk does the same way: who asks, the sign-in page, the answer
after a form (303), a form field read with a bound, the actor the audit log names."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.services import audit
from bot.services.people import Requester
from bot.services.permissions import require_admin
from web.render import render
from web.security import visit


def signed_in_person() -> Requester | None:
    """Who is asking; None: nobody is signed in (or may no longer see anything)."""
    return visit().who


def admin_asking() -> Requester | None:
    """The admin asking; None: nobody is signed in. A member is refused (403)."""
    who = visit().who
    if who is not None:
        require_admin(who)
    return who


def sign_in_page(request: web.Request) -> web.Response:
    return render(request, "signin.html", status=401)


def see_other(location: str) -> web.Response:
    # Returned, not raised: raising would roll back the request's transaction.
    return web.Response(status=303, headers={"Location": location})


def form_field(form: Any, name: str, limit: int = 1000) -> str:
    # Longer than any field may be: cut, and the service's own limits then speak.
    return str(form.get(name, ""))[:limit]


def actor_of(who: Requester) -> str:
    return audit.telegram_actor(who.telegram_user_id)


def path_id(request: web.Request, name: str) -> int:
    """The numeric id in the path (routes.py lets digits only through); one no row can
    have (too long for a 32-bit column) is 0, which is simply not found."""
    raw = request.match_info[name]
    return int(raw) if len(raw) <= 9 else 0
