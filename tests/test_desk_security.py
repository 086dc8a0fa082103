"""What every desk response and request goes through (web/security.py): the Host check,
the security headers, CSRF on every POST, cookies, and templates with nothing inline."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings, load_settings
from tests.desk import Browser, desk_settings, free_port, init_data
from tests.people import registered

TEMPLATES = Path(__file__).parent.parent / "web" / "templates"


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    yield one
    await one.close()


def _routes(bot) -> list[tuple[str, str]]:
    """Every route of the desk, with a path that reaches it."""
    app = bot.app.bot_data["desk"].app
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        path = path.replace("{token}", "abc").replace("{task_id}", "1")
        path = path.replace("{announcement_id}", "1")
        path = path.replace("{meeting_id}", "1")
        path = path.replace("{member_id}", "1").replace("{key}", "abc")
        if route.method == "HEAD":
            continue
        if "prefix" in info:
            path = path.rstrip("/") + "/desk.css"
        found.append((route.method, path))
    return found


async def test_every_route_refuses_another_host(bot, browser):
    routes = _routes(bot)
    assert ("GET", "/") in routes and ("POST", "/auth/telegram") in routes
    assert ("GET", "/static/desk.css") in routes
    for method, path in routes:
        for host in ("evil.example", "127.0.0.1", f"localhost:{bot.settings.web_port}", ""):
            call = browser.get if method == "GET" else browser.post
            status, body, response = await call(path, headers={"Host": host})
            assert status == 421, (method, path, host, status)
            assert "Content-Security-Policy" in response.headers
            assert "/desk" not in body


async def test_every_page_needs_a_session_and_every_admin_page_an_admin(bot, admin, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC 31/12/2026 | Kế hoạch năm 2027")
    pages = [
        path
        for method, path in _routes(bot)
        if method == "GET" and not path.startswith(("/auth/", "/static/"))
    ]
    assert sorted(pages) == [
        "/",
        "/announcements",
        "/announcements/1",
        "/announcements/new",
        "/audit",
        "/meetings",
        "/meetings/1",
        "/meetings/1/attendance.xlsx",
        "/meetings/1/cancel",
        "/meetings/new",
        "/members",
        "/members/1",
        "/members/1/remove",
        "/members/import",
        "/members/import/abc",
        "/members/links/abc",
        "/my",
        "/tasks",
        "/tasks/1",
        "/tasks/1/cancel",
        "/tasks/new",
    ]
    for path in pages:  # signed out: the sign-in page, nothing else
        status, page, _ = await browser.get(path)
        assert status == 401, path
        assert "Kế hoạch năm" not in page
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    member_pages = {"/my", "/tasks/1"}  # their own, and a task of their agency
    for path in pages:
        status, _, _ = await browser.get(path)
        assert status == (200 if path in member_pages else 403), path


async def test_every_response_carries_the_security_headers(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    responses = [
        await browser.get("/"),  # signed out
        await browser.get("/static/desk.js"),
        await browser.get("/nowhere"),  # 404
        await browser.post("/auth/logout", data={}),  # 403
        await browser.post("/auth/telegram", data={"initData": "x"}),  # 401
    ]
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    responses += [await browser.get("/my"), await browser.get("/")]  # 200, 403
    assert [status for status, _, _ in responses] == [401, 200, 404, 403, 401, 200, 403]
    for _status, _body, response in responses:
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"] == "'self'"  # no inline script, no other site
        assert directives["style-src"] == "'self'"
        assert "unsafe" not in csp
        assert directives["frame-ancestors"] == "https://web.telegram.org https://*.telegram.org"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_templates_hold_no_inline_script_or_style():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert "<style" not in text, template.name
        assert not re.search(r"\sstyle=", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name  # onclick=…
        assert "http://" not in text and "https://" not in text, template.name  # no CDN


async def test_the_session_cookie_is_http_only_and_same_site(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    data = init_data(an, bot.api.token, bot.clock.now())
    status, _, response = await browser.post("/auth/telegram", json={"initData": data})
    assert status == 200
    cookie = response.cookies["desk_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # http://127.0.0.1: a Secure cookie would never come back
    assert cookie["path"] == "/"


async def test_a_post_from_another_site_is_refused_even_with_a_token(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    token = await browser.csrf_of("/my")
    status, _, _ = await browser.post(
        "/auth/logout", data={"csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert status == 403
    assert (await browser.get("/my"))[0] == 200
    status, _, _ = await browser.post("/auth/logout", headers={"X-CSRF-Token": token})
    assert status == 200  # the token may come as a header (a script's request)


async def test_init_data_posted_from_another_site_signs_nobody_in(bot, browser):
    # A page elsewhere posting someone's initData would sign the visitor in as that person.
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    data = init_data(an, bot.api.token, bot.clock.now())
    status, _, _ = await browser.post(
        "/auth/telegram", data={"initData": data}, headers={"Origin": "https://evil.example"}
    )
    assert status == 403
    assert browser.session_cookie() is None
    status, _, _ = await browser.post(
        "/auth/telegram", json={"initData": data}, headers={"Origin": browser.base}
    )
    assert status == 200  # from the desk's own page (the Mini App's script)


async def test_a_token_of_another_session_is_refused(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    other = Browser(browser.base)
    try:
        await other.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
        foreign = await other.csrf_of("/my")
    finally:
        await other.close()
    assert (await browser.post("/auth/logout", data={"csrf": foreign}))[0] == 403


@pytest.fixture
def https_settings(api, database_url) -> Settings:
    port = free_port()
    return load_settings(
        env_file=None,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        database_url=database_url,
        web_url="https://desk.example.gov.vn",
        web_port=port,
    )


async def test_behind_https_the_cookie_is_secure(api, https_settings, seeded, clock):
    from tests.harness import BotHarness

    harness = BotHarness(api, https_settings, clock, seeded)
    await harness.start()
    browser = Browser(f"http://127.0.0.1:{https_settings.web_port}")
    try:
        an = await registered(harness, "Nguyễn Văn An", "DBSH", "BTC")
        data = init_data(an, api.token, clock.now())
        # As the reverse proxy forwards it: the public host name, over plain http inside.
        status, _, response = await browser.post(
            "/auth/telegram",
            json={"initData": data},
            headers={"Host": "desk.example.gov.vn", "Origin": "https://desk.example.gov.vn"},
        )
        assert status == 200
        cookie = response.cookies["desk_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        answer = await harness.say(an, "/desk")
        assert "https://desk.example.gov.vn/auth/link/" in answer["text"]
        [[button]] = answer["reply_markup"]["inline_keyboard"]
        assert button["web_app"] == {"url": "https://desk.example.gov.vn/"}
    finally:
        await browser.close()
        await harness.stop()
