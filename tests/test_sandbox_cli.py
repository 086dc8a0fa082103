"""`dieuphoi sandbox` as a real process: ready within 10 s with no token, no network and
no .env, bound to 127.0.0.1, its data kept across a restart, stopped cleanly; and each
bad input told in one line with exit code 2."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.cli import cli_env, run_cli, start_cli

READY = "Sandbox ready: open http://127.0.0.1:{port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _until_ready(process: asyncio.subprocess.Process, timeout: float) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout)
    return line.decode().strip()


async def _stop(
    process: asyncio.subprocess.Process, signum: int = signal.SIGTERM
) -> tuple[int, str]:
    process.send_signal(signum)
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, err.decode()


def _people_and_messages(data: Path) -> tuple[list[str], int]:
    state = json.loads((data / "telegram.json").read_text("utf-8"))
    names = [p["name"] for p in state["extra"]["people"]]
    return names, sum(len(messages) for messages in state["messages"].values())


async def test_starts_in_seconds_serves_the_page_keeps_its_data_and_stops_cleanly(tmp_path):
    # A bot's own settings in the folder and the environment must not be used.
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=123:not-this\nDATABASE_URL=sqlite+aiosqlite:///elsewhere.db\n"
    )
    env = cli_env(tmp_path, TELEGRAM_API_BASE_URL="https://api.telegram.org/bot")
    port = _free_port()
    started = time.monotonic()
    process = await start_cli("sandbox", "--port", str(port), env=env, cwd=tmp_path)
    try:
        line = await _until_ready(process, 10)
        assert line == READY.format(port=port)
        assert time.monotonic() - started < 10
        async with httpx.AsyncClient() as client:
            page = await client.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200
    finally:
        code, err = await _stop(process)
    assert code == 0, err
    data = tmp_path / "sandbox-data"
    assert (data / "sandbox.db").exists()
    assert not (tmp_path / "elsewhere.db").exists()
    names, messages = _people_and_messages(data)
    assert len(names) == 13 and messages > 20

    # Started again: the same world, not seeded a second time; Ctrl+C stops it as well.
    process = await start_cli("sandbox", "--port", str(port), env=env, cwd=tmp_path)
    try:
        assert await _until_ready(process, 10) == READY.format(port=port)
    finally:
        code, err = await _stop(process, signal.SIGINT)
    assert code == 0, err
    assert _people_and_messages(data) == (names, messages)

    # --reset starts afresh (a new world, new invites: the messages differ).
    process = await start_cli("sandbox", "--port", str(port), "--reset", env=env, cwd=tmp_path)
    try:
        assert await _until_ready(process, 10) == READY.format(port=port)
    finally:
        code, err = await _stop(process)
    assert code == 0, err
    with closing(sqlite3.connect(data / "sandbox.db")) as connection:
        [(members,)] = connection.execute("SELECT count(*) FROM members").fetchall()
    assert members == 12

    # Chats lost but not the database: told, not seeded over it.
    (data / "telegram.json").unlink()
    result = await run_cli("sandbox", "--port", str(port), env=env, cwd=tmp_path)
    assert result.code == 2, result.err
    [line] = result.err.strip().splitlines()
    assert line == (
        "error: sandbox-data/sandbox.db has data but sandbox-data/telegram.json is missing; "
        "start with --reset"
    )


async def test_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await run_cli("sandbox", "--port", str(port), env=cli_env(tmp_path), cwd=tmp_path)
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"error: --port {port}: 127.0.0.1:{port} is already in use")
    assert result.out == ""


async def test_data_pointing_at_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    result = await run_cli(
        "sandbox", "--port", str(_free_port()), "--data", "notes.txt",
        env=cli_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 2
    assert result.err.strip() == "error: --data notes.txt: this is a file, not a folder"


async def test_data_in_a_folder_that_cannot_be_written(tmp_path):
    if os.geteuid() == 0:
        # root writes through file modes: a folder of sysfs is refused even to root.
        folder = Path("/sys/dieuphoi-sandbox")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        folder = locked / "data"
    result = await run_cli(
        "sandbox", "--port", str(_free_port()), "--data", str(folder),
        env=cli_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"error: --data {folder}: cannot write in this folder")


async def test_a_database_of_a_newer_schema(tmp_path):
    data = tmp_path / "sandbox-data"
    data.mkdir()
    path = data / "sandbox.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
        connection.commit()
    result = await run_cli(
        "sandbox", "--port", str(_free_port()), env=cli_env(tmp_path), cwd=tmp_path
    )
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line == (
        f"error: DATABASE_URL: cannot use the database sqlite+aiosqlite:///{path.resolve()}: "
        "Can't locate revision identified by '9999_from_the_future'"
    )


@pytest.mark.parametrize("port", ["0", "70000"])
async def test_a_port_that_is_no_port(tmp_path, port):
    result = await run_cli("sandbox", "--port", port, env=cli_env(tmp_path), cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip() == f"error: --port {port}: a port is a number from 1 to 65535"


async def test_chats_that_cannot_be_read(tmp_path):
    data = tmp_path / "sandbox-data"
    data.mkdir()
    (data / "telegram.json").write_text("{not json")
    result = await run_cli(
        "sandbox", "--port", str(_free_port()), env=cli_env(tmp_path), cwd=tmp_path
    )
    assert result.code == 2
    [line] = result.err.strip().splitlines()
    assert line.startswith(f"error: {Path('sandbox-data') / 'telegram.json'} cannot be read (")
    assert line.endswith("start with --reset")
