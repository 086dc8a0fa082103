"""Deadlines written the way Vietnamese officials write them.

Council tasks are mostly periodic reports: "báo cáo tháng 12/2026", "báo cáo quý
IV/2023", "sơ kết 6 tháng đầu năm" (H1), "báo cáo 9 tháng năm 2026", "tổng kết năm
2024". Members type those labels, not dates, so the bot accepts them, keeps a canonical
label ("M12/2026", "Q4/2023", "H1/2024", "9M/2026", "2024"; bot/formats.py writes it out
in the reader's language) and uses the period's last day as the deadline. Plain dates
are accepted too, in ISO and in the DD/MM/YYYY (or DD.MM.YYYY) order used in Vietnam
(never MM/DD).

Pure functions only: no database, no Telegram.
"""

from __future__ import annotations

import calendar
import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MIN_YEAR = 2000
MAX_YEAR = 2100

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}

# Period separators: "Q4/2023", "Q4-2023", and the spelled-out "quý IV năm 2023".
_SEP = r"(?:\s*[/-]\s*|\s+năm\s+)"
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")
# "31/12/2026", "31.12.2026", and "ngày 31/12/2026" as a letter writes it.
_DMY = re.compile(r"(?:ngày\s*)?(?P<d>\d{1,2})(?P<s>[/.])(?P<m>\d{1,2})(?P=s)(?P<y>\d{4})")
# The number is matched loosely ("Q5", "quý V", "tháng 13") so that the error can say
# what is wrong.
_MONTH = re.compile(rf"(?:tháng\s*|m)(?P<n>\d+){_SEP}(?P<y>\d{{4}})")
_QUARTER = re.compile(rf"(?:q|quý)\s*(?P<n>\d+|[ivxlcdm]+){_SEP}(?P<y>\d{{4}})")
_HALF = re.compile(rf"h\s*(?P<n>\d+){_SEP}(?P<y>\d{{4}})")
# "6 tháng đầu năm 2027" (H1), "6 tháng cuối năm 2026" (H2).
_HALF_WORDS = re.compile(r"6\s*tháng\s+(?P<part>đầu|cuối)\s+năm\s+(?P<y>\d{4})")
# "9 tháng năm 2026", "9 tháng đầu năm 2026", "9M/2026".
_NINE = re.compile(r"(?:9\s*tháng\s+(?:đầu\s+)?năm\s+|9m\s*/\s*)(?P<y>\d{4})")
_YEAR = re.compile(r"(?:năm\s+)?(?P<y>\d{4})")
_LABEL = re.compile(r"(?:(?P<kind>M|Q|H|9M)(?P<n>\d{1,2})?/)?(?P<y>\d{4})", re.IGNORECASE)


class Recurrence(enum.StrEnum):
    """How often a periodic task comes back. Values are stored in the database."""

    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    MONTH = "month"

    @property
    def months(self) -> int:
        return _STEP_MONTHS[self]


_STEP_MONTHS = {
    Recurrence.MONTH: 1,
    Recurrence.QUARTER: 3,
    Recurrence.HALF: 6,
    Recurrence.YEAR: 12,
}

# Months per period kind: the kind doubles as the label prefix ("" for a year). The
# nine-month period always runs from January to September: it is numbered 1 alone.
_KIND_MONTHS = {"M": 1, "Q": 3, "H": 6, "9M": 9, "": 12}
_KIND_OF_STEP = {
    Recurrence.MONTH: "M",
    Recurrence.QUARTER: "Q",
    Recurrence.HALF: "H",
    Recurrence.YEAR: "",
}

_RECURRENCE_WORDS = {
    "month": Recurrence.MONTH,
    "tháng": Recurrence.MONTH,
    "quarter": Recurrence.QUARTER,
    "quý": Recurrence.QUARTER,
    "half": Recurrence.HALF,
    "nửa năm": Recurrence.HALF,
    "6 tháng": Recurrence.HALF,
    "year": Recurrence.YEAR,
    "năm": Recurrence.YEAR,
}


@dataclass(frozen=True)
class Period:
    """A reporting period read from its canonical label: kind, number within the year, year.

    kind is "M" (month 1-12), "Q" (quarter 1-4), "H" (half 1-2), "9M" (the first nine
    months, number 1) or "" (the year, number 1).
    """

    kind: str
    number: int
    year: int

    @property
    def last_month(self) -> int:
        return self.number * _KIND_MONTHS[self.kind]

    @property
    def first_month(self) -> int:
        return self.last_month - _KIND_MONTHS[self.kind] + 1


@dataclass(frozen=True)
class CutOff:
    """The days whose data a periodic report covers (both included)."""

    first: date
    last: date


def cut_off(label: str) -> CutOff:
    """The data cut-off of a reporting period (Decree 09/2019/NĐ-CP, art. 12): from the
    15th of the month before the period to the 14th of its last month. Quarter IV runs
    15/09 to 14/12, the first half 15/12 to 14/06, nine months 15/12 to 14/09, a year
    15/12 to 14/12, a month the 15th of the previous month to the 14th."""
    period = parse_label(label)
    year, month0 = divmod(period.year * 12 + period.first_month - 2, 12)
    return CutOff(date(year, month0 + 1, 15), date(period.year, period.last_month, 14))


@dataclass(frozen=True)
class Due:
    """A deadline: the day, and the period label it was written as (if any)."""

    day: date  # the deadline day (last day of the period for a period)
    # canonical label "M12/2026", "Q4/2023", "H1/2024", "9M/2026", "2024"; None for a date
    period: str | None
    # The period a report covers (`period=` on /newtask), when the deadline is a send
    # deadline after its data cut-off rather than the period's last day.
    reported: str | None = None


class DueFormatError(ValueError):
    """The text is not a deadline we understand; str() is a short English reason."""


def _normalize(text: str) -> str:
    # NFC: some keyboards and copy-pastes send "quý" decomposed (u + combining accents),
    # which would not match the precomposed letters in the patterns.
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DueFormatError(f"year {year} is outside {MIN_YEAR}-{MAX_YEAR}")
    return year


def _day(year: int, month: int, day: int) -> date:
    _check_year(year)
    if not 1 <= month <= 12:
        raise DueFormatError(f"there is no month {month}")
    length = calendar.monthrange(year, month)[1]
    if not 1 <= day <= length:
        raise DueFormatError(f"{_MONTHS[month - 1]} {year} has no day {day}")
    return date(year, month, day)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _label(kind: str, year: int, end_month: int) -> str:
    if kind == "":
        return str(year)
    if kind == "9M":
        return f"9M/{year}"
    return f"{kind}{end_month // _KIND_MONTHS[kind]}/{year}"


def _ends_such_a_period(kind: str, end_month: int) -> bool:
    if kind == "9M":
        return end_month == 9
    return end_month % _KIND_MONTHS[kind] == 0


def parse_label(label: str) -> Period:
    """Read a canonical label as stored ("Q4/2026", "9M/2026", "2027")."""
    m = _LABEL.fullmatch(label.strip())
    if m is None:
        raise DueFormatError(f"not a period label: {label!r}")
    kind = (m["kind"] or "").upper()
    number = int(m["n"] or 1)
    if kind == "9M" and m["n"] is not None:
        raise DueFormatError(f"not a period label: {label!r}")
    if kind in ("M", "Q", "H") and not (m["n"] and 1 <= number <= 12 // _KIND_MONTHS[kind]):
        raise DueFormatError(f"not a period label: {label!r}")
    return Period(kind, number, int(m["y"]))


def _period(kind: str, year: int, number: int) -> Due:
    """The period `number` of `kind` in `year`, due on its last day."""
    _check_year(year)
    end_month = number * _KIND_MONTHS[kind]
    return Due(_month_end(year, end_month), _label(kind, year, end_month))


def parse_due(text: str) -> Due:
    """Read a deadline typed by a member: a date, or a month, quarter, half, nine months
    or year.

    Accepts 2024-03-31, 31/03/2024, 1/3/2024, 31.03.2024, ngày 31/03/2024; tháng 12/2026
    (tháng 12 năm 2026); Q1/2024, Q4-2023, quý IV/2023, Quý 4/2023, quý IV năm 2023;
    H1/2024, H2/2024, 6 tháng đầu năm 2024, 6 tháng cuối năm 2024; 9 tháng năm 2026
    (9M/2026); 2024 and năm 2024 — in any case. A period is due on its last day. Raises
    DueFormatError with a short reason otherwise.
    """
    norm = _normalize(text)
    if not norm:
        raise DueFormatError("no deadline given")
    if m := _ISO.fullmatch(norm) or _DMY.fullmatch(norm):
        return Due(_day(int(m["y"]), int(m["m"]), int(m["d"])), None)
    if m := _MONTH.fullmatch(norm):
        number = int(m["n"])
        if not 1 <= number <= 12:
            raise DueFormatError(f"there is no month {number}")
        return _period("M", int(m["y"]), number)
    if m := _QUARTER.fullmatch(norm):
        token = m["n"]
        number = int(token) if token.isdigit() else _ROMAN.get(token, 0)
        if not 1 <= number <= 4:
            raise DueFormatError(f"there is no quarter {token.upper()}")
        return _period("Q", int(m["y"]), number)
    if m := _HALF.fullmatch(norm):
        number = int(m["n"])
        if not 1 <= number <= 2:
            raise DueFormatError(f"there is no half {number} (only H1 and H2)")
        return _period("H", int(m["y"]), number)
    if m := _HALF_WORDS.fullmatch(norm):
        return _period("H", int(m["y"]), 1 if m["part"] == "đầu" else 2)
    if m := _NINE.fullmatch(norm):
        return _period("9M", int(m["y"]), 1)
    if m := _YEAR.fullmatch(norm):
        return _period("", int(m["y"]), 1)
    raise DueFormatError(
        f"not a date or period: {text.strip()!r} (try 31/03/2024, Q1/2024, H1/2024 or 2024)"
    )


def parse_recurrence(text: str) -> Recurrence:
    """Read how often a task repeats: month/tháng, quarter/quý, half/nửa năm/6 tháng,
    year/năm.

    "hàng"/"hằng" ("every") in front is allowed, as in "hằng quý".
    """
    norm = _normalize(text)
    for prefix in ("hàng ", "hằng "):
        norm = norm.removeprefix(prefix)
    try:
        return _RECURRENCE_WORDS[norm]
    except KeyError:
        raise DueFormatError(
            f"not a recurrence: {text.strip()!r} (use month, quarter, half or year)"
        ) from None


def _add_months(day: date, months: int) -> date:
    """`day` moved by `months`, keeping "last day of the month" when it was one.

    Deadlines set on a month's end (31 Jan, 29 Feb, 30 Nov) mean "end of the month",
    so they stay at the end of the target month; other days are clamped to fit.
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    target_end = _month_end(year, month)
    if day == _month_end(day.year, day.month):
        return target_end
    return target_end.replace(day=min(day.day, target_end.day))


def _next_label(label: str, every: Recurrence) -> str:
    """The period label one step of `every` after `label`.

    The kind is kept when the moved period end is still the end of such a period
    (Q+QUARTER, Q+HALF, Q+YEAR, H+HALF, H+YEAR, 9M+YEAR, year+YEAR, M+anything).
    Otherwise (H+QUARTER, year+QUARTER, 9M+QUARTER, Q+MONTH…) it becomes the step's own
    kind, so the label always names a real period ending on the new deadline.
    """
    period = parse_label(label)
    index = period.year * 12 + period.last_month - 1 + every.months
    year, month0 = divmod(index, 12)
    end_month = month0 + 1
    kind = period.kind
    if not _ends_such_a_period(kind, end_month):
        kind = _KIND_OF_STEP[every]
    return _label(kind, year, end_month)


def next_due(due: Due, every: Recurrence) -> Due:
    """The next occurrence of a recurring deadline, one step of `every` later.

    Q4/2023 + QUARTER is Q1/2024 (31 March 2024); a plain date moves by 3, 6 or 12
    months and stays a plain date. The day and the label are moved separately, so a
    period report due some days after its period (Q4/2023 due 15/01/2024) keeps that
    offset (Q1/2024 due 15/04/2024).

    A report on a period keeps its distance from the data cut-off: Q4/2026 (data to
    14/12/2026) sent by 18/12/2026 is followed by Q1/2027 (data to 14/03/2027) sent by
    18/03/2027.
    """
    period = None if due.period is None else _next_label(due.period, every)
    if due.reported is None:
        return Due(_add_months(due.day, every.months), period)
    reported = _next_label(due.reported, every)
    gap = due.day - cut_off(due.reported).last
    return Due(cut_off(reported).last + gap, period, reported)
