"""Drive the real bot through the fake Bot API server, as a dialogue."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, Deps, build_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db import Sessionmaker, transaction
from bot.inbox.flow import Flow
from bot.inbox.receive import Receiver
from bot.outbox.pacing import Pacer
from bot.outbox.plan import plan_pass
from bot.replies import ASK_TASK_NAME, speaker_of
from bot.telegram_http import AiohttpRequest
from jobs.broadcasts import follow as follow_broadcasts
from jobs.sender import Dispatcher, PassResult
from tests.fakebotapi import FakeBotApi, FakeChat, FakeUser


class BotTime:
    """Monotonic seconds as the bot lives them: real time plus every jump of the clock.

    The pacer and the fake server's flood buckets count in real seconds; when a test
    moves the frozen clock hours ahead in a millisecond, both must see those hours pass.
    """

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.start = clock.now()

    def __call__(self) -> float:
        return time.monotonic() + (self.clock.now() - self.start).total_seconds()


class BotHarness:
    def __init__(
        self,
        api: FakeBotApi,
        settings: Settings,
        clock: FrozenClock,
        sessions: Sessionmaker,
        *,
        run_jobs: bool = False,
    ) -> None:
        self.api = api
        self.settings = settings
        self.clock = clock
        self.sessions = sessions  # the test's own view of the bot's database
        # Without `run_jobs` the planner and the sender run when a test says so
        # (`deliver`), not on a timer: the frozen clock moves in jumps, and a test must
        # know when a pass is over. (The benchmarks run the jobs.)
        self.app: Application = build_application(settings, clock, run_jobs=run_jobs)  # type: ignore[type-arg]
        # One pacer for the whole bot, counting in the bot's time like the fake server.
        deps_of_app(self.app).pacer = Pacer(monotonic=BotTime(clock))
        self._dispatcher = (
            None
            if run_jobs
            else Dispatcher(deps_of_app(self.app), self.app.bot, name="test-sender")
        )
        self._request = AiohttpRequest(connection_pool_size=1)
        self.receiver: Receiver | None = None

    async def start(self) -> None:
        app = self.app
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)  # what run_polling does: the same start-up hook
        await app.start()
        await self.resume_polling()

    async def resume_polling(self) -> None:
        """Poll as `dieuphoi run` does (bot/inbox/receive.py), without the lease: the
        harness is the only poller."""
        await self._request.initialize()
        self.receiver = Receiver(
            self.app.bot, self._request, deps_of_app(self.app), self.flow, ALLOWED_UPDATES,
            timeout=1,
        )  # fmt: skip
        self.receiver.start()

    async def pause_polling(self) -> None:
        """Stop fetching updates (they wait at the fake server) until `resume_polling`."""
        if self.receiver is not None:
            await self.receiver.stop()
            self.receiver = None

    async def stop(self) -> None:
        """Stop the bot; a test may stop it early to hand over to a real process."""
        app = self.app
        if not app.running:
            return
        await self.pause_polling()
        await self._request.shutdown()
        await app.stop()
        assert app.post_stop is not None
        await app.post_stop(app)
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()

    @property
    def dispatcher(self) -> Dispatcher:
        """The sender: the test's own, or (with the jobs on) the application's."""
        dispatcher = self._dispatcher or self.app.bot_data["dispatcher"]
        assert isinstance(dispatcher, Dispatcher)
        return dispatcher

    @property
    def flow(self) -> Flow:
        flow = self.app.bot_data["flow"]
        assert isinstance(flow, Flow)
        return flow

    async def deliver(self) -> PassResult:
        """What the jobs do: one planning pass, then sending passes until nothing is due."""
        deps = deps_of_app(self.app)
        async with transaction(self.sessions) as session:
            await plan_pass(session, deps.timing, self.clock.now())
        total = PassResult()
        # Rows put back "for now" (a 403 that reroutes to the group, a migrated group)
        # are due again at once; rows waiting for later are not claimed until the
        # clock moves. So this ends; the cap only turns a bug into a failure.
        for _ in range(50):
            result = await self.dispatcher.run_pass()
            if not result.claimed:
                # A finished broadcast queues its summary: one more pass sends it.
                await follow_broadcasts(deps, speaker_of(self.app))
                result = await self.dispatcher.run_pass()
            if not result.claimed:
                return total
            for name in ("claimed", "sent", "failed", "skipped", "dropped", "postponed"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
        raise AssertionError(f"the outbox kept finding due rows: {total}")

    async def advance_to(self, moment: datetime) -> PassResult:
        """Move the frozen clock to `moment` and deliver what is due by then."""
        self.clock.set(moment)
        return await self.deliver()

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every injected update has been fetched and fully handled."""
        async with asyncio.timeout(timeout):
            while self.api.pending_updates():
                await asyncio.sleep(0.01)
            await self.flow.idle()
            # Questions the bot asks in the background after a button press.
            while any(t.get_name() == ASK_TASK_NAME for t in asyncio.all_tasks()):
                await asyncio.sleep(0.01)

    async def say(
        self,
        user: FakeUser,
        text: str,
        chat: FakeChat | None = None,
        reply_to: dict[str, Any] | None = None,
        *,
        topic: int | None = None,
    ) -> dict[str, Any]:
        """The user writes (in a forum group: in `topic`, if given); returns the bot's
        first answer in that chat."""
        chat_id = chat.id if chat is not None else user.id
        since = len(self.api.sent)
        self.api.send_message(user, text, chat=chat, reply_to=reply_to, topic=topic)
        return await self.api.wait_for_message(chat_id, since=since)

    async def say_all(
        self, user: FakeUser, text: str, chat: FakeChat | None = None, *, topic: int | None = None
    ) -> list[dict[str, Any]]:
        """The user writes; returns every message the bot sent in that chat in response."""
        chat_id = chat.id if chat is not None else user.id
        since = len(self.api.sent)
        self.api.send_message(user, text, chat=chat, topic=topic)
        await self.settle()
        return [m for m in self.api.sent[since:] if m["chat"]["id"] == chat_id]

    async def silent(
        self, user: FakeUser, text: str, chat: FakeChat | None = None, *, topic: int | None = None
    ) -> None:
        """The user writes and the bot answers nothing in that chat."""
        answers = await self.say_all(user, text, chat, topic=topic)
        assert answers == [], f"expected no answer, got {[a.get('text') for a in answers]}"


def deps_of_app(app: Application) -> Deps:  # type: ignore[type-arg]
    deps = app.bot_data["deps"]
    assert isinstance(deps, Deps)
    return deps
