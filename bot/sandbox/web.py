"""The sandbox's web chat: one factory builds the aiohttp application, and every URL it
answers is listed here. The views (bot/sandbox/web_api.py) only talk to a `SandboxWorld`;
the guards every request passes through are in bot/sandbox/web_guard.py; the page itself
is plain HTML, JS and CSS under bot/sandbox/static/."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from bot.sandbox import web_api as api
from bot.sandbox.web_events import EventHub
from bot.sandbox.web_guard import (
    errors_as_json,
    host_guard,
    new_token,
    security_headers,
    token_guard,
)
from bot.sandbox.world import SandboxWorld

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TOKEN_SLOT = "{{sandbox_token}}"  # noqa: S105 - where index.html takes the token
PAGE = web.AppKey("page", str)


def make_web_app(world: SandboxWorld, port: int | None = None) -> web.Application:
    """The web chat for `world`, answering only when reached as 127.0.0.1:PORT or
    localhost:PORT (PORT None: the port each request came in on, so a caller that binds
    the port later need not know it here). Writes need the token the page carries, new for
    each application."""
    token = new_token()
    app = web.Application(
        middlewares=[host_guard(port), token_guard(token), errors_as_json],
        # Bodies read whole (JSON) stay far below this; uploads are streamed and counted.
        client_max_size=api.MAX_UPLOAD + api.UPLOAD_ENVELOPE,
    )
    app[api.WORLD] = world
    app[api.HUB] = EventHub(world)
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    app[PAGE] = page.replace(_TOKEN_SLOT, html.escape(token, quote=True))
    app.on_response_prepare.append(security_headers)
    app.cleanup_ctx.append(_event_hub)
    app.on_shutdown.append(_close_streams)
    _add_routes(app.router)
    return app


def _add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", index_view)
    router.add_static("/static/", STATIC_DIR)
    router.add_get("/api/world", api.world_view)
    router.add_get("/api/chats", api.chats_view)
    router.add_get("/api/messages", api.messages_view)
    router.add_get("/api/commands", api.commands_view)
    router.add_get("/api/steps", api.steps_view)
    router.add_get("/api/files/{file_id}", api.file_view)
    router.add_get("/api/events", api.events_view)
    router.add_post("/api/send", api.send_view)
    router.add_post("/api/upload", api.upload_view)
    router.add_post("/api/press", api.press_view)
    router.add_post("/api/mini-app", api.mini_app_view)
    router.add_post("/api/read", api.read_view)
    router.add_post("/api/clock", api.clock_view)


async def index_view(request: web.Request) -> web.Response:
    return web.Response(text=request.app[PAGE], content_type="text/html", charset="utf-8")


async def _event_hub(app: web.Application) -> AsyncIterator[None]:
    hub = app[api.HUB]
    await hub.start()
    yield
    await hub.stop()


async def _close_streams(app: web.Application) -> None:
    # Before the server waits for its open requests: the event streams would never end.
    app[api.HUB].close_streams()
