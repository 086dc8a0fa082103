"""Pacing under Telegram's limits, by design rather than by provoking 429s.

Telegram asks for at most about 30 messages per second overall, about one per second in
a chat (short bursts tolerated), and twenty per minute in a group. Each limit is kept as
a sliding window ("at most N sends in any S seconds"), which is the strictest reading of
"N per S": a window never holds more than N sends, yet a quiet chat or a quiet second
can take a few messages at once, so the reminders of one moment go out together instead
of one every 33 ms.

Each send first waits for its chat's windows, then for the overall one, so a busy group
does not hold up everyone else.

The windows count this process's sends. When several instances share a database, the
overall limit must hold for all of them together: then the pacer also takes a slot from
a shared `budget` (bot/outbox/budget.py) for every send. The only live instance does
not: its own window is the whole budget, and a database round trip per send would only
slow a broadcast (bot/instances.Presence.alone). The per-chat windows stay in
the process: a chat's messages come from one process at a time, but for the rare
reminder to someone who is also talking to another instance.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

# Thirty in a little more than a second: Telegram counts where the messages arrive, and
# the trip there varies by some milliseconds (29.4 a second at most).
OVERALL = ((30, 1.02),)
# One a second on average; two reminders due at the same moment may go together.
PRIVATE = ((2, 2.0),)
# Twenty a minute, and no more than five in a quarter of a minute.
GROUP = ((5, 15.0), (20, 60.0))
# A shared slot missed by more than this is given up for a new one (a few attempts, then
# the send goes anyway): half the room the budget leaves for lateness (30 ms).
LATE = 0.015
MAX_SLOT_ATTEMPTS = 3
# How often chats that have been quiet longer than their windows are forgotten.
FORGET_EVERY = 60.0
# A chat's window is kept this much longer than Telegram's: Telegram counts where the
# messages arrive, and the trip there varies by some milliseconds, so two sends granted
# exactly a window apart could arrive a little closer. Ten seconds of pacing lose one
# hundredth of a message to it in a private chat. (Not on the overall window: 30 a
# second is the broadcast's speed, and the shared budget already leaves room.)
CHAT_GUARD = 0.05


class SlidingWindow:
    def __init__(self, limit: int, seconds: float, guard: float = 0.0) -> None:
        self.limit = limit
        self.seconds = seconds + guard
        self.sends: deque[float] = deque()

    def free_at(self, now: float) -> float:
        """The earliest moment a send fits in the window."""
        while self.sends and self.sends[0] <= now - self.seconds:
            self.sends.popleft()
        if len(self.sends) < self.limit:
            return now
        return self.sends[0] + self.seconds

    def take(self, at: float) -> None:
        self.sends.append(at)


class Budget(Protocol):
    async def reserve(self) -> float:
        """Take the next overall slot; returns the seconds to wait for it."""
        ...


class Pacer:
    def __init__(
        self,
        overall: tuple[tuple[int, float], ...] = OVERALL,
        private: tuple[tuple[int, float], ...] = PRIVATE,
        group: tuple[tuple[int, float], ...] = GROUP,
        monotonic: Callable[[], float] = time.monotonic,
        budget: Budget | None = None,
    ) -> None:
        self._monotonic = monotonic
        # Shared with the other instances; None when this process sends alone.
        self.budget = budget
        # Whether to use it now: not while the process is the only one (bot/app.py).
        self.share_budget: Callable[[], bool] = lambda: True
        self._budget_failing = False
        self._overall = [SlidingWindow(n, s) for n, s in overall]
        self._private = private
        self._group = group
        self._chats: dict[int, list[SlidingWindow]] = {}
        self._held: dict[int, float] = {}
        self._turn = asyncio.Lock()
        self._swept_at = monotonic()

    def _windows(self, chat_id: int, is_group: bool) -> list[SlidingWindow]:
        self._forget_quiet_chats()
        windows = self._chats.get(chat_id)
        if windows is None:
            spec = self._group if is_group else self._private
            windows = self._chats[chat_id] = [SlidingWindow(n, s, CHAT_GUARD) for n, s in spec]
        return windows

    def chat_free_in(self, chat_id: int, is_group: bool = False) -> float:
        """Seconds until `chat_id` may receive again (0 when it may now)."""
        now = self._monotonic()
        ready = max(
            [self._held.get(chat_id, now)]
            + [w.free_at(now) for w in self._windows(chat_id, is_group)]
        )
        return max(0.0, ready - now)

    async def wait(self, chat_id: int, is_group: bool, *, overall: bool = True) -> None:
        """Wait for this chat's turn, then for an overall slot, and take both.

        `overall=False` for an edit: it keeps the chat's pace (an announcement must not
        put four calls into the admin's chat in one second) but is not a new message, so
        it does not count against the bot's 30 messages a second, nor take one of the
        slots the instances share.
        """
        while True:
            # Loops, not one sleep: another send or a 429 meanwhile can push the turn back.
            while (delay := self.chat_free_in(chat_id, is_group)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(delay)
            # The overall slot is taken by one send of this process at a time, in arrival
            # order. Otherwise every waiting send (hundreds of note questions at a busy
            # deadline) wakes each time the window frees and all but one go back to
            # sleep, and with a shared budget each of them reserves a slot in the
            # database that then goes unused.
            async with self._turn:
                if self.chat_free_in(chat_id, is_group) > 0:
                    continue  # another send to this chat went first
                if overall:
                    while (delay := self._overall_free_in()) > 0:  # noqa: ASYNC110
                        await asyncio.sleep(delay)
                    if self.budget is not None and self.share_budget():
                        await self._shared_slot()
                # Chat windows are only taken under `_turn`, so this chat is still free.
                now = self._monotonic()
                windows = self._windows(chat_id, is_group)
                for window in [*windows, *self._overall] if overall else windows:
                    window.take(now)
                return

    async def _shared_slot(self) -> None:
        assert self.budget is not None
        for _attempt in range(MAX_SLOT_ATTEMPTS):
            try:
                delay = await self.budget.reserve()
            except Exception:
                # The budget lives in the database. Without it this process still keeps
                # its own windows; refusing to send would be worse than a rare 429.
                if not self._budget_failing:
                    log.warning("shared send budget unavailable; pacing alone", exc_info=True)
                self._budget_failing = True
                return
            self._budget_failing = False
            due = time.monotonic() + delay
            if delay > 0:
                await asyncio.sleep(delay)
            # A process that was busy meanwhile (a long commit, a garbage collection)
            # wakes late, when the next slots are other sends'; sending now would crowd
            # them. Take a new slot instead.
            if time.monotonic() - due <= LATE:
                return

    def _overall_free_in(self) -> float:
        now = self._monotonic()
        return max(0.0, max(w.free_at(now) for w in self._overall) - now)

    def _forget_quiet_chats(self) -> None:
        """Keep memory bounded by the chats of the last minute, not by every chat ever:
        a chat whose windows are empty (and that Telegram did not ask to wait) is
        forgotten; it starts afresh, which is what an empty window means anyway."""
        now = self._monotonic()
        if now - self._swept_at < FORGET_EVERY:
            return
        self._swept_at = now
        longest = CHAT_GUARD + max(s for spec in (self._private, self._group) for _n, s in spec)
        for chat_id in [c for c, until in self._held.items() if until <= now]:
            del self._held[chat_id]
        for chat_id, windows in list(self._chats.items()):
            last = max((w.sends[-1] for w in windows if w.sends), default=None)
            if chat_id not in self._held and (last is None or last <= now - longest):
                del self._chats[chat_id]

    @property
    def chats_remembered(self) -> int:
        return len(self._chats)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to wait (429 retry_after): keep this chat quiet that long."""
        until = self._monotonic() + seconds
        self._held[chat_id] = max(self._held.get(chat_id, 0.0), until)
