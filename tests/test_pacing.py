"""The pacer: every call into a chat waits for its turn, edits included; and it remembers
only the chats of the last minute (bot/outbox/pacing.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import callbacks
from bot.callbacks import BroadcastAction, BroadcastPress
from bot.outbox.pacing import FORGET_EVERY, Pacer
from tests.chat import press
from tests.fakebotapi import FakeBotApi
from tests.people import registered


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_chats_quiet_for_longer_than_their_windows_are_forgotten():
    seconds = Seconds()
    pacer = Pacer(overall=((100_000, 1.0),), monotonic=seconds)
    for chat_id in range(5000):
        await pacer.wait(chat_id, is_group=False)
    for chat_id in range(-100, 0):
        await pacer.wait(chat_id, is_group=True)
    pacer.hold(7, 600)  # Telegram asked this one to wait ten minutes
    assert pacer.chats_remembered == 5100

    seconds.now += FORGET_EVERY + 1  # every window (a group's is a minute) is over
    await pacer.wait(99_999, is_group=False)
    assert pacer.chats_remembered == 2  # the held chat, and the new one
    assert pacer.chat_free_in(7) > 0  # still held: not forgotten

    seconds.now += 600
    await pacer.wait(99_998, is_group=False)
    assert pacer.chats_remembered == 1
    assert pacer.chat_free_in(7) == 0


class ChatCallsFake(FakeBotApi):
    """Notes every call that puts something into a chat, edits included, with its time."""

    CHAT_CALLS = frozenset(
        {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup"}
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.chat_calls: list[tuple[float, str, int]] = []

    def _record_call(self, method, params, status, body) -> None:
        super()._record_call(method, params, status, body)
        if method in self.CHAT_CALLS and status == 200:
            self.chat_calls.append((self.limiter.now(), method, int(params["chat_id"])))


@pytest.fixture
async def api(bot_time) -> AsyncIterator[FakeBotApi]:
    server = ChatCallsFake(now=bot_time)
    await server.start()
    yield server
    await server.stop()
    assert server.violations == [], f"Bot API contract violations: {server.violations}"


async def test_what_a_broadcast_puts_in_the_admins_chat_is_paced_edits_included(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    preview = await bot.say(admin, "/announce DBSH\nHọp khẩn 9:00")
    await press(bot, admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND)))
    await bot.deliver()

    to_admin = [(at, method) for at, method, chat in bot.api.chat_calls if chat == admin.id]
    methods = [method for _at, method in to_admin]
    # The preview, its buttons taken off, the progress message, the summary (at least).
    assert {"sendMessage", "editMessageReplyMarkup"} <= set(methods) and len(methods) >= 4
    # Never more than a private chat's window allows (2 in any 2 s), edits counted too.
    times = [at for at, _method in to_admin]
    crowded = [
        (first, second, third)
        for first, second, third in zip(times, times[1:], times[2:], strict=False)
        if third - first < 2.0
    ]
    assert crowded == [], to_admin
