"""The update being handled, as the handler's wrapper and the inbox flow share it.

The flow (bot/inbox/flow.py) sets `current` for the task that runs one update; the
wrapper (handlers/common.py) uses it to mark the update handled in its own transaction,
to give the processing slot back once the database work is committed, and to leave
word of what happened.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


class Outcome(enum.Enum):
    NOT_HANDLED = "not handled"  # no handler took it (nothing to do)
    HANDLED = "handled"  # committed; `left` holds replies Telegram did not take yet
    DUPLICATE = "duplicate"  # another attempt handled it first: nothing was done
    FAILED = "failed"  # an unexpected error; nothing was committed


@dataclass
class Handling:
    update_id: int
    release_slot: Callable[[], None] = lambda: None
    outcome: Outcome = Outcome.NOT_HANDLED
    error: BaseException | None = None
    # Records the replies still to say while earlier ones are said (see Speaker.say).
    keep: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None
    # Replies that could not be said yet (Telegram unreachable): kept for later.
    left: list[dict[str, Any]] = field(default_factory=list)


current: ContextVar[Handling | None] = ContextVar("dieuphoi_handling", default=None)
