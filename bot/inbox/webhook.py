"""Webhook mode: Telegram posts each update; it is stored before the answer is 200.

A request must carry the secret set with setWebhook in `X-Telegram-Bot-Api-Secret-Token`
(compared in constant time); without it, or with a wrong one, the answer is 403 and
nothing is stored: anyone who can reach the port cannot post an update "from" an admin.
An update that cannot be stored (the database is down) is answered 500, so Telegram
delivers it again later; an update delivered twice is stored and handled once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import Bot
from telegram.error import TelegramError

from bot.db import transaction
from bot.inbox import store
from bot.inbox.flow import Flow
from bot.logs import Throttled

if TYPE_CHECKING:
    from bot.app import Deps

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# Telegram's updates are small; anything bigger is not from Telegram.
MAX_BODY = 1024 * 1024
SET_WEBHOOK_PAUSE = 5.0


class WebhookServer:
    def __init__(
        self,
        bot: Bot,
        deps: Deps,
        flow: Flow,
        *,
        url: str,
        secret: str,
        listen: str,
        port: int,
        path: str,
        allowed_updates: Sequence[str],
    ) -> None:
        self.bot = bot
        self.deps = deps
        self.flow = flow
        self.url = url
        self._secret = secret.encode()
        self.listen = listen
        self.port = port
        self.path = "/" + path.lstrip("/")
        self.allowed_updates = list(allowed_updates)
        self._runner: web.AppRunner | None = None
        self._register: asyncio.Task[None] | None = None
        self._trouble = Throttled(log)

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.listen, self.port).start()
        log.info("webhook listening on %s:%s%s", self.listen, self.port, self.path)
        self._register = asyncio.create_task(self._set_webhook(), name="set-webhook")

    async def stop(self) -> None:
        if self._register is not None:
            self._register.cancel()
            try:
                await self._register
            except (asyncio.CancelledError, Exception):
                log.debug("setWebhook task ended")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _set_webhook(self) -> None:
        """Tell Telegram where to post, until it takes it (it may be unreachable now)."""
        while True:
            try:
                await self.bot.set_webhook(
                    self.url,
                    secret_token=self._secret.decode(),
                    allowed_updates=self.allowed_updates,
                )
                self._trouble.recovered("set-webhook")
                return
            except TelegramError as error:
                self._trouble.failure("set-webhook", "the webhook cannot be set", error)
                await asyncio.sleep(SET_WEBHOOK_PAUSE)

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook: a request without the right secret was refused")
            return web.Response(status=403)
        try:
            update: Any = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400)
        try:
            async with transaction(self.deps.sessions()) as session:
                new = await store.store(
                    session, [update], self.deps.clock.now(), self.deps.presence.name
                )
        except Exception as error:
            # Not stored: Telegram keeps it and posts it again.
            self._trouble.failure("store", "updates cannot be stored; Telegram retries", error)
            return web.Response(status=500)
        self._trouble.recovered("store")
        if self.flow.saturated:
            self.flow.wake_sweep()  # it is in the database: the sweep takes it up in turn
        else:
            self.flow.submit(new)
        return web.Response(status=200)
