"""Apply Alembic migrations, from the CLI (own event loop) or on a test's connection."""

from __future__ import annotations

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
    """Bring the database to the newest schema. Must not run inside an event loop."""
    command.upgrade(alembic_config(database_url), "head")


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
