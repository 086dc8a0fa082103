"""Shared fixtures: a clean migrated database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set), a frozen clock, the fake Bot API server, and the real bot
running against it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from bot.clock import FrozenClock
from bot.config import Settings, load_settings
from bot.db import Sessionmaker, make_engine, make_sessionmaker, transaction
from bot.migrate import upgrade
from bot.services import admins, reference

if TYPE_CHECKING:
    from tests.fakebotapi import FakeBotApi, FakeUser
    from tests.harness import BotHarness, BotTime

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
# The sandbox runs on its own SQLite database whatever TEST_DATABASE_URL says, and its page
# needs no database at all: its tests (test_sandbox_*.py, the heaviest of the suite, with a
# browser) run once, in the SQLite run, not again in the PostgreSQL one.
SANDBOX_TESTS = "test_sandbox_"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not POSTGRES_URL:
        return
    skip = pytest.mark.skip(
        reason="the sandbox always runs on SQLite: run without TEST_DATABASE_URL"
    )
    for item in items:
        if item.path.name.startswith(SANDBOX_TESTS):
            item.add_marker(skip)
# 09:00 in Hanoi on a Monday.
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run: a SQLite template file, or the PostgreSQL test database."""
    if POSTGRES_URL:
        _reset_postgres_schema(POSTGRES_URL)
        upgrade(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


def _reset_postgres_schema(url: str) -> None:
    import asyncio

    async def reset() -> None:
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database for this test alone."""
    if POSTGRES_URL:
        await _truncate_all(POSTGRES_URL)
        yield POSTGRES_URL
        return
    path = tmp_path / "dieuphoi.db"
    shutil.copyfile(migrated_template, path)
    yield f"sqlite+aiosqlite:///{path}"


async def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        tables = (
            await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        if names:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessionmaker]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def seeded(sessions: Sessionmaker, clock: FrozenClock) -> Sessionmaker:
    async with transaction(sessions) as session:
        await reference.seed_reference_data(session, clock.now(), "test")
    return sessions


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def bot_time(clock: FrozenClock) -> BotTime:
    from tests.harness import BotTime

    return BotTime(clock)


@pytest.fixture
async def api(bot_time: BotTime) -> AsyncIterator[FakeBotApi]:
    from tests.fakebotapi import FakeBotApi

    # Flood limits count in the bot's time: when the frozen clock jumps a day ahead, a
    # chat has been quiet for a day, as it would have been on Telegram.
    server = FakeBotApi(now=bot_time)
    await server.start()
    yield server
    await server.stop()
    assert server.violations == [], f"Bot API contract violations: {server.violations}"


@pytest.fixture
def settings(api: FakeBotApi, database_url: str) -> Settings:
    return load_settings(
        env_file=None,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        database_url=database_url,
        default_locale="vi",
    )


@pytest.fixture
def cli_environment(api: FakeBotApi, database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for a `dieuphoi` subprocess on this test's database and fake server."""
    from tests.cli import cli_env

    return cli_env(
        tmp_path,
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
    )


@pytest.fixture
async def bot(
    api: FakeBotApi, settings: Settings, seeded: Sessionmaker, clock: FrozenClock
) -> AsyncIterator[BotHarness]:
    """The real Application, polling the fake server, on a seeded database."""
    from tests.harness import BotHarness

    harness = BotHarness(api, settings, clock, seeded)
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def admin(bot: BotHarness, clock: FrozenClock) -> FakeUser:
    """A secretariat admin who has opened a private chat with the bot."""
    user = bot.api.add_user(first_name="Thư ký", last_name="Ban", language_code="vi")
    async with transaction(bot.sessions) as session:
        await admins.add_admin(session, clock.now(), user.id, "Ban thư ký", "test")
    return user
