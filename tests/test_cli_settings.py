"""Settings that fail cleanly (SPEC §1): a bad or unusable setting stops every command with
exit code 2 and one line on stderr, `error: VARIABLE: reason`, never a traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cli import ROOT, Result, cli_env, run_cli
from tests.conftest import POSTGRES_URL

TOKEN = "123456:TEST-token-settings"
PASSWORD = "Hidden-Pa55"
SUPPORTED = "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:5432/NAME"


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    defaults = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/dieuphoi.db",
    }
    return cli_env(tmp_path, **{**defaults, **settings})


def _reason(result: Result, variable: str) -> str:
    """The reason of the one error line about `variable`, after checking the rule."""
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {variable}: "), lines[0]
    assert TOKEN not in result.err + result.out
    assert PASSWORD not in result.err + result.out
    return lines[0].removeprefix(f"error: {variable}: ")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- DATABASE_URL that is not one the bot can use ------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            f"mysql://dieuphoi:{PASSWORD}@localhost/dieuphoi",
            f"mysql:// is not supported; use {SUPPORTED}",
        ),
        ("nonsense", f"not a database URL; use {SUPPORTED}"),
        (
            f"postgresql://dieuphoi:{PASSWORD}@localhost/dieuphoi",
            "postgresql:// is not supported; use postgresql+asyncpg://USER:PASSWORD@HOST:5432/"
            "NAME (PostgreSQL through its async driver)",
        ),
    ],
    ids=["mysql", "nonsense", "postgresql-without-driver"],
)
async def test_a_database_url_the_bot_cannot_use_stops_start_up(tmp_path, url, reason):
    # Every other refused URL takes the same path (tests/test_config.py has them).
    result = await run_cli("run", env=_env(tmp_path, DATABASE_URL=url), cwd=tmp_path)
    assert _reason(result, "DATABASE_URL") == reason


async def test_postgresql_without_its_driver_names_the_extra_to_install(tmp_path):
    # An install without the [postgres] extra: `import asyncpg` fails.
    shim = tmp_path / "no-asyncpg" / "asyncpg"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named asyncpg')\n")
    env = _env(tmp_path, DATABASE_URL="postgresql+asyncpg://dieuphoi@127.0.0.1:5432/dieuphoi")
    env["PYTHONPATH"] = f"{shim.parent}{os.pathsep}{ROOT}"
    result = await run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert _reason(result, "DATABASE_URL") == (
        "the PostgreSQL driver is not installed; install it with: pip install 'dieuphoi[postgres]'"
    )


# --- a database that cannot be reached or written ------------------------------------------


async def test_postgresql_on_a_closed_port(tmp_path):
    port = _free_port()
    url = f"postgresql+asyncpg://dieuphoi:{PASSWORD}@127.0.0.1:{port}/dieuphoi"
    result = await run_cli("run", env=_env(tmp_path, DATABASE_URL=url), cwd=tmp_path)
    reason = _reason(result, "DATABASE_URL")
    assert reason.startswith(
        f"cannot use the database postgresql+asyncpg://dieuphoi:***@127.0.0.1:{port}/dieuphoi: "
    )
    assert "Connect call failed" in reason


def _on_the_test_server(**parts: str) -> str:
    if not POSTGRES_URL:
        pytest.skip("needs the PostgreSQL server of TEST_DATABASE_URL")
    return make_url(POSTGRES_URL).set(**parts).render_as_string(hide_password=False)


async def test_a_postgresql_database_that_does_not_exist(tmp_path):
    url = _on_the_test_server(database="dieuphoi_no_such_database")
    result = await run_cli("db", "upgrade", env=_env(tmp_path, DATABASE_URL=url), cwd=tmp_path)
    reason = _reason(result, "DATABASE_URL")
    assert reason.endswith(': database "dieuphoi_no_such_database" does not exist')


async def test_postgresql_credentials_the_server_refuses(tmp_path):
    url = _on_the_test_server(username="dieuphoi_nobody", password=PASSWORD)
    result = await run_cli("run", env=_env(tmp_path, DATABASE_URL=url), cwd=tmp_path)
    reason = _reason(result, "DATABASE_URL")
    assert reason.startswith("cannot use the database postgresql+asyncpg://dieuphoi_nobody:***@")
    assert '"dieuphoi_nobody"' in reason  # role does not exist / password authentication failed


async def test_an_sqlite_file_in_a_folder_that_cannot_be_made(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    url = f"sqlite+aiosqlite:///{tmp_path}/a-file/dieuphoi.db"
    result = await run_cli("db", "upgrade", env=_env(tmp_path, DATABASE_URL=url), cwd=tmp_path)
    assert _reason(result, "DATABASE_URL") == (
        f"cannot use the database {url}: [Errno 20] Not a directory: '{tmp_path}/a-file'"
    )


async def test_an_sqlite_path_that_is_a_folder(tmp_path):
    (tmp_path / "folder.db").mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path}/folder.db"
    result = await run_cli("run", env=_env(tmp_path, DATABASE_URL=url), cwd=tmp_path)
    assert _reason(result, "DATABASE_URL") == (
        f"cannot use the database {url}: unable to open database file"
    )


async def test_a_database_migrated_by_a_newer_version(tmp_path):
    path = tmp_path / "newer.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
        connection.commit()
    url = f"sqlite+aiosqlite:///{path}"
    result = await run_cli("run", env=_env(tmp_path, DATABASE_URL=url), cwd=tmp_path)
    assert _reason(result, "DATABASE_URL") == (
        f"cannot use the database {url}: Can't locate revision identified by '9999_from_the_future'"
    )


COMMANDS = [
    ("run",),
    ("db", "upgrade"),
    ("seed",),
    ("seed", "--demo"),
    ("admin", "add", "424242"),
    ("members", "import", "roster.csv"),
    ("members", "list"),
    ("invite", "1"),
    ("export", "--council", "DBSH", "-o", "tasks.xlsx"),
]


async def test_every_command_stops_the_same_way_on_an_unusable_database(tmp_path):
    (tmp_path / "roster.csv").write_text("council,full_name,position,agency,role\n")
    (tmp_path / "a-file").write_text("not a folder")
    url = f"sqlite+aiosqlite:///{tmp_path}/a-file/dieuphoi.db"
    env = _env(tmp_path, DATABASE_URL=url, TELEGRAM_BOT_USERNAME="dieuphoi_test_bot")
    # All at once: each process spends most of its time importing.
    results = await asyncio.gather(*(run_cli(*args, env=env, cwd=tmp_path) for args in COMMANDS))
    for args, result in zip(COMMANDS, results, strict=True):
        reason = _reason(result, "DATABASE_URL")
        assert reason.startswith(f"cannot use the database {url}: "), args
    assert not (tmp_path / "tasks.xlsx").exists()


# --- webhook mode needs a secret Telegram accepts -------------------------------------------

WEBHOOK = "https://bot.example.gov.vn/telegram/hook"


async def test_a_webhook_without_a_secret_stops_start_up(tmp_path):
    # An empty or blank one too (tests/test_config.py).
    env = _env(tmp_path, WEBHOOK_URL=WEBHOOK)
    result = await run_cli("run", env=env, cwd=tmp_path)
    assert _reason(result, "WEBHOOK_SECRET") == (
        "required when WEBHOOK_URL is set (without it anyone who finds the URL could send "
        "the bot forged updates); make one with: openssl rand -hex 32"
    )


async def test_a_webhook_secret_telegram_would_refuse_is_not_echoed(tmp_path):
    env = _env(tmp_path, WEBHOOK_URL=WEBHOOK, WEBHOOK_SECRET="mật khẩu của Ban thư ký")
    result = await run_cli("run", env=env, cwd=tmp_path)
    assert _reason(result, "WEBHOOK_SECRET") == (
        "Telegram accepts 1 to 256 characters, each a letter A-Z or a-z, a digit, _ or -"
    )
    assert "mật khẩu" not in result.err
