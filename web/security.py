"""What every request passes through, in this order (outermost first):

1. `headers`: Content-Security-Policy (no inline script or style, nothing from another
   site), frames only inside Telegram's web clients, no MIME sniffing, no Referer to
   other sites (a one-time link must not leak), no caching of signed-in pages.
2. `host`: a request whose Host is not WEB_URL's is refused (421) before anything is
   read: no page is built with an attacker's host name in it.
3. `signed_in`: the session cookie is looked up in the database, and who the person is
   and what they may do is read again (`identify`), in the request's one transaction.
   A service's refusal becomes an error page: 403 not allowed, 404 not found, 400 bad.
4. `body_limit`: a form may be as large as its route allows (web/app.py's MAX_BODY, or a
   file form's own limit, BODY_LIMITS); a larger one is refused with a page saying so.
5. `csrf`: every POST that says where it comes from (Origin) comes from the desk itself,
   and carries the token of its session (or, before signing in, of the browser's sign-in
   cookie; the Mini App's initData is its own proof); else 403.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Deps
from bot.db import transaction
from bot.i18n import _, pick_locale, set_locale
from bot.services import desk
from bot.services.errors import NotAllowedError, NotFoundError, ServiceError, UnavailableError
from bot.services.people import Requester, TelegramIdentity, identify

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "desk_session"
# Before signing in: the secret the sign-in form's CSRF token is made from (double submit).
SIGN_IN_COOKIE = "desk_signin"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

# Telegram's web clients (web.telegram.org, webk., webz., …) show a Mini App in a frame.
FRAME_ANCESTORS = "https://web.telegram.org https://*.telegram.org"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; "
    f"frame-ancestors {FRAME_ANCESTORS}"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# POST routes that need no CSRF token: the Mini App's initData is itself a proof, signed by
# Telegram an instant ago for this bot, that this person asks (and a Mini App in a web
# client's frame has no cookie from us to pair a token with).
CSRF_EXEMPT = frozenset({"/auth/telegram"})


DEPS = web.AppKey("deps", Deps)
# The routes that take a file (by route name), with how large their request may be.
BODY_LIMITS = web.AppKey("body_limits", dict[str, int])


def deps_of(request: web.Request) -> Deps:
    return request.app[DEPS]


@dataclass
class Visit:
    """One request as the views see it: its transaction, and who asks (None: nobody is
    signed in, or the person signed in may no longer see anything)."""

    db: AsyncSession
    who: Requester | None = None
    session_id: str | None = None
    csrf: str = ""


# Set by `signed_in` for the request being handled (like the locale: one request is
# handled in one task at a time, middlewares and view alike).
_visit: ContextVar[Visit] = ContextVar("desk_visit")


def visit() -> Visit:
    return _visit.get()


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
        _secure(request, response)
        raise
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)
    if _https(request):
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


@web.middleware
async def host(request: web.Request, handler: Handler) -> web.StreamResponse:
    expected = deps_of(request).settings.web_host
    if (request.headers.get("Host") or "").lower() != expected:
        log.info("desk: a request for another host was refused")
        return web.Response(status=421, text="Misdirected Request: unknown host\n")
    return await handler(request)


@web.middleware
async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    deps = deps_of(request)
    if request.path.startswith("/static/"):
        return await handler(request)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    try:
        async with transaction(deps.sessions()) as session:
            current = Visit(session)
            _visit.set(current)
            user_id = await desk.session_user(session, deps.clock.now(), session_id)
            if user_id is not None:
                who = await identify(
                    session, TelegramIdentity(user_id), deps.settings.default_locale
                )
                if who.user is not None:
                    # As in the chat: /lang, the roster's, then the Telegram app's language
                    # (kept from the last message or initData; a page request has none).
                    who.locale = pick_locale(
                        who.user.language,
                        who.member.language if who.member is not None else None,
                        who.user.telegram_language,
                        deps.settings.default_locale,
                    )
                if who.may_see_councils:
                    current.who, current.session_id = who, session_id
            set_locale(
                current.who.locale
                if current.who is not None
                else _browser_locale(request, deps.settings.default_locale)
            )
            return await handler(request)
    except ServiceError as error:
        from web.render import render  # here: render reads this module's names

        return render(request, "error.html", status=_status(error), message=error.render())


def _status(error: ServiceError) -> int:
    if isinstance(error, NotAllowedError):
        return 403
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, UnavailableError):
        return 503
    return 400


def _browser_locale(request: web.Request, default: str) -> str:
    # Before signing in only the browser says which language it reads: its first choice.
    first = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return pick_locale(None, None, first or None, default)


@web.middleware
async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    limit = request.app[BODY_LIMITS].get(request.match_info.route.name or "")
    if limit is not None:
        request = request.clone(client_max_size=limit)
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        from web.render import render  # here: render reads this module's names

        allowed = request.client_max_size
        size = (
            f"{allowed / (1024 * 1024):.0f} MB"
            if allowed >= 1024 * 1024
            else f"{allowed // 1024} KB"
        )
        message = _(
            "What was sent is larger than {size}, the most this form takes; nothing was recorded."
        ).format(size=size)
        return render(request, "error.html", status=413, message=message)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every page its token, and check it on every POST."""
    if request.path.startswith("/static/"):
        return await handler(request)
    current = visit()
    session_id = current.session_id
    fresh_secret = None
    if session_id:
        secret = session_id
    else:
        secret = request.cookies.get(SIGN_IN_COOKIE, "")
        if len(secret) < 32 or len(secret) > 100:
            secret = fresh_secret = secrets.token_urlsafe(32)
    current.csrf = desk.csrf_token(secret)
    changes = request.method not in ("GET", "HEAD", "OPTIONS")
    if changes and not _same_origin(request):
        raise web.HTTPForbidden(text=_("This form was not sent from the desk.") + "\n")
    if changes and request.path not in CSRF_EXEMPT:
        given = request.headers.get(CSRF_HEADER, "")
        if not given and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            given = str((await request.post()).get(CSRF_FIELD, ""))
        if not desk.csrf_ok(secret, given):
            raise web.HTTPForbidden(
                text=_("This form has expired. Please open the page again and resend it.") + "\n"
            )
    response = await handler(request)
    if fresh_secret is not None:
        set_cookie(request, response, SIGN_IN_COOKIE, fresh_secret, max_age=3600)
    return response


def _same_origin(request: web.Request) -> bool:
    """A browser names the page a POST comes from (Origin); another site's page is
    refused even before its token is looked at. No Origin (an old browser): the token
    decides."""
    origin = request.headers.get("Origin")
    return origin is None or origin == deps_of(request).settings.web_url


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    max_age: int | None,
) -> None:
    """HttpOnly, SameSite=Lax, Secure under https.

    Lax, not Strict: a desk link opened from a Telegram message or a bookmark is a
    navigation from another site, and Strict would show it signed out; Lax still keeps
    the cookie off every cross-site POST and frame, and forms carry a CSRF token anyway.
    """
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_https(request),
    )


def _https(request: web.Request) -> bool:
    return (deps_of(request).settings.web_url or "").startswith("https://")


MIDDLEWARES = (headers, host, signed_in, body_limit, csrf)
