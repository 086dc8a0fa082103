"""No secret on any output: the CLI's wrapped stdout and stderr (bot/redact.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.logs import setup_logging
from bot.redact import RedactingStream, redact_output
from tests.cli import cli_env, run_cli, start_cli

TOKEN = "5432109876:AAHsecret-PART_of_the-token"
SECRET_PART = TOKEN.partition(":")[2]
MARKERS = {TOKEN: "<token>", SECRET_PART: "<token>", "hook-secret": "<secret>", "pw": "<pw>"}


def _stream() -> tuple[RedactingStream, io.StringIO]:
    target = io.StringIO()
    return RedactingStream(target, MARKERS), target


def test_a_secret_split_across_two_writes_is_still_replaced():
    stream, target = _stream()
    stream.write(f"GET /bot{TOKEN[:9]}")
    assert target.getvalue() == ""  # held until the line ends
    stream.write(f"{TOKEN[9:]}/getMe 200\n")
    assert target.getvalue() == "GET /bot<token>/getMe 200\n"


def test_each_secret_has_its_marker_and_the_whole_token_goes_first():
    stream, target = _stream()
    stream.write(f"url=/bot{TOKEN}/x key={SECRET_PART} hook=hook-secret db=u:pw@h\nnext ")
    stream.write(f"line {TOKEN}\n")
    assert target.getvalue() == (
        "url=/bot<token>/x key=<token> hook=<secret> db=u:<pw>@h\nnext line <token>\n"
    )


def test_flush_writes_the_held_text_redacted():
    stream, target = _stream()
    print("Prompt with", TOKEN, end="", file=stream)
    assert target.getvalue() == ""
    stream.flush()
    assert target.getvalue() == "Prompt with <token>"
    stream.close()  # closes the wrapper, not the stream it writes to
    assert not target.closed
    with pytest.raises(ValueError, match="closed"):
        stream.write("more\n")


def test_without_secrets_text_passes_unchanged():
    target = io.StringIO()
    stream = RedactingStream(target, {"": "<nothing>"})
    stream.write("Xin chào, Ban thư ký\n")
    assert target.getvalue() == "Xin chào, Ban thư ký\n"


def test_log_lines_and_their_tracebacks_go_through_the_wrapped_stderr(monkeypatch):
    # In the test itself: pytest puts its own capture back into sys.* between phases.
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    redact_output(MARKERS)
    redact_output(MARKERS)  # wrapping again replaces the wrapper, never stacks two
    assert isinstance(sys.stderr, RedactingStream) and sys.stderr.target is err
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        setup_logging("INFO")
        try:
            raise RuntimeError(f"failed at /bot{TOKEN}/getMe")
        except RuntimeError:
            logging.getLogger("httpx").warning(
                'HTTP Request: POST %s "%s"', f"https://x/bot{TOKEN}/getUpdates", "HTTP/1.1 502"
            )
            logging.getLogger("dieuphoi").exception("the poll failed")
        print("secret part", SECRET_PART)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        sys.stdout.flush()
        sys.stderr.flush()
    assert out.getvalue() == "secret part <token>\n"
    assert "POST https://x/bot<token>/getUpdates" in err.getvalue()
    assert "RuntimeError: failed at /bot<token>/getMe" in err.getvalue()
    assert TOKEN not in err.getvalue() and SECRET_PART not in err.getvalue()


# --- end to end: `dieuphoi run` whose Bot API base URL fails in the ways networks fail ----


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _tcp_server(
    on_connect: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)


async def _close_at_once(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _answer_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Something that is not HTTP (an SSH server, say): aiohttp's error quotes the URL.
    with contextlib.suppress(OSError):
        await reader.read(65536)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def _deaf_port() -> AsyncIterator[int]:
    """A port whose listener never accepts, its queue full: a connection attempt gets no
    answer at all, like an address that drops packets (aiohttp's timeout quotes the URL)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in (*fillers, listener):
            sock.close()


@contextlib.asynccontextmanager
async def _nothing_listening() -> AsyncIterator[int]:
    yield _free_port()


def _env(tmp_path, port: int) -> dict[str, str]:
    return cli_env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}/bot",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/dieuphoi.db",
        WEBHOOK_SECRET="hook-secret-value",
        LOG_LEVEL="DEBUG",
    )


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert SECRET_PART not in text
        assert "hook-secret-value" not in text


SERVERS = {
    "closes-at-once": lambda: _tcp_server(_close_at_once),
    "nothing-listens": _nothing_listening,
    "not-http": lambda: _tcp_server(_answer_garbage),
    "never-answers": _deaf_port,
}


@pytest.mark.parametrize("server", list(SERVERS))
async def test_run_against_a_failing_bot_api_prints_no_token(tmp_path, server):
    async with SERVERS[server]() as port:
        process = await start_cli("run", env=_env(tmp_path, port), cwd=tmp_path)
        assert process.stderr is not None
        lines: list[str] = []
        try:
            # `run` asks getMe again for a while (Telegram may be unreachable for a
            # moment); once a try has failed and been logged, it is told to stop.
            async with asyncio.timeout(40):
                while line := (await process.stderr.readline()).decode():
                    lines.append(line)
                    if "cannot be reached yet" in line:
                        break
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
    log = "".join(lines) + err.decode()
    _assert_no_secret(out.decode(), log)
    assert f"http://127.0.0.1:{port}/bot<token>" in log  # DEBUG names the URL, redacted
    # Stopped while Telegram could not be reached: one clear line, no traceback.
    assert process.returncode == 2, log[-2000:]
    assert log.splitlines()[-1].startswith("error: TELEGRAM_API_BASE_URL: cannot reach the Bot API")
    assert "Traceback" not in log


@pytest.mark.parametrize("server", ["closes-at-once", "not-http"])
async def test_members_import_that_cannot_ask_getme_prints_no_token(tmp_path, server):
    roster = tmp_path / "roster.csv"
    roster.write_text("council,full_name,position,agency,role\nDBSH,Lê Văn Bình,,BTC,member\n")
    async with SERVERS[server]() as port:
        env = _env(tmp_path, port)
        assert (await run_cli("db", "upgrade", env=env, cwd=tmp_path)).code == 0
        result = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    _assert_no_secret(result.out, result.err)
    assert result.code == 2
    # Under the DEBUG log lines, one error line.
    [line] = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: TELEGRAM_API_BASE_URL: cannot reach the Bot API to ask getMe")
    assert result.err.splitlines()[-1] == line and "Traceback" not in result.err
