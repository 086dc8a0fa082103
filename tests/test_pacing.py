"""The pacer remembers only the chats of the last minute (bot/outbox/pacing.py)."""

from __future__ import annotations

from bot.outbox.pacing import FORGET_EVERY, Pacer


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
