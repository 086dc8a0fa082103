"""The timing rules of SPEC §5, as pure functions: when each reminder, nudge and
escalation is due, and until when it still means something.

Nothing here touches the database or Telegram; `bot/outbox/plan.py` turns these
moments into outbox rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.worktime import WorkCalendar

NUDGE_EVERY_WORKING_DAYS = 2
MAX_NUDGES = 5


@dataclass(frozen=True)
class Moment:
    label: str  # part of the outbox key: "T-7d", "T-2h", "N3", "ESC"
    due_at: datetime  # UTC
    expires_at: datetime | None  # after this it is dropped, not sent


def offset_label(offset: timedelta) -> str:
    if offset % timedelta(days=1) == timedelta(0):
        return f"T-{offset // timedelta(days=1)}d"
    if offset % timedelta(hours=1) == timedelta(0):
        return f"T-{offset // timedelta(hours=1)}h"
    return f"T-{offset // timedelta(minutes=1)}m"


def meeting_reminders(
    starts_at: datetime, offsets: tuple[timedelta, ...], now: datetime, *, planned_at: datetime
) -> list[Moment]:
    """Reminders before a meeting, on time (not only in working hours).

    Those whose moment had already passed when the meeting was planned (`planned_at`:
    created or moved) are skipped. Each expires when the next one is due, the last
    when the meeting starts.
    """
    if starts_at <= now:
        return []
    kept = [o for o in sorted(offsets, reverse=True) if starts_at - o >= planned_at]
    moments = []
    for index, offset in enumerate(kept):
        # Superseded by the next reminder: after downtime only the latest one goes out.
        expires = starts_at - kept[index + 1] if index + 1 < len(kept) else starts_at
        moments.append(Moment(offset_label(offset), starts_at - offset, expires))
    return moments


def task_reminders(
    due_on: date, days_before: tuple[int, ...], calendar: WorkCalendar, *, planned_at: datetime
) -> list[Moment]:
    """Reminders at 08:00 local on each of `days_before` the due day, in working time.

    A reminder whose day is a day off goes out on the previous working day at 08:00:
    it announces a deadline, so it must come before it, not after the Tết break (a
    deadline of Friday 20/02/2026, mùng 4 Tết, is reminded on Friday 13/02/2026).
    A reminder whose day had passed when the task was created is skipped, except the
    due-day one; one that the creation moment pushes past the deadline's last day
    (`WorkCalendar.deadline_end`) is dropped, the nudges take over from there.

    Reminders of one task that land on one day are one message: the one closest to
    the deadline is kept. Each expires when the next one is due, so after downtime a
    member gets the latest reminder, not a burst of stale ones.
    """
    planned_day = planned_at.astimezone(calendar.tz).date()
    closing = calendar.closing(calendar.deadline_end(due_on))
    by_day: dict[date, tuple[str, datetime]] = {}
    for days in sorted(days_before, reverse=True):
        day = due_on - timedelta(days=days)
        if day < planned_day:
            continue
        if not calendar.is_working_day(day):
            day = calendar.previous_working_day(day)
        # Created after that morning: it goes out now (in working time).
        moment = calendar.next_working_moment(max(calendar.morning(day), planned_at))
        if moment > closing:
            continue
        # Later labels are closer to the deadline: they replace earlier ones that day.
        by_day[moment.astimezone(calendar.tz).date()] = (f"T-{days}d", moment)
    kept = sorted(by_day.values(), key=lambda item: item[1])
    # The last reminder means something until the first nudge takes over.
    first_nudge = calendar.morning(first_nudge_day(due_on, calendar))
    moments = []
    for index, (label, moment) in enumerate(kept):
        expires = kept[index + 1][1] if index + 1 < len(kept) else first_nudge
        moments.append(Moment(label, moment, expires))
    return moments


def first_nudge_day(due_on: date, calendar: WorkCalendar) -> date:
    """The 2nd working day after the deadline's last day (a Saturday deadline ends on
    Monday, so its first nudge is on Wednesday)."""
    return calendar.add_working_days(calendar.deadline_end(due_on), NUDGE_EVERY_WORKING_DAYS)


def nudges(due_on: date, calendar: WorkCalendar, *, planned_at: datetime) -> list[Moment]:
    """After the deadline's last day with no `✅`: a nudge at 08:00 on the 2nd working
    day after it and every 2 working days after that, at most 5; then one escalation to
    the admins ("ESC") on the slot after the last nudge.

    Each nudge expires when the next is due. Slots before `planned_at` are skipped: a
    task entered after its deadline (demo data) is not nagged about its past.
    """
    day = first_nudge_day(due_on, calendar)
    slots = [calendar.morning(day)]
    for _ in range(MAX_NUDGES):
        day = calendar.add_working_days(day, NUDGE_EVERY_WORKING_DAYS)
        slots.append(calendar.morning(day))
    moments = []
    for index, slot in enumerate(slots):
        label = f"N{index + 1}" if index < MAX_NUDGES else "ESC"
        expires = slots[index + 1] if index + 1 < len(slots) else None
        if slot < planned_at:
            continue
        moments.append(Moment(label, slot, expires))
    return moments


def on_a_working_day(slot: datetime, calendar: WorkCalendar) -> datetime:
    """`slot`, or when its day is a day off the same local time on the next working day
    (a digest due on a holiday Monday goes out on Tuesday at 08:30), as UTC."""
    local = slot.astimezone(calendar.tz)
    if calendar.is_working_day(local.date()):
        return slot.astimezone(UTC)
    day = calendar.add_working_days(local.date(), 1)
    return datetime.combine(day, local.time(), tzinfo=calendar.tz).astimezone(UTC)


@dataclass(frozen=True)
class Timing:
    """The configurable parts of the rules, built once from the settings."""

    calendar: WorkCalendar
    meeting_offsets: tuple[timedelta, ...]
    task_days: tuple[int, ...]
    digest: Weekly = field(default_factory=lambda: Weekly(0, time(8, 30)))

    @property
    def tz(self) -> ZoneInfo:
        return self.calendar.tz

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()


_WEEKDAYS = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
    "t2": 0,
    "t3": 1,
    "t4": 2,
    "t5": 3,
    "t6": 4,
    "t7": 5,
    "cn": 6,
}


@dataclass(frozen=True)
class Weekly:
    """A moment every week: the digest schedule ("mon 08:30", also "t2 08:30")."""

    weekday: int  # Monday = 0
    at: time

    @classmethod
    def parse(cls, text: str) -> Weekly:
        parts = text.strip().lower().split()
        if len(parts) != 2 or (parts[0][:3] not in _WEEKDAYS and parts[0] not in _WEEKDAYS):
            raise ValueError(f"{text!r} is not a weekly moment like 'mon 08:30'")
        day = _WEEKDAYS.get(parts[0], _WEEKDAYS.get(parts[0][:3], -1))
        hour, _, minute = parts[1].partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"{text!r} is not a weekly moment like 'mon 08:30'")
        return cls(day, time(int(hour), int(minute)))

    def __str__(self) -> str:
        names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        return f"{names[self.weekday]} {self.at:%H:%M}"

    def slots(self, tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
        """Every moment of this schedule in [start, end], as UTC."""
        day = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date() + timedelta(days=1)
        found = []
        while day <= last:
            if day.weekday() == self.weekday:
                moment = datetime.combine(day, self.at, tzinfo=tz).astimezone(start.tzinfo)
                if start <= moment <= end:
                    found.append(moment)
            day += timedelta(days=1)
        return found
