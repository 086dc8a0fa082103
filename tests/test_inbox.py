"""Updates from Telegram are stored before they are acknowledged, handled once, and what
was committed is never reported as failed (bot/inbox, bot/replies.py)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from bot.inbox import store
from bot.models import InboxState, InboxUpdate, Task
from bot.services import people
from tests.people import registered

NOTHING_CHANGED = "Chưa có thay đổi nào được ghi nhận"


def _blocked_without_until_date(api, user) -> dict:
    """A my_chat_member update as python-telegram-bot cannot read it: "kicked" without the
    until_date the library requires."""
    return api.queue_update(
        {
            "my_chat_member": {
                "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
                "from": user.to_dict(),
                "date": 1_790_000_000,
                "old_chat_member": {"user": api.bot_user, "status": "member"},
                "new_chat_member": {"user": api.bot_user, "status": "kicked"},
            }
        }
    )


async def _row(bot, update_id: int) -> InboxUpdate:
    async with bot.sessions() as session:
        row = await session.get(InboxUpdate, update_id)
    assert row is not None
    return row


async def test_an_update_the_library_cannot_read_fails_alone_and_briefly(bot, caplog):
    someone = bot.api.add_user(first_name="Lan")
    other = bot.api.add_user(first_name="Hoa")
    with caplog.at_level(logging.INFO):
        bad = _blocked_without_until_date(bot.api, someone)
        answer = await bot.say(other, "/help")
        await bot.settle()

    assert "chưa đăng ký" in answer["text"]  # the next update was handled
    assert bot.api.pending_updates() == []  # and the poller moved past the bad one
    row = await _row(bot, bad["update_id"])
    assert row.state == InboxState.FAILED and "until_date" in (row.error or "")
    lines = [r.getMessage() for r in caplog.records if str(bad["update_id"]) in r.getMessage()]
    assert len(lines) == 1 and "cannot be read" in lines[0]  # logged once…
    assert len(lines[0]) < 400 and "kicked" not in caplog.text  # …without the update itself


async def test_the_same_update_stored_twice_is_kept_once(bot):
    update = {"update_id": 42, "message": {"message_id": 1, "date": 0, "chat": {"id": 5}}}
    async with bot.sessions() as session, session.begin():
        first = await store.store(session, [update], bot.clock.now(), "a")
        again = await store.store(session, [update], bot.clock.now(), "b")
    assert [s.update_id for s in first] == [42] and again == []


async def test_a_failing_update_is_tried_three_times_then_apologised_for(
    bot, clock, monkeypatch, caplog
):
    member = await registered(bot, "Trần Thị Hoa", "DBSH", "BTC")
    tries = 0

    async def broken(*_args, **_kwargs):
        nonlocal tries
        tries += 1
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(people, "member_of_user", broken)
    since = len(bot.api.sent)
    with caplog.at_level(logging.ERROR):
        bot.api.send_message(member, "/whoami")
        await bot.settle()
        assert tries == 1 and bot.api.sent[since:] == []  # no apology yet: it is tried again
        for wait in (3, 11):  # the pauses between tries (2 s, then 10 s) have passed
            clock.advance(timedelta(seconds=wait))
            await bot.flow.sweep()
            await bot.settle()
    assert tries == 3
    [apology] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == member.id]
    assert NOTHING_CHANGED in apology["text"]  # true: every try was rolled back
    [row] = await _rows(bot, "/whoami")
    assert row.state == InboxState.FAILED and row.attempts == 2
    assert "the disk is full" in (row.error or "")
    # One traceback, not one per try.
    assert sum(1 for r in caplog.records if r.exc_info) == 1


async def test_a_try_that_fails_once_is_answered_once_when_it_works(bot, clock, monkeypatch):
    member = await registered(bot, "Trần Thị Hoa", "DBSH", "BTC")
    real = people.member_of_user
    tries = 0

    async def flaky(*args, **kwargs):
        nonlocal tries
        tries += 1
        if tries == 1:
            raise RuntimeError("a hiccup")
        return await real(*args, **kwargs)

    monkeypatch.setattr(people, "member_of_user", flaky)
    since = len(bot.api.sent)
    bot.api.send_message(member, "/whoami")
    await bot.settle()
    clock.advance(timedelta(seconds=3))
    await bot.flow.sweep()
    await bot.settle()
    answers = [m for m in bot.api.sent[since:] if m["chat"]["id"] == member.id]
    assert [("Trần Thị Hoa" in m["text"]) for m in answers] == [True]
    [row] = await _rows(bot, "/whoami")
    assert row.state == InboxState.DONE


async def test_an_answer_telegram_did_not_take_is_sent_later_and_the_task_made_once(
    bot, admin, clock
):
    since = len(bot.api.sent)
    # Telegram fails every try of the answer in this moment (three tries, then kept).
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway", times=3)
    bot.api.send_message(admin, "/newtask DBSH BTC 31/12/2026 | Báo cáo quý IV")
    await bot.settle()
    assert [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id] == []
    [row] = await _rows(bot, "/newtask")
    assert row.state == InboxState.HANDLED and row.replies  # the answer is data now

    clock.advance(timedelta(seconds=31))
    await bot.flow.sweep()
    await bot.settle()
    [answer] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    assert "Đã tạo nhiệm vụ #1" in answer["text"] and NOTHING_CHANGED not in answer["text"]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Task)) == 1
    [row] = await _rows(bot, "/newtask")
    assert row.state == InboxState.DONE and row.replies is None


async def _rows(bot, text: str) -> list[InboxUpdate]:
    async with bot.sessions() as session:
        rows = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.update_id))).all()
    return [r for r in rows if (r.payload.get("message") or {}).get("text", "").startswith(text)]
