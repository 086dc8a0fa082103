"""Flood control of the fake Bot API (token buckets).

Telegram documents its limits only loosely ("about 30 messages per second overall, one
message per second in a single chat -- short bursts are tolerated -- and 20 messages per
minute in a group"). The fake models each limit as a token bucket:

* a global bucket of capacity ``global_per_second`` refilled at ``global_per_second``/s;
* one bucket per private chat: capacity ``private_burst``, refilled at ``private_per_second``;
* one bucket per group/supergroup/channel: capacity ``group_burst``, refilled at
  ``group_per_minute / 60`` per second.

A message-creating request needs one token from the global bucket *and* from its chat's
bucket; if either is empty nothing is consumed and the request is refused with
``retry_after = ceil(seconds until every needed bucket has a token)`` (at least 1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter", "RateLimits", "TokenBucket"]

_MAX_RETRY_AFTER = 3600


@dataclass(frozen=True)
class RateLimits:
    """Configuration of the fake's flood control. ``enabled=False`` turns it off."""

    global_per_second: float = 30
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20
    group_burst: int = 5
    enabled: bool = True


class TokenBucket:
    """A classic token bucket: ``capacity`` tokens, refilled continuously at ``rate``/s."""

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.tokens = float(capacity)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0.0 if one is available right now)."""
        self._refill(now)
        if self.tokens >= 1.0:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


class RateLimiter:
    """Applies :class:`RateLimits` to message-creating requests."""

    def __init__(self, limits: RateLimits, now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.now = now
        self._global: TokenBucket | None = None
        self._chats: dict[int, TokenBucket] = {}

    def reset(self) -> None:
        """Forget all buckets (every bucket starts full again)."""
        self._global = None
        self._chats.clear()

    def _bucket_for(self, chat_id: int, private: bool, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if private:
                bucket = TokenBucket(self.limits.private_burst, self.limits.private_per_second, now)
            else:
                bucket = TokenBucket(
                    self.limits.group_burst, self.limits.group_per_minute / 60.0, now
                )
            self._chats[chat_id] = bucket
        return bucket

    def acquire(self, chat_id: int, *, private: bool) -> int | None:
        """Take a token for one message to ``chat_id``.

        Returns ``None`` when the message may be sent, otherwise the ``retry_after`` (whole
        seconds, >= 1) Telegram would answer with; nothing is consumed in that case.
        """
        if not self.limits.enabled:
            return None
        now = self.now()
        if self._global is None:
            self._global = TokenBucket(
                self.limits.global_per_second, self.limits.global_per_second, now
            )
        buckets = (self._global, self._bucket_for(chat_id, private, now))
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            if math.isinf(wait):
                return _MAX_RETRY_AFTER
            return max(1, min(_MAX_RETRY_AFTER, math.ceil(wait)))
        for bucket in buckets:
            bucket.take(now)
        return None
