"""How the government counts completion: the four classes of a task and of each
agency's part of it, as the reports on the execution of assigned tasks write them.

- hoàn thành đúng hạn — done on time: `✅` by the end of the deadline's last day;
- hoàn thành quá hạn — done late: `✅` after it;
- đang thực hiện trong hạn — in progress, the deadline not yet over;
- quá hạn chưa hoàn thành — overdue, not done.

"The deadline's last day" is `WorkCalendar.deadline_end` (a deadline on a day off runs
to the end of the next working day), so this module, /tasks, the digest, the nudges
and the exports agree on what is late. Every place that shows a class uses this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from bot.i18n import N_, _, format_day
from bot.models import Task, TaskAgency
from bot.worktime import WorkCalendar


class Completion(Enum):
    """One class; declared in the order reports list them."""

    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    IN_PROGRESS = "in_progress"
    OVERDUE = "overdue"

    def label(self) -> str:
        """The class in the current locale ('hoàn thành đúng hạn')."""
        return _(_LABELS[self])

    @property
    def symbol(self) -> str:
        """One sign for the class where room is short (the desk's matrix), the same in
        every language; a legend beside it gives the words."""
        return _SYMBOLS[self]

    @property
    def done(self) -> bool:
        return self in (Completion.DONE_ON_TIME, Completion.DONE_LATE)


# Distinct in shape, not only in colour: read in print and by colour-blind readers.
_SYMBOLS = {
    Completion.DONE_ON_TIME: "✓",
    Completion.DONE_LATE: "✓⁺",
    Completion.IN_PROGRESS: "…",
    Completion.OVERDUE: "✗",
}
_LABELS = {
    Completion.DONE_ON_TIME: N_("done on time"),
    Completion.DONE_LATE: N_("done late"),
    Completion.IN_PROGRESS: N_("in progress, within the deadline"),
    Completion.OVERDUE: N_("overdue, not done"),
}


@dataclass(frozen=True)
class _Deadline:
    last_day: date  # WorkCalendar.deadline_end
    ends_at: datetime  # the midnight after it, local time, as aware UTC


def _deadline(due_on: date, calendar: WorkCalendar) -> _Deadline:
    last_day = calendar.deadline_end(due_on)
    midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=calendar.tz)
    return _Deadline(last_day, midnight.astimezone(UTC))


def _class(deadline: _Deadline, done_at: datetime | None, today: date) -> Completion:
    """The rule. Done on the deadline's last day counts as on time whatever the hour: the
    law counts a deadline in days, and the office may well send a report in the evening."""
    if done_at is not None:
        return Completion.DONE_ON_TIME if done_at < deadline.ends_at else Completion.DONE_LATE
    return Completion.OVERDUE if today > deadline.last_day else Completion.IN_PROGRESS


def classify(
    due_on: date, done_at: datetime | None, now: datetime, calendar: WorkCalendar
) -> Completion:
    """The class of a piece of work due on `due_on`, done at `done_at` (or not yet), at `now`."""
    today = now.astimezone(calendar.tz).date()
    return _class(_deadline(due_on, calendar), done_at, today)


def classify_part(
    task: Task, part: TaskAgency, now: datetime, calendar: WorkCalendar
) -> Completion:
    """One agency's part of `task`: done when that agency pressed `✅`."""
    return classify(task.due_on, part.done_at, now, calendar)


def classify_task(task: Task, now: datetime, calendar: WorkCalendar) -> Completion:
    """The whole task: done when the last of its agencies pressed `✅`."""
    return classify(task.due_on, task.done_at, now, calendar)


def count_by_agency(
    parts: Iterable[tuple[int, date, datetime | None]], now: datetime, calendar: WorkCalendar
) -> dict[int, Counter[Completion]]:
    """For each agency id, how many of its parts are in each class; `parts` are plain
    (agency id, due day, done at) rows, so a council with thousands of tasks is counted
    without building an ORM object for each."""
    counts: dict[int, Counter[Completion]] = {}
    today = now.astimezone(calendar.tz).date()
    # A council's thousands of parts share a few hundred deadlines: each is worked out once.
    deadlines: dict[date, _Deadline] = {}
    for agency_id, due_on, done_at in parts:
        deadline = deadlines.get(due_on)
        if deadline is None:
            deadline = deadlines[due_on] = _deadline(due_on, calendar)
        found = _class(deadline, done_at, today)
        counts.setdefault(agency_id, Counter())[found] += 1
    return counts


def as_of(now: datetime, tz: ZoneInfo, locale: str | None = None) -> str:
    """'tính đến ngày 03/12/2026': the day the classes were counted."""
    return _("as of {day}").format(day=format_day(now, tz, locale))


@dataclass(frozen=True)
class Week:
    """The agency parts whose deadline's last day fell in one week (Monday to Sunday,
    local), in the classes they are in now."""

    monday: date
    on_time: int
    late: int
    not_done: int  # overdue (a part still within its deadline is not counted yet)

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.not_done

    @property
    def on_time_percent(self) -> int | None:
        return round(100 * self.on_time / self.due) if self.due else None


WEEKS_SHOWN = 12
# A deadline on a day off runs to the next working day: Tết can move it by about ten days.
_LONGEST_SHIFT = timedelta(days=15)


def weeks_window(
    now: datetime, calendar: WorkCalendar, weeks: int = WEEKS_SHOWN
) -> tuple[date, date]:
    """The due days whose parts can fall in the last `weeks` weeks (the current one last):
    what to read from the database for `weekly`."""
    today = now.astimezone(calendar.tz).date()
    first_monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    return first_monday - _LONGEST_SHIFT, today


def weekly(
    parts: Iterable[tuple[date, datetime | None]],
    now: datetime,
    calendar: WorkCalendar,
    weeks: int = WEEKS_SHOWN,
) -> list[Week]:
    """For each of the last `weeks` weeks, oldest first: how the parts (due day, done at)
    whose deadline ended that week stand now — the on-time reporting trend."""
    today = now.astimezone(calendar.tz).date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=weeks - 1 - index) for index in range(weeks)]
    counts = {monday: Counter[Completion]() for monday in mondays}
    deadlines: dict[date, _Deadline] = {}
    for due_on, done_at in parts:
        deadline = deadlines.get(due_on)
        if deadline is None:
            deadline = deadlines[due_on] = _deadline(due_on, calendar)
        monday = deadline.last_day - timedelta(days=deadline.last_day.weekday())
        # A part still within its deadline is not counted yet: it may well be on time.
        if monday in counts and (done_at is not None or deadline.last_day < today):
            counts[monday][_class(deadline, done_at, today)] += 1
    return [
        Week(
            monday,
            found[Completion.DONE_ON_TIME],
            found[Completion.DONE_LATE],
            found[Completion.OVERDUE],
        )
        for monday, found in counts.items()
    ]
