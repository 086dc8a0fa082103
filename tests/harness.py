"""Drive the real bot through the fake Bot API server, as a dialogue."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db import Sessionmaker
from tests.fakebotapi import FakeBotApi, FakeChat, FakeUser


class BotHarness:
    def __init__(
        self, api: FakeBotApi, settings: Settings, clock: FrozenClock, sessions: Sessionmaker
    ) -> None:
        self.api = api
        self.settings = settings
        self.clock = clock
        self.sessions = sessions  # the test's own view of the bot's database
        self.app: Application = build_application(settings, clock)  # type: ignore[type-arg]

    async def start(self) -> None:
        app = self.app
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)  # what run_polling does: the same start-up hook
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )

    async def stop(self) -> None:
        app = self.app
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every injected update has been fetched and fully handled."""
        async with asyncio.timeout(timeout):
            while self.api.pending_updates():
                await asyncio.sleep(0.01)
            await self.app.update_queue.join()

    async def say(
        self,
        user: FakeUser,
        text: str,
        chat: FakeChat | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The user writes; returns the bot's first answer in that chat."""
        chat_id = chat.id if chat is not None else user.id
        since = len(self.api.sent)
        self.api.send_message(user, text, chat=chat, reply_to=reply_to)
        return await self.api.wait_for_message(chat_id, since=since)

    async def say_all(
        self, user: FakeUser, text: str, chat: FakeChat | None = None
    ) -> list[dict[str, Any]]:
        """The user writes; returns every message the bot sent in that chat in response."""
        chat_id = chat.id if chat is not None else user.id
        since = len(self.api.sent)
        self.api.send_message(user, text, chat=chat)
        await self.settle()
        return [m for m in self.api.sent[since:] if m["chat"]["id"] == chat_id]

    async def silent(self, user: FakeUser, text: str, chat: FakeChat | None = None) -> None:
        """The user writes and the bot answers nothing in that chat."""
        answers = await self.say_all(user, text, chat)
        assert answers == [], f"expected no answer, got {[a.get('text') for a in answers]}"
