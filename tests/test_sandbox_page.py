"""The sandbox's web chat page in a real headless browser (Debian's chromium driven by
Playwright), against the in-memory world of tests/sandbox_world_stub.py: what a person
sees and does, as in Telegram. The screenshot the README shows is taken of the real
sandbox, by tests/test_sandbox_e2e.py."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from bot.sandbox.world import Event
from tests.sandbox_world_stub import (
    ALERT,
    AN,
    ARCHIVE,
    BUSY,
    CHAU,
    COUNCIL,
    DUE_TEXT,
    DUNG,
    NOTED,
    OFFICER,
    PLACEHOLDER,
    QUESTION,
    READ_ONLY,
    TOAST,
    FakeWorld,
    rich,
    serve,
)

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # --no-sandbox: the CI runs as root, where Chromium's own sandbox cannot start.
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        await browser.close()


@dataclass
class Visit:
    page: Page
    world: FakeWorld
    url: str
    problems: list[str] = field(default_factory=list)

    async def open_as(self, user_id: int, chat_id: int) -> None:
        """Load the page afresh (a new hash alone would not), as this person in this chat."""
        await self.page.goto("about:blank")
        await self.page.goto(f"{self.url}/#as={user_id}&chat={chat_id}")
        await expect(self.page.locator("body.ready")).to_have_count(1)

    def bubble(self, text: str) -> Locator:
        return self.page.locator(".message").filter(has_text=text)

    def chat(self, chat_id: int) -> Locator:
        return self.page.locator(f'.chat-item[data-chat="{chat_id}"]')

    async def press(self, text: str) -> None:
        await self.page.get_by_role("button", name=text, exact=True).click()


@pytest.fixture
async def visit(browser: Browser) -> AsyncIterator[Visit]:
    world = FakeWorld()
    async with serve(world) as url:
        page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="vi-VN")
        visit = Visit(page, world, url)
        page.on("pageerror", lambda error: visit.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                visit.problems.append(f"console: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        yield visit
        await page.close()
    # A CSP violation (inline script or style), a failed request or a script error.
    assert visit.problems == []


async def test_switching_person_in_one_click_shows_their_chats_in_their_language(visit):
    page = visit.page
    await visit.open_as(OFFICER.id, OFFICER.id)
    people = page.locator(".person")
    await expect(people).to_have_count(4)
    officer = people.filter(has_text=OFFICER.name)
    await expect(officer).to_have_class("person admin active")
    await expect(officer.locator(".badge.admin")).to_have_text("Quản trị")
    await expect(people.filter(has_text="Phạm Quốc Dũng").locator(".person-note")).to_have_text(
        "chưa bấm Bắt đầu"
    )
    await expect(page.locator(".people-title")).to_have_text("Quý vị đang là")
    await expect(page.locator(".chat-item-title")).to_have_text(
        ["Điều phối", "Hội đồng điều phối vùng Đồng bằng sông Hồng", "Lưu trữ bản tin"]
    )

    await people.filter(has_text=CHAU.name).click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(".people-title")).to_have_text("You are")
    await expect(people.filter(has_text=CHAU.name)).to_have_class("person active")
    await expect(page.locator(".person-where").nth(2)).to_have_text(
        "Phó Giám đốc Sở · UBND tỉnh Bắc Ninh"
    )
    # Châu is not in the archive group.
    await expect(page.locator(".chat-item-title")).to_have_text(
        ["Điều phối", "Hội đồng điều phối vùng Đồng bằng sông Hồng"]
    )
    await expect(page.locator("#clock-local")).to_have_text("Thursday 3 December 2026, 08:30")
    await expect(page.locator("#input")).to_have_attribute("placeholder", "Write a message…")

    # In a group both are in, switching keeps the group open: the same chat seen by another.
    await visit.chat(COUNCIL).click()
    await expect(visit.bubble("Bản tổng hợp tuần")).to_have_count(1)
    await people.filter(has_text=AN.name).click()
    await expect(page.locator("#chat-title")).to_have_text(
        "Hội đồng điều phối vùng Đồng bằng sông Hồng"
    )
    await expect(page.locator(".people-title")).to_have_text("Quý vị đang là")


async def test_a_chat_opened_while_the_person_switch_loads_stays_open(visit):
    """Choosing a person then a chat at once (what CI's end-to-end walk once did): the
    switch finishing later must not take the person back to their first chat, and the
    previous person's chats cannot be clicked meanwhile."""
    page = visit.page
    await visit.open_as(OFFICER.id, OFFICER.id)
    await expect(page.locator("#chat-title")).to_have_text("Điều phối")
    chats_asked, steps_asked = asyncio.Event(), asyncio.Event()

    def held(gate: asyncio.Event):
        async def handle(route):
            await gate.wait()
            await route.continue_()

        return handle

    await page.route("**/api/chats*", held(chats_asked))
    await page.route("**/api/steps*", held(steps_asked))
    await page.locator(".person").filter(has_text=CHAU.name).click()
    # While Châu's chats load, the officer's chats (their own with the bot) are gone.
    await expect(visit.chat(OFFICER.id)).to_have_count(0)
    await expect(page.locator(".chat-item")).to_have_count(0)
    chats_asked.set()
    # Châu opens the council's group as soon as it shows, before the switch has finished.
    await visit.chat(COUNCIL).click()
    await expect(page.locator("#chat-title")).to_have_text(
        "Hội đồng điều phối vùng Đồng bằng sông Hồng"
    )
    steps_asked.set()
    await expect(page.locator(".step").first).to_be_attached()
    await page.wait_for_timeout(500)
    await expect(page.locator("#chat-title")).to_have_text(
        "Hội đồng điều phối vùng Đồng bằng sông Hồng"
    )
    await expect(visit.bubble("Bản tổng hợp tuần")).to_have_count(1)


async def test_a_reminder_shows_its_formatting_and_its_buttons_answer_as_telegram_does(visit):
    page = visit.page
    await visit.open_as(AN.id, AN.id)
    reminder = visit.bubble("Nhắc việc")
    await expect(reminder.locator("strong")).to_have_text(
        "📝 Nhắc việc: nhiệm vụ của Quý cơ quan sắp đến hạn."
    )
    await expect(reminder.locator("em")).to_have_text(
        "Báo cáo tình hình thực hiện Nghị quyết 57/NQ-CP quý IV/2026"
    )
    link = reminder.locator(".text a")
    await expect(link).to_have_text("Công văn số 6411/VPCP-KTTH")
    await expect(link).to_have_attribute("href", "https://vanban.chinhphu.vn/")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(reminder.locator("a.key-url")).to_have_attribute(
        "href", "https://vanban.chinhphu.vn/"
    )
    messages_before = await page.locator(".message").count()

    # An alert is a dialog the person closes.
    await visit.press("❌ Hủy nhiệm vụ")
    dialog = page.locator("#dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#dialog-text")).to_have_text(ALERT)
    await expect(page.locator("#dialog-title")).to_have_text("Điều phối")
    await page.locator("#dialog-ok").click()
    await expect(dialog).to_be_hidden()

    # Any other answer is a toast; the bot edits its message in place.
    await visit.press("✅ Đã hoàn thành")
    await expect(page.locator("#toast")).to_have_text(TOAST)
    await expect(reminder.locator(".text")).to_contain_text("✅ Đã báo cáo: Đã hoàn thành")
    await expect(reminder.locator(".edited")).to_have_text("đã sửa")
    await expect(page.locator(".message")).to_have_count(messages_before)
    await expect(reminder.locator(".key")).to_have_count(5)  # still under the same message
    # The guided step is checked when the world says so (pushed).
    await expect(page.locator('.step[data-step="answer-reminder"]')).to_have_class("step done")
    await expect(page.locator("#steps-count")).to_have_text("1/3")


async def test_message_text_is_never_markup(visit):
    page = visit.page
    await visit.open_as(AN.id, AN.id)
    text, entities = rich(
        ('<img src=x onerror="window.hacked=1"> ', None),
        ("bold", "bold"),
        (" ", None),
        ("bad link", "text_link", "javascript:window.hacked=2"),
        (" 👍🏽 ", None),
        ("x", "underline"),
        (" ", None),
        ("gạch", "strikethrough"),
        (" ", None),
        ("print()", "code"),
        (" ", None),
        ("bí mật", "spoiler"),
        ("\n", None),
        ("trích dẫn", "blockquote"),
        ("\n", None),
        ("x = 1", "pre"),
        ("\n", None),
        (" https://example.org", "url"),
    )
    visit.world.bot_says(AN.id, text, entities=entities)
    bubble = visit.bubble("onerror")
    await expect(bubble.locator(".text")).to_contain_text('<img src=x onerror="window.hacked=1">')
    await expect(bubble.locator("img")).to_have_count(0)
    # UTF-16 offsets: the emoji before them takes four code units.
    await expect(bubble.locator("strong")).to_have_text("bold")
    await expect(bubble.locator("u")).to_have_text("x")
    await expect(bubble.locator("s")).to_have_text("gạch")
    await expect(bubble.locator("code.code")).to_have_text("print()")
    await expect(bubble.locator("blockquote")).to_have_text("trích dẫn")
    await expect(bubble.locator("pre code")).to_have_text("x = 1")
    await expect(bubble.locator(".link-dead")).to_have_text("bad link")
    await expect(bubble.locator("a.link")).to_have_attribute("href", "https://example.org/")
    spoiler = bubble.locator(".spoiler")
    await expect(spoiler).to_have_text("bí mật")
    await spoiler.click()
    await expect(spoiler).to_have_class("spoiler revealed")
    assert await page.evaluate("window.hacked") is None


async def test_replying_to_the_bots_question_answers_it(visit):
    page = visit.page
    await visit.open_as(AN.id, AN.id)
    await visit.press("✅ Đã hoàn thành")
    await expect(page.locator("#toast")).to_have_text(TOAST)
    await visit.press("📝 Thêm ghi chú")
    # The question arrives by push and the composer turns into a reply to it.
    question = visit.bubble(QUESTION)
    await expect(question).to_have_count(1)
    await expect(page.locator("#reply-bar")).to_be_visible()
    await expect(page.locator("#reply-name")).to_have_text("Trả lời Điều phối")
    await expect(page.locator("#input")).to_have_attribute("placeholder", PLACEHOLDER)
    await expect(page.locator("#input")).to_be_focused()
    await page.keyboard.type("Đã gửi báo cáo bằng văn bản ngày 02/12/2026.")
    await page.keyboard.press("Enter")
    await expect(visit.bubble(NOTED)).to_have_count(1)
    mine = page.locator(".message.out").last
    await expect(mine.locator(".reply-quote-text")).to_have_text(QUESTION)
    await expect(page.locator("#reply-bar")).to_be_hidden()
    await expect(page.locator("#input")).to_have_attribute("placeholder", "Nhập tin nhắn…")
    assert visit.world.sent[-1] == (AN.id, AN.id, "Đã gửi báo cáo bằng văn bản ngày 02/12/2026.")
    await expect(page.locator("#steps-count")).to_have_text("2/3")

    # A reply chosen by hand: the arrow next to a message.
    greeting = visit.bubble("Kính chào")
    await greeting.hover()
    await greeting.locator(".reply-arrow").click()
    await expect(page.locator("#reply-text")).to_contain_text("Kính chào Nguyễn Văn An")
    await page.keyboard.press("Escape")
    await expect(page.locator("#reply-bar")).to_be_hidden()
    # Or a double click on it, as in Telegram Desktop.
    await greeting.locator(".text").dblclick()
    await expect(page.locator("#reply-text")).to_contain_text("Kính chào Nguyễn Văn An")
    await page.locator("#reply-cancel").click()
    await expect(page.locator("#reply-bar")).to_be_hidden()


async def test_a_question_in_a_group_is_for_the_person_it_names(visit):
    page = visit.page
    text, entities = rich(
        ("Nguyễn Văn An", "text_link", f"tg://user?id={AN.id}"),
        (": vui lòng trả lời tin nhắn này bằng ghi chú.", None),
    )
    force = {"force_reply": True, "selective": True, "input_field_placeholder": "Ghi chú"}
    await visit.open_as(CHAU.id, COUNCIL)
    visit.world.bot_says(COUNCIL, text, entities=entities, reply_markup=force)
    question = visit.bubble("vui lòng trả lời")
    await expect(question.locator(".mention")).to_have_text("Nguyễn Văn An")
    await expect(page.locator("#reply-bar")).to_be_hidden()  # not for Châu
    await page.locator(".person").filter(has_text=AN.name).click()
    await expect(page.locator("#reply-bar")).to_be_visible()  # for An, as the chat opens
    await expect(page.locator("#input")).to_have_attribute("placeholder", "Ghi chú")


async def test_the_composer_sends_commands_and_refuses_what_telegram_refuses(visit):
    page = visit.page
    await visit.open_as(OFFICER.id, COUNCIL)
    await page.locator("#input").click()
    await page.keyboard.type("/")
    menu = page.locator("#command-menu")
    await expect(menu).to_be_visible()
    await expect(menu.locator(".command-name")).to_have_text(
        ["/start", "/tasks", "/help", "/digest", "/announce"]
    )
    await page.keyboard.type("d")
    await expect(menu.locator(".command-name")).to_have_text(["/digest"])
    await menu.locator(".command").click()
    await expect(page.locator("#input")).to_have_value("/digest ")
    await page.keyboard.press("Enter")
    await expect(visit.bubble("12/15 cơ quan đã báo cáo.")).to_have_count(1)
    await expect(page.locator("#steps-count")).to_have_text("1/3")
    # From the keyboard: Down marks a command, Enter takes it; Tab takes the first.
    await page.keyboard.type("/")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await expect(menu.locator(".command.marked .command-name")).to_have_text("/tasks")
    await page.keyboard.press("Enter")
    await expect(page.locator("#input")).to_have_value("/tasks ")
    await page.locator("#input").fill("")
    await page.keyboard.type("/an")
    await page.keyboard.press("Tab")
    await expect(page.locator("#input")).to_have_value("/announce ")
    await page.locator("#input").fill("")
    # The "/" button opens the same menu.
    await page.locator("#command-button").click()
    await expect(menu.locator(".command")).to_have_count(5)
    await page.locator("#command-button").click()
    await expect(menu).to_be_hidden()

    # Shift+Enter is a new line, Enter sends.
    await page.locator("#input").click()
    await page.keyboard.type("Dòng một")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("Dòng hai")
    await expect(page.locator("#input")).to_have_value("Dòng một\nDòng hai")
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.out .text").last).to_have_text("Dòng một\nDòng hai")
    assert visit.world.sent[-1] == (OFFICER.id, COUNCIL, "Dòng một\nDòng hai")

    # Over 4,096 characters (UTF-16, as Telegram counts): refused, nothing sent.
    sent = len(visit.world.sent)
    await page.locator("#input").fill("🙂" * 2049)
    await expect(page.locator("#counter")).to_have_text("-2")
    await page.keyboard.press("Enter")
    await expect(page.locator("#composer-error")).to_have_text(
        "Tin nhắn quá dài: tối đa 4.096 ký tự (hiện có 4.098)."
    )
    await expect(page.locator("#input")).to_have_value("🙂" * 2049)
    assert len(visit.world.sent) == sent


async def test_what_the_world_refuses_is_said_under_the_composer(visit):
    page = visit.page
    await visit.open_as(AN.id, ARCHIVE)
    await page.locator("#input").fill("Xin chào")
    await page.keyboard.press("Enter")
    await expect(page.locator("#composer-error")).to_have_text(READ_ONLY)
    await expect(page.locator("#input")).to_have_value("Xin chào")  # kept, to send elsewhere
    await page.keyboard.type("!")
    await expect(page.locator("#composer-error")).to_be_hidden()
    # The browser logs the refused request itself; that one was meant.
    refused = "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    assert visit.problems == [f"console: {refused}"]
    visit.problems.clear()


async def test_attaching_a_file_sends_it_as_a_document(visit, tmp_path):
    page = visit.page
    await visit.open_as(OFFICER.id, OFFICER.id)
    roster = tmp_path / "danh-sach-thanh-vien.csv"
    roster.write_text("Họ và tên,Chức vụ\nNguyễn Văn An,Vụ trưởng\n", encoding="utf-8")
    await page.locator("#file-input").set_input_files(str(roster))
    await expect(page.locator("#attach-name")).to_contain_text("danh-sach-thanh-vien.csv")
    await page.locator("#input").fill("Danh sách thành viên")
    await page.locator("#send-button").click()
    document = page.locator(".message.out").last
    await expect(document.locator(".document-name")).to_have_text("danh-sach-thanh-vien.csv")
    await expect(document.locator(".text")).to_have_text("Danh sách thành viên")
    await expect(page.locator("#attach-bar")).to_be_hidden()
    size = roster.stat().st_size
    assert visit.world.sent[-1] == (OFFICER.id, OFFICER.id, f"file:danh-sach-thanh-vien.csv:{size}")
    # Documents download, photos show.
    await visit.open_as(AN.id, AN.id)
    download = visit.bubble("Danh sách nhiệm vụ").locator("a.document")
    await expect(download).to_have_attribute("download", "nhiem-vu-hoi-dong.xlsx")
    async with page.expect_download() as info:
        await download.click()
    assert (await info.value).suggested_filename == "nhiem-vu-hoi-dong.xlsx"
    await visit.open_as(AN.id, COUNCIL)
    image = visit.bubble("Bản tổng hợp tuần").locator("img")
    await expect(image).to_be_visible()
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 480


async def test_the_clock_moves_and_new_messages_arrive_without_reloading(visit):
    page = visit.page
    await visit.open_as(AN.id, COUNCIL)
    clock = page.locator("#clock-local")
    await expect(clock).to_have_text("08:30, thứ Năm, ngày 03/12/2026")
    await expect(page.locator("#clock-next")).to_have_text("Tin nhắn theo lịch kế tiếp: sau 5 giờ")
    await page.get_by_role("button", name="+1 giờ").click()
    await expect(clock).to_have_text("09:30, thứ Năm, ngày 03/12/2026")
    await page.get_by_role("button", name="Tin nhắn kế tiếp").click()
    await expect(clock).to_have_text("13:30, thứ Năm, ngày 03/12/2026")
    await expect(visit.bubble(DUE_TEXT).locator("strong")).to_have_text(DUE_TEXT)
    await expect(page.get_by_role("button", name="Tin nhắn kế tiếp")).to_be_disabled()
    await page.get_by_role("button", name="+1 ngày").click()
    await expect(clock).to_have_text("13:30, thứ Sáu, ngày 04/12/2026")

    # Pushed by the world while the page is open: in this chat, and elsewhere (unread).
    visit.world.bot_says(COUNCIL, "Thông báo mới cho Hội đồng")
    await expect(visit.bubble("Thông báo mới cho Hội đồng")).to_have_count(1)
    # The new day is plain to see, written as the bot writes days.
    await expect(page.locator(".message .day")).to_have_text(
        ["Thứ Năm, ngày 03/12/2026", "Thứ Sáu, ngày 04/12/2026"]
    )
    private = visit.chat(AN.id)
    unread = int(await private.locator(".unread").inner_text())
    visit.world.bot_says(AN.id, "Lời nhắc riêng")
    await expect(private.locator(".unread")).to_have_text(str(unread + 1))
    await expect(private.locator(".chat-item-preview")).to_have_text("Lời nhắc riêng")
    # An edit pushed by the world changes the message in place.
    message = visit.world.bot_says(COUNCIL, "Họp lúc 14:00")
    await expect(visit.bubble("Họp lúc 14:00")).to_have_count(1)
    edited = {**message, "text": "Họp lúc 15:00", "edit_date": message["date"] + 60}
    members = frozenset({OFFICER.id, AN.id, CHAU.id})
    visit.world.emit(Event("edit", edited, COUNCIL, None, members))
    await expect(visit.bubble("Họp lúc 15:00").locator(".edited")).to_have_text("đã sửa")
    await expect(visit.bubble("Họp lúc 14:00")).to_have_count(0)
    # What is not a message someone sent is written across the chat, as Telegram does.
    dung = {"id": DUNG.id, "is_bot": False, "first_name": DUNG.name}
    visit.world.bot_says(COUNCIL, None, new_chat_members=[dung])
    await expect(page.locator(".message.service").last).to_have_text(
        "Phạm Quốc Dũng đã tham gia nhóm"
    )


async def test_a_chat_of_2000_messages_pages_its_history_and_stays_responsive(visit):
    page = visit.page
    await visit.open_as(AN.id, AN.id)
    # Long tasks (>50 ms of script on the main thread) are what makes a page feel stuck.
    await page.evaluate(
        """() => { window.longTasks = [];
        new PerformanceObserver(list => { for (const e of list.getEntries())
            window.longTasks.push(e.duration); }).observe({ type: "longtask" }); }"""
    )
    started = time.perf_counter()
    await visit.chat(ARCHIVE).click()
    await expect(visit.bubble("Bản tin số 2000")).to_be_visible()
    opened = time.perf_counter() - started
    await expect(page.locator(".message")).to_have_count(50)

    loads = []
    for expected in range(100, 2001, 50):
        started = time.perf_counter()
        await page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
        await expect(page.locator(".message")).to_have_count(expected)
        loads.append(time.perf_counter() - started)
        # What was at the top stays in view: the older page goes above it.
        top = 2001 - expected + 50
        await expect(page.locator(f'.message[data-id="{top}"]')).to_be_in_viewport()
        # Still usable while the history grows: the composer takes what is typed.
        await page.locator("#input").click()
        await page.keyboard.type("x")
        assert await page.locator("#input").input_value() != ""
    await expect(page.locator('.message[data-id="1"] .text')).to_have_text(
        "Bản tin số 1 · mọi việc đúng hạn"
    )
    # One day: one chip, on the first message, however many pages came in.
    await expect(page.locator(".message .day")).to_have_count(1)
    await expect(page.locator('.message[data-id="1"] .day')).to_have_count(1)
    long_tasks = await page.evaluate("window.longTasks")
    worst = max(long_tasks, default=0)
    print(
        f"\n2,000-message chat: opened in {opened * 1000:.0f} ms; 39 older pages of 50 in "
        f"{min(loads) * 1000:.0f}-{max(loads) * 1000:.0f} ms each; {len(long_tasks)} long "
        f"tasks, the longest {worst:.0f} ms"
    )
    # The figures are printed here; the goals are checked by bench/sandbox.py, not by
    # a timed test on a machine whose load nobody controls.
    # Up in the history, a new message does not pull the person down: the round button
    # counts it and takes them there.
    visit.world.bot_says(ARCHIVE, "Bản tin mới nhất")
    to_bottom = page.locator("#to-bottom")
    await expect(to_bottom.locator("#to-bottom-count")).to_have_text("1")
    await expect(visit.bubble("Bản tin mới nhất")).not_to_be_in_viewport()
    await to_bottom.click()
    await expect(visit.bubble("Bản tin mới nhất")).to_be_in_viewport()
    await expect(to_bottom).to_be_hidden()


async def test_a_person_who_never_started_the_bot_sees_the_start_button(visit):
    page = visit.page
    await visit.open_as(DUNG.id, DUNG.id)
    start = page.locator("#start-button")
    await expect(start).to_have_text("BẮT ĐẦU")
    await expect(page.locator("#input")).to_be_hidden()
    await start.click()
    await expect(page.locator(".message.out .text")).to_have_text("/start")
    await expect(start).to_be_hidden()
    await expect(page.locator("#input")).to_be_visible()
    assert visit.world.sent == [(DUNG.id, DUNG.id, "/start")]
    # The list of people no longer says he has not pressed Start.
    dung = page.locator(".person").filter(has_text=DUNG.name)
    await expect(dung.locator(".person-note")).to_have_count(0)


async def test_the_page_catches_up_after_its_event_stream_broke(visit):
    await visit.open_as(AN.id, AN.id)
    visit.world.break_events()
    # Said while nothing is pushed: the page reloads it once its stream is back.
    visit.world.bot_says(AN.id, "Nói trong lúc mất kết nối")
    await expect(visit.bubble("Nói trong lúc mất kết nối")).to_have_count(1, timeout=10_000)
    visit.world.bot_says(AN.id, "Sau khi kết nối lại")
    await expect(visit.bubble("Sau khi kết nối lại")).to_have_count(1)


async def test_the_page_is_ready_fast_and_a_button_answer_shows_fast(visit):
    page = visit.page
    await visit.open_as(AN.id, AN.id)
    # The first load of the process also pays for the world's first answers (the stub
    # compiles its catalogs then); the page's own cost is the second one.
    await visit.open_as(AN.id, AN.id)
    # Since the navigation started: the page, its script and style, people, chats, the
    # clock, the steps and the newest messages, all shown.
    loaded = await page.evaluate('performance.getEntriesByName("sandbox-ready")[0].startTime')
    loaded /= 1000
    # 100 presses, each timed in the page from the click to its toast.
    durations = await page.evaluate(
        """async (answer) => {
        const button = [...document.querySelectorAll(".key")]
            .find(b => b.textContent === "⏳ Đang thực hiện");
        const toast = document.getElementById("toast");
        const times = [];
        for (let i = 0; i < 100; i++) {
            toast.textContent = "";
            const shown = new Promise(resolve => {
                const seen = new MutationObserver(() => {
                    if (toast.textContent === answer) { seen.disconnect(); resolve(); }
                });
                seen.observe(toast, { childList: true, characterData: true, subtree: true });
            });
            const start = performance.now();
            button.click();
            await shown;
            times.push(performance.now() - start);
        }
        return times;
    }""",
        BUSY,
    )
    durations.sort()
    p95 = durations[94]
    print(
        f"\npage ready in {loaded * 1000:.0f} ms; press to toast over 100 presses: "
        f"median {durations[49]:.0f} ms, p95 {p95:.0f} ms (against the in-memory world)"
    )
    # Every press got its answer shown; the goals (page < 1 s, p95 < 1 s) are checked by
    # bench/sandbox.py.
    assert len(durations) == 100
