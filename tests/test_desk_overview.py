"""The overview's twelve-week on-time trend and each council's reachability: the rule
(bot/services/completion.py `weekly`) and the page that shows it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Settings
from bot.services.completion import weekly, weeks_window
from bot.worktime import WorkCalendar, load_adjustments
from tests.desk import Browser, council_at_work, desk_settings, init_data
from tests.people import enrol
from tests.rosters import person
from tests.test_worktime import SHIPPED_CSV

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _calendar() -> WorkCalendar:
    return WorkCalendar(TZ, load_adjustments(SHIPPED_CSV))


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)


def test_each_part_counts_in_the_week_its_deadline_ended_in_its_class_now():
    now = _at(date(2026, 12, 3))  # Thursday
    calendar = _calendar()
    parts = [
        (date(2026, 11, 25), _at(date(2026, 11, 25), 16)),  # on time (the last day)
        (date(2026, 11, 25), _at(date(2026, 11, 26))),  # late
        (date(2026, 11, 27), None),  # overdue
        (date(2026, 12, 2), None),  # overdue, this week
        (date(2026, 12, 4), None),  # within its deadline: not counted yet
        (date(2026, 12, 4), _at(date(2026, 12, 1))),  # done early: on time, this week
        (date(2026, 8, 3), _at(date(2026, 8, 1))),  # before the twelve weeks
    ]
    weeks = weekly(parts, now, calendar)
    assert len(weeks) == 12
    assert weeks[-1].monday == date(2026, 11, 30) and weeks[0].monday == date(2026, 9, 14)
    last_week, this_week = weeks[-2], weeks[-1]
    assert (last_week.on_time, last_week.late, last_week.not_done) == (1, 1, 1)
    assert last_week.on_time_percent == 33
    assert (this_week.on_time, this_week.late, this_week.not_done) == (1, 0, 1)
    assert all(week.due == 0 and week.on_time_percent is None for week in weeks[:-2])


def test_a_deadline_moved_by_tet_counts_in_the_week_it_really_ended():
    calendar = _calendar()
    now = _at(date(2026, 3, 2))
    # Due on Tết Monday 16/02/2026: the deadline runs to the first working day after Tết.
    last_day = calendar.deadline_end(date(2026, 2, 16))
    assert last_day > date(2026, 2, 22)
    weeks = weekly([(date(2026, 2, 16), None)], now, calendar)
    [week] = [w for w in weeks if w.due]
    assert week.monday == last_day - timedelta(days=last_day.weekday())
    # The window read from the database reaches far enough back for such a shift.
    first, last = weeks_window(now, calendar)
    assert first <= weeks[0].monday - timedelta(days=14) and last == date(2026, 3, 2)


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    yield one
    await one.close()


async def test_the_overview_shows_the_trend_and_who_can_be_reached(bot, admin, browser):
    _an, binh = await council_at_work(bot, admin)  # #1 due 25/11: BTC on time, HN not done
    await enrol(bot, person("DBSH", "Lê Văn Cường", "BCT"))  # never opens the invitation
    bot.api.block(binh)
    await bot.settle()
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    status, page, _ = await browser.get("/")
    assert status == 200
    assert "Tỷ lệ hoàn thành đúng hạn, 12 tuần gần nhất" in page
    rows = re.findall(r'<tr><th scope="row">(\d\d/\d\d/\d{4})</th>(.*?)</tr>', page)
    assert len(rows) == 12
    week = dict(rows)["23/11/2026"]
    assert re.findall(r"<td>([^<]*)</td>", week) == ["2", "1", "0", "1", "50%"]
    assert page.count('class="bar-on-time"') == 12  # one bar a week, no inline style
    assert "style=" not in page
    reach = page[page.index('<ul class="reach">') :]
    assert re.search(r"Có thể liên lạc: <strong>1</strong>", reach)
    assert re.search(r"Chưa bấm Bắt đầu: <strong>1</strong>", reach)
    assert re.search(r"Đã chặn bot: <strong>1</strong>", reach)
