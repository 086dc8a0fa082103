"""Sends that wait out Telegram's flood control (429 retry_after) instead of failing.

For answers to people and the broadcast's progress and summary; the outbox sender has
its own pacing and retry rules (jobs/sender.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram.error import RetryAfter

T = TypeVar("T")

MAX_FLOOD_RETRIES = 3


async def patiently(send: Callable[[], Awaitable[T]]) -> T:
    """Send; when Telegram answers 429, wait the time it asks for and try again.

    A person typing quickly can outpace the per-chat limit; the answer then comes a
    moment later instead of not at all.
    """
    for _attempt in range(MAX_FLOOD_RETRIES):
        try:
            return await send()
        except RetryAfter as error:
            await asyncio.sleep(_seconds(error.retry_after))
    return await send()


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
