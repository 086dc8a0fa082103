"""`dieuphoi run` serves the desk when WEB_URL is set (its own server, beside the webhook's
in webhook mode), stops it with the bot, and stops cleanly on a port it cannot have."""

from __future__ import annotations

import asyncio
import signal
import socket

import httpx
import pytest

from tests.cli import run_cli, start_cli
from tests.desk import free_port


async def _get(url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        for _ in range(300):  # the desk opens as the bot starts
            try:
                return await client.get(url, headers=headers)
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listens at {url}")


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_serves_the_desk_and_stops_it(bot, api, cli_environment, tmp_path, mode):
    await bot.stop()  # the real process takes over
    port = free_port()
    env = {
        **cli_environment,
        "WEB_URL": f"http://127.0.0.1:{port}",
        "WEB_PORT": str(port),
    }
    if mode == "webhook":
        env.update(
            WEBHOOK_URL="https://bot.example.gov.vn/telegram/hook",
            WEBHOOK_SECRET="s3cret-value",
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(free_port()),
        )
    process = await start_cli("run", env=env, cwd=tmp_path)
    try:
        page = await _get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 401  # nobody signed in: the sign-in page
        assert "/desk" in page.text
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        css = await _get(f"http://127.0.0.1:{port}/static/desk.css")
        assert css.status_code == 200 and "--accent" in css.text
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))
    await bot.start()


async def test_a_desk_port_in_use_stops_start_up_with_one_line(bot, cli_environment, tmp_path):
    await bot.stop()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**cli_environment, "WEB_URL": f"http://127.0.0.1:{port}", "WEB_PORT": str(port)}
        result = await run_cli("run", env=env, cwd=tmp_path)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert lines[-1].startswith(f"error: WEB_PORT: cannot listen on 127.0.0.1:{port}: "), lines
    assert "Traceback" not in result.err
    await bot.start()


async def test_a_desk_url_in_clear_to_another_machine_stops_start_up(tmp_path, cli_environment):
    env = {**cli_environment, "WEB_URL": "http://desk.example.gov.vn"}
    result = await run_cli("run", env=env, cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("error: WEB_URL: must be https://"), result.err
    assert len(result.err.strip().splitlines()) == 1
