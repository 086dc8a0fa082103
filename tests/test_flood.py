"""One person sending a hundred messages slows only themselves (bot/inbox/flow.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.callbacks import TaskPress, TaskStatus, encode
from bot.db import transaction
from bot.models import InboxState, InboxUpdate
from bot.services import tasks
from tests.fakebotapi import FakeBotApi
from tests.harness import deps_of_app
from tests.people import registered

PRESSERS = 20
FLOOD = 100


class TimedFakeBotApi(FakeBotApi):
    """Notes when each callback query was answered."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.answered_at: dict[str, float] = {}

    def _record_call(self, method, params, status, body) -> None:
        super()._record_call(method, params, status, body)
        if method == "answerCallbackQuery" and status == 200:
            self.answered_at[str(params["callback_query_id"])] = time.monotonic()


@pytest.fixture
async def api(bot_time) -> AsyncIterator[FakeBotApi]:
    server = TimedFakeBotApi(now=bot_time)
    await server.start()
    yield server
    await server.stop()
    assert server.violations == [], f"Bot API contract violations: {server.violations}"


async def test_a_flooding_person_does_not_delay_the_others_button_presses(bot, admin, clock):
    pressers = [
        await registered(bot, f"Thành viên {i:02d}", "DBSH", "BTC") for i in range(PRESSERS)
    ]
    flooder = bot.api.add_user(first_name="Nhanh")  # not even registered
    async with transaction(bot.sessions) as session:
        task, _planned = await tasks.create_task(
            session,
            clock.now(),
            None,  # as the command line does
            deps_of_app(bot.app).timing,
            "DBSH BTC 31/12/2026 | Báo cáo quý IV",
            "test",
        )
    data = encode(TaskPress(task.id, TaskStatus.ON_TRACK))
    fake_message = {"message_id": 1, "chat": {"id": 0, "type": "private"}, "date": 0}

    pressed_at: dict[str, float] = {}

    async def flood() -> None:
        for number in range(FLOOD):
            bot.api.send_message(flooder, f"tin nhắn số {number}")
            await asyncio.sleep(2.0 / FLOOD)

    async def press() -> None:
        for round_ in range(3):
            for user in pressers:
                message = dict(fake_message, chat={"id": user.id, "type": "private"})
                query = bot.api.press_button(user, message, data, force=True)
                pressed_at[query["callback_query"]["id"]] = time.monotonic()
                await asyncio.sleep(2.0 / (3 * PRESSERS))
            del round_

    since = len(bot.api.sent)
    await asyncio.gather(flood(), press())
    async with asyncio.timeout(30):
        while len(bot.api.answered_at.keys() & pressed_at.keys()) < len(pressed_at):
            await asyncio.sleep(0.01)
    latencies = sorted(bot.api.answered_at[q] - at for q, at in pressed_at.items())
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    assert p99 < 2.0, f"press p99 {p99:.2f} s while one person floods: {latencies[-5:]}"

    # The flooder is answered as fast as their chat allows, and told once to slow down;
    # what would wait too long is dropped (and recorded as such), not queued forever.
    await bot.settle(timeout=60)
    to_flooder = [m["text"] for m in bot.api.sent[since:] if m["chat"]["id"] == flooder.id]
    assert sum("nhanh hơn mức tôi có thể trả lời" in t for t in to_flooder) == 1
    async with bot.sessions() as session:
        dropped = await session.scalar(
            select(func.count())
            .select_from(InboxUpdate)
            .where(InboxUpdate.person == flooder.id, InboxUpdate.state == InboxState.DROPPED)
        )
    assert dropped and dropped + len(to_flooder) - 1 == FLOOD
