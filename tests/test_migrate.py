"""Several processes starting at once on a database with a pending migration: one
migrates, the others wait and start (bot/migrate.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import make_engine
from bot.migrate import pending
from tests.conftest import POSTGRES_URL
from tests.processes import Process, until


@pytest.fixture
async def fresh_database(tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database beside the
    test database, dropped afterwards."""
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_fresh"
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_two_instances_starting_at_once_on_a_new_database_both_start(
    api, cli_environment, tmp_path, fresh_database
):
    env = dict(cli_environment, DATABASE_URL=fresh_database)
    first, second = await asyncio.gather(
        Process.start("first", api, env, tmp_path), Process.start("second", api, env, tmp_path)
    )
    try:
        await until(lambda: all("dieuphoi started" in p.log for p in (first, second)), timeout=60)
    finally:
        codes = [await first.stop(), await second.stop()]
    assert codes == [0, 0], first.log + second.log
    assert "Traceback" not in first.log + second.log
    assert not await pending(fresh_database)
    engine = make_engine(fresh_database)
    async with engine.connect() as connection:
        versions = (await connection.execute(text("SELECT * FROM alembic_version"))).all()
    await engine.dispose()
    assert len(versions) == 1
