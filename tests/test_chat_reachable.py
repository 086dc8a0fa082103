"""A member who blocks the bot is reached in the council's group instead; one who unblocks
it (Telegram then sends `my_chat_member` in the private chat) is reached in private again
at once, without having to write /start (SPEC §6)."""

from __future__ import annotations

import time

from bot.models import TelegramUser
from tests.chat import linked_group, local
from tests.people import registered

TITLE = "Báo cáo thực hiện quy hoạch vùng"
BEFORE_T14 = local(2026, 12, 16, 20, 0)
T14 = local(2026, 12, 17, 8, 0)  # the first reminder: 14 days before 31/12
T7 = local(2026, 12, 24, 8, 0)


async def _reminded_member(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin, "DBSH")
    await bot.say(admin, f"/newtask DBSH BTC 31/12/2026 | {TITLE}")
    await bot.advance_to(BEFORE_T14)  # whatever was due before (weekly digests) is out
    return an, group


def _reminders(bot, chat_id, since):
    """The task's reminders (and mentions) sent to a chat; weekly digests left aside."""
    return [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == chat_id
        and TITLE in m.get("text", "")
        and not m["text"].startswith("📊")
    ]


async def _reachable(bot, user) -> bool:
    async with bot.sessions() as session:
        return (await session.get(TelegramUser, user.id)).private_chat_ok


def _private_chat_member(bot, user, old: str, new: str) -> dict:
    """The update Telegram sends when a user blocks (new: kicked) or restarts the bot."""

    def member(status: str) -> dict:
        return {"status": status, "user": bot.api.bot_user} | (
            {"until_date": 0} if status == "kicked" else {}
        )

    return {
        "my_chat_member": {
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": user.to_dict(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    }


async def test_a_member_blocked_then_unblocked_gets_the_next_reminder_in_private(bot, admin):
    an, group = await _reminded_member(bot, admin)
    # Telegram refuses the reminder (the bot learns of the block only now): the member is
    # marked unreachable and mentioned in the group instead.
    bot.api.fail_next(
        "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
    )
    since = len(bot.api.sent)
    await bot.advance_to(T14)
    assert _reminders(bot, an.id, since) == []
    [mention] = _reminders(bot, group.id, since)
    assert mention["text"].startswith("Nguyễn Văn An")
    assert await _reachable(bot, an) is False

    # The member unblocks the bot: Telegram says so in the private chat; no /start.
    since = len(bot.api.sent)
    bot.api.queue_update(_private_chat_member(bot, an, "kicked", "member"))
    await bot.settle()
    assert [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id] == []  # no answer
    assert await _reachable(bot, an) is True

    await bot.advance_to(T7)
    [reminder] = _reminders(bot, an.id, since)
    assert "còn 7 ngày" in reminder["text"]
    assert _reminders(bot, group.id, since) == []


async def test_blocking_marks_the_member_unreachable_at_once_and_unblocking_undoes_it(bot, admin):
    an, group = await _reminded_member(bot, admin)
    start = since = len(bot.api.sent)
    bot.api.block(an)  # the fake queues my_chat_member (member → kicked), as Telegram does
    await bot.settle()
    assert await _reachable(bot, an) is False
    calls = len(bot.api.calls)

    await bot.advance_to(T14)
    # Not even tried in private (no 403): straight to the group.
    assert [
        params
        for _name, params, _status in bot.api.calls[calls:]
        if str(params.get("chat_id")) == str(an.id)
    ] == []
    assert len(_reminders(bot, group.id, since)) == 1

    bot.api.unblock(an)
    await bot.settle()
    assert await _reachable(bot, an) is True
    since = len(bot.api.sent)
    await bot.advance_to(T7)
    [reminder] = _reminders(bot, an.id, since)
    assert _reminders(bot, group.id, since) == []
    # Nothing was said in answer to blocking or unblocking.
    assert [m for m in bot.api.sent[start:] if m["chat"]["id"] == an.id] == [reminder]
