"""What every request to the web chat passes through, whatever its route.

The page is served on 127.0.0.1 only, but any site the visitor opens in the same browser
can still reach it: through DNS rebinding (a host name that resolves to 127.0.0.1, so the
browser sends that name as `Host`) or by posting a form across origins. Hence a `Host`
check on every request, a per-process token on every write (read from the page, which
another origin cannot read), and a strict CSP so no markup that slips into the page can
run.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.sandbox.world import SandboxRefusal

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN_HEADER = "X-Sandbox-Token"  # noqa: S105 - a header name
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def allowed_hosts(port: int) -> frozenset[str]:
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
    if port == 80:  # browsers leave the default port out of Host
        hosts |= {"127.0.0.1", "localhost"}
    return frozenset(hosts)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: reaches every response (pages, files, errors, the event
    stream) just before its headers are sent."""
    # setdefault: a downloaded file carries a stricter policy of its own.
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")


def host_guard(port: int | None) -> Middleware:
    """Only 127.0.0.1:PORT and localhost:PORT; PORT None: the port the request came in on."""
    fixed = allowed_hosts(port) if port is not None else None

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        hosts = fixed if fixed is not None else _hosts_of_socket(request)
        if request.host.lower() not in hosts:
            return web.json_response({"error": "forbidden host"}, status=403)
        return await handler(request)

    return guard


def _hosts_of_socket(request: web.Request) -> frozenset[str]:
    transport = request.transport
    address = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
        return allowed_hosts(address[1])
    return frozenset()  # not a TCP socket: nothing is a right host


def token_guard(token: str) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(TOKEN_HEADER, "")
            if not secrets.compare_digest(sent.encode(), token.encode()):
                return web.json_response({"error": "missing or wrong token"}, status=403)
        return await handler(request)

    return guard


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A refusal of the world or a bad request becomes {"error": message} with its status,
    so the page can show it; anything unexpected is logged and answered 500."""
    try:
        return await handler(request)
    except SandboxRefusal as refusal:
        return web.json_response({"error": str(refusal)}, status=refusal.status)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        return web.json_response({"error": exc.reason}, status=exc.status)
    except Exception:
        log.exception("web chat: %s %s failed", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)
