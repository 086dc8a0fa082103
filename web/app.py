"""The desk's aiohttp application, and its server: in the process `dieuphoi run` starts
beside the bot's (web/process.py), or in the bot's own (tests, the sandbox).

Its own server, not the webhook's: the webhook listens where Telegram can reach it
(WEBHOOK_LISTEN, 0.0.0.0:8443 by default) and trusts only its secret header, while the desk
listens behind the operator's reverse proxy (WEB_LISTEN, 127.0.0.1:8080) and trusts
sessions; one server would put both behind the weaker of the two setups.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError
from bot.db import Sessionmaker, make_reader_engine, make_sessionmaker
from web.routes import setup_routes
from web.security import BOT_USERNAME, DEPS, MIDDLEWARES, READER

if TYPE_CHECKING:
    from bot.app import Deps

log = logging.getLogger(__name__)

# Forms and initData are small; the roster upload has its own limit (security.UPLOAD_LIMITS).
MAX_BODY = 256 * 1024


def build_desk(
    deps: Deps, bot_username: str = "", reader: Sessionmaker | None = None
) -> web.Application:
    """The desk as an aiohttp application over the bot's `Deps` (settings, clock, database).
    `reader`: sessions for the pages that only read (SQLite: bot.db.make_reader_engine);
    None: the bot's own sessions serve them too."""
    app = web.Application(middlewares=MIDDLEWARES, client_max_size=MAX_BODY)
    app[DEPS] = deps
    app[READER] = reader
    app[BOT_USERNAME] = bot_username
    setup_routes(app)
    return app


class DeskServer:
    """Serves the desk on WEB_LISTEN:WEB_PORT while the bot runs."""

    def __init__(self, deps: Deps, *, listen: str, port: int, bot_username: str = "") -> None:
        self.deps = deps
        self.bot_username = bot_username
        self.listen = listen
        self.port = port
        self._runner: web.AppRunner | None = None
        self._reader: AsyncEngine | None = None

    async def start(self) -> None:
        self._reader = make_reader_engine(self.deps.settings.database_url)
        reader = make_sessionmaker(self._reader) if self._reader is not None else None
        # No access log: a one-time sign-in link carries its token in the path.
        self._runner = web.AppRunner(
            build_desk(self.deps, self.bot_username, reader), access_log=None, handle_signals=False
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        try:
            await site.start()
        except OSError as error:
            await self.stop()
            raise ConfigError(
                "WEB_PORT", f"cannot listen on {self.listen}:{self.port}: {error.strerror}"
            ) from None
        log.info("desk served on %s:%s for %s", self.listen, self.port, self.deps.settings.web_url)

    @property
    def app(self) -> web.Application:
        assert self._runner is not None, "the desk is not started"
        return self._runner.app

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._reader is not None:
            await self._reader.dispose()
            self._reader = None
