"""The desk's task pages: the admins' list with its filters, and a task's page with each
agency's history and reminders; a member sees their own agency's part only, and any other
task is not found."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from tests.chat import local
from tests.desk import Browser, council_at_work, desk_settings, init_data


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    yield one
    await one.close()


async def _signed_in(bot, user) -> Browser:
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(user, bot.api.token, bot.clock.now()))
    assert status == 200
    return one


def _ids(page: str) -> list[str]:
    import re

    return re.findall(r'class="task-id" href="/tasks/(\d+)"', page)


async def test_the_task_list_filters_by_council_agency_class_and_period(bot, admin, browser):
    await council_at_work(bot, admin)
    await bot.say(admin, "/newtask TN BXD Q1/2027 | Báo cáo quý I | period=Q1/2027")
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    status, page, _ = await browser.get("/tasks")
    assert status == 200
    assert _ids(page) == ["1", "2", "3", "4"]
    assert _ids((await browser.get("/tasks?council=tn"))[1]) == ["4"]
    assert _ids((await browser.get("/tasks?agency=HN"))[1]) == ["1", "3"]
    assert _ids((await browser.get("/tasks?class=overdue"))[1]) == ["1"]
    assert _ids((await browser.get("/tasks?class=done_on_time"))[1]) == ["1"]
    assert _ids((await browser.get("/tasks?agency=BTC&class=overdue"))[1]) == []
    assert _ids((await browser.get("/tasks?period=Q1/2027"))[1]) == ["4"]
    assert "quý I/2027" in page  # the period as officials write it
    # Labelled fields, the chosen filter kept.
    page = (await browser.get("/tasks?agency=HN"))[1]
    for field in ("council", "agency", "class", "period"):
        assert f'<label for="f-{field}">' in page and f'id="f-{field}"' in page
    assert '<option value="HN" selected>' in page


async def test_a_class_that_does_not_exist_is_a_bad_request(bot, admin, browser):
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    status, page, _ = await browser.get("/tasks?class=<b>late</b>")
    assert status == 400
    assert "&lt;b&gt;late&lt;/b&gt;" in page and "<b>late" not in page


async def test_a_member_cannot_list_tasks(bot, admin):
    an, _ = await council_at_work(bot, admin)
    member = await _signed_in(bot, an)
    try:
        status, page, _ = await member.get("/tasks")
    finally:
        await member.close()
    assert status == 403
    assert "Kế hoạch năm" not in page


async def test_a_task_page_shows_each_agency_s_history_and_reminders(bot, admin, browser):
    await council_at_work(bot, admin)
    await bot.advance_to(local(2026, 11, 26, 9, 30))  # the planner and sender catch up
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    status, page, _ = await browser.get("/tasks/1")
    assert status == 200
    assert "Bộ Tài chính (BTC)" in page and "(HN)</h2>" in page
    assert 'c-done_on_time">hoàn thành đúng hạn<' in page
    assert 'c-overdue">quá hạn chưa hoàn thành<' in page
    assert "Nguyễn Văn An:" in page and "✅ Hoàn thành" in page
    assert "Đã gửi &lt;img src=x onerror=alert(1)&gt; bản cứng" in page  # the note, literally
    assert "<img" not in page
    reminders = page[page.index("<h2>Lời nhắc</h2>") :]
    assert "Trần Thị Bình" in reminders and "Nguyễn Văn An" in reminders
    assert "đã gửi" in reminders  # each with its state


async def test_a_member_sees_only_their_agency_s_part_and_nothing_else(bot, admin):
    an, _ = await council_at_work(bot, admin)
    await bot.advance_to(local(2026, 11, 26, 9, 30))
    await bot.say(admin, "/newtask TN BTC 31/12/2026 | Việc của Hội đồng Tây Nguyên")  # #4
    member = await _signed_in(bot, an)
    try:
        status, page, _ = await member.get("/tasks/1")
        assert status == 200
        assert "(BTC)</h2>" in page and "(HN)</h2>" not in page
        assert "Trần Thị Bình" not in page  # neither HN's history nor its reminders
        for other in ("3", "4", "999", "99999999999"):  # HN's, another council's, none
            status, page, _ = await member.get(f"/tasks/{other}")
            assert status == 404, other
            assert "Việc riêng" not in page and "Tây Nguyên" not in page
        assert (await member.get("/tasks/abc"))[0] == 404
    finally:
        await member.close()
