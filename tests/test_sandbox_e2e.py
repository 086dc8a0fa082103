"""The real sandbox end to end, as a newcomer uses it: `dieuphoi sandbox` started as its
own process, its page driven in Debian's headless chromium (Playwright) only through what
a person sees and clicks. An official answers a reminder with a button and a note, time
is moved until the overdue report's nudge comes, the secretariat officer posts the digest
in the council's group and imports a roster; the guided steps are ticked. The sandbox is
then stopped with Ctrl+C and started again on the same data: the answer is still there.
The test saves the screenshot the README shows (docs/sandbox.png)."""

from __future__ import annotations

import io
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from tests.cli import cli_env, run_cli
from tests.sandbox_process import SandboxProcess

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
)

OFFICIAL = "Nguyễn Văn Hùng"  # Bộ Tài chính, in the Red River Delta council
OFFICER = "Đỗ Thị Phương Thảo"  # the secretariat officer (admin)
GROUP = "HĐĐP vùng Đồng bằng sông Hồng"
REMINDER = "Quỹ phát triển hạ tầng vùng"  # a report due in the coming days
OVERDUE = "Nghị quyết số 57/NQ-CP"  # a report due on the last working day
NOTE = "Đã trình Lãnh đạo Bộ dự thảo đề xuất, dự kiến gửi ngày 04/12/2026."
NEWCOMERS = ("Đinh Công Minh", "Mai Thị Hạnh")
# Moving the clock sends everything that fell due before the page hears back.
WAIT = 20_000
PACED = 60_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # --no-sandbox: the CI runs as root, where Chromium's own sandbox cannot start.
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        await browser.close()


class Newcomer:
    """Someone at the page, who knows Telegram and nothing of the bot."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"console: {message.text}")
                if message.type == "error"
                else None
            ),
        )

    async def open(self, url: str) -> None:
        await self.page.goto(url)
        await expect(self.page.locator("body.ready")).to_have_count(1)

    async def become(self, name: str) -> None:
        person = self.page.locator(".person").filter(has_text=name)
        await person.click()
        await expect(person).to_have_attribute("aria-current", "true")

    async def open_chat(self, title: str) -> None:
        chat = self.page.locator(".chat-item").filter(has_text=title).first
        await chat.click()
        await expect(self.page.locator("#chat-title")).to_have_text(title)

    def bubble(self, *texts: str) -> Locator:
        """The bot's (or another person's) messages holding every one of `texts`."""
        found = self.page.locator(".message.in")
        for text in texts:
            found = found.filter(has_text=text)
        return found

    async def move_clock(self, button: str) -> None:
        await self.page.get_by_role("button", name=button, exact=True).click()
        # The clock's buttons wait while the bot sends what fell due.
        await expect(self.page.locator("#clock-day")).to_be_enabled(timeout=WAIT)

    async def move_until(self, seen: Locator, button: str, tries: int = 12) -> None:
        """Press a clock button until `seen` shows up (what a newcomer would do)."""
        for _ in range(tries):
            try:
                await expect(seen).not_to_have_count(0, timeout=1_500)
                return
            except AssertionError:
                await self.move_clock(button)
        await expect(seen).not_to_have_count(0)

    def step(self, step_id: str) -> Locator:
        return self.page.locator(f'.step[data-step="{step_id}"]')


async def test_a_newcomer_answers_a_reminder_moves_time_posts_the_digest_and_imports_a_roster(
    browser: Browser, tmp_path: Path
):
    data = tmp_path / "sandbox-data"
    sandbox = await SandboxProcess.start(data, tmp_path)
    page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    person = Newcomer(page)
    try:
        await person.open(sandbox.url)
        await expect(page.locator("#steps-count")).to_have_text("0/6")
        # Another host name for the same address (DNS rebinding): refused.
        async with httpx.AsyncClient() as client:
            for host in ("attacker.example", f"attacker.example:{sandbox.port}"):
                refused = await client.get(f"{sandbox.url}/api/world", headers={"Host": host})
                assert refused.status_code == 403, host

        # As an official: their chat with the bot; a reminder with buttons (or, at night
        # or on a weekend, after moving the clock to the next scheduled message).
        await person.become(OFFICIAL)
        await person.open_chat("Điều phối")
        reminder = person.bubble(REMINDER).filter(has=page.locator(".key"))
        await person.move_until(reminder, "Tin nhắn kế tiếp")
        reminder = reminder.last
        await reminder.get_by_role("button", name="🟠 Có nguy cơ chậm").click()
        await expect(page.locator("#toast")).to_have_text("Đã ghi nhận: 🟠 Có nguy cơ chậm")
        await expect(person.step("answer-reminder")).to_have_class("step done")

        # The bot asks for a note; the composer turns into a reply to that question.
        question = person.bubble("🟠 Có nguy cơ chậm — đã ghi nhận", "ghi chú ngắn")
        await expect(question).to_have_count(1)
        await expect(page.locator("#reply-bar")).to_be_visible()
        await expect(page.locator("#reply-name")).to_have_text("Trả lời Điều phối")
        await expect(page.locator("#input")).to_be_focused()
        # Over 4,096 characters: refused as Telegram would, the reply kept.
        await page.locator("#input").fill("a" * 4097)
        await page.keyboard.press("Enter")
        await expect(page.locator("#composer-error")).to_contain_text("4.096")
        await expect(page.locator("#reply-bar")).to_be_visible()
        await expect(page.locator(".message.out").filter(has_text="a" * 100)).to_have_count(0)
        await page.locator("#input").fill("")
        await page.keyboard.type(NOTE)
        await page.keyboard.press("Enter")
        mine = page.locator(".message.out").filter(has_text=NOTE)
        await expect(mine.locator(".reply-quote-text")).to_contain_text("đã ghi nhận")
        await expect(page.locator("#reply-bar")).to_be_hidden()
        noted = person.bubble("📝 Đã ghi nhận ghi chú cho nhiệm vụ")
        await expect(noted).to_have_count(1, timeout=WAIT)
        await expect(person.step("add-note")).to_have_class("step done")
        await _screenshot(page)

        # Time moves: a day, then the next scheduled message, until the overdue report's
        # nudge arrives.
        nudge = person.bubble("⏰ Quá hạn", OVERDUE)
        await person.move_clock("+1 ngày")
        await person.move_until(nudge, "Tin nhắn kế tiếp")
        await expect(nudge.last.locator(".key")).to_have_count(4)

        # As the secretariat: the digest in the council's group, with the official's report.
        await person.become(OFFICER)
        await person.open_chat(GROUP)
        await page.locator("#input").click()
        await page.keyboard.type("/digest")
        await page.keyboard.press("Enter")
        # The command's own answer; it may come after the weekly digest when the clock
        # passed a Monday morning, and behind what the moves sent to the group (a group
        # takes 20 messages a minute: the bot paces them in real seconds).
        await expect(person.bubble("Đã gửi vào 1 nhóm")).to_have_count(1, timeout=PACED)
        await expect(person.step("post-digest")).to_have_class("step done", timeout=PACED)
        # The official's report and note are in the digest (or in the weekly one before
        # it: a digest lists the reports since the previous one).
        digest = person.bubble("📊 Bản tổng hợp", REMINDER, NOTE)
        await expect(digest).not_to_have_count(0, timeout=PACED)
        await expect(digest.last).to_contain_text("Bộ Tài chính")

        # A roster: the template the command line writes, its two rows made two new people.
        roster = await _roster(tmp_path)
        await person.open_chat("Điều phối")
        await page.locator("#file-input").set_input_files(str(roster))
        await expect(page.locator("#attach-name")).to_contain_text(roster.name)
        await page.locator("#input").fill("/import")
        await page.locator("#send-button").click()
        sent = page.locator(".message.out").last
        await expect(sent.locator(".document-name")).to_have_text(roster.name)
        summary = person.bubble(*NEWCOMERS)
        await expect(summary).to_have_count(1, timeout=WAIT)
        await expect(summary).to_contain_text("2")

        # The desk's button: a new tab, signed in by the launch data the local Telegram
        # signed for the officer, as Telegram signs a Mini App's.
        await page.locator("#input").fill("/desk")
        await page.keyboard.press("Enter")
        opener = person.bubble("/auth/link/").last.get_by_role("button", name="🗂 Mở trang làm việc")
        async with page.context.expect_page() as opening:
            await opener.click()
        desk = await opening.value
        try:
            await expect(desk.locator("h1")).to_have_text("Tổng quan", timeout=WAIT)
            await expect(desk.locator("nav")).to_contain_text("Thông báo")
        finally:
            await desk.close()

        await expect(page.locator("#steps-count")).to_have_text("3/6")
        for step in ("answer-reminder", "add-note", "post-digest"):
            await expect(person.step(step)).to_have_class("step done")
        for step in ("create-task", "announce", "summary"):
            await expect(person.step(step)).to_have_class("step")
    finally:
        await page.close()
        code, err = await sandbox.stop(signal.SIGINT)
    assert code == 0, err
    assert person.problems == []

    # Started again on the same data, as a training goes on the next day.
    sandbox = await SandboxProcess.start(data, tmp_path)
    page = await browser.new_page(viewport={"width": 1440, "height": 900}, locale="vi-VN")
    person = Newcomer(page)
    try:
        await person.open(sandbox.url)
        await person.become(OFFICIAL)
        await person.open_chat("Điều phối")
        await expect(page.locator(".message.out").filter(has_text=NOTE)).to_have_count(1)
        question = person.bubble("🟠 Có nguy cơ chậm — đã ghi nhận", "ghi chú ngắn")
        await expect(question).to_have_count(1)
        await expect(page.locator("#steps-count")).to_have_text("3/6")
    finally:
        await page.close()
        code, err = await sandbox.stop(signal.SIGINT)
    assert code == 0, err
    assert person.problems == []


async def _roster(folder: Path) -> Path:
    path = folder / "danh-sach-thanh-vien.xlsx"
    result = await run_cli("members", "template", "-o", str(path), env=cli_env(folder), cwd=folder)
    assert result.code == 0, result.err
    workbook = load_workbook(io.BytesIO(path.read_bytes()))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    name = header.index("Họ và tên") + 1
    for row, newcomer in zip((2, 3), NEWCOMERS, strict=True):
        sheet.cell(row=row, column=name, value=newcomer)
    workbook.save(path)
    return path


async def _screenshot(page: Page) -> None:
    """The picture the README shows: an official's chat after answering a reminder with
    a button and a note, the guided steps ticked."""
    await page.mouse.move(700, 40)
    await page.locator("#toast").evaluate("node => node.classList.add('hidden')")
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.locator("#messages").evaluate("box => { box.scrollTop = box.scrollHeight; }")
    await page.wait_for_timeout(200)
    # Written whole then renamed: the SQLite and PostgreSQL runs of the suite go side by side.
    target = ROOT / "docs" / "sandbox.png"
    part = target.with_name(f".sandbox.{os.getpid()}.png")
    part.write_bytes(await page.screenshot())
    os.replace(part, target)
