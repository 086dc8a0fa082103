"""Download received report files into FILES_DIR, one after another, as long as the bot runs.

A loop (jobs/loops.py): each pass claims the next due file (bot/services/file_downloads.py),
asks Telegram for it (getFile, then GET <file base>/bot<token>/<file_path>), keeps it on
disk named by its SHA-256 (bot/file_store.py) and records the checksum. Nothing is held
in memory between passes: a crash or an outage delays a download, never loses it.

A full or unwritable FILES_DIR is an error in the log (throttled) and one message to the
admins per outage (and per day at most), then retried like any failure.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.app import Deps
from bot.db import transaction
from bot.file_store import StorageError, extension_for, store
from bot.logs import Throttled
from bot.services import file_downloads
from bot.wake import FILES, Waker
from jobs.loops import Loop

log = logging.getLogger(__name__)

# With nothing due, the loop looks again after this long at most (a file filed by another
# instance on SQLite cannot wake it).
IDLE_MAX = 60.0
# A report file is at most 20 MB: on a slow link that takes a while.
READ_TIMEOUT = 120.0


class Downloader:
    def __init__(self, deps: Deps, bot: Bot) -> None:
        self.deps = deps
        self.bot = bot
        self._trouble = Throttled(log)
        # Whether the admins were told FILES_DIR fails, in this outage.
        self._alerted = False

    def _redact(self, text: str) -> str:
        token = self.deps.settings.telegram_bot_token
        secret = token.get_secret_value() if token is not None else ""
        return text.replace(secret, "<token>") if secret else text

    async def run_pass(self) -> float:
        """Download one due file; returns how long the loop may sleep (0: more may be due)."""
        now = self.deps.clock.now()
        async with transaction(self.deps.sessions()) as session:
            lease = timedelta(seconds=self.deps.settings.outbox_lease_seconds)
            claimed = await file_downloads.claim_next(session, now, lease)
            if claimed is None:
                due = await file_downloads.next_due_at(session)
        if claimed is None:
            if due is None:
                return IDLE_MAX
            return min(IDLE_MAX, max(0.0, (due - now).total_seconds()))
        await self._download(claimed)
        return 0.0

    async def _download(self, claimed: file_downloads.Claimed) -> None:
        give_up = False
        try:
            telegram_file = await self.bot.get_file(claimed.telegram_file_id)
            data = bytes(await telegram_file.download_as_bytearray(read_timeout=READ_TIMEOUT))
        except BadRequest as error:
            # Telegram refuses this file for good ("file is too big", "invalid file_id").
            give_up = True
            problem = f"Telegram: {error.message}"
        except (TelegramError, OSError) as error:
            problem = f"Telegram: {error}"
        else:
            try:
                extension = extension_for(claimed.file_name, claimed.kind)
                digest, relative = store(self.deps.settings.files_dir, data, extension)
            except StorageError as error:
                await self._storage_failed(claimed, str(error))
                return
            await self._done(claimed, digest, relative)
            return
        problem = self._redact(problem)
        # Each file's tries are spaced out (file_downloads.BACKOFF): one line each.
        log.warning("report file %s not downloaded: %s", claimed.id, problem)
        await self._failed(claimed, problem, give_up=give_up)

    async def _done(self, claimed: file_downloads.Claimed, digest: str, relative: str) -> None:
        now = self.deps.clock.now()
        async with transaction(self.deps.sessions()) as session:
            await file_downloads.record_done(session, claimed.id, now, digest, relative)
        self._trouble.recovered("storage")
        if self._alerted:
            log.warning("FILES_DIR takes files again")
        self._alerted = False
        log.info("report file %s kept as %s", claimed.id, relative)

    async def _failed(
        self, claimed: file_downloads.Claimed, problem: str, *, give_up: bool
    ) -> None:
        now = self.deps.clock.now()
        async with transaction(self.deps.sessions()) as session:
            await file_downloads.record_failure(session, claimed.id, now, problem, give_up=give_up)
        if give_up:
            log.error("report file %s given up: %s", claimed.id, problem)

    async def _storage_failed(self, claimed: file_downloads.Claimed, problem: str) -> None:
        self._trouble.failure(
            "storage", "report files cannot be kept in FILES_DIR", StorageError(problem)
        )
        now = self.deps.clock.now()
        async with transaction(self.deps.sessions()) as session:
            await file_downloads.record_failure(session, claimed.id, now, problem)
            if not self._alerted:
                day = now.astimezone(self.deps.settings.tz).date().isoformat()
                await file_downloads.alert_admins(session, now, day, problem)
        self._alerted = True


def schedule(application: Application) -> Loop:
    deps: Deps = application.bot_data["deps"]
    downloader = Downloader(deps, application.bot)
    loop = Loop("downloads", downloader.run_pass, Waker(FILES))
    loop.start()
    return loop
