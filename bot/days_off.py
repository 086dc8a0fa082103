"""Why a day is off, in the reader's language: "Tết Nguyên đán", "Quốc khánh", "cuối tuần".

Used to warn an admin who schedules a meeting on a day off. The `holidays` package
names each day of a break on its own ("Second Day of Lunar New Year", "Day off
(substituted from 04/26/2025)"), and the weekends inside a break have no name at all;
an official names the whole break after its holiday ("nghỉ Tết Nguyên đán"), so the
cause of a day off is the holiday of the run of days off it belongs to.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.i18n import N_, _
from bot.worktime import WorkCalendar

# The longest break (Tết) is nine days; a run is never searched further than this.
_LONGEST_BREAK = 12

# English names from the package, matched by a fragment, to the holiday's own name.
_HOLIDAYS = (
    ("Lunar New Year", N_("Lunar New Year (Tết)")),
    ("New Year's Day", N_("New Year's Day")),
    ("Hung Kings", N_("Hùng Kings' Commemoration Day")),
    ("Reunification Day", N_("Reunification Day (30 April)")),
    ("Labor Day", N_("International Labour Day (1 May)")),
    ("National Day", N_("National Day (2 September)")),
    ("Cultural Day", N_("Vietnam Culture Day (24 November)")),
)


def _holiday_of(name: str | None) -> str | None:
    if name is None:
        return None
    return next((label for fragment, label in _HOLIDAYS if fragment in name), None)


def _run(calendar: WorkCalendar, day: date, step: timedelta) -> list[date]:
    found = []
    for _n in range(_LONGEST_BREAK):
        day += step
        if calendar.is_working_day(day):
            break
        found.append(day)
    return found


def day_off_cause(calendar: WorkCalendar, day: date) -> str | None:
    """Why `day` is off, translated; None when it is a working day."""
    if calendar.is_working_day(day):
        return None
    own = _holiday_of(calendar.holiday_name(day))
    if own is not None:
        return _(own)
    one_day = timedelta(days=1)
    # Nearest first: a weekend between two breaks belongs to the closer one.
    before, after = _run(calendar, day, -one_day), _run(calendar, day, one_day)
    neighbours = [d for pair in zip(before, after, strict=False) for d in pair]
    neighbours += before[len(after) :] + after[len(before) :]
    for other in neighbours:
        label = _holiday_of(calendar.holiday_name(other))
        if label is not None:
            return _(label)
    if calendar.holiday_name(day) is not None:
        return _("an announced day off")
    return _("weekend")
