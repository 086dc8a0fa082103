"""A nested transaction (SAVEPOINT) must not commit the outer one, on SQLite too."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db import transaction
from bot.models import Digest
from bot.services import digest
from bot.services.groups import council_by_code


class Boom(Exception):
    pass


async def test_a_failed_transaction_leaves_no_digest_period_behind(seeded, clock):
    try:
        async with transaction(seeded) as session:
            council = await council_by_code(session, "DBSH")
            new, _previous = await digest.open_period(session, council, "2026-11-30", clock.now())
            assert new
            raise Boom
    except Boom:
        pass
    async with seeded() as session:
        assert await session.scalar(select(func.count()).select_from(Digest)) == 0
