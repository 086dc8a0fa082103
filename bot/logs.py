"""Logging set-up: one handler, on `sys.stderr`.

The bot token never reaches the output through a log line, not even inside a URL or a
traceback: the CLI wraps `sys.stderr` before this runs (bot/redact.py), and the handler
writes to that wrapper.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram URLs carry the token; keep them
    # out at normal levels (they are still redacted at DEBUG).
    logging.getLogger("httpx").setLevel(logging.WARNING if level != "DEBUG" else logging.DEBUG)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


class Throttled:
    """Log each kind of failure once with its traceback, then at most once a minute with
    a count, and once more when it is over.

    For what retries by itself (the database gone for a while, Telegram unreachable): a
    traceback every quarter of a second would bury the log, and say nothing new.
    """

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self._log = logger
        self._every = every
        # kind -> [what, last time logged (time.monotonic()), failures since]
        self._failing: dict[str, list[Any]] = {}

    def failure(self, kind: str, what: str, error: BaseException | None) -> None:
        now = time.monotonic()
        state = self._failing.get(kind)
        if state is None:
            self._failing[kind] = [what, now, 0]
            self._log.error("%s: %s", what, _one_line(error), exc_info=error)
            return
        state[2] += 1
        if now - state[1] >= self._every:
            self._log.error(
                "%s (still, %s times in the last %.0f s): %s",
                what,
                state[2],
                now - state[1],
                _one_line(error),
            )
            state[1], state[2] = now, 0

    def recovered(self, kind: str) -> None:
        state = self._failing.pop(kind, None)
        if state is not None:
            self._log.warning("%s: working again", state[0])

    def failing(self, kind: str) -> bool:
        return kind in self._failing


def _one_line(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
