"""The sandbox's one clock: real time that a visitor can push forward.

The bot (its `Clock`), the local Bot API server (message dates, flood control) and the
page all read this clock, so a jump of a day is a day for all of them at once. It never
goes back: rows planned and messages dated at a later moment stay in the past of the
clock. The offset is kept in the data folder, so a sandbox started again tomorrow goes on
at the moment it had reached (plus the real time in between).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)


class MovableClock:
    """`now()` is the real time plus every move so far."""

    def __init__(self, state_file: Path | None = None, *, start: datetime | None = None) -> None:
        """`start`: the moment the clock shows now (tests), instead of the real time or
        the moment a saved sandbox had reached."""
        self._state_file = state_file
        self._offset = timedelta(0) if start is None else start - datetime.now(UTC)
        if start is None and state_file is not None and state_file.exists():
            try:
                seconds = float(json.loads(state_file.read_text("utf-8"))["offset_seconds"])
            except (ValueError, KeyError, TypeError):
                log.warning("sandbox clock: %s is unreadable; starting at real time", state_file)
            else:
                self._offset = timedelta(seconds=max(0.0, seconds))

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def wall(self) -> float:
        """Unix seconds on this clock (what Telegram puts in a message's `date`)."""
        return time.time() + self._offset.total_seconds()

    def monotonic(self) -> float:
        """Monotonic seconds that count the moves too: flood control and the bot's pacing
        must see the hours of a jump pass, as a test's BotTime does."""
        return time.monotonic() + self._offset.total_seconds()

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        self._offset += delta
        self._save()
        return self.now()

    def advance_to(self, moment: datetime) -> datetime:
        """Move to `moment` (nothing happens when it has passed already)."""
        return self.advance(max(timedelta(0), moment - self.now()))

    def _save(self) -> None:
        if self._state_file is None:
            return
        data = {"offset_seconds": self._offset.total_seconds()}
        temporary = self._state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(data), "utf-8")
        temporary.replace(self._state_file)
