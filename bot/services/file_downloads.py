"""The download queue of report files, kept in the database (report_files.download_*).

A file is due for download from the moment it is filed on a task. A try claims it by
moving its due time a lease ahead (on PostgreSQL with FOR UPDATE SKIP LOCKED, so two
instances do not fetch the same file at once); a try that a crash interrupts is taken
up again when the lease ends. A failed try is due again later, each time a little later;
a file Telegram refuses for good (gone, too big) is given up with its reason kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ReportFile
from bot.outbox.store import NewRow, add_rows
from bot.services import admins

# The waits after the 1st, 2nd… failed try; the last one repeats.
BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
PRIORITY_ALERT = 5


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    telegram_file_id: str
    file_name: str | None
    attempts: int


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


async def claim_next(session: AsyncSession, now: datetime, lease: timedelta) -> Claimed | None:
    """The next file due for a try, claimed for `lease` (OUTBOX_LEASE_SECONDS: a try not
    recorded by then belongs to a process that died, and is taken up again; a slow try
    fetched twice is harmless, the copy being named by its content)."""
    row = await session.scalar(
        select(ReportFile)
        .where(
            ReportFile.download_due_at <= now,
            ReportFile.downloaded_at.is_(None),
            ReportFile.task_id.is_not(None),
        )
        .order_by(ReportFile.download_due_at, ReportFile.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=ReportFile)
    )
    if row is None:
        return None
    row.download_due_at = now + lease
    return Claimed(row.id, row.kind, row.telegram_file_id, row.file_name, row.download_attempts)


async def next_due_at(session: AsyncSession) -> datetime | None:
    due: datetime | None = await session.scalar(
        select(func.min(ReportFile.download_due_at)).where(
            ReportFile.downloaded_at.is_(None), ReportFile.task_id.is_not(None)
        )
    )
    return due


async def record_done(
    session: AsyncSession, file_id: int, now: datetime, sha256: str, stored_path: str
) -> None:
    row = await session.get(ReportFile, file_id)
    if row is None:  # the task was deleted meanwhile: nothing to record
        return
    row.sha256, row.stored_path, row.downloaded_at = sha256, stored_path, now
    row.download_due_at, row.download_error = None, None
    row.download_attempts += 1


async def record_failure(
    session: AsyncSession, file_id: int, now: datetime, error: str, *, give_up: bool = False
) -> datetime | None:
    """Count the failed try; returns when the next is due (None: given up for good)."""
    row = await session.get(ReportFile, file_id)
    if row is None:
        return None
    row.download_attempts += 1
    row.download_error = error[:2000]
    row.download_due_at = None if give_up else now + backoff(row.download_attempts)
    return row.download_due_at


async def alert_admins(session: AsyncSession, now: datetime, day: str, error: str) -> int:
    """Tell every admin FILES_DIR cannot take files (once a day at most: the dedupe key)."""
    rows = [
        NewRow(
            dedupe_key=f"files-storage:{day}:admin:{admin_id}",
            kind="files_storage",
            subject="files",
            due_at=now,
            telegram_user_id=admin_id,
            payload={"error": error[:500]},
            priority=PRIORITY_ALERT,
        )
        for admin_id in await admins.admin_ids(session)
    ]
    return await add_rows(session, rows, now)
