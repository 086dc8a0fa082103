"""Running the bot until SIGINT/SIGTERM: updates by polling (one instance at a time) or by
webhook (every instance), stored before they are acknowledged (bot/inbox/).

Polling when several instances share the database: Telegram answers a second concurrent
getUpdates with 409 Conflict, so only the holder of the `polling` lease
(bot/instances.py) polls. The others run everything else (the outbox, the planner, the
updates left in the inbox) and stand by; the heartbeat job (jobs/heartbeat.py) starts
polling when this instance wins the lease and stops it when it loses it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

from bot.config import ConfigError, Settings
from bot.db import transaction
from bot.inbox.flow import Flow
from bot.inbox.receive import Receiver
from bot.instances import BEAT_SECONDS, POLLING, POLLING_LEASE, let_go
from bot.logs import Throttled
from bot.telegram_http import AiohttpRequest

if TYPE_CHECKING:
    from bot.inbox.webhook import WebhookServer

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)
# At start-up Telegram must answer getMe (the bot's name, for commands and links): it is
# asked again for this long before start-up gives up.
STARTUP_PATIENCE = 30.0


class Poller:
    """Starts and stops the receiver as the polling lease comes and goes."""

    def __init__(self, application: Application, allowed_updates: Sequence[str]) -> None:
        self.application = application
        self.allowed_updates = allowed_updates
        self.receiver: Receiver | None = None
        # Start and stop never interleave, and nothing starts once `close` has begun.
        self._lock = asyncio.Lock()
        self._closed = False
        self._held_at: float | None = None  # time.monotonic() of the last renewal
        self._said_standing_by = False
        self._request = AiohttpRequest(connection_pool_size=1)
        self._trouble = Throttled(logging.getLogger("bot.inbox.receive"))

    @property
    def polling(self) -> bool:
        return self.receiver is not None and self.receiver.running

    def renewed(self) -> None:
        self._held_at = time.monotonic()

    def may_keep_polling(self) -> bool:
        """After a failed renewal: True while the lease surely has not run out yet (the
        next beat could still renew it in time)."""
        if self._held_at is None:
            return False
        return time.monotonic() - self._held_at < POLLING_LEASE - BEAT_SECONDS

    async def lead(self, leader: bool) -> None:
        """Poll if and only if this instance holds the lease."""
        deps = self.application.bot_data["deps"]
        name = deps.presence.name
        async with self._lock:
            if self._closed:
                return
            if leader and not self.polling:
                log.info("instance %s now polls Telegram for updates", name)
                await self._request.initialize()
                flow: Flow = self.application.bot_data["flow"]
                self.receiver = Receiver(
                    self.application.bot,
                    self._request,
                    deps,
                    flow,
                    self.allowed_updates,
                    trouble=self._trouble,
                )
                self.receiver.start()
            elif not leader and self.polling:
                log.warning("instance %s lost the polling lease; standing by", name)
                await self._stop_receiver()
            elif not leader and not self._said_standing_by:
                log.info("instance %s stands by: another instance polls", name)
            self._said_standing_by = not leader

    async def _stop_receiver(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()
            self.receiver = None

    async def close(self) -> None:
        """Stop polling for good and free the lease, so another instance takes over at
        its next beat instead of when the lease runs out."""
        async with self._lock:
            self._closed = True
            await self._stop_receiver()
            await self._request.shutdown()
        deps = self.application.bot_data["deps"]
        if deps.sessionmaker is None:
            return
        try:
            async with transaction(deps.sessionmaker) as session:
                await let_go(session, POLLING, deps.presence.name)
        except Exception:
            log.warning("could not free the polling lease; it runs out by itself", exc_info=True)


def run(application: Application, settings: Settings, allowed_updates: Sequence[str]) -> None:
    """Run the bot until SIGINT/SIGTERM."""
    asyncio.run(_serve(application, settings, allowed_updates))


async def _serve(
    application: Application,
    settings: Settings,
    allowed_updates: Sequence[str],
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    poller: Poller | None = None
    webhook: WebhookServer | None = None
    if not settings.webhook_url:
        poller = application.bot_data["poller"] = Poller(application, allowed_updates)
    await _initialize(application, stop)
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            if settings.webhook_url:
                # Here: aiohttp's web server is only loaded by a bot that serves a webhook.
                from bot.inbox.webhook import WebhookServer

                assert settings.webhook_secret is not None
                webhook = WebhookServer(
                    application.bot,
                    application.bot_data["deps"],
                    application.bot_data["flow"],
                    url=settings.webhook_url,
                    secret=settings.webhook_secret.get_secret_value(),
                    listen=settings.webhook_listen,
                    port=settings.webhook_port,
                    path=_webhook_path(settings.webhook_url),
                    allowed_updates=allowed_updates,
                )
                await webhook.start()
            await stop.wait()
        finally:
            if poller is not None:
                await poller.close()
            if webhook is not None:
                await webhook.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


async def _initialize(application: Application, stop: asyncio.Event) -> None:
    """Initialize the application (getMe). Telegram may be unreachable for a moment: ask
    again for STARTUP_PATIENCE seconds, then stop with one clear line."""
    deadline = time.monotonic() + STARTUP_PATIENCE
    while True:
        try:
            await application.initialize()
            return
        except InvalidToken:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN", "Telegram refused this token (getMe: Unauthorized)"
            ) from None
        except (NetworkError, TelegramError) as error:
            if time.monotonic() >= deadline or stop.is_set():
                raise ConfigError(
                    "TELEGRAM_API_BASE_URL",
                    f"cannot reach the Bot API: {str(error).splitlines()[0][:200]}",
                ) from None
            log.warning("Telegram cannot be reached yet (%s); trying again", error)
            await asyncio.sleep(2.0)


def _webhook_path(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).path.lstrip("/")
