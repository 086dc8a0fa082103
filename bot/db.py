"""Engine and sessions. One session per update or job, committed by the caller."""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from sqlalchemy import Double, cast, event, extract, func, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Sessionmaker = async_sessionmaker[AsyncSession]


def make_engine(url: str, *, checkpoint_in_background: bool = False, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and a busy timeout.

    `checkpoint_in_background`: SQLite writes its log back into the database file only
    when `checkpoint` is called (jobs/checkpoint.py), not in the middle of a commit.
    """
    if url.startswith("sqlite"):
        if (path := sqlite_path(url)) is not None:
            _make_folder(Path(path).parent)
        # One connection: every transaction takes SQLite's single write lock at BEGIN
        # (below), so they run one at a time anyway. Queuing for the pooled connection
        # is first come, first served and wakes the next one at once; queuing on the
        # lock itself means SQLite's busy handler sleeping and retrying, which under
        # many concurrent button presses wastes most of the time (docs/benchmarks.md §4).
        # Other processes on the same file still wait through busy_timeout.
        kwargs = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 120, **kwargs}
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if checkpoint_in_background:
            event.listen(engine.sync_engine, "connect", _no_checkpoint_in_commits)
            if path is not None:
                event.listen(engine.sync_engine, "commit", functools.partial(_committed, path))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it is a round trip before every transaction, a third of the cost of a
    # short one. A connection that died with the server fails its first statement; the
    # pool then drops every connection opened before, and every loop tries again
    # (tests/test_outages.py cuts the server off and checks that all resumes).
    kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **kwargs}
    return create_async_engine(url, **kwargs)


# Read-only connections for the pages that only read (SQLite: make_reader_engine).
READERS = 4


def make_reader_engine(url: str) -> AsyncEngine | None:
    """SQLite: a second engine, read-only, with a few connections, for what only reads
    (the desk's pages). In WAL mode readers neither wait for the writer nor hold it up, so
    people reading the desk do not queue the bot's writes (its one connection, above)
    behind their page loads. None for other databases (their pool serves both) and for an
    in-memory SQLite database (another connection would see another database)."""
    if sqlite_path(url) is None:
        return None
    engine = create_async_engine(
        url,
        connect_args={"timeout": 30},
        pool_size=READERS,
        max_overflow=0,
        pool_timeout=120,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_reader_pragmas)
    event.listen(engine.sync_engine, "begin", _sqlite_read_begin)
    return engine


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # our own BEGIN, as for the writer
    cursor = dbapi_connection.cursor()
    # A write through this engine is a bug: refused by SQLite, never half done.
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_read_begin(connection: Any) -> None:
    # Deferred: one snapshot for the page's reads, and no write lock.
    connection.exec_driver_sql("BEGIN")


# PostgreSQL connections per process. Updates are handled with fewer at once
# (`concurrent_units`), so that the receiver storing the next updates, the sender and the
# heartbeat never queue behind a crowd of button presses for a connection.
POOL_SIZE = 10
POOL_OVERFLOW = 10
# Connections kept for that background work.
BACKGROUND_CONNECTIONS = 4
# Units of work at once on SQLite (see concurrent_units).
SQLITE_UNITS = 32


def concurrent_units(engine: AsyncEngine) -> int:
    """How many units of work (updates being handled) should use the database at once.

    PostgreSQL: the pool less the connections kept for the background work. SQLite runs
    one transaction at a time on its one connection, and its writers queue for it in
    order anyway; there more units in flight keep the queue full (measured: 4 at once
    handled presses a third slower than 32, bench.presses).
    """
    if engine.dialect.name == "sqlite":
        return SQLITE_UNITS
    pool: Any = engine.pool
    size = int(pool.size()) + max(0, int(getattr(pool, "_max_overflow", 0)))
    return max(4, size - BACKGROUND_CONNECTIONS)


def open_sqlite_file(url: str) -> None:
    """For an SQLite URL, make the file's folder and open the file once, synchronously.

    The CLI does this before the async driver opens it: when aiosqlite cannot open a file,
    its worker thread outlives `asyncio.run` and prints a traceback of its own after the
    one error line (aiosqlite 0.22).
    """
    path = sqlite_path(url)
    if path is None or make_url(url).query:  # URI filenames and options: left to the driver
        return
    _make_folder(Path(path).parent)
    try:
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            connection.execute("PRAGMA schema_version")
    except sqlite3.Error as error:
        raise OperationalError(None, None, error) from None


def _make_folder(folder: Path) -> None:
    """The database file's folder, made if need be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # A file stands where the folder should be; say so, not "File exists".
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver would otherwise begin transactions itself, only before writes: then a
    # SAVEPOINT (session.begin_nested) opens the outer transaction and its RELEASE
    # commits everything early. SQLAlchemy's documented recipe: the driver begins
    # nothing, and every transaction starts with our own BEGIN (_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _no_checkpoint_in_commits(dbapi_connection: Any, _record: Any) -> None:
    # By default the commit that fills the log past 1,000 pages copies it back into the
    # database file and waits for the disk to confirm (fsync): on a busy virtual disk
    # that took up to 1.7 s, with every other transaction queued behind it (the engine
    # has one connection). The copy is done from another thread instead (`checkpoint`).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


# Commits by SQLite file, so the checkpoint job can skip a database nothing was written to.
_commits: dict[str, int] = {}


def _committed(path: str, _connection: Any) -> None:
    _commits[path] = _commits.get(path, 0) + 1


def commits(path: str) -> int:
    """How many transactions this process has committed to the SQLite file `path`."""
    return _commits.get(path, 0)


def sqlite_path(url: str) -> str | None:
    """The file of an SQLite database URL; None for other databases and :memory:."""
    if not url.startswith("sqlite"):
        return None
    _, _, path = url.partition(":///")
    return path if path and not path.startswith(":memory:") else None


def checkpoint(path: str) -> tuple[int, int]:
    """Copy SQLite's write-ahead log back into the database file (blocking: run it in a
    thread). PASSIVE: it waits for no reader or writer, and takes what it can. Returns
    the pages in the log and the pages copied."""
    with closing(sqlite3.connect(path, timeout=30)) as connection:
        _busy, in_log, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(in_log), int(copied)


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: take the write lock at the start. Updates are handled concurrently; a
    # transaction that read first and wrote later could otherwise fail at once with
    # "database is locked" (a stale WAL snapshot cannot wait) instead of waiting its turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_for(session: AsyncSession, model: Any) -> Any:
    """An INSERT that knows ON CONFLICT, for whichever database the session is on."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(model)
    return sqlite_insert(model)


def database_now(session: AsyncSession) -> Any:
    """Now, in seconds since 1970, by the database server's clock, as an SQL expression.

    For what several processes, maybe on several hosts, must agree on (who stopped
    beating, whose turn it is to send): they all read the same clock.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", func.clock_timestamp()), Double)
    # Millisecond precision, and the same value throughout one statement.
    return type_coerce((func.julianday("now") - 2440587.5) * 86400.0, Double)


def make_sessionmaker(engine: AsyncEngine) -> Sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessionmaker: Sessionmaker) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit when the block ends, roll back on any error."""
    async with sessionmaker.begin() as session:
        yield session
