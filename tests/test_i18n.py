"""Catalogs and Babel formatting (vi first, en second)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.formats import format_day, format_weekly, weekday_name
from bot.i18n import (
    LOCALE_DIR,
    CatalogMissingError,
    _catalog,
    format_days_left,
    format_moment,
    format_time_left,
    pick_locale,
    use_locale,
)
from bot.i18n_check import code_msgids, problems
from tests.chat import HANOI


def test_every_text_in_the_code_has_a_vietnamese_translation():
    assert len(code_msgids()) > 50
    assert problems("vi") == []


def test_a_fresh_clone_needs_no_compile_step(tmp_path):
    # Only the .po files are in the repository; the .mo is built in memory.
    for locale in ("vi", "en"):
        target = tmp_path / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", target)
    vi = _catalog("vi", tmp_path)
    assert vi.gettext("Language set to English.") == "Đã chuyển sang tiếng Việt."
    assert _catalog("en", tmp_path).gettext("Councils:") == "Councils:"
    assert not list(tmp_path.rglob("*.mo"))


def test_a_missing_catalog_is_an_error_not_silent_english(tmp_path):
    with pytest.raises(CatalogMissingError):
        _catalog("vi", tmp_path)


def test_dates_and_times_in_hanoi_time_in_both_languages():
    moment = datetime(2023, 10, 2, 2, 0, tzinfo=UTC)  # 09:00 in Hanoi
    assert format_moment(moment, HANOI, "vi") == "09:00, thứ Hai, ngày 02/10/2023"
    assert format_moment(moment, HANOI, "en") == "Monday 2 October 2023, 09:00"
    # 23:30 UTC is already the next day in Hanoi.
    late = datetime(2023, 10, 1, 23, 30, tzinfo=UTC)
    assert format_moment(late, HANOI, "vi") == "06:30, thứ Hai, ngày 02/10/2023"


def test_time_left_is_counted_the_way_officials_count():
    assert format_time_left(timedelta(days=14), "vi") == "còn 14 ngày"  # days, not "2 tuần"
    assert format_time_left(timedelta(hours=2), "vi") == "còn 2 giờ"
    assert format_time_left(timedelta(days=3), "en") == "3 days left"
    assert format_time_left(timedelta(seconds=-5), "en") == "now"
    with use_locale("vi"):
        assert format_days_left(3) == "còn 3 ngày"
        assert format_days_left(0) == "hôm nay"
        assert format_days_left(-2) == "quá hạn 2 ngày"


@pytest.mark.parametrize(
    ("chosen", "roster", "telegram", "expected"),
    [
        (None, None, "en-US", "en"),
        (None, None, "vi", "vi"),
        (None, None, "fr", "vi"),
        (None, None, None, "vi"),
        (None, "en", "vi", "en"),
        ("vi", "en", "en-GB", "vi"),
    ],
)
def test_language_choice_order(chosen, roster, telegram, expected):
    assert pick_locale(chosen, roster, telegram, "vi") == expected


def test_days_are_written_as_officials_write_them():
    thursday = date(2026, 12, 3)
    assert format_day(thursday, HANOI, "vi") == "thứ Năm, ngày 03/12/2026"
    assert format_day(thursday, HANOI, "vi", weekday=False) == "ngày 03/12/2026"
    assert format_day(thursday, HANOI, "en") == "Thursday 3 December 2026"
    assert format_day(thursday, HANOI, "en", weekday=False) == "3 December 2026"
    # A moment is shown on the day it is in Hanoi.
    assert format_day(datetime(2026, 12, 2, 18, 0, tzinfo=UTC), HANOI, "vi").endswith("03/12/2026")


def test_weekdays_are_lower_case_thu_and_chu_nhat():
    week = [date(2026, 11, 30) + timedelta(days=n) for n in range(7)]  # Monday to Sunday
    assert [weekday_name(d, "vi") for d in week] == [
        "thứ Hai",
        "thứ Ba",
        "thứ Tư",
        "thứ Năm",
        "thứ Sáu",
        "thứ Bảy",
        "Chủ nhật",
    ]
    assert weekday_name(week[6], "en") == "Sunday"


def test_a_moment_in_english_keeps_an_english_style():
    sunday = datetime(2026, 12, 6, 1, 30, tzinfo=UTC)
    assert format_moment(sunday, HANOI, "vi") == "08:30, Chủ nhật, ngày 06/12/2026"
    assert format_moment(sunday, HANOI, "en") == "Sunday 6 December 2026, 08:30"


def test_a_weekly_moment_is_written_as_officials_write_it():
    assert format_weekly(4, time(16, 0), "vi") == "16:00 thứ Sáu hằng tuần"
    assert format_weekly(6, time(8, 30), "vi") == "08:30 Chủ nhật hằng tuần"
    assert format_weekly(4, time(16, 0), "en") == "every Friday at 16:00"
