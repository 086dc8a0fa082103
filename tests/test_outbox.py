"""The outbox under faults: crashes, two senders, expiry, and Telegram's errors."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bot.app import Deps
from bot.db import make_engine, make_sessionmaker, transaction
from bot.models import GroupChat, Outbox, OutboxState, TelegramUser
from bot.outbox import store
from bot.outbox.pacing import Pacer
from bot.outbox.plan import plan_pass
from jobs import sender
from jobs.sender import Dispatcher
from tests.chat import HANOI
from tests.people import registered
from tests.processes import registered_members

SEVEN_DAYS_BEFORE = datetime(2026, 11, 26, 9, 0, tzinfo=HANOI).astimezone(UTC)


async def _meeting_with_members(bot, admin, count: int) -> list:
    users = [await registered(bot, f"Thành viên {i:02d}", "DBSH", "BTC") for i in range(count)]
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng")
    return users


async def _states(bot) -> Counter:
    async with bot.sessions() as session:
        return Counter((await session.scalars(select(Outbox.state))).all())


def _received(bot, users, since) -> Counter:
    ids = {u.id for u in users}
    return Counter(m["chat"]["id"] for m in bot.api.sent[since:] if m["chat"]["id"] in ids)


async def test_a_row_claimed_by_a_crashed_sender_goes_out_after_its_lease(bot, admin):
    users = await _meeting_with_members(bot, admin, 3)
    bot.clock.set(SEVEN_DAYS_BEFORE)
    # A sender claims the due rows and dies before sending or recording anything.
    async with transaction(bot.sessions) as session:
        claimed = await store.claim_due(session, bot.clock.now(), "crashed-sender", 100)
    assert len(claimed) == 3
    since = len(bot.api.sent)
    await bot.deliver()
    assert _received(bot, users, since) == Counter()  # still leased to the dead sender

    bot.clock.advance(store.LEASE + timedelta(seconds=1))
    await bot.deliver()
    assert _received(bot, users, since) == Counter({u.id: 1 for u in users})
    assert await _states(bot) == Counter({OutboxState.SENT: 3, OutboxState.PENDING: 6})


async def test_two_senders_on_one_database_send_each_row_once(bot, admin, database_url):
    users = await _meeting_with_members(bot, admin, 24)
    bot.clock.set(SEVEN_DAYS_BEFORE)
    deps: Deps = bot.app.bot_data["deps"]
    engine = make_engine(database_url)
    other = Deps(
        settings=deps.settings,
        clock=deps.clock,
        timing=deps.timing,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
    )
    # Two instances, each with its own connection pool; together under the overall limit.
    first = Dispatcher(deps, bot.app.bot, name="instance-a")
    second = Dispatcher(other, bot.app.bot, name="instance-b")
    for dispatcher in (first, second):
        dispatcher.pacer = Pacer(overall=((14, 1.0),))

    async def drain(dispatcher: Dispatcher) -> int:
        sent = 0
        while (result := await dispatcher.run_pass()).claimed:
            sent += result.sent
        return sent

    since = len(bot.api.sent)
    try:
        sent = await asyncio.gather(drain(first), drain(second))
    finally:
        await engine.dispose()
    assert sum(sent) == 24
    assert _received(bot, users, since) == Counter({u.id: 1 for u in users})
    async with bot.sessions() as session:
        senders = Counter(
            (
                await session.scalars(
                    select(Outbox.claimed_by).where(Outbox.state == OutboxState.SENT)
                )
            ).all()
        )
    assert sum(senders.values()) == 24


async def test_reminders_of_a_meeting_already_over_are_dropped_and_logged(bot, admin, caplog):
    users = await _meeting_with_members(bot, admin, 2)
    # The bot was down from before the first reminder until after the meeting.
    since = len(bot.api.sent)
    with caplog.at_level(logging.INFO, logger="jobs.sender"):
        await bot.advance_to(datetime(2026, 12, 3, 10, 0, tzinfo=HANOI).astimezone(UTC))
    assert _received(bot, users, since) == Counter()
    assert await _states(bot) == Counter({OutboxState.DROPPED: 6})
    assert "dropped meeting:1:r1:member:" in caplog.text


async def test_after_downtime_only_the_latest_missed_meeting_reminder_goes_out(bot, admin):
    users = await _meeting_with_members(bot, admin, 1)
    since = len(bot.api.sent)
    # Down from 25 Nov to 2 Dec 12:00: the 7-day reminder is stale, the 1-day one is not.
    await bot.advance_to(datetime(2026, 12, 2, 12, 0, tzinfo=HANOI).astimezone(UTC))
    [message] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == users[0].id]
    assert "còn 21 giờ" in message["text"]
    states = await _states(bot)
    assert states[OutboxState.SENT] == 1


async def test_telegram_errors_are_retried_or_recorded(bot, admin):
    [blocked, flaky, fine] = await _meeting_with_members(bot, admin, 3)
    group = bot.api.add_group("HĐĐP ĐBSH")
    bot.api.add_bot_to_group(group, admin)
    await bot.settle()
    await bot.say(admin, "/link DBSH", chat=group)
    # The group was planned after the meeting: the planner pass picks it up.
    bot.api.block(blocked)
    await bot.settle()
    new_group = bot.api.migrate_group(group)
    await bot.settle()
    async with transaction(bot.sessions) as session:
        # The bot missed the migration message: the send will learn it from Telegram.
        link = await session.scalar(select(GroupChat))
        link.chat_id = group.id
        user = await session.get(TelegramUser, blocked.id)
        user.private_chat_ok = True  # not yet known to be blocked
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway")

    since = len(bot.api.sent)
    bot.clock.set(SEVEN_DAYS_BEFORE)
    first = await bot.deliver()
    assert first.failed == 0
    bot.clock.advance(timedelta(minutes=1))
    await bot.deliver()

    received = Counter(m["chat"]["id"] for m in bot.api.sent[since:])
    assert received[fine.id] == 1 and received[flaky.id] == 1
    assert received[blocked.id] == 0
    # The group's reminder and the blocked member's mention go to the supergroup.
    assert received[new_group.id] == 2
    async with bot.sessions() as session:
        assert (await session.get(TelegramUser, blocked.id)).private_chat_ok is False
        assert (await session.scalar(select(GroupChat))).chat_id == new_group.id
        rows = (await session.scalars(select(Outbox).where(Outbox.state == "sent"))).all()
    assert len(rows) == 4
    assert any(row.attempts >= 1 and row.last_error is None for row in rows)


async def _seventy_reminders_due_in_batches_of_fifty(bot, admin, monkeypatch) -> list:
    monkeypatch.setattr(sender, "BATCH", 50)
    users = await registered_members(bot, bot.api, 70)
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng")
    bot.clock.set(SEVEN_DAYS_BEFORE)
    async with transaction(bot.sessions) as session:
        await plan_pass(session, bot.app.bot_data["deps"].timing, bot.clock.now())
    return users


async def test_the_next_batch_is_claimed_while_the_last_one_is_still_sending(
    bot, admin, monkeypatch
):
    """A broadcast's sends do not pause between batches (SPEC §6: 95 % of Telegram's
    rate): the next batch is ready when the last one ends, and each row still goes once."""
    users = await _seventy_reminders_due_in_batches_of_fifty(bot, admin, monkeypatch)
    since = len(bot.api.sent)

    first = await bot.dispatcher.run_pass()
    assert (first.claimed, first.sent) == (50, 50)
    ahead = bot.dispatcher._ahead
    assert ahead is not None and len(ahead.ready) == 20  # claimed and rendered already
    async with bot.sessions() as session:
        held = await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.state == OutboxState.SENDING, Outbox.claimed_by == bot.dispatcher.name)
        )
    assert held == 20

    second = await bot.dispatcher.run_pass()
    assert (second.claimed, second.sent) == (20, 20)
    assert _received(bot, users, since) == Counter({u.id: 1 for u in users})


async def test_a_batch_prepared_ahead_that_waited_too_long_is_given_back_not_sent(
    bot, admin, monkeypatch
):
    users = await _seventy_reminders_due_in_batches_of_fifty(bot, admin, monkeypatch)
    since = len(bot.api.sent)
    await bot.dispatcher.run_pass()
    # The process then could not send for a while (its heartbeat was late, say), and
    # another instance took over ten of the rows it had prepared.
    stale = bot.dispatcher._ahead
    assert stale is not None and len(stale.ready) == 20
    stale.prepared_at -= sender.PREFETCH_FRESH + 1
    taken = [item.row_id for item in stale.ready[:10]]
    async with transaction(bot.sessions) as session:
        await session.execute(
            update(Outbox).where(Outbox.id.in_(taken)).values(claimed_by="instance-b")
        )

    result = await bot.dispatcher.run_pass()
    # Given back and claimed afresh: the ten still this process's go out; the ten
    # another instance holds are left to it.
    assert (result.claimed, result.sent) == (10, 10)
    received = _received(bot, users, since)
    assert len(received) == 60 and set(received.values()) == {1}
    async with bot.sessions() as session:
        left = (
            await session.scalars(select(Outbox.claimed_by).where(Outbox.id.in_(taken)))
        ).all()
    assert left == ["instance-b"] * 10
