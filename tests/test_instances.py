"""Several instances on one database: the registry, the polling lease, the shared send
budget (bot/instances.py, bot/outbox/budget.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import instances
from bot.db import make_engine, make_sessionmaker, transaction
from bot.instances import Presence
from bot.models import Instance, Lease, Outbox, OutboxState
from bot.models import SendBudget as BudgetRow
from bot.outbox import store
from bot.outbox.budget import MAX_AHEAD, TOKENS, WINDOW, SharedBudget
from bot.outbox.pacing import Pacer
from tests.conftest import START

POLLING = instances.POLLING


async def _rows(session, count: int, prefix: str) -> None:
    rows = [
        store.NewRow(
            dedupe_key=f"{prefix}:{i}",
            kind="meeting_reminder",
            subject=f"{prefix}",
            due_at=START - timedelta(minutes=1),
            telegram_user_id=1000 + i,
        )
        for i in range(count)
    ]
    await store.add_rows(session, rows, START)


async def _age(session, name: str, seconds: float) -> None:
    """Make `name` look as if it had not beaten for `seconds`."""
    await session.execute(
        update(Instance)
        .where(Instance.name == name)
        .values(heartbeat_at=Instance.heartbeat_at - seconds)
    )


async def _claims(session) -> Counter:
    rows = (await session.execute(select(Outbox.state, Outbox.claimed_by))).all()
    return Counter((state.value, by) for state, by in rows)


async def test_a_claim_takes_its_limit_and_leaves_the_rest_to_the_other_instances(sessions):
    async with transaction(sessions) as session:
        await _rows(session, 10, "row")
        assert len(await store.claim_due(session, START, "a", 4)) == 4
        assert len(await store.claim_due(session, START, "b", 4)) == 4
        assert len(await store.claim_due(session, START, "c", 4)) == 2
    async with sessions() as session:
        assert await _claims(session) == Counter(
            {("sending", "a"): 4, ("sending", "b"): 4, ("sending", "c"): 2}
        )


# --- the registry --------------------------------------------------------------------


async def test_a_dead_instances_claims_are_released_and_a_live_ones_are_not(sessions, caplog):
    async with transaction(sessions) as session:
        for name in ("dead", "live", "me"):
            await instances.register(session, name, START)
        await _rows(session, 10, "row")
        await store.claim_due(session, START, "dead", 4)
        await store.claim_due(session, START, "live", 3)
        [sent] = await store.claim_due(session, START, "dead", 1)
        await store.finish(session, sent.id, "dead", OutboxState.SENT, START)
        await _age(session, "dead", instances.DEAD_AFTER + 1)
        await _age(session, "live", instances.DEAD_AFTER - 2)  # late, but not dead yet

    with caplog.at_level(logging.WARNING, logger="bot.instances"):
        async with transaction(sessions) as session:
            peers = (await instances.beat(session, "me", START)).peers

    assert peers == 2
    assert "instance dead stopped beating: 4 outbox rows" in caplog.text
    async with sessions() as session:
        assert set((await session.scalars(select(Instance.name))).all()) == {"live", "me"}
        assert await _claims(session) == Counter(
            {("pending", None): 6, ("sending", "live"): 3, ("sent", "dead"): 1}
        )


async def test_a_beat_that_comes_in_time_keeps_the_instance_and_its_claims(sessions):
    async with transaction(sessions) as session:
        await instances.register(session, "slow", START)
        await instances.register(session, "me", START)
        await _rows(session, 3, "row")
        await store.claim_due(session, START, "slow", 3)
        await _age(session, "slow", instances.DEAD_AFTER + 5)
    async with transaction(sessions) as session:
        await instances.beat(session, "slow", START)  # just before the others look
    async with transaction(sessions) as session:
        assert await instances.reap(session) == {}
    async with sessions() as session:
        assert await _claims(session) == Counter({("sending", "slow"): 3})


async def test_an_instance_taken_for_dead_registers_again(sessions, caplog):
    async with transaction(sessions) as session:
        await instances.register(session, "me", START)
        await instances.register(session, "other", START)
        await _age(session, "me", 60)
        assert await instances.reap(session) == {"me": 0}
    with caplog.at_level(logging.WARNING, logger="bot.instances"):
        async with transaction(sessions) as session:
            assert (await instances.beat(session, "me", START)).peers == 2
    assert "instance me was taken for dead" in caplog.text


async def test_a_clean_stop_gives_back_claims_and_the_polling_lease(sessions):
    async with transaction(sessions) as session:
        await instances.register(session, "me", START)
        await _rows(session, 5, "row")
        await store.claim_due(session, START, "me", 2)
        assert await instances.hold(session, POLLING, "me", 30)
    async with transaction(sessions) as session:
        assert await instances.unregister(session, "me") == 2
        assert await instances.hold(session, POLLING, "next", 30)  # free at once
    async with sessions() as session:
        assert (await session.scalars(select(Instance.name))).all() == []
        assert await _claims(session) == Counter({("pending", None): 5})


# --- the polling lease ---------------------------------------------------------------


async def test_the_polling_lease_has_one_holder_until_it_runs_out(sessions):
    async with transaction(sessions) as session:
        assert await instances.hold(session, POLLING, "a", 30)
        assert not await instances.hold(session, POLLING, "b", 30)
        assert await instances.hold(session, POLLING, "a", 30)  # renewed
        # a stops beating: its lease runs out.
        await session.execute(update(Lease).values(expires_at=Lease.expires_at - 31))
        assert await instances.hold(session, POLLING, "b", 30)
        assert not await instances.hold(session, POLLING, "a", 30)
        await instances.let_go(session, POLLING, "a")  # not a's to give: nothing happens
        assert await session.scalar(select(Lease.holder)) == "b"


async def test_two_instances_racing_for_the_lease_get_one_holder(database_url):
    engines = [make_engine(database_url) for _ in range(2)]
    try:

        async def contend(engine, name: str) -> bool:
            async with transaction(make_sessionmaker(engine)) as session:
                return await instances.hold(session, POLLING, name, 30)

        won = await asyncio.gather(contend(engines[0], "a"), contend(engines[1], "b"))
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(won) == [False, True]


# --- the shared send budget ----------------------------------------------------------


def _most_in_one_window(slots: list[float]) -> int:
    slots = sorted(slots)
    most, first = 0, 0
    for last, moment in enumerate(slots):
        while moment - slots[first] >= WINDOW - 1e-6:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_two_budgets_on_one_database_never_hand_out_more_than_thirty_a_window(
    database_url,
):
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        budgets = [SharedBudget(make_sessionmaker(engine)) for engine in engines]

        async def take_many(budget: SharedBudget) -> list[float]:
            # Four at a time, like a sender's sends in flight.
            slots = []
            for _ in range(10):
                taken = await asyncio.gather(*(budget.take() for _ in range(4)))
                slots += [slot.at for slot in taken]
            return slots

        first, second = await asyncio.gather(*(take_many(b) for b in budgets))
    finally:
        for engine in engines:
            await engine.dispose()
    slots = sorted(first + second)
    assert len(slots) == 80
    assert _most_in_one_window(slots) == TOKENS
    # As early as that allows: 30 at once, 30 a window later, the last 20 after two.
    assert slots[-1] - slots[0] == pytest.approx(2 * WINDOW, abs=0.5)


async def test_thirty_slots_are_free_at_once_the_next_one_a_window_later(sessions):
    budget = SharedBudget(sessions)
    taken = [await budget.take() for _ in range(TOKENS + 1)]
    assert all(slot.wait == pytest.approx(0.0, abs=0.01) for slot in taken[:TOKENS])
    assert taken[TOKENS].at - taken[0].at == pytest.approx(WINDOW, abs=1e-3)
    assert 0 < taken[TOKENS].wait <= WINDOW


async def test_a_database_clock_that_stepped_back_does_not_stop_sending(sessions):
    budget = SharedBudget(sessions)
    await budget.take()
    async with transaction(sessions) as session:
        await session.execute(update(BudgetRow).values(next_at=BudgetRow.next_at + 3600))
    assert await budget.reserve() == pytest.approx(0.0, abs=0.01)
    assert (await budget.take()).wait <= MAX_AHEAD


# --- the pacer with a budget ---------------------------------------------------------


class ListBudget:
    def __init__(self, waits: list[float], fail: bool = False) -> None:
        self.waits = waits
        self.fail = fail
        self.taken = 0

    async def reserve(self) -> float:
        self.taken += 1
        if self.fail:
            raise ConnectionError("database unreachable")
        return self.waits.pop(0) if self.waits else 0.0


async def test_the_pacer_waits_for_the_shared_slot_of_every_send():
    budget = ListBudget([0.0, 0.2])
    pacer = Pacer(budget=budget)
    started = asyncio.get_running_loop().time()
    await pacer.wait(1, False)
    await pacer.wait(2, False)
    assert budget.taken == 2
    assert asyncio.get_running_loop().time() - started >= 0.2


async def test_without_its_database_the_pacer_still_sends_and_says_so_once(caplog):
    pacer = Pacer(budget=ListBudget([], fail=True))
    with caplog.at_level(logging.WARNING, logger="bot.outbox.pacing"):
        for chat in range(3):
            await asyncio.wait_for(pacer.wait(chat, False), 1)
    assert caplog.text.count("shared send budget unavailable") == 1


class SlowBudget(ListBudget):
    """A reservation takes a round trip to the database, as the real one does."""

    async def reserve(self) -> float:
        await asyncio.sleep(0.002)
        return await super().reserve()


async def test_many_waiting_sends_reserve_one_shared_slot_each():
    # Sixty sends at once (note questions at a busy deadline), ten allowed per 0.2 s here.
    # Each must take exactly one slot from the shared budget: none reserved and then
    # thrown away because another send of this process took the window meanwhile.
    budget = SlowBudget([])
    pacer = Pacer(overall=((10, 0.2),), budget=budget)
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(asyncio.gather(*(pacer.wait(chat, False) for chat in range(60))), 10)
    assert budget.taken == 60
    assert asyncio.get_running_loop().time() - started >= 5 * 0.2  # six windows' worth


async def test_the_only_instance_paces_alone_and_a_second_one_shares_the_budget():
    # Alone, a send needs no round trip to the database: the process's own window is the
    # whole of the bot's. With another instance alive, every send takes a shared slot.
    presence = Presence()
    budget = ListBudget([])
    pacer = Pacer(budget=budget)
    pacer.share_budget = lambda: not presence.alone()
    presence.joined(1)
    await pacer.wait(1, False)
    assert budget.taken == 0
    presence.beaten(2)  # the next beat sees a second instance
    await pacer.wait(2, False)
    assert budget.taken == 1


def test_a_newcomer_that_finds_others_alive_waits_until_they_know_of_it(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(instances.time, "monotonic", lambda: now[0])
    first, second = Presence(), Presence()
    first.joined(1)
    assert first.alone() and first.may_send()
    second.joined(2)
    assert not second.alone() and not second.may_send()
    # Within JOIN_QUIET the first instance beats and sees the second: it shares from then.
    now[0] += instances.BEAT_SECONDS
    first.beaten(2)
    assert not first.alone()
    now[0] += instances.JOIN_QUIET - instances.BEAT_SECONDS
    second.beaten(2)
    assert second.may_send()


def test_an_unregistered_sender_is_never_alone():
    # Tests and benchmarks that drive a sender without registering it keep the budget
    # they were given.
    assert not Presence().alone()
