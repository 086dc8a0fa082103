"""The sandbox's web chat over real HTTP, against an in-memory world (tests/sandbox_world_stub.py):
its guards (Host, token, CSP), its refusals, server push filtered per person, uploads and
paging. The page itself is tested in a browser in tests/test_sandbox_page.py."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox.web import make_web_app
from bot.sandbox.web_guard import CSP
from bot.sandbox.world import Event
from tests.sandbox_world_stub import AN, ARCHIVE, CHAU, COUNCIL, DUE_TEXT, OFFICER, FakeWorld, serve

MB = 1024 * 1024


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture
async def base(world: FakeWorld) -> AsyncIterator[str]:
    async with serve(world) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def _token(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(base + "/") as response:
        page = await response.text()
    match = re.search(r'<meta name="sandbox-token" content="([^"]+)">', page)
    assert match, page
    return match.group(1)


async def _post(
    http: aiohttp.ClientSession, base: str, path: str, body: Any, token: str
) -> tuple[int, Any]:
    async with http.post(base + path, json=body, headers={"X-Sandbox-Token": token}) as response:
        return response.status, await response.json()


async def _get(http: aiohttp.ClientSession, base: str, path: str) -> tuple[int, Any]:
    async with http.get(base + path) as response:
        return response.status, await response.json()


def _routes() -> list[tuple[str, str]]:
    """Every route the web chat answers, with a concrete path."""
    app = make_web_app(FakeWorld(archive=0), 1)
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        assert path, info
        path = path.replace("{file_id}", "f1")
        if path == "/static":
            path = "/static/app.js"
        if route.method != "HEAD":
            found.append((route.method, path))
    return found


def test_every_route_is_listed_in_the_test():
    # A new route must be added to the guards' tests below (they walk this list).
    assert {path for _, path in _routes()} == {
        "/", "/static/app.js", "/api/world", "/api/chats", "/api/messages", "/api/commands",
        "/api/steps", "/api/files/f1", "/api/events", "/api/send", "/api/upload",
        "/api/press", "/api/mini-app", "/api/read", "/api/clock",
    }  # fmt: skip


async def test_a_request_for_another_host_name_is_refused_on_every_route(base, http):
    port = base.rsplit(":", 1)[1]
    for method, path in _routes():
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1", f"127.0.0.2:{port}"):
            async with http.request(method, base + path, headers={"Host": host}) as response:
                assert response.status == 403, (method, path, host)
                assert response.headers["Content-Security-Policy"] == CSP
    async with http.get(base + "/", headers={"Host": f"localhost:{port}"}) as response:
        assert response.status == 200
    async with http.get(base + "/", headers={"Host": f"LOCALHOST:{port}"}) as response:
        assert response.status == 200


async def test_an_app_not_told_its_port_checks_the_host_against_the_port_it_listens_on(world, http):
    async with serve(world, tell_port=False) as base:
        port = base.rsplit(":", 1)[1]
        for host, status in ((f"127.0.0.1:{port}", 200), (f"localhost:{port}", 200),
                             ("127.0.0.1:1", 403), (f"evil.example:{port}", 403)):  # fmt: skip
            async with http.get(base + "/api/world", headers={"Host": host}) as response:
                assert response.status == status, host


async def test_every_write_needs_the_token_of_this_process(base, http, world):
    token = await _token(http, base)
    assert len(token) >= 32
    other = await _token_of_another_app()
    assert other != token
    for method, path in _routes():
        if method == "GET":
            continue
        for headers in ({}, {"X-Sandbox-Token": ""}, {"X-Sandbox-Token": other}):
            async with http.request(method, base + path, json={}, headers=headers) as response:
                assert response.status == 403, (path, headers)
    assert world.sent == []
    body = {"as": AN.id, "chat": AN.id, "text": "/help"}
    status, answer = await _post(http, base, "/api/send", body, token)
    assert status == 200
    assert answer["message"]["text"] == "/help"
    assert world.sent == [(AN.id, AN.id, "/help")]


async def _token_of_another_app() -> str:
    app = make_web_app(FakeWorld(archive=0), 1)
    from bot.sandbox.web import PAGE

    match = re.search(r'content="([^"]+)"', app[PAGE].split("sandbox-token", 1)[1])
    assert match
    return match.group(1)


async def test_every_response_carries_a_strict_csp_and_nosniff(base, http):
    for path in ("/", "/static/app.js", "/static/app.css", "/api/world", "/api/nothing",
                 "/static/missing.js", f"/api/chats?as={AN.id}", "/api/files/f1"):  # fmt: skip
        async with http.get(base + path) as response:
            assert "Content-Security-Policy" in response.headers, path
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            if path != "/api/files/f1":
                assert response.headers["Content-Security-Policy"] == CSP, path
            else:  # a downloaded file carries a stricter one: it never runs anything
                assert response.headers["Content-Security-Policy"].startswith("sandbox;")


async def test_the_page_has_no_inline_script_or_style(base, http):
    async with http.get(base + "/") as response:
        page = await response.text()
        assert response.content_type == "text/html"
    assert re.findall(r"<script\b[^>]*>", page) == ['<script src="/static/app.js" defer>']
    assert "<style" not in page and " style=" not in page
    assert " on" not in re.sub(r"<noscript>.*?</noscript>", "", page).replace(" one ", "")


async def test_refusals_answer_with_their_status_and_message(base, http, world):
    token = await _token(http, base)
    status, body = await _get(http, base, f"/api/messages?as={CHAU.id}&chat={ARCHIVE}")
    assert (status, body) == (403, {"error": "Quý vị không ở trong cuộc trò chuyện này"})
    status, body = await _get(http, base, "/api/files/nope")
    assert (status, body) == (404, {"error": "Không tìm thấy tệp"})
    bad = [
        ("/api/chats?as=abc", 400), ("/api/chats", 400), ("/api/chats?as=42", 404),
        (f"/api/messages?as={AN.id}", 400), (f"/api/messages?as={AN.id}&chat={AN.id}&limit=0", 400),
        (f"/api/messages?as={AN.id}&chat={AN.id}&limit=201", 400),
        (f"/api/messages?as={AN.id}&chat={AN.id}&before=x", 400),
        (f"/api/commands?as={AN.id}", 400), ("/api/steps?as=", 400), ("/api/events?as=9", 404),
    ]  # fmt: skip
    for path, expected in bad:
        status, body = await _get(http, base, path)
        assert status == expected, path
        assert body["error"], path
    posts = [
        ("/api/clock", {"as": AN.id, "step": "week"}, 400),
        ("/api/clock", {"as": AN.id}, 400),
        ("/api/send", {"as": AN.id, "chat": AN.id, "text": "   "}, 400),
        ("/api/send", {"as": AN.id, "chat": AN.id, "text": 5}, 400),
        ("/api/send", {"as": True, "chat": AN.id, "text": "hi"}, 400),
        ("/api/send", [1, 2], 400),
        ("/api/send", {"as": CHAU.id, "chat": ARCHIVE, "text": "hi"}, 403),
        ("/api/press", {"as": AN.id, "chat": AN.id, "message_id": 99, "data": "x"}, 404),
        ("/api/press", {"as": AN.id, "chat": AN.id, "message_id": 2}, 400),
        ("/api/mini-app", {"as": AN.id, "chat": AN.id, "message_id": 99, "url": "x"}, 404),
        ("/api/mini-app", {"as": AN.id, "chat": AN.id, "message_id": 2}, 400),
        ("/api/read", {"as": CHAU.id, "chat": ARCHIVE, "message_id": 1}, 403),
    ]  # fmt: skip
    for path, body, expected in posts:
        status, answer = await _post(http, base, path, body, token)
        assert status == expected, (path, body, answer)
        assert answer["error"]
    async with http.post(
        base + "/api/send", data=b"{not json", headers={"X-Sandbox-Token": token}
    ) as response:
        assert response.status == 400
    assert world.sent == []


async def test_a_text_over_4096_characters_is_refused_as_telegram_would(base, http, world):
    token = await _token(http, base)
    send = {"as": AN.id, "chat": AN.id}
    status, body = await _post(http, base, "/api/send", {**send, "text": "a" * 4097}, token)
    assert (status, body) == (400, {"error": "message is too long"})
    # Telegram counts UTF-16 code units: 2,049 emoji are 4,098 of them.
    status, _ = await _post(http, base, "/api/send", {**send, "text": "🙂" * 2049}, token)
    assert status == 400
    assert world.sent == []
    status, body = await _post(http, base, "/api/send", {**send, "text": "ệ" * 4096}, token)
    assert status == 200
    assert world.sent == [(AN.id, AN.id, "ệ" * 4096)]


async def test_an_upload_over_20_mb_is_refused_413(base, http, world):
    token = await _token(http, base)

    def form(content: Any) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("as", str(AN.id))
        data.add_field("chat", str(AN.id))
        data.add_field("caption", "Danh sách")
        data.add_field("file", content, filename="roster.xlsx")
        return data

    headers = {"X-Sandbox-Token": token}
    # Announced by its size: refused before the body is read.
    async with http.post(
        base + "/api/upload", data=form(io.BytesIO(b"x" * (20 * MB + 1))), headers=headers
    ) as response:
        assert response.status == 413
        assert (await response.json())["error"]

    # Sent in chunks without a size: refused once 20 MB have been counted.
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(21):
            yield b"y" * MB

    async with http.post(base + "/api/upload", data=form(chunks()), headers=headers) as response:
        assert response.status == 413
    assert world.sent == []

    async with http.post(
        base + "/api/upload", data=form(io.BytesIO(b"z" * (20 * MB))), headers=headers
    ) as response:
        assert response.status == 200
        message = (await response.json())["message"]
    assert message["document"]["file_name"] == "roster.xlsx"
    assert message["caption"] == "Danh sách"
    assert world.sent == [(AN.id, AN.id, f"file:roster.xlsx:{20 * MB}")]


async def test_an_upload_cut_into_many_small_parts_is_refused_413_too(base, http, world):
    token = await _token(http, base)
    part = b'--XyZ\r\nContent-Disposition: form-data; name="other"\r\n\r\n' + b"p" * 15_000

    async def body() -> AsyncIterator[bytes]:  # 1,500 parts of 15 kB: 22 MB, no size given
        for _ in range(1500):
            yield part + b"\r\n"
        yield b"--XyZ--\r\n"

    headers = {"X-Sandbox-Token": token, "Content-Type": "multipart/form-data; boundary=XyZ"}
    async with http.post(base + "/api/upload", data=body(), headers=headers) as response:
        assert response.status == 413
    assert world.sent == []


async def test_an_upload_without_a_file_or_with_a_path_in_its_name(base, http, world):
    token = await _token(http, base)
    headers = {"X-Sandbox-Token": token}
    data = aiohttp.FormData({"as": str(AN.id), "chat": str(AN.id)})
    data.add_field("other", b"1", filename="a.txt")
    async with http.post(base + "/api/upload", data=data, headers=headers) as response:
        assert response.status == 400
    async with http.post(
        base + "/api/upload", data=b"plain", headers={**headers, "Content-Type": "text/plain"}
    ) as response:
        assert response.status == 400
    for sent, kept in (("../../etc/passwd", "passwd"), ("hồ sơ/Danh sách.xlsx",
                                                        "Danh sách.xlsx")):  # fmt: skip
        async with http.post(
            base + "/api/upload",
            data=_browser_form(sent),
            headers={**headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
        ) as response:
            assert response.status == 200
            assert (await response.json())["message"]["document"]["file_name"] == kept


def _browser_form(file_name: str) -> bytes:
    """A form as a browser writes it: the file name raw in UTF-8, not percent-encoded."""
    return (
        f'--XyZ\r\nContent-Disposition: form-data; name="as"\r\n\r\n{AN.id}\r\n'
        f'--XyZ\r\nContent-Disposition: form-data; name="chat"\r\n\r\n{AN.id}\r\n'
        f'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n1\r\n--XyZ--\r\n"
    ).encode()


async def test_files_download_and_only_images_show_inline(base, http, world):
    _, body = await _get(http, base, f"/api/messages?as={AN.id}&chat={AN.id}")
    document = body["messages"][-1]["document"]
    async with http.get(base + "/api/files/" + document["file_id"]) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"] == (
            "attachment; filename*=UTF-8''nhiem-vu-hoi-dong.xlsx"
        )
        assert await response.read() == b"PK\x03\x04 not really a workbook"
    _, body = await _get(http, base, f"/api/messages?as={AN.id}&chat={COUNCIL}")
    photo = body["messages"][-1]["photo"][-1]
    async with http.get(base + "/api/files/" + photo["file_id"]) as response:
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Disposition"].startswith("inline;")


async def test_history_comes_in_pages_oldest_first(base, http):
    seen: list[int] = []
    before = ""
    pages = 0
    while True:
        status, body = await _get(http, base, f"/api/messages?as={AN.id}&chat={ARCHIVE}{before}")
        assert status == 200
        ids = [m["message_id"] for m in body["messages"]]
        assert ids == sorted(ids)
        assert len(ids) == 50
        seen = ids + seen
        pages += 1
        if not body["more"]:
            break
        before = f"&before={ids[0]}"
    assert pages == 40
    assert seen == list(range(1, 2001))
    status, body = await _get(
        http, base, f"/api/messages?as={AN.id}&chat={ARCHIVE}&before=11&limit=200"
    )
    assert [m["message_id"] for m in body["messages"]] == list(range(1, 11))
    assert body["more"] is False


async def test_world_chats_commands_steps_press_and_clock(base, http, world):
    token = await _token(http, base)
    status, body = await _get(http, base, f"/api/world?as={CHAU.id}")
    assert [p["name"] for p in body["people"]][:2] == ["Trần Thị Hồng", "Nguyễn Văn An"]
    assert body["people"][0]["is_admin"] is True
    assert body["bot"]["username"] == "dieuphoi_bot"
    assert body["clock"]["local"] == "Thursday 3 December 2026, 08:30"
    assert body["limits"] == {"text": 4096, "caption": 1024, "upload": 20 * MB}
    status, body = await _get(http, base, f"/api/chats?as={AN.id}")
    assert [(c["id"], c["unread"]) for c in body["chats"]] == [(AN.id, 3), (COUNCIL, 1),
                                                               (ARCHIVE, 2000)]  # fmt: skip
    status, _ = await _post(
        http, base, "/api/read", {"as": AN.id, "chat": AN.id, "message_id": 3}, token
    )
    assert status == 200
    status, body = await _get(http, base, f"/api/chats?as={AN.id}")
    assert body["chats"][0]["unread"] == 0
    status, body = await _get(http, base, f"/api/commands?as={OFFICER.id}&chat={COUNCIL}")
    assert "digest" in [c["command"] for c in body["commands"]]
    status, body = await _get(http, base, f"/api/steps?as={AN.id}")
    assert [s["done"] for s in body["steps"]] == [False, False, False]
    press = {"as": AN.id, "chat": AN.id, "message_id": 2}
    status, body = await _post(http, base, "/api/press", {**press, "data": "cancel:7"}, token)
    assert body == {"answer": {"text": "Chỉ Cơ quan thường trực mới có thể hủy nhiệm vụ này.",
                               "show_alert": True}}  # fmt: skip
    status, body = await _post(http, base, "/api/press", {**press, "data": "other"}, token)
    assert body == {"answer": None}
    status, body = await _post(http, base, "/api/clock", {"as": AN.id, "step": "next"}, token)
    assert status == 200
    assert body["clock"]["local"] == "13:30, thứ Năm, ngày 03/12/2026"
    assert body["clock"]["next_due"] is None
    status, body = await _get(http, base, f"/api/messages?as={AN.id}&chat={COUNCIL}")
    assert body["messages"][-1]["text"].startswith(DUE_TEXT)


class _Stream:
    """A page's event stream, read frame by frame."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self) -> tuple[str, Any]:
        kind, data = "", None
        while True:
            line = (await asyncio.wait_for(self.response.content.readline(), 5)).decode()
            if not line:
                raise EOFError("the stream ended")
            if line == "\n":
                if kind:
                    return kind, data
                continue
            if line.startswith("event: "):
                kind = line[7:].strip()
            elif line.startswith("data: "):
                data = json.loads(line[6:])


async def _listen(http: aiohttp.ClientSession, base: str, user_id: int) -> _Stream:
    response = await http.get(f"{base}/api/events?as={user_id}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    stream = _Stream(response)
    assert await stream.next() == ("hello", {"as": user_id})
    return stream


async def test_events_reach_only_the_people_who_may_see_them(base, http, world):
    an, chau = await _listen(http, base, AN.id), await _listen(http, base, CHAU.id)
    world.bot_says(AN.id, "for An only")
    world.bot_says(COUNCIL, "for the council")
    world.bot_says(ARCHIVE, "for the archive (An, not Châu)")
    world.emit(Event("answer", {"text": "An's answer", "show_alert": False}, AN.id, AN.id))
    world.emit(Event("steps", [{"id": "add-note", "done": True}], None, CHAU.id))
    world.emit(Event("edit", {"message_id": 1, "text": "edited"}, AN.id, None, frozenset({AN.id})))
    world.emit(Event("delete", {"message_id": 1}, COUNCIL, None, frozenset({CHAU.id})))
    token = await _token(http, base)
    await _post(http, base, "/api/clock", {"as": AN.id, "step": "hour"}, token)

    seen_by_an = [await an.next() for _ in range(6)]
    assert [(kind, data["payload"].get("text")) for kind, data in seen_by_an[:5]] == [
        ("message", "for An only"), ("message", "for the council"),
        ("message", "for the archive (An, not Châu)"), ("answer", "An's answer"),
        ("edit", "edited"),
    ]  # fmt: skip
    assert seen_by_an[0][1]["chat_id"] == AN.id
    assert seen_by_an[5][0] == "clock"
    assert seen_by_an[5][1]["payload"]["local"] == "09:30, thứ Năm, ngày 03/12/2026"

    seen_by_chau = [await chau.next() for _ in range(4)]
    assert [kind for kind, _ in seen_by_chau] == ["message", "steps", "delete", "clock"]
    assert seen_by_chau[0][1]["payload"]["text"] == "for the council"
    # Each person reads the clock in their own language.
    assert seen_by_chau[3][1]["payload"]["local"] == "Thursday 3 December 2026, 09:30"
    for stream in (an, chau):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(stream.next(), 0.3)
        stream.response.close()


async def test_event_streams_end_when_the_server_stops(world, http):
    async with serve(world) as url:
        stream = await _listen(http, url, AN.id)
    with pytest.raises((EOFError, aiohttp.ClientPayloadError)):
        await stream.next()
