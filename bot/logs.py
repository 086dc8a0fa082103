"""Logging set-up: one handler, on `sys.stderr`.

The bot token never reaches the output through a log line, not even inside a URL or a
traceback: the CLI wraps `sys.stderr` before this runs (bot/redact.py), and the handler
writes to that wrapper.
"""

from __future__ import annotations

import logging
import sys


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
