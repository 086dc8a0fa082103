"""The database layer: SQLite settings, UTC times, constraints, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db import checkpoint, make_engine, transaction
from bot.models import Admin, CouncilMembership
from tests.conftest import POSTGRES_URL


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite pragmas")
async def test_sqlite_runs_with_wal_and_foreign_keys(sessions):
    async with sessions() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_times_come_back_as_the_same_utc_moment(sessions):
    hanoi = timezone(timedelta(hours=7))
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=hanoi)
    async with transaction(sessions) as session:
        session.add(Admin(telegram_user_id=1, name="x", added_at=moment, added_by="test"))
    async with sessions() as session:
        stored = await session.get(Admin, 1)
    assert stored.added_at == moment
    assert stored.added_at.tzinfo == UTC


async def test_foreign_keys_are_enforced(seeded):
    with pytest.raises(IntegrityError):
        async with transaction(seeded) as session:
            session.add(CouncilMembership(council_id=1, member_id=9999))


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's write-ahead log")
@pytest.mark.parametrize("in_background", [False, True])
async def test_the_log_is_copied_back_by_the_checkpoint_job_not_by_a_commit(
    tmp_path, in_background
):
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}", checkpoint_in_background=in_background)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE filler (body TEXT)"))
        for _ in range(30):  # some 1,500 pages of log, past the 1,000 of an automatic copy
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO filler VALUES (:body)"), [{"body": "x" * 4000}] * 50
                )
        in_log, copied = checkpoint(str(path))
    finally:
        await engine.dispose()
    if in_background:
        # No commit copied the log: all of it was left to the job, which copied it all.
        assert in_log > 1000 and copied == in_log
    else:
        assert in_log < 1000  # commits copied it along the way
