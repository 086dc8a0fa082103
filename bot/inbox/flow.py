"""Handle stored updates: each person's in order, different people's at once, and a
person who floods the bot slows only themselves.

Each person (the sender of an update, else its chat) has a queue; one task per person
works through it, so a double tap is still seen as one and a reply still follows the
question it answers. Waiting in that queue holds nothing. Only the database work of an
update holds one of a few processing slots (bot/db.concurrent_units: about as many as
the database has connections to spare): the handler's wrapper gives the slot
back once its transaction is committed, before its answers wait for their turn under
Telegram's per-chat limits (handlers/common.py). So a person who sends a hundred
messages waits for their own answers, one a second, while everyone else's button
presses go straight through. Beyond MAX_QUEUED_PER_PERSON waiting updates, a person's
further updates are dropped (recorded as such), and they are asked, at most once a
minute, to slow down.

What happened to each update is written back to its inbox row (bot/inbox/store.py):
done, failed after MAX_ATTEMPTS tries, or left to try again; replies that could not be
sent are kept and sent later. Marks are written in batches by one task (`_finisher`),
so under load many updates share one commit. Rows this process does not hold in
memory (from a crash, from an instance that died, or put back to wait) are taken up
by the sweep (`_sweeper`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application

from bot.db import concurrent_units, transaction
from bot.inbox import handling as inbox_handling
from bot.inbox import store
from bot.inbox.handling import Handling, Outcome
from bot.inbox.store import Stored
from bot.logs import Throttled
from bot.models import InboxState

if TYPE_CHECKING:
    from bot.app import Deps

log = logging.getLogger(__name__)

# A person's updates waiting beyond this many are dropped (a flood).
MAX_QUEUED_PER_PERSON = 20
# The "please slow down" notice goes to one person at most this often.
FLOOD_NOTICE_EVERY = 60.0
# Updates held in memory at most; above it the poller waits before fetching more
# (they wait at Telegram), and the sweep takes no more rows.
MAX_IN_MEMORY = 2000
# Tries of an update whose handling fails with an unexpected error.
MAX_ATTEMPTS = 3
# How often the sweep looks for rows nobody holds, when nothing wakes it sooner.
SWEEP_EVERY = 10.0
SWEEP_BATCH = 200
# Marks of finished updates wait this long for others to be written with (seconds).
# After a crash, an update whose answers were sent but whose mark was not written yet has
# its answers said again: this window bounds how many (docs/inbox.md).
MARKS_GATHER = 0.02
# Replies Telegram would not take are tried again after this long.
REPLIES_LATER = timedelta(seconds=30)
# A database that cannot be reached: its updates wait this long before the next try.
DATABASE_LATER = timedelta(seconds=5)

Effects = list[dict[str, Any]]
Keep = Callable[[Effects], Awaitable[None]]
# Says replies (handlers/replies.Speaker.say): (replies, update, keep) -> those left.
Say = Callable[[Effects, object, Keep | None], Awaitable[Effects]]
# What to tell the person, in their Telegram language or the given default.
Apology = Callable[[Update, str], list[dict[str, Any]]]
FloodNotice = Callable[[dict[str, Any], str], list[dict[str, Any]]]


class _Slot:
    """One processing slot, given back at most once (early by the handler, or at the end)."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self._semaphore = semaphore
        self._held = False

    async def take(self) -> None:
        await self._semaphore.acquire()
        self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._semaphore.release()


class Flow:
    def __init__(
        self,
        application: Application,
        deps: Deps,
        say: Say,
        apology: Apology,
        flood_notice: FloodNotice,
    ) -> None:
        self.application = application
        self.deps = deps
        self._say = say
        self._apology = apology
        self._flood_notice = flood_notice
        assert deps.engine is not None
        self._slots = asyncio.Semaphore(concurrent_units(deps.engine))
        self._queues: dict[int, deque[Stored]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        # Update ids this process holds: queued, being handled, or with a mark not yet
        # written. The sweep leaves them alone.
        self._held: set[int] = set()
        self._marks: dict[InboxState, set[int]] = {}
        self._noticed: dict[int, float] = {}  # person -> time.monotonic() of the notice
        self._marks_waiting = asyncio.Event()
        self._sweep_now = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._trouble = Throttled(log)

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._finisher(), name="inbox-finisher"),
            asyncio.create_task(self._sweeper(), name="inbox-sweeper"),
        ]

    async def stop(self) -> None:
        """Finish what is under way (its marks written); what is only queued stays in
        the database for the next start or another instance."""
        for queue in self._queues.values():
            queue.clear()
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=30)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._write_marks()

    # --- taking updates in -------------------------------------------------------------------

    @property
    def saturated(self) -> bool:
        return len(self._held) >= MAX_IN_MEMORY

    async def room(self) -> None:
        """Wait until fewer than MAX_IN_MEMORY updates are held."""
        while self.saturated:
            self._room.clear()
            await self._room.wait()

    def submit(self, rows: list[Stored]) -> None:
        for row in rows:
            if row.update_id in self._held:
                continue
            person = row.person if row.person is not None else -row.update_id
            queue = self._queues.setdefault(person, deque())
            if row.replies is None and len(queue) >= MAX_QUEUED_PER_PERSON:
                self._drop(person, row)
                continue
            queue.append(row)
            self._held.add(row.update_id)
            self._idle.clear()
            if person not in self._workers:
                self._workers[person] = asyncio.create_task(
                    self._work(person), name=f"inbox-person-{person}"
                )

    def wake_sweep(self) -> None:
        self._sweep_now.set()

    async def idle(self) -> None:
        """Wait until nothing is queued, under way, or waiting to be marked (tests)."""
        await self._idle.wait()

    # --- one person's updates, in order --------------------------------------------------

    async def _work(self, person: int) -> None:
        try:
            while queue := self._queues.get(person):
                row = queue.popleft()
                try:
                    await self._handle(row)
                except Exception:
                    # A bug in the flow itself: the row stays unfinished, for the sweep.
                    log.exception("update %s: handling stopped", row.update_id)
                    self._let_go(row.update_id)
        finally:
            # No await between the last look at the queue and here: a row submitted
            # meanwhile would have found this worker still registered.
            del self._workers[person]
            if not self._queues.get(person):
                self._queues.pop(person, None)
            self._check_idle()

    async def _handle(self, row: Stored) -> None:
        if row.replies is not None:
            # Handled before (a crash, or Telegram could not be reached): say what is left.
            left = await self._say(row.replies, None, self._keeper(row.update_id))
            await self._after_answers(row, left)
            return
        try:
            update = Update.de_json(row.payload, self.application.bot)
        except Exception as error:
            # python-telegram-bot cannot read it: it never will. Record it, once, briefly.
            log.warning(
                "update %s cannot be read (%s: %s); recorded as failed",
                row.update_id,
                type(error).__name__,
                str(error)[:200],
            )
            reason = f"cannot be read: {type(error).__name__}: {error}"
            now = self.deps.clock.now()
            await self._record(row.update_id, lambda s: store.fail(s, row.update_id, reason, now))
            return
        handling = Handling(row.update_id, keep=self._keeper(row.update_id))
        slot = _Slot(self._slots)
        await slot.take()
        handling.release_slot = slot.give_back
        token = inbox_handling.current.set(handling)
        try:
            await self.application.process_update(update)
        finally:
            inbox_handling.current.reset(token)
            slot.give_back()
        if handling.outcome == Outcome.FAILED:
            await self._failed(row, update, handling.error)
        elif handling.outcome == Outcome.DUPLICATE:
            self._let_go(row.update_id)
        else:
            await self._after_answers(row, handling.left)

    async def _after_answers(self, row: Stored, left: list[dict[str, Any]]) -> None:
        if not left:
            self._mark(row.update_id, InboxState.DONE)
            return
        later = self.deps.clock.now() + REPLIES_LATER
        await self._record(
            row.update_id, lambda s: store.replies_left(s, row.update_id, left, later)
        )
        asyncio.get_running_loop().call_later(REPLIES_LATER.total_seconds(), self.wake_sweep)

    async def _failed(self, row: Stored, update: Update, error: BaseException | None) -> None:
        now = self.deps.clock.now()
        reason = f"{type(error).__name__}: {error}"
        if _database_unavailable(error):
            # Not the update's fault: it waits for the database without using up a try.
            self._trouble.failure("database", "the database cannot be reached", error)
            due = now + DATABASE_LATER
            await self._record(
                row.update_id,
                lambda s: store.try_again(s, row.update_id, reason, due, count=False),
            )
            asyncio.get_running_loop().call_later(DATABASE_LATER.total_seconds(), self.wake_sweep)
            return
        attempts = row.attempts + 1
        if attempts < MAX_ATTEMPTS:
            log.error(
                "update %s failed (try %s of %s); it is tried again",
                row.update_id,
                attempts,
                MAX_ATTEMPTS,
                exc_info=error if attempts == 1 else None,
            )
            wait = store.backoff(attempts)
            await self._record(
                row.update_id,
                lambda s: store.try_again(s, row.update_id, reason, now + wait),
            )
            asyncio.get_running_loop().call_later(wait.total_seconds(), self.wake_sweep)
            return
        log.error(
            "update %s failed %s times (%s); recorded as failed", row.update_id, attempts, reason
        )
        await self._record(row.update_id, lambda s: store.fail(s, row.update_id, reason, now))
        # Every try was rolled back, so the apology may say nothing was changed.
        await self._say(self._apology(update, self.deps.settings.default_locale), update, None)

    def _drop(self, person: int, row: Stored) -> None:
        """A flood: record the update as dropped; ask the person, once a minute, to slow down."""
        self._held.add(row.update_id)
        self._mark(row.update_id, InboxState.DROPPED)
        now = time.monotonic()
        if now - self._noticed.get(person, -FLOOD_NOTICE_EVERY) < FLOOD_NOTICE_EVERY:
            return
        self._noticed[person] = now
        for key, when in list(self._noticed.items()):  # keep the memory bounded
            if now - when >= FLOOD_NOTICE_EVERY:
                del self._noticed[key]
        self._noticed[person] = now
        log.warning("person %s sends faster than they can be answered: updates dropped", person)
        notice = self._flood_notice(row.payload, self.deps.settings.default_locale)
        if notice:
            self.application.create_task(self._say(notice, None, None), name="flood-notice")

    # --- writing what happened ---------------------------------------------------------------

    def _keeper(self, update_id: int) -> Keep:
        async def keep(left: Effects) -> None:
            try:
                async with transaction(self.deps.sessions()) as session:
                    await store.keep_replies(session, update_id, left)
            except Exception as error:
                # Only the bound on repeats after a crash suffers: carry on saying.
                self._trouble.failure("inbox-keep", "replies still to say cannot be kept",
                                      error)  # fmt: skip

        return keep

    def _mark(self, update_id: int, state: InboxState) -> None:
        self._marks.setdefault(state, set()).add(update_id)
        self._marks_waiting.set()

    def _let_go(self, update_id: int) -> None:
        self._held.discard(update_id)
        self._check_idle()

    async def _record(self, update_id: int, write: Callable[[Any], Awaitable[object]]) -> None:
        """Write one row's outcome now; if the database cannot take it, the row stays as it
        was and the sweep finds it again."""
        try:
            async with transaction(self.deps.sessions()) as session:
                await write(session)
        except Exception as error:
            self._trouble.failure("inbox-write", "an update's outcome cannot be written", error)
        self._let_go(update_id)

    async def _finisher(self) -> None:
        """Write the marks in batches: whatever finished while the last batch committed,
        or within MARKS_GATHER of the first (a transaction costs more than a mark)."""
        while True:
            await self._marks_waiting.wait()
            await asyncio.sleep(MARKS_GATHER)
            self._marks_waiting.clear()
            if not await self._write_marks():
                await asyncio.sleep(1.0)
                self._marks_waiting.set()

    async def _write_marks(self) -> bool:
        marks, self._marks = self._marks, {}
        if not marks:
            return True
        try:
            now = self.deps.clock.now()
            async with transaction(self.deps.sessions()) as session:
                for state, ids in marks.items():
                    await store.finish(session, ids, state, now)
        except Exception as error:
            self._trouble.failure("inbox-marks", "updates cannot be marked done", error)
            for state, ids in marks.items():
                self._marks.setdefault(state, set()).update(ids)
            return False
        self._trouble.recovered("inbox-marks")
        for ids in marks.values():
            self._held.difference_update(ids)
        self._check_idle()
        return True

    def _check_idle(self) -> None:
        if len(self._held) < MAX_IN_MEMORY:
            self._room.set()
        if not self._held and not self._workers and not self._marks:
            self._idle.set()

    # --- rows nobody holds ---------------------------------------------------------------

    async def _sweeper(self) -> None:
        while True:
            try:
                async with asyncio.timeout(SWEEP_EVERY):
                    await self._sweep_now.wait()
            except TimeoutError:
                pass
            self._sweep_now.clear()
            await self.sweep()

    async def sweep(self) -> int:
        """Take up due rows nobody holds; returns how many were taken."""
        if self.saturated:
            return 0
        name = self.deps.presence.name
        try:
            async with transaction(self.deps.sessions()) as session:
                rows = await store.claim(session, name, self.deps.clock.now(), SWEEP_BATCH)
        except Exception as error:
            self._trouble.failure("inbox-sweep", "stored updates cannot be read", error)
            return 0
        self._trouble.recovered("inbox-sweep")
        fresh = [row for row in rows if row.update_id not in self._held]
        if fresh:
            log.info("taking up %s stored updates", len(fresh))
            self.submit(fresh)
        if len(rows) >= SWEEP_BATCH:
            self.wake_sweep()
        return len(fresh)


def _database_unavailable(error: BaseException | None) -> bool:
    """True for a database that cannot be reached (connection refused or lost), as
    opposed to an error in the handling itself."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(error, InterfaceError | OperationalError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, ConnectionError | OSError) and not isinstance(error, TimeoutError)
