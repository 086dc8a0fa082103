"""Why a day is off, in the reader's language (bot/days_off.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.days_off import day_off_cause
from bot.i18n import use_locale
from bot.worktime import WorkCalendar, load_adjustments
from tests.chat import HANOI
from tests.test_worktime import SHIPPED_CSV

CALENDAR = WorkCalendar(HANOI, load_adjustments(SHIPPED_CSV))


@pytest.mark.parametrize(
    ("day", "vi", "en"),
    [
        (date(2026, 2, 14), "Tết Nguyên đán", "Lunar New Year (Tết)"),  # a Saturday of the break
        (date(2026, 2, 17), "Tết Nguyên đán", "Lunar New Year (Tết)"),
        (date(2026, 1, 2), "Tết Dương lịch", "New Year's Day"),  # the swapped Friday
        (date(2026, 4, 27), "Giỗ Tổ Hùng Vương", "Hùng Kings' Commemoration Day"),
        (date(2025, 5, 2), "Ngày Quốc tế Lao động 01/5", "International Labour Day (1 May)"),
        (date(2026, 3, 7), "nghỉ cuối tuần", "weekend"),
    ],
)
def test_a_day_off_is_named_after_its_break(day, vi, en):
    with use_locale("vi"):
        assert day_off_cause(CALENDAR, day) == vi
    with use_locale("en"):
        assert day_off_cause(CALENDAR, day) == en


def test_a_working_day_has_no_cause():
    assert day_off_cause(CALENDAR, date(2026, 1, 10)) is None  # the make-up Saturday
    assert day_off_cause(CALENDAR, date(2026, 3, 5)) is None
