"""Polling mode when several instances share the database: one of them polls at a time.

Telegram answers a second concurrent getUpdates with 409 Conflict, so only the holder
of the `polling` lease (bot/instances.py) polls. The others run everything else (the
outbox, the planner) and stand by; the heartbeat job (jobs/heartbeat.py) starts polling
when this instance wins the lease and stops it when it loses it.

`Application.run_polling` would start polling at once, so `run` does what it does
(initialize, post_init, start, wait for SIGINT/SIGTERM, stop, shutdown, post_shutdown)
but leaves the polling to the lease.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence

from telegram.ext import Application

from bot.db import transaction
from bot.instances import BEAT_SECONDS, POLLING, POLLING_LEASE, let_go

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)


class Poller:
    """Starts and stops the Updater's polling as the lease comes and goes."""

    def __init__(self, application: Application, allowed_updates: Sequence[str]) -> None:
        self.application = application
        self.allowed_updates = allowed_updates
        # Start and stop never interleave, and nothing starts once `close` has begun.
        self._lock = asyncio.Lock()
        self._closed = False
        self._held_at: float | None = None  # time.monotonic() of the last renewal
        self._said_standing_by = False

    @property
    def polling(self) -> bool:
        updater = self.application.updater
        return updater is not None and updater.running

    def renewed(self) -> None:
        self._held_at = time.monotonic()

    def may_keep_polling(self) -> bool:
        """After a failed renewal: True while the lease surely has not run out yet (the
        next beat could still renew it in time)."""
        if self._held_at is None:
            return False
        return time.monotonic() - self._held_at < POLLING_LEASE - BEAT_SECONDS

    async def lead(self, leader: bool) -> None:
        """Poll if and only if this instance holds the lease."""
        updater = self.application.updater
        assert updater is not None
        name = self.application.bot_data["deps"].presence.name
        async with self._lock:
            if self._closed:
                return
            if leader and not updater.running:
                log.info("instance %s now polls Telegram for updates", name)
                try:
                    await updater.start_polling(allowed_updates=self.allowed_updates)
                except Exception:
                    # Telegram unreachable at the start (deleteWebhook): the next beat,
                    # still holding the lease, tries again.
                    log.exception("instance %s could not start polling", name)
            elif not leader and updater.running:
                log.warning("instance %s lost the polling lease; standing by", name)
                await updater.stop()
            elif not leader and not self._said_standing_by:
                log.info("instance %s stands by: another instance polls", name)
            self._said_standing_by = not leader

    async def close(self) -> None:
        """Stop polling for good and free the lease, so another instance takes over at
        its next beat instead of when the lease runs out."""
        async with self._lock:
            self._closed = True
            if self.polling:
                assert self.application.updater is not None
                await self.application.updater.stop()
        deps = self.application.bot_data["deps"]
        if deps.sessionmaker is None:
            return
        try:
            async with transaction(deps.sessionmaker) as session:
                await let_go(session, POLLING, deps.presence.name)
        except Exception:
            log.warning("could not free the polling lease; it runs out by itself", exc_info=True)


def run(application: Application, allowed_updates: Sequence[str]) -> None:
    """Run the bot until SIGINT/SIGTERM, polling only while it holds the lease."""
    asyncio.run(_serve(application, Poller(application, allowed_updates)))


async def _serve(application: Application, poller: Poller) -> None:
    application.bot_data["poller"] = poller
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        try:
            await stop.wait()
        finally:
            await poller.close()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
