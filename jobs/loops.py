"""Work that runs as long as the bot, one pass after another: the sender and the
broadcast follower.

Not a chain of one-off JobQueue jobs: APScheduler drops a one-off job whose moment was
missed by more than its grace time, so a process starved of CPU for a while (or
stopped with SIGSTOP) woke up with no sender at all, and announcements stuck until a
restart. A loop just carries on. Between passes it sleeps until the time the pass asked
for, or until a commit elsewhere wakes it (bot/wake.py); a pass that fails is logged
(once a minute at most: bot/logs.Throttled) and tried again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.logs import Throttled
from bot.wake import Waker

log = logging.getLogger(__name__)

# After a failed pass (the database gone, say), the next one comes this much later,
# growing to the last.
PAUSES = (0.5, 1.0, 2.0, 5.0)

# A pass returns how many seconds may pass before the next one (0: at once).
Pass = Callable[[], Awaitable[float]]


class Loop:
    def __init__(self, name: str, run_pass: Pass, waker: Waker) -> None:
        self.name = name
        self.run_pass = run_pass
        self.waker = waker
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._trouble = Throttled(log)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, patience: float = 30.0) -> None:
        """Let the pass under way finish (sends in flight are recorded), then stop."""
        self._stopping = True
        self.waker.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), patience)
        except TimeoutError:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                log.warning("%s did not finish its pass in %s s; cancelled", self.name, patience)
        finally:
            self.waker.close()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                delay = await self.run_pass()
                failures = 0
                self._trouble.recovered(self.name)
            except Exception as error:
                failures += 1
                self._trouble.failure(self.name, f"{self.name} failed", error)
                delay = PAUSES[min(failures, len(PAUSES)) - 1]
            if delay > 0 and not self._stopping:
                await self.waker.wait(delay)
