"""Several `dieuphoi run` processes on one database: who is alive, who polls.

Each process registers at start-up, beats every BEAT_SECONDS and deletes its row when it
stops cleanly. A row whose heartbeat is older than DEAD_AFTER belongs to a dead process
(kill -9, a lost host): the next beat of any live process deletes it and puts the
outbox rows it had claimed back to `pending`, so they go out within seconds instead of
when their lease (OUTBOX_LEASE_SECONDS) runs out. The lease stays, as a second net for
a claimer that never registered.

The release cannot take rows from a live process: the row is deleted only if its
heartbeat is still old at that moment (one statement, so a beat that comes meanwhile
wins), only rows claimed under that name are released, and a process stops starting
sends once its own last beat is STOP_SENDING_AFTER old, well before the others may
take it for dead (Presence.may_send).

Polling: Telegram lets one client call getUpdates at a time (another gets 409
Conflict). The `polling` lease names the instance that polls; it is renewed with the
heartbeat and taken over by another instance only once it has run out (bot/polling.py).

Times are the database's clock (bot.db.database_now), so hosts need not agree on theirs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import wake
from bot.db import database_now, insert_for
from bot.inbox import store as inbox_store
from bot.models import Instance, Lease
from bot.outbox import store

log = logging.getLogger(__name__)

BEAT_SECONDS = 2.0
# Five missed beats. Long enough that a slow commit or a busy moment does not bury a
# live process (the rows it is sending would go out twice); short enough that after a
# kill -9 its rows go out within seconds rather than after the 60 s outbox lease.
DEAD_AFTER = 10.0
# A process whose own last beat is this old stops starting sends (it may be about to be
# taken for dead): 4 s before DEAD_AFTER, time for a send under way to finish.
STOP_SENDING_AFTER = 6.0
# The poller's lease is shorter than DEAD_AFTER: taking over from a poller that is alive
# but slow costs only a few 409 Conflict answers, and after a kill the bot answers
# again sooner.
POLLING_LEASE = 6.0
POLLING = "polling"
# A process that finds others alive when it joins sends nothing for this long: time for
# each of them to beat, see it, and stop sending as if alone (Presence.alone).
JOIN_QUIET = 1.5 * BEAT_SECONDS


def instance_name() -> str:
    """Unique for this process: host, pid, and a random part (pids are reused)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Presence:
    """This process in the registry."""

    # Also the `claimed_by` of every outbox row this process claims.
    name: str = field(default_factory=instance_name)
    # Live instances at the last beat, this one included: each claims its share.
    peers: int = 1
    # time.monotonic() of the last beat that committed; None when not registered (tests
    # and benchmarks that drive the sender themselves): nobody releases their claims.
    beaten_at: float | None = None

    @property
    def registered(self) -> bool:
        return self.beaten_at is not None

    # time.monotonic() before which this process does not send (JOIN_QUIET).
    quiet_until: float = 0.0

    def joined(self, peers: int) -> None:
        """Registered, with `peers` alive (this one included)."""
        self.beaten(peers)
        if self.peers > 1:
            self.quiet_until = time.monotonic() + JOIN_QUIET

    def beaten(self, peers: int) -> None:
        self.peers = max(1, peers)
        self.beaten_at = time.monotonic()

    def may_send(self) -> bool:
        """False once the last beat is so old that the others may soon take this
        process for dead and hand its rows to someone else; and for a moment after
        joining others, until they know of this one."""
        if self.beaten_at is None:
            return True
        now = time.monotonic()
        return now - self.beaten_at < STOP_SENDING_AFTER and now >= self.quiet_until

    def alone(self) -> bool:
        """The only live instance at the last beat: its own pacing is the whole of the
        bot's, and the budget shared through the database (a round trip per send) can be
        left aside. A newcomer stays quiet until this process's next beat has seen it
        (JOIN_QUIET), so the two never both send as if alone."""
        return self.registered and self.peers == 1


async def register(session: AsyncSession, name: str, started_at: datetime) -> int:
    """Join the registry; returns how many instances there are, this one included."""
    now = database_now(session)
    await session.execute(
        insert_for(session, Instance)
        .values(name=name, started_at=started_at, heartbeat_at=now)
        .on_conflict_do_update(index_elements=["name"], set_={"heartbeat_at": now})
    )
    return await _count(session)


@dataclass(frozen=True)
class Beat:
    peers: int  # live instances, this one included
    reaped: dict[str, int]  # dead instances found now, with the outbox rows they held
    rejoined: bool = False  # this one had been taken for dead, and registered again


async def beat(session: AsyncSession, name: str, started_at: datetime) -> Beat:
    """Say this process is alive, and reap the instances that stopped beating."""
    beaten = await session.execute(
        update(Instance)
        .where(Instance.name == name)
        .values(heartbeat_at=database_now(session))
        .returning(Instance.name)
    )
    rejoined = beaten.first() is None
    if rejoined:
        # Its beats stalled and another instance released its claims: what it still
        # holds in memory may go out twice. Carry on under the same name.
        log.warning("instance %s was taken for dead by another instance; registering again", name)
        await register(session, name, started_at)
    reaped = await reap(session)
    return Beat(await _count(session), reaped, rejoined)


async def _count(session: AsyncSession) -> int:
    # Rows of dead instances not reaped yet count too: each live one then claims a
    # little less for a few seconds, which is harmless.
    return int(await session.scalar(select(func.count()).select_from(Instance)) or 1)


async def reap(session: AsyncSession) -> dict[str, int]:
    """Delete the instances that stopped beating and release their claims; returns how
    many outbox rows each one had claimed."""
    # One statement decides who is dead: a beat that commits first keeps its row.
    dead = (
        await session.scalars(
            delete(Instance)
            .where(Instance.heartbeat_at < database_now(session) - DEAD_AFTER)
            .returning(Instance.name)
        )
    ).all()
    released = {}
    if dead:
        await wake.after_commit(session, wake.OUTBOX)
    for name in dead:
        released[name] = await store.release(session, name)
        updates = await inbox_store.release(session, name)
        log.warning(
            "instance %s stopped beating: %s outbox rows it had claimed are due again, "
            "and %s updates it had not finished",
            name,
            released[name],
            updates,
        )
    return released


async def unregister(session: AsyncSession, name: str) -> int:
    """A clean stop: nothing is in flight any more, so the rows this process still has
    claimed are given back at once; returns how many."""
    await session.execute(delete(Instance).where(Instance.name == name))
    await let_go(session, POLLING, name)
    await inbox_store.release(session, name)
    return await store.release(session, name)


async def hold(session: AsyncSession, lease: str, holder: str, seconds: float) -> bool:
    """Take or renew `lease` for `seconds`; False while another holder's is running."""
    now = database_now(session)
    statement = (
        insert_for(session, Lease)
        .values(name=lease, holder=holder, expires_at=now + seconds)
        .on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": holder, "expires_at": now + seconds},
            where=or_(Lease.holder == holder, Lease.holder.is_(None), Lease.expires_at < now),
        )
        .returning(Lease.holder)
    )
    return (await session.execute(statement)).first() is not None


async def let_go(session: AsyncSession, lease: str, holder: str) -> None:
    await session.execute(
        update(Lease).where(Lease.name == lease, Lease.holder == holder).values(holder=None)
    )
