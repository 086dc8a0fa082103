"""Deadlines as officials write them: dates, quarters, halves, years, and recurrence."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from bot.formats import format_cut_off, format_period
from bot.periods import (
    CutOff,
    Due,
    DueFormatError,
    Recurrence,
    cut_off,
    next_due,
    parse_due,
    parse_recurrence,
)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-03-31", date(2024, 3, 31)),
        ("31/03/2024", date(2024, 3, 31)),
        ("1/3/2024", date(2024, 3, 1)),  # DD/MM: 1 March, never 3 January
        ("  29/02/2024 ", date(2024, 2, 29)),
        ("ngày 31/12/2026", date(2026, 12, 31)),  # as a letter writes it
        ("Ngày 1/3/2027", date(2027, 3, 1)),
        ("31.12.2026", date(2026, 12, 31)),
        ("ngày 31.12.2026", date(2026, 12, 31)),
    ],
)
def test_plain_dates(text: str, day: date) -> None:
    assert parse_due(text) == Due(day, None)


@pytest.mark.parametrize(
    ("text", "day", "label"),
    [
        ("Q1/2024", date(2024, 3, 31), "Q1/2024"),
        ("Q2/2024", date(2024, 6, 30), "Q2/2024"),
        ("Q3/2024", date(2024, 9, 30), "Q3/2024"),
        ("Q4/2024", date(2024, 12, 31), "Q4/2024"),
        ("q4-2023", date(2023, 12, 31), "Q4/2023"),
        ("quý IV/2023", date(2023, 12, 31), "Q4/2023"),
        ("Quý 4/2023", date(2023, 12, 31), "Q4/2023"),
        ("QUÝ I/2024", date(2024, 3, 31), "Q1/2024"),
        ("quýII/2024", date(2024, 6, 30), "Q2/2024"),
        ("quý iii/2024", date(2024, 9, 30), "Q3/2024"),
        ("Quý IV năm 2023", date(2023, 12, 31), "Q4/2023"),
        ("H1/2024", date(2024, 6, 30), "H1/2024"),
        ("h2/2024", date(2024, 12, 31), "H2/2024"),
        ("2024", date(2024, 12, 31), "2024"),
        (" 2100 ", date(2100, 12, 31), "2100"),
        ("quý IV năm 2026", date(2026, 12, 31), "Q4/2026"),
        ("quý IV/2026", date(2026, 12, 31), "Q4/2026"),
        ("6 tháng đầu năm 2027", date(2027, 6, 30), "H1/2027"),
        ("6 Tháng Cuối Năm 2026", date(2026, 12, 31), "H2/2026"),
        ("9 tháng năm 2026", date(2026, 9, 30), "9M/2026"),
        ("9 tháng đầu năm 2026", date(2026, 9, 30), "9M/2026"),
        ("9M/2026", date(2026, 9, 30), "9M/2026"),
        ("năm 2027", date(2027, 12, 31), "2027"),
        ("tháng 12/2026", date(2026, 12, 31), "M12/2026"),
        ("tháng 2/2028", date(2028, 2, 29), "M2/2028"),
        ("Tháng 02 năm 2027", date(2027, 2, 28), "M2/2027"),
        ("M1/2027", date(2027, 1, 31), "M1/2027"),
    ],
)
def test_periods_mean_their_last_day(text: str, day: date, label: str) -> None:
    assert parse_due(text) == Due(day, label)


def test_decomposed_vietnamese_is_accepted() -> None:
    # Some keyboards send "quý" as u + combining accents.
    assert parse_due(unicodedata.normalize("NFD", "quý IV/2023")).period == "Q4/2023"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31/02/2024", "February 2024 has no day 31"),
        ("2023-02-29", "February 2023 has no day 29"),
        ("15/13/2024", "there is no month 13"),
        ("Q5/2024", "there is no quarter 5"),
        ("quý V/2024", "there is no quarter V"),
        ("Q0/2024", "there is no quarter 0"),
        ("H3/2024", "there is no half 3 (only H1 and H2)"),
        ("tháng 13/2026", "there is no month 13"),
        ("tháng 0/2026", "there is no month 0"),
        ("32/12/2026", "December 2026 has no day 32"),
        ("ngày 31.11.2026", "November 2026 has no day 31"),
        ("1999", "year 1999 is outside 2000-2100"),
        ("Q1/2101", "year 2101 is outside 2000-2100"),
        ("31/12/1999", "year 1999 is outside 2000-2100"),
        ("", "no deadline given"),
        ("   ", "no deadline given"),
    ],
)
def test_rejections_say_why(text: str, reason: str) -> None:
    with pytest.raises(DueFormatError) as caught:
        parse_due(text)
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    "text",
    [
        "next friday",
        "03/2024",
        "Q1/24",
        "2024/03/31",
        "Q1 2024",
        "24",
        "20240331",
        "6 tháng giữa năm 2026",
        "9 tháng 2026x",
        "9 tháng 2026",
        "31.12/2026",
        "năm",
        "tháng 12",
        "9M3/2026",
    ],
)
def test_anything_else_is_rejected(text: str) -> None:
    with pytest.raises(DueFormatError, match="not a date or period"):
        parse_due(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quarter", Recurrence.QUARTER),
        ("Quarter", Recurrence.QUARTER),
        ("quý", Recurrence.QUARTER),
        ("hằng quý", Recurrence.QUARTER),
        ("HALF", Recurrence.HALF),
        ("nửa năm", Recurrence.HALF),
        ("6 tháng", Recurrence.HALF),
        (" year ", Recurrence.YEAR),
        ("Năm", Recurrence.YEAR),
        ("hàng năm", Recurrence.YEAR),
        ("month", Recurrence.MONTH),
        ("hằng tháng", Recurrence.MONTH),
    ],
)
def test_parse_recurrence(text: str, expected: Recurrence) -> None:
    assert parse_recurrence(text) is expected


@pytest.mark.parametrize("text", ["", "monthly", "9 tháng", "weekly", "quarterly"])
def test_parse_recurrence_rejects(text: str) -> None:
    with pytest.raises(DueFormatError, match="not a recurrence"):
        parse_recurrence(text)


def test_recurrence_values_are_stable() -> None:
    # Stored in the database as text.
    assert [r.value for r in Recurrence] == ["quarter", "half", "year", "month"]


@pytest.mark.parametrize(
    ("start", "every", "expected"),
    [
        ("Q4/2023", Recurrence.QUARTER, Due(date(2024, 3, 31), "Q1/2024")),
        ("Q1/2024", Recurrence.QUARTER, Due(date(2024, 6, 30), "Q2/2024")),
        ("Q2/2024", Recurrence.QUARTER, Due(date(2024, 9, 30), "Q3/2024")),
        ("Q3/2024", Recurrence.QUARTER, Due(date(2024, 12, 31), "Q4/2024")),
        ("H1/2024", Recurrence.HALF, Due(date(2024, 12, 31), "H2/2024")),
        ("H2/2024", Recurrence.HALF, Due(date(2025, 6, 30), "H1/2025")),
        ("2024", Recurrence.YEAR, Due(date(2025, 12, 31), "2025")),
        ("Q2/2024", Recurrence.YEAR, Due(date(2025, 6, 30), "Q2/2025")),
        ("Q1/2024", Recurrence.HALF, Due(date(2024, 9, 30), "Q3/2024")),
        ("Q4/2024", Recurrence.HALF, Due(date(2025, 6, 30), "Q2/2025")),
        ("H2/2024", Recurrence.YEAR, Due(date(2025, 12, 31), "H2/2025")),
        # Stepping by less than the period: the label becomes the step's own kind.
        ("H1/2024", Recurrence.QUARTER, Due(date(2024, 9, 30), "Q3/2024")),
        ("2024", Recurrence.HALF, Due(date(2025, 6, 30), "H1/2025")),
        ("2024", Recurrence.QUARTER, Due(date(2025, 3, 31), "Q1/2025")),
        ("tháng 12/2026", Recurrence.MONTH, Due(date(2027, 1, 31), "M1/2027")),
        ("tháng 1/2027", Recurrence.MONTH, Due(date(2027, 2, 28), "M2/2027")),
        ("tháng 3/2027", Recurrence.YEAR, Due(date(2028, 3, 31), "M3/2028")),
        ("9 tháng năm 2026", Recurrence.YEAR, Due(date(2027, 9, 30), "9M/2027")),
        ("9 tháng năm 2026", Recurrence.QUARTER, Due(date(2026, 12, 31), "Q4/2026")),
        ("Q4/2026", Recurrence.MONTH, Due(date(2027, 1, 31), "M1/2027")),
    ],
)
def test_next_due_of_a_period(start: str, every: Recurrence, expected: Due) -> None:
    assert next_due(parse_due(start), every) == expected


@pytest.mark.parametrize(
    ("day", "every", "expected"),
    [
        (date(2024, 2, 29), Recurrence.YEAR, date(2025, 2, 28)),
        (date(2023, 2, 28), Recurrence.YEAR, date(2024, 2, 29)),  # month end stays month end
        (date(2024, 1, 31), Recurrence.QUARTER, date(2024, 4, 30)),
        (date(2024, 4, 30), Recurrence.QUARTER, date(2024, 7, 31)),
        (date(2024, 11, 30), Recurrence.QUARTER, date(2025, 2, 28)),
        (date(2024, 8, 31), Recurrence.HALF, date(2025, 2, 28)),
        (date(2024, 1, 15), Recurrence.HALF, date(2024, 7, 15)),
        (date(2024, 5, 30), Recurrence.QUARTER, date(2024, 8, 30)),  # not a month end
        (date(2024, 11, 29), Recurrence.QUARTER, date(2025, 2, 28)),  # clamped
        (date(2024, 12, 10), Recurrence.YEAR, date(2025, 12, 10)),
    ],
)
def test_next_due_of_a_plain_date(day: date, every: Recurrence, expected: date) -> None:
    assert next_due(Due(day, None), every) == Due(expected, None)


def test_next_due_keeps_a_deadline_after_its_period() -> None:
    # "Báo cáo quý IV/2023, hạn 15/01/2024": the next one is Q1/2024, due 15/04/2024.
    assert next_due(Due(date(2024, 1, 15), "Q4/2023"), Recurrence.QUARTER) == Due(
        date(2024, 4, 15), "Q1/2024"
    )


def test_next_due_rejects_a_broken_label() -> None:
    with pytest.raises(DueFormatError, match="not a period label"):
        next_due(Due(date(2024, 3, 31), "quarter one"), Recurrence.QUARTER)


@pytest.mark.parametrize(
    ("label", "vi", "en"),
    [
        ("Q4/2026", "quý IV/2026", "Q4 2026"),
        ("Q1/2027", "quý I/2027", "Q1 2027"),
        ("H1/2027", "6 tháng đầu năm 2027", "H1 2027"),
        ("H2/2026", "6 tháng cuối năm 2026", "H2 2026"),
        ("9M/2026", "9 tháng năm 2026", "first 9 months of 2026"),
        ("2027", "năm 2027", "2027"),
        ("M12/2026", "tháng 12/2026", "December 2026"),
        ("M3/2027", "tháng 3/2027", "March 2027"),
    ],
)
def test_periods_are_shown_as_officials_write_them(label: str, vi: str, en: str) -> None:
    assert format_period(label, "vi") == vi
    assert format_period(label, "en") == en


def test_every_accepted_form_is_shown_in_the_readers_words() -> None:
    assert format_period(parse_due("quý IV năm 2026").period or "", "vi") == "quý IV/2026"
    assert format_period(parse_due("Q4/2026").period or "", "vi") == "quý IV/2026"


def test_a_label_this_version_cannot_read_is_shown_as_stored() -> None:
    assert format_period("Q5/2026", "vi") == "Q5/2026"


@pytest.mark.parametrize(
    ("label", "first", "last"),
    [
        # Decree 09/2019/NĐ-CP, art. 12.
        ("M12/2026", date(2026, 11, 15), date(2026, 12, 14)),
        ("M1/2027", date(2026, 12, 15), date(2027, 1, 14)),
        ("Q1/2027", date(2026, 12, 15), date(2027, 3, 14)),
        ("Q4/2026", date(2026, 9, 15), date(2026, 12, 14)),
        ("H1/2027", date(2026, 12, 15), date(2027, 6, 14)),
        ("H2/2026", date(2026, 6, 15), date(2026, 12, 14)),
        ("9M/2026", date(2025, 12, 15), date(2026, 9, 14)),
        ("2026", date(2025, 12, 15), date(2026, 12, 14)),
    ],
)
def test_the_data_cut_off_of_each_kind_of_period(label: str, first: date, last: date) -> None:
    assert cut_off(label) == CutOff(first, last)


def test_the_cut_off_is_written_as_officials_write_it() -> None:
    assert format_cut_off("Q4/2026", "vi") == "số liệu từ 15/09 đến 14/12/2026"
    assert format_cut_off("2026", "vi") == "số liệu từ 15/12/2025 đến 14/12/2026"
    assert format_cut_off("Q4/2026", "en") == "data from 15/09 to 14/12/2026"


@pytest.mark.parametrize(
    ("due", "every", "expected"),
    [
        # Sent 4 days after the cut-off: the next one too.
        (
            Due(date(2026, 12, 18), None, "Q4/2026"),
            Recurrence.QUARTER,
            Due(date(2027, 3, 18), None, "Q1/2027"),
        ),
        (
            Due(date(2026, 12, 20), None, "2026"),
            Recurrence.YEAR,
            Due(date(2027, 12, 20), None, "2027"),
        ),
        (
            Due(date(2027, 1, 16), None, "M12/2026"),
            Recurrence.MONTH,
            Due(date(2027, 2, 16), None, "M1/2027"),
        ),
        (
            Due(date(2026, 9, 20), None, "9M/2026"),
            Recurrence.YEAR,
            Due(date(2027, 9, 20), None, "9M/2027"),
        ),
        (
            Due(date(2026, 6, 14), None, "H1/2026"),
            Recurrence.HALF,
            Due(date(2026, 12, 14), None, "H2/2026"),
        ),
    ],
)
def test_a_recurring_report_keeps_its_distance_from_the_cut_off(
    due: Due, every: Recurrence, expected: Due
) -> None:
    assert next_due(due, every) == expected
