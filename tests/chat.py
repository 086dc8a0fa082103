"""What many chat tests do the same way: Hanoi time, a button press, a linked group."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakebotapi import FakeChat, FakeUser
from tests.harness import BotHarness

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args: int) -> datetime:
    """A wall-clock moment in Hanoi (year, month, day[, hour, minute]), as UTC."""
    return datetime(*args, tzinfo=HANOI).astimezone(UTC)


async def press(
    bot: BotHarness, user: FakeUser, message: dict[str, Any], data: str
) -> dict[str, Any]:
    """Press a button of `message` (even one the bot did not send: forged data) and
    return the bot's answer to the callback query."""
    query = bot.api.press_button(user, message, data, force=True)
    await bot.settle()
    answer: dict[str, Any] = bot.api.callback_answers[query["callback_query"]["id"]]
    return answer


async def linked_group(bot: BotHarness, admin: FakeUser, code: str = "DBSH") -> FakeChat:
    """A group the admin adds the bot to and links to council `code`."""
    group = bot.api.add_group(f"HĐĐP {code}")
    bot.api.add_bot_to_group(group, admin)
    await bot.settle()
    await bot.say(admin, f"/link {code}", chat=group)
    return group


async def reply_dated(
    bot: BotHarness, user: FakeUser, text: str, replied: dict[str, Any], sent_at: datetime
) -> dict[str, Any]:
    """The user replies in private to the bot's message `replied`, which Telegram dates
    `sent_at`; returns the bot's answer. (The fake dates messages by the real clock, the
    bot lives on the frozen one: a test that compares the two says which is which.)"""
    message = {
        "message_id": 1_000_000 + len(bot.api.sent),  # in private the bot never quotes it
        "from": user.to_dict(),
        "chat": replied["chat"],
        "date": int(sent_at.timestamp()),
        "text": text,
        "reply_to_message": {
            **{k: v for k, v in replied.items() if not k.startswith("_")},
            "date": int(sent_at.timestamp()),
        },
    }
    since = len(bot.api.sent)
    bot.api.queue_update({"message": message})
    return await bot.api.wait_for_message(user.id, since=since)
