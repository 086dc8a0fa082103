"""The database layer: SQLite settings, UTC times, constraints, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.db import transaction
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
