"""Drive the desk over real HTTP as a browser would: cookies kept, forms posted with the
CSRF token the page carries, Telegram's initData signed as Telegram signs it."""

from __future__ import annotations

import json
import re
import socket
from datetime import datetime
from typing import Any

import aiohttp

from bot.services.desk import sign_init_data
from tests.fakebotapi import FakeUser

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def init_data(user: FakeUser, bot_token: str, signed_at: datetime, **extra: str) -> str:
    """A Mini App's initData for `user`, signed at `signed_at` with `bot_token`."""
    fields = {
        "query_id": "AAH-test",
        "user": json.dumps(
            {"id": user.id, "first_name": user.first_name, "language_code": "vi"},
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
