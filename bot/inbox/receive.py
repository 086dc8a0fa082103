"""Long polling: fetch updates, store them, and only then confirm them to Telegram.

Telegram considers an update received once a later getUpdates asks for an offset past
it. The receiver asks for that offset only after the updates are committed to the inbox
(bot/inbox/store.py): a crash, a kill -9 or a database that cannot be reached between
fetching and storing leaves them at Telegram, which gives them again. An update stored
twice (given again after a crash) is inserted once and handled once.

The raw JSON is stored, not python-telegram-bot's objects: an update the library cannot
parse is stored like any other, and fails alone (bot/inbox/flow.py) instead of being
fetched again forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from telegram import Bot
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import BaseRequest, RequestData

# Not exported by telegram.request, but how Bot.do_api_request builds its parameters.
from telegram.request._requestparameter import RequestParameter

from bot.db import transaction
from bot.inbox import store
from bot.inbox.flow import Flow
from bot.logs import Throttled
from bot.telegram_http import retry_after_seconds

if TYPE_CHECKING:
    from bot.app import Deps

log = logging.getLogger(__name__)

# How long one getUpdates waits for an update (long polling), in seconds.
POLL_TIMEOUT = 10
# Pauses after failures, growing to the last.
PAUSES = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class Receiver:
    def __init__(
        self,
        bot: Bot,
        request: BaseRequest,
        deps: Deps,
        flow: Flow,
        allowed_updates: Sequence[str],
        timeout: int = POLL_TIMEOUT,
        trouble: Throttled | None = None,
    ) -> None:
        self.bot = bot
        self.request = request
        self.deps = deps
        self.flow = flow
        self.allowed_updates = list(allowed_updates)
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None
        # Given by the poller, so that a failure outlives a receiver stopped and started
        # again (the lease lost and won back) and its end is still told.
        self._trouble = trouble or Throttled(log)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="inbox-receiver")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("the receiver stopped with an error")

    async def _run(self) -> None:
        failures = 0
        offset: int | None = None
        webhook_deleted = False
        while True:
            pause = 0.0
            try:
                if not webhook_deleted:
                    # Telegram refuses getUpdates while a webhook is set.
                    await self.bot.delete_webhook()
                    webhook_deleted = True
                await self.flow.room()
                updates = await self._fetch(offset)
                log.debug("getUpdates (offset %s): %s updates", offset, len(updates))
                if updates:
                    await self._keep(updates)
                    offset = max(int(u["update_id"]) for u in updates) + 1
                self._trouble.recovered("telegram")
                self._trouble.recovered("store")
                failures = 0
            except asyncio.CancelledError:
                raise
            except InvalidToken as error:
                self._trouble.failure("token", "Telegram refuses the bot token", error)
                pause = PAUSES[-1]
            except Conflict as error:
                # Another poller for this bot (a second instance starting, or one that
                # lost its lease just now): give way for a moment.
                self._trouble.failure("conflict", "another process polls this bot", error)
                pause = 1.0
            except RetryAfter as error:
                pause = retry_after_seconds(error.retry_after)
            except (NetworkError, TelegramError) as error:
                failures += 1
                self._trouble.failure("telegram", "Telegram cannot be reached for updates", error)
                pause = PAUSES[min(failures, len(PAUSES)) - 1]
            except Exception as error:
                # The database cannot take them: they stay at Telegram (not confirmed).
                failures += 1
                self._trouble.failure("store", "updates cannot be stored; Telegram keeps them",
                                      error)  # fmt: skip
                pause = PAUSES[min(failures, len(PAUSES)) - 1]
            if pause:
                await asyncio.sleep(pause)

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        parameters: dict[str, Any] = {
            "timeout": self.timeout,
            "allowed_updates": self.allowed_updates,
        }
        if offset is not None:
            parameters["offset"] = offset
        result = await self.request.post(
            f"{self.bot.base_url}/getUpdates",
            RequestData([RequestParameter.from_input(k, v) for k, v in parameters.items()]),
            read_timeout=self.timeout + 5,
        )
        return result if isinstance(result, list) else []

    async def _keep(self, updates: list[dict[str, Any]]) -> None:
        async with transaction(self.deps.sessions()) as session:
            new = await store.store(
                session, updates, self.deps.clock.now(), self.deps.presence.name
            )
        self.flow.submit(new)

