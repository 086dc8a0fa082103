"""Pacing under Telegram's limits, by design rather than by provoking 429s.

About 30 messages per second overall, one per second in a private chat, twenty per
minute in a group. Each send first waits for its chat to be free, then takes the
next overall slot, so a busy group does not hold up everyone else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

OVERALL_PER_SECOND = 30.0
PRIVATE_INTERVAL = 1.0
GROUP_INTERVAL = 3.0  # 20 per minute


class Pacer:
    def __init__(
        self,
        per_second: float = OVERALL_PER_SECOND,
        private_interval: float = PRIVATE_INTERVAL,
        group_interval: float = GROUP_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gap = 1.0 / per_second
        self._private = private_interval
        self._group = group_interval
        self._monotonic = monotonic
        self._next_overall = 0.0
        self._next_in_chat: dict[int, float] = {}

    def chat_free_in(self, chat_id: int) -> float:
        """Seconds until `chat_id` may receive again (0 when it may now)."""
        return max(0.0, self._next_in_chat.get(chat_id, 0.0) - self._monotonic())

    async def wait(self, chat_id: int, is_group: bool) -> None:
        """Wait for this chat's turn, then for an overall slot, and reserve both."""
        # A loop, not one sleep: a 429 meanwhile (`hold`) can push the chat's turn back.
        while (delay := self.chat_free_in(chat_id)) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
        now = self._monotonic()
        slot = max(now, self._next_overall)
        self._next_overall = slot + self._gap
        self._next_in_chat[chat_id] = slot + (self._group if is_group else self._private)
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to wait (429 retry_after): keep this chat quiet that long."""
        until = self._monotonic() + seconds
        self._next_in_chat[chat_id] = max(self._next_in_chat.get(chat_id, 0.0), until)
