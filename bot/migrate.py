"""Apply Alembic migrations, from the CLI (own event loop) or on a test's connection."""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from bot.resources import shipped

MIGRATIONS = shipped("migrations")


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not an ini option: URLs may contain "%" which ini would mangle.
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Bring the database to the newest schema. Must not run inside an event loop.

    Several processes may start at the same moment on a database with a pending
    migration (instances restarted together after an update): one migrates, the others
    wait for it and then find nothing left to do. PostgreSQL: a session advisory lock
    held around the migration, on the connection that runs it. SQLite: an exclusive lock
    on a file beside the database (SQLite serves one host).
    """
    from bot.db import sqlite_path

    if database_url.startswith("postgresql"):
        asyncio.run(_upgrade_postgres(database_url))
        return
    path = sqlite_path(database_url)
    if path is None:
        command.upgrade(alembic_config(database_url), "head")
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            command.upgrade(alembic_config(database_url), "head")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# Any number fixed for this project: the advisory lock of "migrating dieuphoi".
MIGRATION_LOCK = 0x6469_6575_7068_6F69  # "dieuphoi"


async def _upgrade_postgres(database_url: str) -> None:
    from sqlalchemy import func, select

    from bot.db import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK)))
            await connection.commit()  # the lock is the session's: it outlives this
            try:
                await connection.run_sync(upgrade_on)
                await connection.commit()
            finally:
                await connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK)))
                await connection.commit()
    finally:
        await engine.dispose()


def upgrade_on(connection: Connection) -> None:
    """Bring the database to the newest schema on an open (sync) connection."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def pending(database_url: str) -> bool:
    """True when the database is not at the newest revision (or has no schema at all)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from bot.db import make_engine

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: set(MigrationContext.configure(sync).get_current_heads())
            )
    finally:
        await engine.dispose()
    return current != heads
