"""The desk's paths as its users walk them, in Debian's chromium driven by Playwright, against
a real `dieuphoi run` process on the real clock and the fake Bot API server: an admin
imports a roster (its preview first) and sends an announcement (its preview, then its
progress); an admin schedules a meeting and sees the delegate a member names on /my; a
member on a phone opens the desk as a Telegram Mini App (signed initData, the chat's dark
theme, Telegram's back button), answers a task with a long note and a PDF, and is refused
the admin pages; an admin on a 360 px phone opens every admin page without sideways
scrolling. No page breaks the Content-Security-Policy or throws a script error.

With DESK_SCREENS set to a folder, screenshots of the main pages are saved there to look
at (`DESK_SCREENS=/tmp/screens .venv/bin/pytest tests/test_desk_browser_paths.py`)."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from bot import callbacks
from bot.callbacks import TaskPress, TaskStatus
from bot.models import (
    Announcement,
    AnnouncementState,
    Meeting,
    MeetingResponse,
    Member,
    ReportFile,
    ReportStatus,
    StatusReport,
)
from tests import test_desk_browser as shared
from tests.chat import press
from tests.desk import NOTE, init_data
from tests.rosters import csv_bytes, person
from tests.test_desk_browser import CHROMIUM, _sign_in
from web.routes import setup_routes

# The fixtures of test_desk_browser.py: chromium, two registered members, `dieuphoi run`.
chromium = shared.chromium
members = shared.members
desk_url = shared.desk_url

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
)

SCREENS = Path(os.environ["DESK_SCREENS"]) if os.environ.get("DESK_SCREENS") else None
PHONE = {"width": 360, "height": 740}
# Telegram's night theme, as an Android client passes it in tgWebAppThemeParams.
DARK = {
    "bg_color": "#17212b",
    "secondary_bg_color": "#232e3c",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
}
# Telegram's Android client: the app receives the Mini App's events through this object.
TELEGRAM_APP = """
window.__events = [];
window.TelegramWebviewProxy = {
  postEvent: function (type, data) { window.__events.push([type, data]); }
};
"""
# A small PDF, as a scanner would write it.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
LONG_NOTE = "Đang tổng hợp số liệu của 12 đơn vị trực thuộc, chờ Sở Tài chính đối chiếu; " * 10


def _screen(name: str) -> str | None:
    """Where a screenshot goes; none unless DESK_SCREENS names a folder that can be made."""
    if SCREENS is None:
        return None
    try:
        SCREENS.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return str(SCREENS / f"{name}.png")


async def _screenshot(page: Page, name: str) -> None:
    path = _screen(name)
    if path is not None:
        await page.screenshot(path=path, full_page=True)


async def _phone(
    chromium: Browser, problems: list[str], telegram: bool = False
) -> tuple[BrowserContext, Page]:
    """A 360 px Android phone; `telegram`: inside Telegram's app (its event bridge)."""
    context = await chromium.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="vi-VN"
    )
    if telegram:
        await context.add_init_script(TELEGRAM_APP)
    page = await context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "status of 40" not in message.text
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )
    return context, page


async def _width(page: Page) -> int:
    """How wide the page is: at most the screen's, or it scrolls sideways (a wide table
    should scroll inside its own box instead). A page too wide is kept as a screenshot."""
    width = int(await page.evaluate("document.documentElement.scrollWidth"))
    if width > PHONE["width"]:
        name = re.sub(r"[^a-z0-9]+", "-", page.url.split("//", 1)[1].split("/", 1)[1].lower())
        await _screenshot(page, f"too-wide-{name.strip('-') or 'home'}")
    return width


async def _fits_the_phone(page: Page) -> None:
    width = await _width(page)
    assert width <= PHONE["width"], (page.url, width)


async def _events(page: Page) -> list[tuple[str, dict]]:
    raw = await page.evaluate("window.__events")
    return [(kind, json.loads(data) if data else {}) for kind, data in raw]


async def _count(bot, model, *where) -> int:
    async with bot.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _wait_for(condition, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@pytest.fixture
async def council_history(bot, admin, members) -> tuple[date, date]:
    """Before `dieuphoi run` takes over (it runs on the real clock): task #1 for BTC and HN,
    due on a working day at least two days ago (BTC reported it done, HN did not: overdue),
    and task #2 for both, due in two months. The bot's frozen clock is first moved to three
    days before task #1's deadline."""
    real_now = datetime.now(UTC)
    past = (real_now - timedelta(days=2)).date()
    while past.weekday() >= 5:  # a working day's deadline: not moved to a later day
        past -= timedelta(days=1)
    then = datetime.combine(past - timedelta(days=3), datetime.min.time(), UTC)
    if then > bot.clock.now():
        bot.clock.set(then + timedelta(hours=2))
    ahead = (real_now + timedelta(days=60)).date()
    await bot.say(admin, f"/newtask DBSH BTC,HN {_day(past)} | Báo cáo tình hình giải ngân")
    await bot.say(admin, f"/newtask DBSH BTC,HN {_day(ahead)} | Kế hoạch phối hợp năm 2027")
    an = members[0]
    [card, *_] = [m for m in await bot.say_all(an, "/status") if m.get("reply_markup")]
    await press(bot, an, card, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    return past, ahead


# --- 1 and 2: an admin's roster import and announcement -----------------------------------


async def test_an_admin_imports_a_roster_after_its_preview_then_announces_to_the_members(
    bot, api, admin, members, chromium, desk_url
):
    problems: list[str] = []
    page = await _sign_in(api, chromium, admin, problems)
    await expect(page).to_have_url(desk_url + "/")
    before = await _count(bot, Member)

    # The roster of the Tây Nguyên council: three good rows, two refused.
    roster = csv_bytes(
        [
            person("TN", "Phạm Quốc Cường", "BTC", position="Phó Vụ trưởng"),
            person("ZZZ", "Sai Hội Đồng", "BTC"),
            person("TN", "Hoàng Thu Dung", "BXD"),
            person("TN", "", "DLK"),
            person("TN", "Vũ Minh Đức", "DLK", role="vice_chair"),
        ]
    )
    await page.get_by_role("link", name="Thành viên", exact=True).click()
    await page.locator("#import-roster").click()
    await expect(page).to_have_url(desk_url + "/members/import")
    await page.get_by_label("Tệp danh sách thành viên").set_input_files(
        {"name": "danh-sach-TN.csv", "mimeType": "text/csv", "buffer": roster}
    )
    await page.locator("#upload").click()

    # The preview: every row with what would happen to it, the refusals with their reasons.
    await expect(page).to_have_url(re.compile(r"/members/import/[A-Za-z0-9_-]+$"))
    await expect(page.locator("h1")).to_have_text("Xem trước kết quả nhập")
    rows = page.locator("table.import tbody tr")
    await expect(rows).to_have_count(5)
    await expect(rows.nth(0)).to_contain_text("Phạm Quốc Cường")
    await expect(rows.nth(0).locator("td").last).to_have_text("mới")
    await expect(rows.nth(1)).to_contain_text("không có Hội đồng mã ZZZ")
    await expect(rows.nth(2).locator("td").last).to_have_text("mới")
    await expect(rows.nth(3)).to_contain_text("họ tên để trống")
    await expect(rows.nth(4).locator("td").last).to_have_text("mới")
    await expect(page.locator("#counts")).to_contain_text("3")
    await expect(page.locator("#nothing-yet")).to_be_visible()
    await _screenshot(page, "import-preview")
    assert await _count(bot, Member) == before  # nothing written yet

    await page.get_by_role("button", name="Xác nhận nhập").click()
    await expect(page.locator("h1")).to_have_text("Đã nhập danh sách thành viên")
    await expect(page.locator("#confirm-import")).to_have_count(0)
    assert await _count(bot, Member) == before + 3
    async with bot.sessions() as session:
        names = set((await session.scalars(select(Member.full_name))).all())
    assert {"Phạm Quốc Cường", "Hoàng Thu Dung", "Vũ Minh Đức"} <= names
    assert "Sai Hội Đồng" not in names

    # On the roster, and the search finds one of them.
    await page.goto(desk_url + "/members")
    listed = page.locator("table.members tbody tr")
    for name in ("Phạm Quốc Cường", "Hoàng Thu Dung", "Vũ Minh Đức", "Nguyễn Văn An"):
        await expect(listed.filter(has_text=name)).to_have_count(1)
    await page.get_by_label("Tìm kiếm").fill("Cường")
    await page.get_by_role("button", name="Lọc").click()
    await expect(listed).to_have_count(1)
    await expect(listed.first).to_contain_text("Phạm Quốc Cường")
    await expect(listed.first).to_contain_text("TN")

    # An announcement to DBSH: its preview sends nothing.
    text = "Kính gửi các thành viên Hội đồng:\nHọp trực tuyến lúc 14:00 thứ Sáu.\nTrân trọng."
    await page.get_by_role("link", name="Thông báo", exact=True).click()
    await page.locator("#new-announcement").click()
    await expect(page).to_have_url(desk_url + "/announcements/new")
    await page.get_by_label("Người nhận").select_option("DBSH")
    await page.get_by_label("Nội dung").fill(text)
    since = len(api.sent)
    await page.get_by_role("button", name="Xem trước").click()
    await expect(page).to_have_url(desk_url + "/announcements/1")
    await expect(page.locator("#message")).to_contain_text("Họp trực tuyến lúc 14:00 thứ Sáu.")
    await expect(page.locator("#headcount")).to_contain_text("2")
    await asyncio.sleep(1.5)  # time enough for a copy to go out, were one queued
    assert [m for m in api.sent[since:] if "Họp trực tuyến" in m.get("text", "")] == []
    async with bot.sessions() as session:
        [draft] = (await session.scalars(select(Announcement))).all()
    assert draft.state == AnnouncementState.DRAFT

    # Confirmed: the progress page, the copies delivered, then the summary.
    await page.get_by_role("button", name="Xác nhận và gửi").click()
    await expect(page).to_have_url(desk_url + "/announcements/1")
    await expect(page.locator("#progress")).to_be_visible()
    copies = lambda: [m for m in api.sent[since:] if "Họp trực tuyến" in m.get("text", "")]  # noqa: E731
    await _wait_for(lambda: len(copies()) >= 2)
    assert {m["chat"]["id"] for m in copies()} == {members[0].id, members[1].id}
    await expect(page.locator("h2").filter(has_text="Đã gửi xong")).to_be_visible(timeout=30_000)
    await expect(page.locator("#progress")).to_contain_text("2 / 2")
    await _screenshot(page, "announcement-progress")
    async with bot.sessions() as session:
        [sent] = (await session.scalars(select(Announcement))).all()
    assert sent.state == AnnouncementState.DONE
    assert len(copies()) == 2  # one copy each, no more
    assert problems == []


# --- 3: a meeting, and a member's delegate ------------------------------------------------


async def test_an_admin_schedules_a_meeting_and_sees_the_delegate_a_member_names(
    bot, api, admin, members, council_history, chromium, desk_url
):
    problems: list[str] = []
    page = await _sign_in(api, chromium, admin, problems)
    await expect(page).to_have_url(desk_url + "/")
    # The overview with its trend chart (task #1's deadline is over, one part on time).
    dbsh = page.locator("section.council").filter(has_text="DBSH")
    await expect(dbsh.locator("svg.trend-chart rect.bar-on-time")).not_to_have_count(0)
    await expect(dbsh.locator("table.matrix tbody tr")).to_have_count(2)
    await expect(dbsh.locator("table.matrix tfoot")).to_contain_text("1")

    day = date.today() + timedelta(days=10)
    await page.get_by_role("link", name="Cuộc họp", exact=True).click()
    await page.goto(desk_url + "/meetings/new")
    await page.get_by_label("Hội đồng").select_option("DBSH")
    await page.get_by_label("Tiêu đề").fill("Góp ý quy hoạch vùng đồng bằng sông Hồng")
    await page.get_by_label("Ngày").fill(day.isoformat())
    await page.get_by_label("Giờ (theo giờ địa phương)").fill("09:30")
    await page.get_by_label("Địa điểm (không bắt buộc)").fill("Phòng họp số 2, Bộ KH&ĐT")
    await page.get_by_role("button", name="Lên lịch cuộc họp").click()
    await expect(page).to_have_url(re.compile(r"/meetings/1$"))
    async with bot.sessions() as session:
        [meeting] = (await session.scalars(select(Meeting))).all()
    assert meeting.title == "Góp ý quy hoạch vùng đồng bằng sông Hồng"

    # In the overview's upcoming meetings.
    await page.get_by_role("link", name="Tổng quan", exact=True).click()
    upcoming = dbsh.locator("ul.meetings li")
    await expect(upcoming).to_have_count(1)
    await expect(upcoming).to_contain_text("Góp ý quy hoạch vùng đồng bằng sông Hồng")
    await expect(upcoming).to_contain_text(day.strftime("%d/%m/%Y"))
    await _screenshot(page, "overview")

    # Bình, of Hà Nội, sends a delegate from /my.
    binh_problems: list[str] = []
    binh = await _sign_in(api, chromium, members[1], binh_problems)
    await expect(binh).to_have_url(desk_url + "/my")
    invitation = binh.locator("#meeting-1")
    await expect(invitation).to_contain_text("chưa trả lời")
    await invitation.get_by_label("Người dự thay (họ tên, chức vụ)").fill(
        "Lê Thị Hoa, Phó Giám đốc Sở Kế hoạch và Đầu tư"
    )
    await invitation.get_by_role("button", name="Cử người dự thay").click()
    await expect(binh.locator("#meeting-1")).to_contain_text(
        "Cử người dự thay: Lê Thị Hoa, Phó Giám đốc Sở Kế hoạch và Đầu tư"
    )
    async with bot.sessions() as session:
        [answer] = (await session.scalars(select(MeetingResponse))).all()
    assert answer.delegate == "Lê Thị Hoa, Phó Giám đốc Sở Kế hoạch và Đầu tư"

    # The admin's meeting page shows the delegate beside Bình.
    await page.goto(desk_url + "/meetings/1")
    row = page.locator("#attendance tbody tr").filter(has_text="Trần Thị Bình")
    await expect(row).to_contain_text("Lê Thị Hoa, Phó Giám đốc Sở Kế hoạch và Đầu tư")
    await expect(
        page.locator("#attendance tbody tr").filter(has_text="Nguyễn Văn An").locator("td").last
    ).to_have_text("")
    assert problems == [] and binh_problems == []


# --- 4 and 5: a member on a phone, inside Telegram ----------------------------------------


async def test_a_member_on_a_phone_opens_the_mini_app_answers_with_a_note_and_a_pdf(
    bot, api, members, council_history, chromium, desk_url, tmp_path
):
    problems: list[str] = []
    an = members[0]
    _context, page = await _phone(chromium, problems, telegram=True)
    # As Telegram opens a Mini App: the signed initData and the chat's theme in the fragment.
    data = init_data(an, api.token, datetime.now(UTC))
    await page.goto(
        desk_url
        + "/#tgWebAppData="
        + quote(data)
        + "&tgWebAppPlatform=android&tgWebAppThemeParams="
        + quote(json.dumps(DARK))
    )
    await expect(page).to_have_url(desk_url + "/my")
    await expect(page.locator("h1")).to_have_text("Nhiệm vụ và cuộc họp của Quý vị")
    # The chat's dark colours, carried over from the first page.
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(23, 33, 43)"
    events = await _events(page)
    assert ("web_app_ready", {}) in events
    assert ("web_app_setup_back_button", {"is_visible": False}) in events  # home: no back
    await _fits_the_phone(page)

    # A page below home: Telegram's back button shows, and pressing it goes back.
    await page.locator("#task-2 a.task-id").click()
    await expect(page).to_have_url(desk_url + "/tasks/2")
    assert ("web_app_setup_back_button", {"is_visible": True}) in await _events(page)
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == (
        "rgb(23, 33, 43)"
    )
    await _fits_the_phone(page)
    await page.evaluate('window.Telegram.WebView.receiveEvent("back_button_pressed")')
    await expect(page).to_have_url(desk_url + "/my")

    # Task #2: at risk, a long note, the PDF of the draft report.
    task = page.locator("#task-2")
    await task.locator("summary").click()
    answer = task.get_by_label("🟠 Có nguy cơ chậm")
    await answer.check()
    # Each answer's radio sits just before its words (not stretched across the form).
    radio, words = (
        await answer.bounding_box(),
        await task.locator("label.answer").nth(2).bounding_box(),
    )
    assert radio is not None and words is not None
    assert radio["width"] <= 32 and radio["x"] - words["x"] <= 16, (radio, words)
    await task.get_by_label("Ghi chú (không bắt buộc)").fill(LONG_NOTE + NOTE)
    await task.get_by_label("Tệp báo cáo (không bắt buộc)").set_input_files(
        {"name": "Dự thảo báo cáo.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await _fits_the_phone(page)
    await _screenshot(page, "my-phone-form")
    await task.get_by_role("button", name="Gửi", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/my\?saved=2#task-2$"))
    await expect(page.locator("#task-2 .notice")).to_contain_text("Đã ghi nhận")
    await _fits_the_phone(page)
    await _screenshot(page, "my-phone")
    async with bot.sessions() as session:
        [report] = (
            await session.scalars(select(StatusReport).where(StatusReport.task_id == 2))
        ).all()
        [stored] = (await session.scalars(select(ReportFile))).all()
    assert report.status == ReportStatus.AT_RISK
    assert report.note == (LONG_NOTE + NOTE).strip()
    assert (stored.task_id, stored.file_name) == (2, "Dự thảo báo cáo.pdf")
    assert (tmp_path / "data" / "files" / stored.stored_path).read_bytes() == PDF
    # The task's page shows the answer and the note as written, and still fits the phone.
    await page.locator("#task-2 a.task-id").click()
    history = page.locator("ul.history").first
    await expect(history).to_contain_text("🟠 Có nguy cơ chậm")
    await expect(history.locator("q")).to_contain_text("<img src=x onerror=alert(1)>")
    await _fits_the_phone(page)

    # 5: the admin pages are refused to a member.
    for path in ("/members", "/announcements/new", "/audit", "/meetings/new"):
        response = await page.goto(desk_url + path)
        assert response is not None and response.status == 403, path
        await expect(page.locator("h1")).to_have_text("Không thể truy cập")
        await expect(page.locator("main form")).to_have_count(0)
        await _fits_the_phone(page)
    assert problems == []


# --- 4: every admin page on a phone -------------------------------------------------------


def _admin_pages() -> list[re.Pattern[str]]:
    """Every page of the desk an admin opens (a pattern per GET route): so a page added
    later is not left out of the phone check below."""
    app = web.Application()
    setup_routes(app)
    patterns = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method != "GET" or path is None or path.startswith(("/auth/", "/my")):
            continue
        if path.endswith(".xlsx"):  # a download, not a page
            continue
        patterns.append(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"))
    return patterns


async def test_an_admin_on_a_phone_opens_every_admin_page_without_sideways_scrolling(
    bot, api, admin, members, council_history, chromium, desk_url
):
    await bot.say(admin, f"/newmeeting DBSH {_day(council_history[1])} 09:00 | Họp quý I/2027")
    problems: list[str] = []
    context, page = await _phone(chromium, problems, telegram=True)
    data = init_data(admin, api.token, datetime.now(UTC))
    await page.goto(desk_url + "/#tgWebAppData=" + quote(data) + "&tgWebAppPlatform=android")
    await expect(page).to_have_url(desk_url + "/")
    await expect(page.locator("svg.trend-chart").first).to_be_visible()
    await _screenshot(page, "overview-phone")
    visited = ["/"]

    # Pages reached through a form: an announcement's preview, an import's preview, links.
    await page.goto(desk_url + "/announcements/new")
    await page.get_by_label("Nội dung").fill("Kính gửi các thành viên Hội đồng: " * 30)
    await page.get_by_role("button", name="Xem trước").click()
    await expect(page).to_have_url(desk_url + "/announcements/1")
    await page.goto(desk_url + "/members/import")
    roster = csv_bytes([person("TN", "Phạm Quốc Cường Nguyễn Hoàng Trung Kiên", "BTC")])
    await page.get_by_label("Tệp danh sách thành viên").set_input_files(
        {"name": "danh-sach-thanh-vien-hoi-dong-vung-tay-nguyen.csv", "buffer": roster,
         "mimeType": "text/csv"}
    )  # fmt: skip
    await page.locator("#upload").click()
    await expect(page).to_have_url(re.compile(r"/members/import/[A-Za-z0-9_-]+$"))
    preview = page.url.removeprefix(desk_url)
    await page.goto(desk_url + "/members/1")
    await page.locator("#reissue").click()
    await expect(page).to_have_url(re.compile(r"/members/links/[A-Za-z0-9_-]+$"))
    links = page.url.removeprefix(desk_url)
    # The new link is copied with its button (selecting a long link by hand on a phone is
    # fiddly), and the button says so.
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desk_url)
    link = await page.locator("input.link").first.input_value()
    assert link.startswith("https://t.me/") and "?start=" in link, link
    await page.get_by_role("button", name="Sao chép", exact=True).click()
    await expect(page.get_by_role("button", name="Đã sao chép")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == link

    widths: dict[str, int] = {}

    for path in [
        "/",
        "/tasks",
        "/tasks/new",
        "/tasks/1",
        "/tasks/1/cancel",
        "/meetings",
        "/meetings/new",
        "/meetings/1",
        "/meetings/1/cancel",
        "/members",
        "/members/1",
        "/members/1/remove",
        links,
        "/members/import",
        preview,
        "/announcements",
        "/announcements/new",
        "/announcements/1",
        "/audit",
    ]:
        response = await page.goto(desk_url + path)
        assert response is not None and response.status == 200, path
        widths[path] = await _width(page)
        named = {preview: "import-preview", links: "links"}.get(path, path)
        slug = re.sub(r"[^a-z0-9]+", "-", named.lower()).strip("-") or "overview"
        await _screenshot(page, f"admin-phone-{slug}")
        visited.append(path)
    assert {path: width for path, width in widths.items() if width > PHONE["width"]} == {}
    for pattern in _admin_pages():
        assert any(pattern.match(path) for path in visited), pattern.pattern
    await context.close()
    assert problems == []
