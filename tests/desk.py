"""Drive the desk over real HTTP as a browser would: cookies kept, forms posted with the
CSRF token the page carries, Telegram's initData signed as Telegram signs it."""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot import callbacks
from bot.callbacks import MeetingPress, Rsvp, TaskPress, TaskStatus
from bot.config import Settings, load_settings
from bot.services.desk import sign_init_data
from tests.chat import press
from tests.fakebotapi import FakeUser
from tests.people import registered

HOSTILE = 'Báo cáo <b>tháng</b> <script>alert("x")</script> & "trích"'
NOTE = "Đã gửi <img src=x onerror=alert(1)> bản cứng"
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
# A form's idempotency key (bot/services/form_keys.py): the same form sent twice is one.
FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def desk_settings(api: Any, database_url: str) -> Settings:
    """The test settings with the desk on, at http://127.0.0.1 on a free port."""
    port = free_port()
    return load_settings(
        env_file=None,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        database_url=database_url,
        default_locale="vi",
        web_url=f"http://127.0.0.1:{port}",
        web_port=port,
    )


async def council_at_work(bot, admin):
    """DBSH: task #1 for BTC and HN due Wednesday 25/11 (BTC done, HN not), task #2 for BTC
    due 31/12, task #3 for HN only; a meeting on 03/12 that An will attend."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await bot.say(admin, f"/newtask DBSH BTC,HN 25/11/2026 | {HOSTILE}")
    await bot.say(admin, "/newtask DBSH BTC 31/12/2026 | Kế hoạch năm 2027")
    await bot.say(admin, "/newtask DBSH HN 31/12/2026 | Việc riêng của Hà Nội")
    [card, *_] = [m for m in await bot.say_all(an, "/status") if m.get("reply_markup")]
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    question = await bot.api.wait_for_message(an.id, since=since)
    await bot.say(an, NOTE, reply_to=question)
    await bot.say(admin, "/newmeeting DBSH 03/12/2026 09:00 | Góp ý <i>quy hoạch</i> vùng")
    replies = await bot.say_all(an, "/meetings")
    [invitation] = [r for r in replies if r.get("reply_markup")]
    await press(bot, an, invitation, callbacks.encode(MeetingPress(1, Rsvp.ATTEND)))
    bot.clock.advance(timedelta(days=3))  # Thursday 26/11: task #1's deadline is over
    return an, binh


def init_data(user: FakeUser, bot_token: str, signed_at: datetime, **extra: str) -> str:
    """A Mini App's initData for `user`, signed at `signed_at` with `bot_token`."""
    fields = {
        "query_id": "AAH-test",
        "user": json.dumps(
            {"id": user.id, "first_name": user.first_name, "language_code": user.language_code},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        "auth_date": str(int(signed_at.timestamp())),
        **extra,
    }
    return sign_init_data(fields, bot_token)


class Browser:
    """One browser: its own cookies, talking to the desk at `base`."""

    def __init__(self, base: str) -> None:
        self.base = base
        # unsafe: keep cookies of an IP address host (the desk on 127.0.0.1).
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), auto_decompress=True
        )

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.base + path, allow_redirects=False, **kwargs) as response:
            return response.status, await response.text(), response

    async def post(self, path: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.post(self.base + path, allow_redirects=False, **kwargs) as response:
            return response.status, await response.text(), response

    async def csrf_of(self, path: str) -> str:
        """The CSRF token of the form on the page at `path`."""
        status, page, _ = await self.get(path)
        found = CSRF.search(page)
        assert found, (status, page)
        return found.group(1)

    async def sign_in_with_telegram(self, data: str) -> tuple[int, Any]:
        status, body, _ = await self.post("/auth/telegram", json={"initData": data})
        return status, json.loads(body) if body.startswith("{") else body

    async def sign_in_with_link(self, link: str) -> tuple[int, str, aiohttp.ClientResponse]:
        path = link.removeprefix(self.base)
        token = await self.csrf_of(path)
        return await self.post(path, data={"csrf": token})

    def session_cookie(self) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == "desk_session":
                return cookie.value
        return None
