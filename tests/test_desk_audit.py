"""The desk's audit log: newest first, by person, action and days (the councils' time
zone, both ends included), a hundred a page, details shown literally; bad dates refused
with a message; admins only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot import callbacks
from bot.callbacks import TaskPress, TaskStatus
from bot.config import Settings
from bot.db import transaction
from bot.services import audit
from tests.chat import press
from tests.desk import HOSTILE, Browser, desk_settings, init_data
from tests.people import registered

MARK = re.compile(r"mark-(\d+)")


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot, admin) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    assert status == 200
    yield one
    await one.close()


async def _record(bot, *rows: tuple[datetime, str, str, int]) -> None:
    """Audit records (moment, actor, action, mark) as the services write them."""
    async with transaction(bot.sessions) as session:
        for at, actor, action, mark in rows:
            audit.record(session, at, actor, action, mark=f"mark-{mark}", title=HOSTILE)


def _marks(page: str) -> list[int]:
    return [int(found) for found in MARK.findall(page)]


def _table(page: str) -> str:
    """The records shown (not the filter form's choices)."""
    return page.split("<tbody>", 1)[1] if "<tbody>" in page else ""


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _people_at_work(bot, admin):
    """An (BTC) reports on a task the admin created in the chat: two people, two actions."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC 31/12/2026 | Kế hoạch năm 2027")
    [card, *_] = [m for m in await bot.say_all(an, "/status") if m.get("reply_markup")]
    await press(bot, an, card, callbacks.encode(TaskPress(1, TaskStatus.ON_TRACK)))
    return an


async def test_the_log_shows_the_newest_first_with_names_labels_and_details_literally(
    bot, admin, browser
):
    an = await _people_at_work(bot, admin)
    await _record(
        bot,
        (_utc(2026, 12, 1, 3), "cli", "seed.custom", 1),
        (_utc(2026, 12, 2, 3), f"tg:{an.id}", "task.note", 2),
        (_utc(2026, 12, 1, 9), "tg:999", "meeting.create", 3),
    )
    status, page, _ = await browser.get("/audit")
    assert status == 200
    assert _marks(page) == [2, 3, 1]  # newest first, the chat's records (23/11) after
    assert "<script>alert" not in page
    assert "Báo cáo &lt;b&gt;tháng&lt;/b&gt; &lt;script&gt;alert(&#34;x&#34;)" in page
    rows = _table(page).split("<tr>")
    [note] = [row for row in rows if "mark-2" in row]
    assert "Nguyễn Văn An (BTC)" in note and "Ghi chú về nhiệm vụ" in note
    [seeded] = [row for row in rows if "mark-1" in row]
    assert "dòng lệnh" in seeded and "seed.custom" in seeded  # no label: the raw name
    [unknown] = [row for row in rows if "mark-3" in row]
    assert "tg:999" in unknown and "Lên lịch cuộc họp" in unknown
    [created] = [row for row in rows if "Giao nhiệm vụ" in row]
    assert "<code>task_id</code>: 1<" in created and "<td>Thư ký</td>" in created
    assert "Báo cáo tình hình nhiệm vụ" in _table(page)
    # The filter form: people and actions found in the log, dates as calendars.
    assert f'<option value="tg:{an.id}">Nguyễn Văn An (BTC)</option>' in page
    assert '<option value="task.create">Giao nhiệm vụ</option>' in page
    assert '<input id="f-from" name="from" type="date"' in page
    assert '<label for="f-to">' in page


async def test_filters_by_person_action_and_days_return_the_right_records(bot, admin, browser):
    an = await _people_at_work(bot, admin)
    # Around 01/12 and 02/12 in Vietnam (UTC+7): 17:00 UTC is the next day's midnight.
    await _record(
        bot,
        (_utc(2026, 11, 30, 16, 59), "cli", "seed.custom", 1),  # 30/11 23:59
        (_utc(2026, 11, 30, 17, 0), "cli", "seed.custom", 2),  # 01/12 00:00
        (_utc(2026, 12, 1, 8), f"tg:{an.id}", "task.note", 3),  # 01/12 15:00
        (_utc(2026, 12, 2, 16, 59), "cli", "task.note", 4),  # 02/12 23:59
        (_utc(2026, 12, 2, 17, 0), f"tg:{an.id}", "seed.custom", 5),  # 03/12 00:00
    )

    async def marks(query: str) -> list[int]:
        status, page, _ = await browser.get("/audit?" + query)
        assert status == 200, page
        return _marks(page)

    assert await marks("from=2026-12-01&to=2026-12-02") == [4, 3, 2]
    assert await marks("from=2026-12-01") == [5, 4, 3, 2]
    assert await marks("to=2026-11-30") == [1]
    assert await marks("from=2026-12-02&to=2026-12-02") == [4]
    assert await marks(f"actor=tg:{an.id}") == [5, 3]
    assert await marks("action=task.note") == [4, 3]
    assert await marks(f"action=task.note&actor=tg:{an.id}&from=2026-12-02") == []
    assert await marks("action=seed.custom&actor=cli&to=2026-12-01") == [2, 1]

    # The person's and action's own records from the chat are found the same way.
    status, page, _ = await browser.get(f"/audit?actor=tg:{admin.id}")
    assert status == 200
    shown = _table(page)
    assert "Giao nhiệm vụ" in shown and "Báo cáo tình hình nhiệm vụ" not in shown
    assert f'<option value="tg:{admin.id}" selected>' in page
    status, page, _ = await browser.get("/audit?action=task.report")
    assert status == 200
    assert "Nguyễn Văn An (BTC)" in _table(page) and _marks(page) == []
    assert '<option value="task.report" selected>' in page


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("from=2026-13-01", "Từ ngày: 2026-13-01 không phải là ngày hợp lệ"),
        ("to=h%C3%B4m+qua", "Đến ngày: hôm qua không phải là ngày hợp lệ"),
        ("from=2026-12-02&to=2026-12-01", "Ngày bắt đầu sau ngày kết thúc."),
        ("page=0", "Không có trang 0."),
        ("page=x", "Không có trang x."),
    ],
    ids=["month-13", "words", "reversed", "page-0", "page-word"],
)
async def test_bad_dates_and_pages_are_refused_with_a_message(bot, admin, browser, query, said):
    await _record(bot, (_utc(2026, 12, 1, 3), "cli", "seed.custom", 1))
    status, page, _ = await browser.get("/audit?" + query)
    assert status == 400
    [alert] = re.findall(r'<p class="alert" role="alert" id="form-error">([^<]*)</p>', page)
    assert said in alert
    assert _marks(page) == []  # no records under filters that mean nothing
    assert '<form method="get" action="/audit"' in page  # the filters, to correct them


async def test_a_hundred_records_a_page_with_a_link_to_older_ones(bot, admin, browser):
    start = _utc(2026, 12, 1, 1)
    await _record(
        bot, *((start + timedelta(minutes=n), "cli", "seed.custom", n) for n in range(230))
    )
    status, page, _ = await browser.get("/audit?action=seed.custom&from=2026-12-01")
    assert status == 200
    assert _marks(page) == list(range(229, 129, -1))
    [older] = re.findall(r'<a href="([^"]+)" id="older">', page)
    assert older == "/audit?action=seed.custom&amp;from=2026-12-01&amp;page=2"
    page = (await browser.get(older.replace("&amp;", "&")))[1]
    assert _marks(page) == list(range(129, 29, -1))
    page = (await browser.get("/audit?action=seed.custom&from=2026-12-01&page=3"))[1]
    assert _marks(page) == list(range(29, -1, -1))
    assert 'id="older"' not in page
    page = (await browser.get("/audit?action=seed.custom&page=4"))[1]
    assert _marks(page) == [] and "Không có bản ghi nào phù hợp" in page


async def test_members_may_not_read_the_audit_log(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _record(bot, (_utc(2026, 12, 1, 3), "cli", "seed.custom", 1))
    member = Browser(bot.settings.web_url)
    try:
        await member.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
        status, page, _ = await member.get("/audit")
        assert status == 403 and "mark-1" not in page
        status, page, _ = await member.get("/audit?from=bad")
        assert status == 403
    finally:
        await member.close()
