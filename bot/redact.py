"""No secret on any output: the CLI's stdout and stderr, wrapped once settings are known.

Everything the process prints goes through `sys.stdout` and `sys.stderr`: log lines (the
handler of bot/logs.py writes to `sys.stderr`), the CLI's own lines, warnings, and the
traceback Python prints for an exception that escapes `asyncio.run` (aiohttp puts the
request URL, which holds the bot token, into some of its errors). Wrapping those two
streams is the one place where the token, the webhook secret and the database password
are replaced by markers, whichever library wrote them.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Mapping
from typing import TextIO


class RedactingStream(io.TextIOBase):
    """A text stream writing to another, with every secret replaced by its marker.

    A secret never spans two lines, so text is held until a newline: a secret written in
    two pieces (two `write()` calls) is still whole when it is replaced. `flush()` writes
    what is held, and Python flushes `sys.stdout` and `sys.stderr` when it exits.
    """

    def __init__(self, target: TextIO, secrets: Mapping[str, str]) -> None:
        super().__init__()
        self.target = target
        # Longest first, so the whole token goes before its part after the colon.
        self._secrets = sorted(
            ((secret, marker) for secret, marker in secrets.items() if secret),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )
        self._held = ""
        self._lock = threading.Lock()

    def redact(self, text: str) -> str:
        for secret, marker in self._secrets:
            text = text.replace(secret, marker)
        return text

    def write(self, text: str) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        with self._lock:
            held = self._held + text
            end = held.rfind("\n") + 1
            self._held = held[end:]
            if end:
                self.target.write(self.redact(held[:end]))
        return len(text)

    def flush(self) -> None:
        if self.closed:
            return
        with self._lock:
            held, self._held = self._held, ""
            if held:
                self.target.write(self.redact(held))
        if not self.target.closed:  # at exit, Python may have closed it already
            self.target.flush()

    def close(self) -> None:
        # The target (the real stdout or stderr) stays open: only this wrapper closes.
        if not self.closed:
            self.flush()
        super().close()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.target.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.target.errors


def redact_output(secrets: Mapping[str, str]) -> None:
    """Wrap `sys.stdout` and `sys.stderr` (again, with these secrets, if already wrapped)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, RedactingStream):
            stream.flush()
            stream = stream.target
        setattr(sys, name, RedactingStream(stream, secrets))
