"""The desk in a real headless browser (Debian's chromium driven by Playwright), served by
a real `dieuphoi run` process against the fake Bot API server: an admin signs in with the
one-time link /desk gives, reads the overview, creates a task through the form and sees
its reminders planned, moves its deadline, cancels it; a member signed in the same way
cannot open the form; text with <script> in it is shown literally, and no page breaks the
Content-Security-Policy or throws a script error."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot import formats
from tests.cli import start_cli
from tests.desk import HOSTILE, free_port
from tests.fakebotapi import FakeUser
from tests.people import registered

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
)
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/auth/link/[A-Za-z0-9_-]+)")


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # --no-sandbox: the CI runs as root, where Chromium's own sandbox cannot start.
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        await browser.close()


@pytest.fixture
async def members(bot, admin) -> list[FakeUser]:
    """Two registered members, before `dieuphoi run` takes over (the helper that registers
    them drives the in-process bot)."""
    return [
        await registered(bot, "Nguyễn Văn An", "DBSH", "BTC"),
        await registered(bot, "Trần Thị Bình", "DBSH", "HN"),
    ]


@pytest.fixture
async def desk_url(bot, api, members, cli_environment, tmp_path) -> AsyncIterator[str]:
    """`dieuphoi run` with the desk on, on the real clock, in place of the in-process bot."""
    await bot.stop()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**cli_environment, "WEB_URL": url, "WEB_PORT": str(port)}
    process = await start_cli("run", env=env, cwd=tmp_path)
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    await client.get(url + "/static/desk.css")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    await bot.start()


async def _page(chromium: Browser, problems: list[str]) -> Page:
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(f"console: {message.text}")
        if message.type == "error" and "status of 40" not in message.text
        else None,
    )
    # A resource that fails (a 403 asked for by the test itself is a page, not a resource).
    page.on(
        "response",
        lambda response: problems.append(f"{response.status} {response.url}")
        if response.status >= 400 and response.request.resource_type != "document"
        else None,
    )
    return page


async def _sign_in(api, chromium: Browser, user: FakeUser, problems: list[str]) -> Page:
    """/desk in the private chat, then its one-time link opened in a fresh browser."""
    since = len(api.sent)
    api.send_message(user, "/desk")
    answer = await api.wait_for_message(user.id, since=since)
    found = LINK.search(json.dumps(answer, ensure_ascii=False))
    assert found, answer
    page = await _page(chromium, problems)
    await page.goto(found.group(1))
    await page.get_by_role("button", name="Đăng nhập").click()
    return page


async def test_an_admin_creates_moves_and_cancels_a_task_in_the_browser(
    bot, api, admin, chromium, desk_url
):
    problems: list[str] = []
    page = await _sign_in(api, chromium, admin, problems)

    # The overview: the admin's home page.
    await expect(page).to_have_url(desk_url + "/")
    await expect(page.locator("h1")).to_have_text("Tổng quan")
    await expect(page.locator("h2").filter(has_text="DBSH")).to_have_count(1)

    # A task through the form; the deadline two months ahead of the real clock.
    due = date.today() + timedelta(days=60)
    await page.get_by_role("link", name="Nhiệm vụ", exact=True).click()
    await page.locator("#new-task").click()
    await expect(page).to_have_url(desk_url + "/tasks/new")
    await page.get_by_label("Hội đồng").select_option("DBSH")
    await page.get_by_label("Các cơ quan").select_option(["BTC", "HN"])
    await page.get_by_label("Tiêu đề").fill(HOSTILE)
    await page.get_by_label("Hạn (ngày)").fill(due.isoformat())
    await page.get_by_label("Lặp lại").select_option("quarter")
    await page.get_by_label("Văn bản giao nhiệm vụ (không bắt buộc)").fill(
        "6411/VPCP-KTTH ngày 19/8/2023"
    )
    await page.get_by_role("button", name="Giao nhiệm vụ").click()
    await expect(page).to_have_url(re.compile(r"/tasks/1$"))
    # The title exactly as typed: <script> as text, not as a script.
    await expect(page.locator("h1")).to_have_text(f"#1 {HOSTILE}")
    assert await page.locator("main script").count() == 0
    # Its reminders, planned for the registered members of both agencies.
    reminders = page.locator("table.list tbody tr")
    await expect(reminders.filter(has_text="Nguyễn Văn An").first).to_contain_text("đã lên lịch")
    await expect(reminders.filter(has_text="Trần Thị Bình").first).to_contain_text("đã lên lịch")
    planned = await reminders.count()
    assert planned >= 2

    # Move the deadline a month later: saved, and the reminders planned again.
    later = due + timedelta(days=30)
    await page.get_by_label("Hạn (ngày)").fill(later.isoformat())
    await page.get_by_role("button", name="Lưu thay đổi").click()
    await expect(page.locator("dl.facts")).to_contain_text(formats.numeric_day(later))
    await expect(reminders.filter(has_text="đã thu hồi").first).to_be_visible()
    assert await reminders.filter(has_text="đã lên lịch").count() >= 2

    # Cancel, after the confirmation.
    await page.locator("#cancel-task").click()
    await expect(page.locator("h1")).to_contain_text("Hủy nhiệm vụ này?")
    await page.get_by_role("button", name="Đồng ý hủy nhiệm vụ").click()
    await expect(page).to_have_url(re.compile(r"/tasks/1$"))
    await expect(page.locator("dl.facts")).to_contain_text("Đã hủy")
    await expect(reminders.filter(has_text="đã lên lịch")).to_have_count(0)
    await expect(page.locator("#cancel-task")).to_have_count(0)
    assert problems == []


async def test_a_member_cannot_open_the_task_form(api, members, chromium, desk_url):
    problems: list[str] = []
    an = members[0]
    page = await _sign_in(api, chromium, an, problems)
    await expect(page).to_have_url(desk_url + "/my")
    response = await page.goto(desk_url + "/tasks/new")
    assert response is not None and response.status == 403
    await expect(page.locator("form.task-form")).to_have_count(0)
    assert problems == []
