"""What both benchmarks share: the throw-away database, percentiles, printing."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import platform
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import make_engine
from bot.migrate import upgrade
from bot.models import CouncilMembership, Member, TelegramUser
from bot.services.people import name_key
from tests.fakebotapi import FakeBotApi, FakeUser
from tests.proc_stat import children, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def children_cpu_seconds(pid: int) -> float:
    """CPU time so far of the running processes whose parent is `pid` (`dieuphoi run`'s:
    the desk's process, web/process.py)."""
    total = 0.0
    for child in children(pid):
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            total += cpu_seconds(child)
    return total


def parser(description: str) -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(description=description)
    arguments.add_argument(
        "--database-url",
        help="an EMPTY throw-away database, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/"
        "bench_outbox (default: a temporary SQLite file)",
    )
    return arguments


@contextmanager
def bench_database(url: str | None) -> Iterator[str]:
    """A migrated, empty database: a temporary SQLite file (removed after) or `url`."""
    folder: Path | None = None
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="dieuphoi-bench-"))
        url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    elif url.startswith("sqlite"):
        _, _, path = url.partition(":///")
        if path and Path(path).exists() and Path(path).stat().st_size > 0:
            raise SystemExit(f"{path} exists: give a new file, the benchmark fills it")
    else:
        asyncio.run(_require_empty(url))
    try:
        upgrade(url)  # Alembic runs its own event loop: not inside asyncio.run
        yield url
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


async def _require_empty(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            tables = (
                await connection.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    if tables:
        raise SystemExit(f"the database of {url} is not empty: give a throw-away database")


def dialect_of(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 of 1..100 is 50, p99 is 99)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def header(title: str, url: str) -> None:
    print(f"== {title}")
    print(
        f"   database: {dialect_of(url)}   python {platform.python_version()}   "
        f"started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    )


def verdict(ok: bool, claim: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}  {claim}"


class Problems(logging.Handler):
    """Keeps the bot's warnings and errors, to count and print them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.levelname} {record.name}: {record.getMessage()[:160]}")


def registered_person(
    session: AsyncSession,
    api: FakeBotApi,
    *,
    family: str,
    given: str,
    language: str,
    full_name: str,
    agency_id: int,
    council_ids: list[int],
    now: datetime,
) -> tuple[FakeUser, Member]:
    """A member as `/start` leaves them, written directly: a Telegram user who has opened
    a private chat with the bot, linked to a member of `council_ids`."""
    user = api.add_user(given.split()[-1], family, language_code=language, started=True)
    session.add(
        TelegramUser(
            id=user.id,
            first_name=user.first_name,
            last_name=user.last_name,
            telegram_language=language,
            private_chat_ok=True,
            first_seen_at=now,
            last_seen_at=now,
        )
    )
    member = Member(
        full_name=full_name,
        name_key=name_key(full_name),
        position="Chuyên viên",
        agency_id=agency_id,
        telegram_user_id=user.id,
        registered_at=now,
        created_at=now,
        updated_at=now,
    )
    member.memberships = [CouncilMembership(council_id=c) for c in council_ids]
    session.add(member)
    return user, member
