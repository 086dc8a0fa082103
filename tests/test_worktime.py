"""Vietnamese working time: weekends, public holidays, announced swaps, office hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.worktime import ANNOUNCED_DAY_OFF, DayAdjustments, WorkCalendar, load_adjustments
from tests.chat import HANOI

SHIPPED_CSV = Path(__file__).resolve().parent.parent / "bot" / "data" / "workdays.csv"
CAL = WorkCalendar(HANOI)


def hanoi(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HANOI)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def test_weekdays_work_weekends_do_not() -> None:
    week = days(date(2024, 3, 11), date(2024, 3, 17))  # Monday to Sunday
    assert [CAL.is_working_day(d) for d in week] == [True] * 5 + [False] * 2


def test_tet_2024() -> None:
    # Giáp Thìn: the package gives 29 Tết (Thu 8 Feb) to mùng 5 (Wed 14 Feb).
    assert CAL.is_working_day(date(2024, 2, 7))
    assert not any(CAL.is_working_day(d) for d in days(date(2024, 2, 8), date(2024, 2, 14)))
    assert CAL.is_working_day(date(2024, 2, 15))
    assert CAL.holiday_name(date(2024, 2, 10)) == "Lunar New Year"
    assert CAL.holiday_name(date(2024, 2, 9)) == "Lunar New Year's Eve"


def test_tet_2026() -> None:
    # Bính Ngọ: Mon 16 Feb (giao thừa) to Fri 20 Feb, so 14-22 Feb with the weekends.
    assert CAL.is_working_day(date(2026, 2, 13))
    assert not any(CAL.is_working_day(d) for d in days(date(2026, 2, 14), date(2026, 2, 22)))
    assert CAL.is_working_day(date(2026, 2, 23))
    assert CAL.holiday_name(date(2026, 2, 17)) == "Lunar New Year"


def test_reunification_and_labour_day() -> None:
    assert CAL.holiday_name(date(2025, 4, 30)) == "Liberation Day/Reunification Day"
    assert CAL.holiday_name(date(2025, 5, 1)) == "International Labor Day"
    assert not CAL.is_working_day(date(2025, 4, 30))
    assert not CAL.is_working_day(date(2025, 5, 1))


def test_national_day_is_two_days() -> None:
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert not CAL.is_working_day(date(2025, 9, 2))
    assert CAL.is_working_day(date(2025, 9, 3))
    assert CAL.holiday_name(date(2025, 9, 2)) == "National Day"


def test_holiday_on_a_weekend_gives_a_day_off_after_it() -> None:
    # 1 Jan 2023 was a Sunday; Monday 2 Jan was off in lieu.
    assert CAL.holiday_name(date(2023, 1, 2)) == "New Year's Day (observed)"
    assert not CAL.is_working_day(date(2023, 1, 2))
    assert CAL.holiday_name(date(2023, 1, 3)) is None


def test_2025_swap_is_known_with_and_without_the_csv() -> None:
    shipped = WorkCalendar(HANOI, load_adjustments(SHIPPED_CSV))
    for calendar in (CAL, shipped):
        assert not calendar.is_working_day(date(2025, 5, 2))  # Friday off
        assert calendar.is_working_day(date(2025, 4, 26))  # Saturday made up


def test_adjustments_file_wins() -> None:
    # A hypothetical announcement: Friday 5 March 2027 off, made up on Saturday 6 March.
    adjusted = WorkCalendar(
        HANOI,
        DayAdjustments(
            days_off=frozenset({date(2027, 3, 5)}), working_days=frozenset({date(2027, 3, 6)})
        ),
    )
    assert CAL.is_working_day(date(2027, 3, 5))
    assert not CAL.is_working_day(date(2027, 3, 6))
    assert not adjusted.is_working_day(date(2027, 3, 5))
    assert adjusted.is_working_day(date(2027, 3, 6))
    assert adjusted.holiday_name(date(2027, 3, 5)) == ANNOUNCED_DAY_OFF
    assert adjusted.next_working_moment(hanoi(2027, 3, 4, 17)) == hanoi(2027, 3, 6, 8)


def test_adjustments_cannot_say_both() -> None:
    with pytest.raises(ValueError, match="2027-03-05"):
        DayAdjustments(frozenset({date(2027, 3, 5)}), frozenset({date(2027, 3, 5)}))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (hanoi(2024, 3, 12, 7, 59), hanoi(2024, 3, 12, 8)),
        (hanoi(2024, 3, 12, 8), hanoi(2024, 3, 12, 8)),
        (hanoi(2024, 3, 12, 16, 59), hanoi(2024, 3, 12, 16, 59)),
        (hanoi(2024, 3, 12, 17), hanoi(2024, 3, 13, 8)),
        (hanoi(2024, 3, 12, 0, 0), hanoi(2024, 3, 12, 8)),
        (hanoi(2024, 3, 15, 18), hanoi(2024, 3, 18, 8)),  # Friday evening -> Monday
        (hanoi(2024, 3, 16, 10), hanoi(2024, 3, 18, 8)),  # Saturday
        (hanoi(2024, 2, 7, 17, 30), hanoi(2024, 2, 15, 8)),  # eve of Tết 2024
        (hanoi(2025, 4, 29, 17), hanoi(2025, 5, 5, 8)),  # 30/4-4/5 2025 block
        (hanoi(2025, 4, 25, 18), hanoi(2025, 4, 26, 8)),  # make-up Saturday
    ],
)
def test_next_working_moment(moment: datetime, expected: datetime) -> None:
    result = CAL.next_working_moment(moment)
    assert result == expected
    assert result.tzinfo is UTC


def test_next_working_moment_takes_any_time_zone() -> None:
    # 00:59 UTC is 07:59 in Hanoi.
    assert CAL.next_working_moment(utc(2024, 3, 12, 0, 59)) == utc(2024, 3, 12, 1)
    assert CAL.next_working_moment(utc(2024, 3, 12, 9, 59)) == utc(2024, 3, 12, 9, 59)
    # 10:00 UTC Friday is 17:00 in Hanoi.
    assert CAL.next_working_moment(utc(2024, 3, 15, 10)) == utc(2024, 3, 18, 1)


def test_next_working_moment_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        CAL.next_working_moment(datetime(2024, 3, 12, 9))


def test_morning_is_local_eight_in_utc() -> None:
    assert CAL.morning(date(2024, 3, 16)) == utc(2024, 3, 16, 1)
    assert CAL.morning(date(2024, 3, 16)).tzinfo is UTC


def test_custom_hours() -> None:
    late = WorkCalendar(HANOI, start=time(7, 30), end=time(16, 30))
    assert late.next_working_moment(hanoi(2024, 3, 12, 16, 30)) == hanoi(2024, 3, 13, 7, 30)
    with pytest.raises(ValueError, match="start before"):
        WorkCalendar(HANOI, start=time(17), end=time(8))


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2024, 3, 12), 1, date(2024, 3, 13)),
        (date(2024, 3, 15), 1, date(2024, 3, 18)),  # Friday -> Monday
        (date(2024, 3, 15), 2, date(2024, 3, 19)),
        (date(2024, 3, 16), 1, date(2024, 3, 18)),  # from a Saturday
        (date(2024, 2, 7), 1, date(2024, 2, 15)),  # across Tết 2024
        (date(2024, 4, 26), 1, date(2024, 5, 2)),  # across 27/4-1/5 2024
        (date(2024, 4, 26), 3, date(2024, 5, 4)),  # ...onto the make-up Saturday
        (date(2024, 12, 31), 1, date(2025, 1, 2)),  # across New Year
    ],
)
def test_add_working_days(day: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(day, n) == expected


def test_add_working_days_needs_a_positive_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CAL.add_working_days(date(2024, 3, 12), 0)


def test_shipped_csv_loads() -> None:
    adjustments = load_adjustments(SHIPPED_CSV)
    assert date(2025, 5, 2) in adjustments.days_off
    assert date(2025, 4, 26) in adjustments.working_days


def test_load_adjustments(tmp_path: Path) -> None:
    path = tmp_path / "workdays.csv"
    path.write_text(
        "\ufeff# maintained by hand\n"
        "date,kind,note\n"
        "\n"
        '2027-03-05,off,"Nghỉ thay, cho thứ Bảy"\n'
        "2027-03-06,WORK\n"
        "  # a comment further down\n",
        encoding="utf-8",
    )
    assert load_adjustments(path) == DayAdjustments(
        frozenset({date(2027, 3, 5)}), frozenset({date(2027, 3, 6)})
    )


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("05/03/2027,off,", "not a YYYY-MM-DD date"),
        ("2027-02-30,off,", "not a YYYY-MM-DD date"),
        ("20270305,off,", "not a YYYY-MM-DD date"),
        ("2027-03-05,holiday,", "kind must be 'off' or 'work'"),
        ("2027-03-05", "expected date,kind,note"),
        ("2027-03-02,work,", "already listed on line 3"),
    ],
)
def test_load_adjustments_bad_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "workdays.csv"
    path.write_text(f"date,kind,note\n# comment\n2027-03-02,off,\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as caught:
        load_adjustments(path)
    assert str(caught.value).startswith(f"{path}:4: ")


def test_load_adjustments_needs_the_header(tmp_path: Path) -> None:
    path = tmp_path / "workdays.csv"
    path.write_text("2027-03-05,off,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected the header") as caught:
        load_adjustments(path)
    assert str(caught.value).startswith(f"{path}:1: ")


def test_the_2026_new_year_swap_from_the_shipped_file() -> None:
    # Công văn 12729/VPCP-KGVX: Friday 02/01/2026 off, made up on Saturday 10/01/2026.
    shipped = WorkCalendar(HANOI, load_adjustments(SHIPPED_CSV))
    assert not shipped.is_working_day(date(2026, 1, 1))
    assert not shipped.is_working_day(date(2026, 1, 2))
    assert shipped.is_working_day(date(2026, 1, 5))
    assert shipped.is_working_day(date(2026, 1, 10))
    assert not shipped.is_working_day(date(2026, 1, 11))
    assert shipped.holiday_name(date(2026, 1, 2)) == ANNOUNCED_DAY_OFF
    assert shipped.next_working_moment(hanoi(2025, 12, 31, 17)) == hanoi(2026, 1, 5, 8)
    assert shipped.next_working_moment(hanoi(2026, 1, 9, 17)) == hanoi(2026, 1, 10, 8)


def test_the_shipped_file_covers_the_announced_breaks_of_2025_and_2026() -> None:
    shipped = WorkCalendar(HANOI, load_adjustments(SHIPPED_CSV))
    # Tết Ất Tỵ 25/01-02/02/2025, Tết Bính Ngọ 14/02-22/02/2026, Quốc khánh 2025.
    for first, last in (
        (date(2025, 1, 25), date(2025, 2, 2)),
        (date(2026, 2, 14), date(2026, 2, 22)),
        (date(2025, 8, 30), date(2025, 9, 2)),
        (date(2025, 4, 30), date(2025, 5, 4)),
    ):
        assert not any(shipped.is_working_day(d) for d in days(first, last)), first
        assert shipped.is_working_day(first - timedelta(days=1)) or first.weekday() == 0
        assert shipped.is_working_day(last + timedelta(days=1))


@pytest.mark.parametrize(
    ("due_on", "last_day"),
    [
        (date(2026, 12, 4), date(2026, 12, 4)),  # a Friday: itself
        (date(2026, 12, 5), date(2026, 12, 7)),  # Saturday -> Monday
        (date(2026, 12, 6), date(2026, 12, 7)),  # Sunday -> Monday
        (date(2026, 2, 20), date(2026, 2, 23)),  # mùng 4 Tết -> Monday after the break
        (date(2026, 4, 26), date(2026, 4, 28)),  # Hùng Kings on Sunday, Monday off in lieu
    ],
)
def test_a_deadline_on_a_day_off_ends_with_the_next_working_day(
    due_on: date, last_day: date
) -> None:
    assert CAL.deadline_end(due_on) == last_day


def test_a_saturday_deadline_is_not_overdue_before_the_end_of_monday() -> None:
    saturday = date(2026, 12, 5)
    assert [CAL.is_overdue(saturday, d) for d in days(date(2026, 12, 4), date(2026, 12, 8))] == [
        False,
        False,
        False,
        False,  # Monday 07/12: its last day
        True,
    ]
    assert CAL.days_left(saturday, date(2026, 12, 4)) == 3
    assert CAL.days_left(saturday, date(2026, 12, 7)) == 0
    assert CAL.days_left(saturday, date(2026, 12, 9)) == -2


def test_the_2026_new_year_swap_moves_a_deadline_too() -> None:
    shipped = WorkCalendar(HANOI, load_adjustments(SHIPPED_CSV))
    assert shipped.deadline_end(date(2026, 1, 2)) == date(2026, 1, 5)
    assert shipped.deadline_end(date(2026, 1, 10)) == date(2026, 1, 10)  # a working Saturday
    assert shipped.previous_working_day(date(2026, 1, 4)) == date(2025, 12, 31)
