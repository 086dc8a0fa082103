"""`dieuphoi run` serves the desk when WEB_URL is set (its own server, beside the webhook's
in webhook mode, in a process of its own: web/process.py), stops it with the bot, and stops
cleanly on a port it cannot have; what the desk commits wakes the bot's sender at once; a
desk process that dies is started again, and one whose bot died stops."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from datetime import UTC, datetime

import httpx
import pytest

from tests.cli import run_cli, start_cli
from tests.desk import CSRF, FORM_KEY, Browser, free_port, init_data
from tests.people import registered
from tests.proc_stat import children, ended
from tests.processes import until


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


def _listened_on(port: int) -> bool:
    """Whether a socket listens on `port` (SO_REUSEADDR, as a server binds: connections
    closed a moment ago do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


async def test_an_announcement_confirmed_on_the_desk_is_sent_at_once(
    bot, admin, cli_environment, tmp_path
):
    """The desk's process commits the announcement's copies; the bot's process sends them
    at once, told by the desk (an OUTBOX_POLL_SECONDS of 300 would otherwise hold them)."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/desk")
    await bot.stop()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**cli_environment, "WEB_URL": base, "WEB_PORT": str(port),
           "OUTBOX_POLL_SECONDS": "300"}  # fmt: skip
    process = await start_cli("run", env=env, cwd=tmp_path)
    browser = Browser(base)
    try:
        await _get(base + "/")
        signed = init_data(admin, bot.api.token, datetime.now(UTC))
        assert (await browser.sign_in_with_telegram(signed))[0] == 200
        page = (await browser.get("/announcements/new"))[1]
        form = {"csrf": CSRF.findall(page)[-1], "form_key": FORM_KEY.findall(page)[0]}
        text = "Kính gửi các thành viên: họp trực tuyến lúc 14:00. Trân trọng."
        status, _, response = await browser.post(
            "/announcements/new", data={**form, "target": "DBSH", "text": text}
        )
        assert status == 303, response
        page = (await browser.get(response.headers["Location"]))[1]
        since = len(bot.api.sent)
        status, _, _ = await browser.post(
            response.headers["Location"] + "/confirm", data={"csrf": CSRF.findall(page)[-1]}
        )
        assert status == 303
        copy = await bot.api.wait_for_message(
            an.id, lambda m: "họp trực tuyến" in m.get("text", ""), timeout=15, since=since
        )
        assert "📣" in copy["text"]
    finally:
        await browser.close()
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    await bot.start()


async def test_a_desk_process_that_dies_is_started_again_and_one_left_alone_stops(
    bot, cli_environment, tmp_path
):
    await bot.stop()
    port = free_port()
    env = {**cli_environment, "WEB_URL": f"http://127.0.0.1:{port}", "WEB_PORT": str(port)}
    process = await start_cli("run", env=env, cwd=tmp_path)
    try:
        assert (await _get(f"http://127.0.0.1:{port}/")).status_code == 401
        [desk] = children(process.pid)
        os.kill(desk, signal.SIGKILL)
        await asyncio.sleep(0.5)
        # Started again after a pause of a second; meanwhile the bot goes on.
        assert (await _get(f"http://127.0.0.1:{port}/")).status_code == 401
        [again] = children(process.pid)
        assert again != desk
        # Told to stop by someone else (a service manager stopping one process of the
        # service): it stops in order, and the bot, still running, starts it again.
        os.kill(again, signal.SIGTERM)
        await until(lambda: ended(again), 10)
        assert (await _get(f"http://127.0.0.1:{port}/")).status_code == 401
        [again] = children(process.pid)
        # The bot is killed without a chance to stop the desk: the desk sees its stdin
        # close, and stops too, giving the port back.
        process.kill()
        await process.wait()
        await until(lambda: not _listened_on(port), 30)  # the desk did not outlive its bot
        await until(lambda: ended(again), 10)
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()
    await bot.start()
