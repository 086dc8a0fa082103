"""The desk's first pages: the admins' overview and a member's own page, each showing only
what the person may see, with data shown literally (never as markup)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from tests.desk import Browser, council_at_work, desk_settings, init_data
from tests.people import registered


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    yield one
    await one.close()


def _row(page: str, task_id: int) -> str:
    [row] = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if f">#{task_id}</a>" in r]
    return row


def _classes(row: str) -> list[str]:
    """The matrix's cells of a row: each agency's class, "none" where not assigned."""
    return [found or "none" for found in re.findall(r'<td(?: class="m c-([a-z_]+)")?>', row)]


async def test_the_overview_shows_each_agency_s_class_in_colour_and_words(bot, admin, browser):
    await council_at_work(bot, admin)
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    status, page, _ = await browser.get("/")
    assert status == 200
    dbsh = page[page.index("DBSH —") :]
    dbsh = dbsh[: dbsh.index("</section>")]
    # Columns BTC, HN; each cell a class by colour and by its words.
    assert re.findall(r"<abbr [^>]*>([A-Z]+)</abbr>", dbsh) == ["BTC", "HN"]
    assert _classes(_row(dbsh, 1)) == ["done_on_time", "overdue"]
    # A cell: the class's colour, its sign, its words on hover; the legend pairs them.
    assert '<abbr title="hoàn thành đúng hạn">✓</abbr>' in _row(dbsh, 1)
    assert '<abbr title="quá hạn chưa hoàn thành">✗</abbr>' in _row(dbsh, 1)
    legend = page[page.index('class="legend"') : page.index("</p>", page.index('class="legend"'))]
    for sign, words in (("✓", "hoàn thành đúng hạn"), ("✗", "quá hạn chưa hoàn thành")):
        assert re.search(f">{sign}</abbr></span> <span class=\"c c-[a-z_]+\">{words}<", legend)
    assert _classes(_row(dbsh, 2)) == ["in_progress", "none"]
    assert _classes(_row(dbsh, 3)) == ["none", "in_progress"]
    assert "ngày 25/11/2026" in _row(dbsh, 1)  # dates as officials write them
    overdue = re.search(r"<tfoot>.*?</tfoot>", dbsh, re.S).group(0)
    assert re.findall(r"<td[^>]*>(\d+)</td>", overdue) == ["0", "1"]
    # The meeting, with its answers.
    assert "Góp ý &lt;i&gt;quy hoạch&lt;/i&gt; vùng" in dbsh
    assert "✅ Tham dự: 1 · ❌ Vắng mặt: 0" in dbsh
    # Other councils are there, without tasks.
    assert "TN —" in page and "Không có nhiệm vụ nào chưa hoàn thành." in page


async def test_html_in_a_task_title_is_shown_literally(bot, admin, browser):
    an, _ = await council_at_work(bot, admin)
    literal = (
        "Báo cáo &lt;b&gt;tháng&lt;/b&gt; &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; "
        "&amp; &#34;trích&#34;"
    )
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    page = (await browser.get("/"))[1]
    assert literal in page
    assert "<script>alert" not in page and "<b>tháng" not in page
    member = Browser(browser.base)
    try:
        await member.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
        page = (await member.get("/my"))[1]
    finally:
        await member.close()
    assert "<script>alert" not in page and "<b>tháng" not in page


async def test_a_member_sees_their_agency_s_tasks_and_their_meetings(bot, admin, browser):
    an, binh = await council_at_work(bot, admin)
    await browser.sign_in_with_telegram(init_data(binh, bot.api.token, bot.clock.now()))
    status, page, _ = await browser.get("/my")
    assert status == 200
    tasks, meetings = _tasks_and_meetings(page)
    assert ">#1</a>" in tasks and ">#3</a>" in tasks
    assert ">#2</a>" not in tasks  # BTC's alone
    assert 'c-overdue">quá hạn chưa hoàn thành<' in tasks
    assert "Góp ý &lt;i&gt;quy hoạch&lt;/i&gt; vùng" in meetings
    assert "chưa trả lời" in meetings  # Bình has not answered
    other = Browser(browser.base)
    try:
        await other.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
        page = (await other.get("/my"))[1]
    finally:
        await other.close()
    tasks, meetings = _tasks_and_meetings(page)
    assert ">#2</a>" in tasks
    assert ">#1</a>" not in tasks  # BTC reported it done: nothing left to do
    assert ">#3</a>" not in tasks  # Hà Nội's alone
    assert "✅ Tham dự" in meetings  # An's answer


def _tasks_and_meetings(page: str) -> tuple[str, str]:
    heading = "Các cuộc họp sắp tới"
    return page[: page.index(heading)], page[page.index(heading) :]


async def test_a_member_on_an_admin_page_is_refused(bot, admin, browser):
    an, _ = await council_at_work(bot, admin)
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    status, page, _ = await browser.get("/")
    assert status == 403
    assert "Báo cáo" not in page and "Kế hoạch năm" not in page
    assert 'href="/my"' in page  # the way to their own page


async def test_an_admin_without_a_seat_has_no_page_of_their_own(bot, admin, browser):
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    assert (await browser.get("/my"))[0] == 403


async def test_pages_speak_the_reader_s_language(bot, admin, browser):
    await bot.say(admin, "/lang en")
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    page = (await browser.get("/"))[1]
    assert '<html lang="en">' in page and "Overview" in page and "Sign out" in page
    await bot.say(admin, "/lang vi")
    page = (await browser.get("/"))[1]  # read again at every request
    assert '<html lang="vi">' in page and "Tổng quan" in page and "Đăng xuất" in page


async def test_pages_follow_the_telegram_app_s_language_like_the_chat(bot, browser):
    lan = await registered(bot, "Phạm Thị Lan", "DBSH", "BTC", language_code="en")
    await browser.sign_in_with_telegram(init_data(lan, bot.api.token, bot.clock.now()))
    page = (await browser.get("/my"))[1]
    assert '<html lang="en">' in page and "My tasks and meetings" in page
