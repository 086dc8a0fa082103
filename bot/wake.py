"""Wake the loops that wait for work the moment there is some, instead of looking every
quarter of a second (an idle bot then costs almost nothing).

A transaction that adds work calls `after_commit(session, channel)`; once it commits,
every `Waker` of that channel in this process is woken, and on PostgreSQL every other
instance too (NOTIFY, delivered at the commit; `Listener` below). A rolled-back
transaction wakes nobody. Waking is a hint: the loops still look by themselves now and
then, so a lost hint costs a delay, never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from bot.logs import Throttled

log = logging.getLogger(__name__)

OUTBOX = "dieuphoi_outbox"  # outbox rows are due now
BROADCASTS = "dieuphoi_broadcasts"  # a broadcast started
FILES = "dieuphoi_files"  # a report file is waiting to be downloaded
CHANNELS = (OUTBOX, BROADCASTS, FILES)
# How often the PostgreSQL listener checks its connection.
LISTENER_CHECK_SECONDS = 10.0

_wakers: dict[str, set[Waker]] = {}
# Where this process's commits are also told (the desk process tells the bot: web/process.py).
_forward: Callable[[list[str]], None] | None = None


class Waker:
    """An event for one loop, set by commits that add work to its channel(s)."""

    def __init__(self, *channels: str) -> None:
        self.channels = channels
        self._event = asyncio.Event()
        for channel in channels:
            _wakers.setdefault(channel, set()).add(self)

    def set(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        """Wait until woken or `seconds` have passed; True when woken."""
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True

    def close(self) -> None:
        for channel in self.channels:
            _wakers.get(channel, set()).discard(self)


def wake(channels: Iterable[str]) -> None:
    for channel in channels:
        for waker in list(_wakers.get(channel, ())):
            waker.set()


async def after_commit(session: AsyncSession, channel: str) -> None:
    """Wake `channel`'s loops once this session's transaction commits."""
    session.info.setdefault("wake", set()).add(channel)
    if session.get_bind().dialect.name == "postgresql":
        # Transactional: delivered to the other instances at the commit, or never.
        await session.execute(select(func.pg_notify(channel, "")))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    channels = session.info.pop("wake", ())
    wake(channels)
    if channels and _forward is not None:
        _forward(sorted(channels))


def forward_wakes(send: Callable[[list[str]], None]) -> None:
    """Also hand the channels of every commit in this process that added work to `send`."""
    global _forward
    _forward = send


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop("wake", None)


class Listener:
    """PostgreSQL only: LISTEN on one connection of its own, and wake this process's
    loops when another instance commits work. Reconnects by itself after an outage (and
    then wakes everyone, since hints may have been missed meanwhile)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._task: asyncio.Task[None] | None = None
        self._connection: AsyncConnection | None = None
        self._trouble = Throttled(log)

    def start(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._task = asyncio.create_task(self._run(), name="wake-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _run(self) -> None:
        while True:
            try:
                if self._connection is None or self._closed():
                    await self._close()
                    await self._listen()
                    self._trouble.recovered("listen")
                    wake(CHANNELS)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._trouble.failure("listen", "cannot listen for work of other instances",
                                      error)  # fmt: skip
                await self._close()
            await asyncio.sleep(LISTENER_CHECK_SECONDS)

    async def _listen(self) -> None:
        self._connection = await self.engine.connect()
        raw = await self._connection.get_raw_connection()
        driver: Any = raw.driver_connection
        for channel in CHANNELS:
            await driver.add_listener(channel, _notified)

    def _closed(self) -> bool:
        if self._connection is None or self._connection.closed:
            return True
        raw = self._connection.sync_connection
        driver: Any = raw.connection.driver_connection if raw is not None else None
        return driver is None or bool(driver.is_closed())

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.invalidate()
            except Exception:
                log.debug("listener connection already gone", exc_info=True)


def _notified(_connection: object, _pid: int, channel: str, _payload: str) -> None:
    wake([channel])
