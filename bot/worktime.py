"""Vietnamese working time: when task reminders and nudges may go out.

Officials read the bot at the office. A nudge at 22:00 on a Saturday or on the
second day of Tết annoys people and gets the bot muted, so task messages are sent
only 08:00-17:00 local time, Monday to Friday, on days that are not public holidays;
anything that falls outside waits for the next working morning.

Public holidays come from the `holidays` package (country "VN"), with its "observed"
days kept on purpose: under the Labour Code a holiday falling on the weekly rest day
(Saturday or Sunday for the public sector) is compensated by the next working day off,
and the package models exactly that. The package also knows some of the government's
yearly day swaps; the swaps it does not know yet are data, kept by the secretariat in
`bot/data/workdays.csv` and loaded with `load_adjustments`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

# A Tết break is at most ~10 days; anything near a year without a working day is a
# broken adjustments file, not a calendar.
_MAX_SEARCH_DAYS = 366
_ONE_DAY = timedelta(days=1)
ANNOUNCED_DAY_OFF = "Day off (announced)"


@dataclass(frozen=True)
class DayAdjustments:
    """The government's yearly extra days off and make-up working days."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    working_days: frozenset[date] = field(default_factory=frozenset)  # e.g. a make-up Saturday

    def __post_init__(self) -> None:
        both = self.days_off & self.working_days
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"both a day off and a working day: {listed}")


def _bad_line(path: Path, lineno: int, reason: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: {reason}")


def load_adjustments(path: Path) -> DayAdjustments:
    """Read the secretariat's CSV of announced days off and make-up working days.

    Format: header `date,kind,note`; `date` is YYYY-MM-DD, `kind` is `off` or `work`,
    `note` is free text. Blank lines and lines starting with `#` are ignored. The file
    is edited by hand (often in Excel, hence the BOM tolerance), so any bad line is an
    error naming the file and line number rather than something silently skipped.
    """
    off: dict[date, int] = {}
    work: dict[date, int] = {}
    header_seen = False
    with path.open(encoding="utf-8-sig", newline="") as fh:
        lines = fh.read().splitlines()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        bad = partial(_bad_line, path, lineno)
        row = [cell.strip() for cell in next(csv.reader([line]))]
        if not header_seen:
            if [cell.lower() for cell in row] != ["date", "kind", "note"]:
                raise bad(f"expected the header 'date,kind,note', got {line!r}")
            header_seen = True
            continue
        if len(row) not in (2, 3):
            raise bad(f"expected date,kind,note, got {line!r}")
        try:
            day = date.fromisoformat(row[0])
        except ValueError:
            raise bad(f"not a YYYY-MM-DD date: {row[0]!r}") from None
        if len(row[0]) != 10:  # fromisoformat also takes 20250502; keep the file uniform
            raise bad(f"not a YYYY-MM-DD date: {row[0]!r}")
        kind = row[1].lower()
        if kind not in ("off", "work"):
            raise bad(f"kind must be 'off' or 'work', got {row[1]!r}")
        mine, other = (off, work) if kind == "off" else (work, off)
        if day in other:
            raise bad(f"{day} is already listed on line {other[day]} as the opposite kind")
        mine.setdefault(day, lineno)
    if not header_seen:
        raise ValueError(f"{path}: missing the header 'date,kind,note'")
    return DayAdjustments(frozenset(off), frozenset(work))


class WorkCalendar:
    """Working days and hours in one time zone, for timing task messages.

    Precedence on a given day: the adjustments file, then the `holidays` package's
    holidays and make-up days, then Monday-Friday. Each year is computed once, on
    first use, into a set of closed days; after that `is_working_day` is two set
    look-ups.
    """

    def __init__(
        self,
        tz: ZoneInfo,
        adjustments: DayAdjustments | None = None,
        start: time = time(8),
        end: time = time(17),
    ) -> None:
        if not start < end:
            raise ValueError(f"working hours must start before they end: {start}-{end}")
        self.tz = tz
        self.adjustments = adjustments if adjustments is not None else DayAdjustments()
        self.start = start
        self.end = end
        self._years: set[int] = set()
        self._closed: set[int] = set()  # date ordinals of non-working days in loaded years
        self._names: dict[date, str] = {}

    def _load_year(self, year: int) -> None:
        # The neighbouring years are asked for too: a swap can cross New Year
        # (31/12/2018 off, made up on Saturday 05/01/2019), and only the year that
        # announces it knows. Names stay English so logs do not depend on the locale.
        found = holidays.country_holidays(
            "VN", years=(year - 1, year, year + 1), language="en_US", observed=True
        )
        make_up = {d for d in found.weekend_workdays if d.year == year}
        day = date(year, 1, 1)
        while day.year == year:
            name = found.get(day)
            if name is not None:
                self._names[day] = name
            closed = (day.weekday() >= 5 and day not in make_up) or name is not None
            if day in self.adjustments.working_days:
                closed = False
            elif day in self.adjustments.days_off:
                closed = True
            if closed:
                self._closed.add(day.toordinal())
            day += _ONE_DAY
        self._years.add(year)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is an office day (not a weekend, holiday or announced day off)."""
        if day.year not in self._years:
            self._load_year(day.year)
        return day.toordinal() not in self._closed

    def holiday_name(self, day: date) -> str | None:
        """Why `day` is off, if it is off for a reason other than the weekend (for logs).

        English names from the package, e.g. "Lunar New Year"; an announced day off
        from the adjustments file only is `ANNOUNCED_DAY_OFF`; a day the file makes a
        working day has no name.
        """
        if day in self.adjustments.working_days:
            return None
        if day.year not in self._years:
            self._load_year(day.year)
        name = self._names.get(day)
        if name is None and day in self.adjustments.days_off:
            return ANNOUNCED_DAY_OFF
        return name

    def morning(self, day: date) -> datetime:
        """The start of working hours on `day` (working or not), as aware UTC."""
        return datetime.combine(day, self.start, tzinfo=self.tz).astimezone(UTC)

    def closing(self, day: date) -> datetime:
        """The end of working hours on `day`, as aware UTC."""
        return datetime.combine(day, self.end, tzinfo=self.tz).astimezone(UTC)

    def _next_working_day(self, day: date) -> date:
        candidate = day
        for _ in range(_MAX_SEARCH_DAYS):
            candidate += _ONE_DAY
            if self.is_working_day(candidate):
                return candidate
        raise RuntimeError(f"no working day within {_MAX_SEARCH_DAYS} days after {day}")

    def next_working_moment(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` inside working time, as aware UTC.

        Inside working hours of a working day it is `moment` itself; before the start
        it is that day's morning; at or after the end, or on a day off, it is the next
        working day's morning.
        """
        if moment.tzinfo is None:
            raise ValueError("next_working_moment needs an aware datetime")
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day):
            now = local.time()
            if now < self.start:
                return self.morning(day)
            if now < self.end:
                return moment.astimezone(UTC)
        return self.morning(self._next_working_day(day))

    def previous_working_day(self, day: date) -> date:
        """The last working day before `day` (`day` itself may be a day off)."""
        candidate = day
        for _ in range(_MAX_SEARCH_DAYS):
            candidate -= _ONE_DAY
            if self.is_working_day(candidate):
                return candidate
        raise RuntimeError(f"no working day within {_MAX_SEARCH_DAYS} days before {day}")

    def deadline_end(self, due_on: date) -> date:
        """The last day of a deadline set for `due_on`.

        A deadline that falls on a day off ends at the end of the next working day
        (Civil Code 2015, art. 148(5)): a report due on Saturday 14/02/2026, the first
        day of the Tết break, may still be sent on Monday 23/02/2026. Everything that
        asks "is this task late?" (nudges, the escalation, /tasks, the digest, the
        completion classes, the exports) goes through here, so nothing calls a task
        overdue on the day off.
        """
        if self.is_working_day(due_on):
            return due_on
        return self._next_working_day(due_on)

    def days_left(self, due_on: date, today: date) -> int:
        """Calendar days from `today` to the deadline's last day; negative once it is
        past ('quá hạn 2 ngày' counts from the end of the deadline, not its nominal day)."""
        return (self.deadline_end(due_on) - today).days

    def is_overdue(self, due_on: date, today: date) -> bool:
        """Whether the whole of the deadline's last day has passed by `today`."""
        return today > self.deadline_end(due_on)

    def add_working_days(self, day: date, n: int) -> date:
        """The `n`-th working day after `day` (n >= 1); `day` itself may be a day off.

        Used for "two working days after the deadline": a deadline on Friday gives
        Tuesday, not Sunday.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        for _ in range(n):
            day = self._next_working_day(day)
        return day
