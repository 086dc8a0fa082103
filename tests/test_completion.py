"""How the government counts completion (bot/services/completion.py), as pure functions
over the working calendar."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import use_locale
from bot.services.completion import Completion, as_of, classify, count_by_agency
from bot.worktime import WorkCalendar, load_adjustments
from tests.chat import HANOI, local
from tests.test_worktime import SHIPPED_CSV

CALENDAR = WorkCalendar(HANOI, load_adjustments(SHIPPED_CSV))
SATURDAY = date(2026, 12, 5)  # the deadline ends on Monday 07/12


@pytest.mark.parametrize(
    ("done_at", "now", "expected"),
    [
        (None, local(2026, 12, 7, 16, 59), Completion.IN_PROGRESS),
        (None, local(2026, 12, 7, 23, 59), Completion.IN_PROGRESS),  # all of Monday
        (None, local(2026, 12, 8, 0, 0), Completion.OVERDUE),
        (local(2026, 12, 4, 10), local(2026, 12, 20), Completion.DONE_ON_TIME),
        (local(2026, 12, 7, 21, 30), local(2026, 12, 20), Completion.DONE_ON_TIME),
        (local(2026, 12, 8, 8, 0), local(2026, 12, 20), Completion.DONE_LATE),
    ],
)
def test_a_saturday_deadline_is_met_by_the_end_of_monday(done_at, now, expected):
    assert classify(SATURDAY, done_at, now, CALENDAR) is expected


def test_a_working_day_deadline_is_late_the_day_after():
    friday = date(2026, 12, 4)
    assert classify(friday, None, local(2026, 12, 4, 23), CALENDAR) is Completion.IN_PROGRESS
    assert classify(friday, None, local(2026, 12, 5, 9), CALENDAR) is Completion.OVERDUE
    late = classify(friday, local(2026, 12, 5, 9), local(2026, 12, 9), CALENDAR)
    assert late is Completion.DONE_LATE


def test_the_classes_are_named_as_the_government_names_them():
    with use_locale("vi"):
        assert [c.label() for c in Completion] == [
            "hoàn thành đúng hạn",
            "hoàn thành quá hạn",
            "đang thực hiện trong hạn",
            "quá hạn chưa hoàn thành",
        ]
        assert as_of(local(2026, 12, 3, 9), HANOI).startswith("tính đến ")
    with use_locale("en"):
        assert Completion.OVERDUE.label() == "overdue, not done"
        assert as_of(local(2026, 12, 3, 9), HANOI).startswith("as of ")


def test_parts_are_counted_per_agency_in_the_four_classes():
    now = local(2026, 12, 9, 9)
    parts = [
        (1, SATURDAY, local(2026, 12, 7, 10)),  # on time
        (1, SATURDAY, None),  # overdue
        (2, SATURDAY, local(2026, 12, 8, 10)),  # late
        (2, date(2026, 12, 31), None),  # in progress
    ]
    counts = count_by_agency(parts, now, CALENDAR)
    assert counts[1] == {Completion.DONE_ON_TIME: 1, Completion.OVERDUE: 1}
    assert counts[2] == {Completion.DONE_LATE: 1, Completion.IN_PROGRESS: 1}
