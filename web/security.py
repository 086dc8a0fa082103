"""What every request passes through, in this order (outermost first):

1. `headers`: Content-Security-Policy (no inline script or style, nothing from another
   site), frames only inside Telegram's web clients, no MIME sniffing, no Referer to
   other sites (a one-time link must not leak), no caching of signed-in pages.
2. `host`: a request whose Host is not WEB_URL's is refused (421) before anything is
   read: no page is built with an attacker's host name in it.
3. `signed_in`: the session cookie is looked up in the database, and who the person is
   and what they may do is read again (`identify`), in the request's one transaction.
   A service's refusal becomes an error page: 403 not allowed, 404 not found, 400 bad.
3a. (before `signed_in`) `uploads`: a form with a file, on the routes that take one, is
   received to that route's own size limit and, for an admin, parsed in a worker thread,
   before the request's transaction opens (neither holds a database connection).
4. `csrf`: every POST that says where it comes from (Origin) comes from the desk itself,
   and carries the token of its session (or, before signing in, of the browser's sign-in
   cookie; the Mini App's initData is its own proof); else 403.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Deps
from bot.db import Sessionmaker, transaction
from bot.i18n import _, pick_locale, set_locale
from bot.services import admins, desk, report_files, roster
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
# Sessions for the requests that only read (GET, HEAD): SQLite's readers (see
# bot.db.make_reader_engine); None: the bot's own sessions.
READER: web.AppKey[Sessionmaker | None] = web.AppKey("reader")
# The bot's @username, for invitation links ("" when the desk runs without the bot).
BOT_USERNAME = web.AppKey("bot_username", str)


@dataclass(frozen=True)
class UploadRoute:
    limit: int  # the largest file it accepts (the forms' MAX_BODY is far smaller)
    # What reads the file for an admin (blocking: run in a worker thread); a ServiceError
    # refuses it. None: the file is kept as it came (the view's service checks it).
    read: Callable[[str, bytes], Any] | None = None
    # The longest value of a field besides the file (a note is up to 1,000 characters:
    # more is kept, so the service can say it is too long rather than cut it).
    field_limit: int = 1000


# Routes that take a file, by path as web/routes.py writes it; the view finds what was
# sent, and what `read` made of it, in request[UPLOAD].
UPLOAD_ROUTES = {
    "/members/import": UploadRoute(roster.MAX_FILE_BYTES, roster.read_roster),
    "/my/tasks/{task_id}/report": UploadRoute(report_files.MAX_BYTES, field_limit=5000),
}
# Beyond this many times the limit the rest of the body is not even read: the connection
# is closed after the answer.
UPLOAD_DRAIN_FACTOR = 4


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


@dataclass
class Upload:
    """A form with a file, as sent: its other fields, and the file (None: larger than
    the route accepts, or no file at all when `filename` is "")."""

    fields: dict[str, str]
    filename: str = ""
    data: bytes | None = None
    content_type: str | None = None  # as the browser declared it
    too_large: bool = False
    unreadable: bool = False
    # For an admin signed in: what the route's reader made of the file, or its refusal.
    read: Any = None
    refused: ServiceError | None = None


UPLOAD = web.RequestKey("desk_upload", Upload)


@web.middleware
async def uploads(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A file is received and read before the request's transaction opens: neither a slow
    upload nor seconds of parsing a large spreadsheet hold the database (on SQLite, its
    only connection). It is parsed only for an admin signed in (a short look of its own:
    the request checks again), so nobody else can make the desk parse files."""
    resource = request.match_info.route.resource
    route = UPLOAD_ROUTES.get(resource.canonical if resource is not None else "")
    if route is not None and request.method == "POST":
        upload = Upload(fields={})
        if request.content_type == "multipart/form-data":
            upload = await _read_upload(request, route.limit, route.field_limit)
        elif request.content_type == "application/x-www-form-urlencoded":
            # No file chosen, sent by a client that drops the multipart (within MAX_BODY).
            posted = await request.post()
            upload.fields = {key: str(value)[: route.field_limit] for key, value in posted.items()}
        data, read = upload.data, route.read
        if data and not upload.too_large and read is not None and await _admin_signed_in(request):
            try:
                upload.read = await asyncio.to_thread(read, upload.filename, data)
            except ServiceError as error:
                upload.refused = error
        request[UPLOAD] = upload
    return await handler(request)


async def _admin_signed_in(request: web.Request) -> bool:
    deps = deps_of(request)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id:
        return False
    async with transaction(deps.sessions()) as session:
        user_id = await desk.session_user(session, deps.clock.now(), session_id)
        return user_id is not None and await admins.is_admin(session, user_id)


async def _read_upload(request: web.Request, limit: int, field_limit: int) -> Upload:
    """The fields (each cut at `field_limit` characters) and the one file, read with a running
    size check: nothing larger than `limit` is kept in memory."""
    upload = Upload(fields={})
    drain = limit * UPLOAD_DRAIN_FACTOR
    # Far too large by its own account: the fields before the file (the form puts the
    # CSRF token first) are read, the file not at all.
    hopeless = (request.content_length or 0) > drain
    seen = 0
    try:
        reader = await request.multipart()
        for _part in range(20):  # a roster form has three fields
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                upload.unreadable = True
                break
            if part.filename is not None and hopeless:
                upload.too_large = True
                upload.filename = part.filename[:200] or "file"
                return upload
            kept = bytearray()
            while chunk := await part.read_chunk(1 << 16):
                seen += len(chunk)
                if seen > drain:
                    upload.too_large = True
                    return upload
                if part.filename is None:
                    if len(kept) <= 4 * field_limit:  # UTF-8: at most 4 bytes a character
                        kept += chunk
                elif not upload.too_large:
                    kept += chunk
                    if len(kept) > limit:
                        upload.too_large = True
                        kept.clear()
            if part.filename is not None:
                # A form sent with no file chosen has a file part without name or bytes.
                if not upload.filename and (part.filename or kept or upload.too_large):
                    upload.filename = part.filename[:200] or "file"
                    upload.content_type = part.headers.get("Content-Type")
                    upload.data = None if upload.too_large else bytes(kept)
            elif part.name:
                upload.fields[part.name] = kept.decode("utf-8", "replace")[:field_limit]
    except (ValueError, AssertionError, UnicodeDecodeError):
        # A body that is not multipart as it says (aiohttp's reader asserts some of it).
        upload.unreadable = True
    return upload


def writes(handler: Handler) -> Handler:
    """Marks a GET view that writes (an export is in the audit log): it gets the bot's
    own sessions, not the read-only ones."""
    setattr(handler, "desk_writes", True)  # noqa: B010
    return handler


def _writes(handler: object) -> bool:
    return bool(getattr(handler, "desk_writes", False))


@web.middleware
async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    deps = deps_of(request)
    if request.path.startswith("/static/"):
        return await handler(request)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    # A page that only reads does not take the bot's write connection (SQLite: its one).
    reads_only = request.method in ("GET", "HEAD") and not _writes(request.match_info.handler)
    reader = request.app[READER] if reads_only else None
    try:
        async with transaction(reader or deps.sessions()) as session:
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
        upload = request.get(UPLOAD)
        if not given and isinstance(upload, Upload):  # its body is read already
            given = upload.fields.get(CSRF_FIELD, "")
        elif not given and request.content_type in (
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


MIDDLEWARES = (headers, host, uploads, signed_in, csrf)
