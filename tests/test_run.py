"""`dieuphoi run` as a real process: polling and webhook, clean shutdown, no token in logs."""

from __future__ import annotations

import asyncio
import json
import signal
import socket

import httpx
import pytest
from sqlalchemy import func, select

from bot.models import InboxState, InboxUpdate, Member
from tests.cli import start_cli
from tests.people import enrol
from tests.rosters import person


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(env, cwd):
    return await start_cli("run", env=env, cwd=cwd)


async def _stop(process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode, err.decode()


@pytest.fixture
def env(cli_environment):
    cli_environment["LOG_LEVEL"] = "DEBUG"
    return cli_environment


async def test_polling_registers_users_and_stops_cleanly(bot, api, env, tmp_path):
    # The in-process harness only seeded the database; stop it so the real process polls.
    await bot.stop()
    [(member, token)] = await enrol(bot, person(name="Hoàng Thị Mai"))
    secretary = api.add_user(first_name="Thư ký")
    api.send_message(secretary, "xin chào")  # has opened the chat, so a chat menu can be set
    env["ADMIN_TELEGRAM_IDS"] = str(secretary.id)
    process = await _start(env, tmp_path)
    try:
        user = api.add_user(first_name="Mai")
        api.send_message(user, f"/start {token}")
        answer = await api.wait_for_message(user.id, timeout=30)
        assert "Hoàng Thị Mai" in answer["text"]
    finally:
        code, log = await _stop(process)
    assert code == 0, log
    assert api.token not in log
    assert api.token.split(":")[1] not in log
    assert "getUpdates" in log  # DEBUG logging really was on
    async with bot.sessions() as session:
        bound = await session.scalar(select(Member).where(Member.id == member.id))
        assert bound.telegram_user_id == user.id
    # ADMIN_TELEGRAM_IDS became an admin with the admin menu.
    menu = api.commands_for({"type": "chat", "chat_id": secretary.id})
    assert menu is not None and {"link", "unlink", "import"} <= {c["command"] for c in menu}
    await bot.start()  # so the fixture can stop it again


async def test_webhook_mode_refuses_forged_updates_and_handles_each_once(bot, api, env, tmp_path):
    await bot.stop()
    port = _free_port()
    env.update(
        WEBHOOK_URL="https://bot.example.gov.vn/telegram/hook",
        WEBHOOK_SECRET="s3cret-value",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    process = await _start(env, tmp_path)
    try:
        call = await api.wait_for_call("setWebhook", timeout=30)
        assert call["url"] == "https://bot.example.gov.vn/telegram/hook"
        assert call["secret_token"] == "s3cret-value"
        user = api.add_user(first_name="Lan", language_code="en")
        # The fake records the message (so the user has opened the chat); in webhook mode
        # nobody polls, so the test delivers the update to the bot's listener itself.
        update = api.send_message(user, "/start")
        url = f"http://127.0.0.1:{port}/telegram/hook"
        body = json.dumps(update)
        plain = {"Content-Type": "application/json"}
        async with httpx.AsyncClient() as client:
            for forged in (
                plain,
                {**plain, "X-Telegram-Bot-Api-Secret-Token": "wrong"},
                {**plain, "X-Telegram-Bot-Api-Secret-Token": "s3cret-valu"},
                {**plain, "X-Telegram-Bot-Api-Secret-Token": ""},
            ):
                refused = await _post(client, url, body, forged)
                assert refused.status_code == 403
            await asyncio.sleep(0.5)
            async with bot.sessions() as session:
                assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 0
            assert [m for m in api.sent if m["chat"]["id"] == user.id] == []  # nothing done
            signed = {**plain, "X-Telegram-Bot-Api-Secret-Token": "s3cret-value"}
            since = len(api.sent)  # the answer may come before the second delivery returns
            for _delivery in range(2):  # Telegram may deliver an update twice
                accepted = await _post(client, url, body, signed)
                assert accepted.status_code == 200
        answer = await api.wait_for_message(user.id, timeout=30, since=since)
        assert str(user.id) in answer["text"]
        await asyncio.sleep(1.0)  # a second answer would show up now
        assert len([m for m in api.sent if m["chat"]["id"] == user.id]) == 1
    finally:
        code, log = await _stop(process)
    assert code == 0, log
    assert api.token not in log and "s3cret-value" not in log
    async with bot.sessions() as session:
        [row] = (await session.scalars(select(InboxUpdate))).all()
    assert (row.update_id, row.state) == (update["update_id"], InboxState.DONE)
    await bot.start()


async def _post(client: httpx.AsyncClient, url: str, body: str, headers: dict) -> httpx.Response:
    for _ in range(100):  # the listener opens as the bot starts
        try:
            return await client.post(url, content=body, headers=headers)
        except httpx.ConnectError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listens at {url}")
