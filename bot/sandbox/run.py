"""`dieuphoi sandbox`: the whole bot against the local Bot API server, with a web chat.

One process, one event loop: the local Telegram on 127.0.0.1 (a free port), the real
application pointed at it (its handlers, inbox, outbox and jobs, on the sandbox's
movable clock), an SQLite database in the data folder, and the web chat on
127.0.0.1:PORT that talks only to a `SandboxWorld`. No token, no network, no `.env`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from telegram.ext import Application

from bot import migrate
from bot.app import ALLOWED_UPDATES, Deps, build_application
from bot.config import Settings
from bot.db import transaction
from bot.inbox.flow import Flow
from bot.inbox.receive import Receiver
from bot.models import Council
from bot.outbox.pacing import Pacer
from bot.sandbox.clock import MovableClock
from bot.sandbox.local_telegram import SANDBOX_TOKEN, SANDBOX_USERNAME, LocalTelegram
from bot.sandbox.seed import seed_world
from bot.sandbox.web import make_web_app
from bot.sandbox.world import SandboxWorld
from bot.sandbox.world_impl import LiveWorld
from bot.telegram_http import AiohttpRequest

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
DATABASE = "sandbox.db"
TELEGRAM_STATE = "telegram.json"
CLOCK_STATE = "clock.json"
# The local server's state is written this often when something changed (and at stop).
SAVE_EVERY = 3.0
# The receiver's long poll: short, so a stop is quick; the server is in this process.
POLL_SECONDS = 5

# The web chat for a world, answering as 127.0.0.1:PORT (bot/sandbox/web.py).
WebAppFactory = Callable[[SandboxWorld, int], web.Application]


class SandboxSettings(Settings):
    """Settings built in code: neither the environment nor a `.env` is read, so a
    sandbox started in a bot's folder never picks up its token or its database."""

    # The local Telegram is a test environment: it opens the desk on http://127.0.0.1.
    MINI_APPS_OVER_HTTP = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def database_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / DATABASE).resolve()}"


def sandbox_settings(
    data_dir: Path, api_base_url: str = "http://127.0.0.1:1/bot", desk_port: int | None = None
) -> Settings:
    """`desk_port`: where the desk is served (its /desk button opens it), None: no desk."""
    desk: dict[str, Any] = (
        {"web_url": f"http://{HOST}:{desk_port}", "web_port": desk_port} if desk_port else {}
    )
    return SandboxSettings(
        telegram_bot_token=SANDBOX_TOKEN,
        telegram_api_base_url=api_base_url,
        telegram_bot_username=SANDBOX_USERNAME,
        database_url=database_url(data_dir),
        files_dir=data_dir / "files",
        log_level="WARNING",
        **desk,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Sandbox:
    """Everything `dieuphoi sandbox` runs, started and stopped as one."""

    def __init__(
        self, data_dir: Path, *, clock: MovableClock | None = None, desk_port: int | None = None
    ) -> None:
        self.data_dir = data_dir
        self.desk_port = desk_port  # None: a free port
        self.clock = clock or MovableClock(data_dir / CLOCK_STATE)
        self.telegram: LocalTelegram | None = None
        self.application: Application | None = None
        self.world: LiveWorld | None = None
        self._request = AiohttpRequest(connection_pool_size=1)
        self._receiver: Receiver | None = None
        self._saver: asyncio.Task[None] | None = None

    @property
    def seeded(self) -> bool:
        return (self.data_dir / TELEGRAM_STATE).exists()

    async def start(self) -> LiveWorld:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        state = self.data_dir / TELEGRAM_STATE
        seeded = self.seeded
        # Alembic runs its own event loop: in a thread, beside this one.
        await asyncio.to_thread(migrate.upgrade, database_url(self.data_dir))
        try:
            telegram = self.telegram = LocalTelegram(self.clock, state)
        except (ValueError, KeyError, TypeError, OSError) as error:
            raise SandboxDataError(
                f"{state} cannot be read ({error}); start with --reset"
            ) from None
        await telegram.start()
        settings = sandbox_settings(self.data_dir, telegram.base_url, self.desk_port or free_port())
        application = self.application = build_application(settings, self.clock)
        deps: Deps = application.bot_data["deps"]
        # Pacing counts the clock's jumps as time gone by, like the server's flood control.
        deps.pacer = Pacer(monotonic=self.clock.monotonic)
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        await application.start()
        await self._request.initialize()
        flow: Flow = application.bot_data["flow"]
        self._receiver = Receiver(
            application.bot, self._request, deps, flow, ALLOWED_UPDATES, timeout=POLL_SECONDS
        )
        self._receiver.start()
        world = self.world = LiveWorld(telegram, self.clock, application)
        if not seeded:
            async with transaction(deps.sessions()) as session:
                fresh = (await session.scalar(_any_council())) is None
            if not fresh:
                raise SandboxDataError(
                    f"{self.data_dir / DATABASE} has data but {state} is missing; "
                    "start with --reset"
                )
            await seed_world(telegram, deps.sessions(), deps.timing, self.clock.now())
            await world.deliver()  # what is due at once (today's reminders) goes out now
        telegram.save()
        self._saver = asyncio.create_task(self._keep_saving(), name="sandbox-save")
        return world

    async def _keep_saving(self) -> None:
        assert self.telegram is not None
        saved = self.telegram.changes
        while True:
            await asyncio.sleep(SAVE_EVERY)
            if self.telegram.changes != saved:
                saved = self.telegram.changes
                try:
                    self.telegram.save()
                except OSError:
                    log.exception("sandbox: could not save the local Telegram's state")

    async def stop(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
        if self.world is not None:
            self.world.close()
        if self._receiver is not None:
            await self._receiver.stop()
        await self._request.shutdown()
        application = self.application
        if application is not None and application.running:
            await application.stop()
            assert application.post_stop is not None
            await application.post_stop(application)
        if application is not None:
            assert application.post_shutdown is not None
            await application.post_shutdown(application)
            await application.shutdown()
        if self.telegram is not None:
            with contextlib.suppress(OSError):
                self.telegram.save()
            await self.telegram.stop()


class SandboxDataError(Exception):
    """The data folder cannot be used as it is; `str()` is the line to print."""


def _any_council() -> Any:
    from sqlalchemy import select

    return select(Council.id).limit(1)


async def serve(
    data_dir: Path,
    port: int,
    web_app: WebAppFactory | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Run until SIGINT/SIGTERM. The web chat's port is taken first: a port in use is
    told before anything else starts."""
    factory = web_app or make_web_app
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sandbox = Sandbox(data_dir)
    runner: web.AppRunner | None = None
    try:
        world = await sandbox.start()
        runner = web.AppRunner(factory(world, port), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, HOST, port, reuse_address=False).start()
        announce(f"Sandbox ready: open http://{HOST}:{port}")
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await sandbox.stop()
