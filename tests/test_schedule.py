"""The timing rules of SPEC §5 as pure functions (bot/schedule.py)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from bot.schedule import meeting_reminders, nudges, task_reminders
from bot.worktime import WorkCalendar
from tests.chat import HANOI, local

CALENDAR = WorkCalendar(HANOI)
DAYS = (14, 7, 3, 1, 0)


def test_reminders_pushed_onto_one_morning_collapse_into_the_latest():
    # Created Friday 4 Dec 2026 at 17:30, due Monday 7 Dec: T-3d (Friday, after hours),
    # T-1d (Sunday) and the due day all land on Monday 08:00; only the due-day one is kept.
    moments = task_reminders(
        date(2026, 12, 7), DAYS, CALENDAR, planned_at=local(2026, 12, 4, 17, 30)
    )
    assert [(m.label, m.due_at) for m in moments] == [("T-0d", local(2026, 12, 7, 8, 0))]


def test_a_task_created_during_the_due_day_is_reminded_at_once():
    moments = task_reminders(
        date(2026, 12, 7), DAYS, CALENDAR, planned_at=local(2026, 12, 7, 10, 15)
    )
    assert [(m.label, m.due_at) for m in moments] == [("T-0d", local(2026, 12, 7, 10, 15))]


def test_each_task_reminder_expires_when_the_next_is_due():
    moments = task_reminders(date(2026, 12, 31), DAYS, CALENDAR, planned_at=local(2026, 11, 23, 9))
    assert [m.label for m in moments] == ["T-14d", "T-7d", "T-3d", "T-1d", "T-0d"]
    for earlier, later in itertools.pairwise(moments):
        assert earlier.expires_at == later.due_at
    # The due-day reminder gives way to the first nudge.
    assert (
        moments[-1].expires_at
        == nudges(date(2026, 12, 31), CALENDAR, planned_at=local(2026, 11, 23, 9))[0].due_at
    )


def test_nudges_skip_weekends_and_holidays_and_end_in_one_escalation():
    # Due Wednesday 29 April 2026: 30/4 and 1/5 are holidays, then a weekend.
    moments = nudges(date(2026, 4, 29), CALENDAR, planned_at=local(2026, 4, 1, 9))
    assert [m.label for m in moments] == ["N1", "N2", "N3", "N4", "N5", "ESC"]
    assert moments[0].due_at == local(2026, 5, 5, 8, 0)  # Mon 4 May = 1st, Tue 5 May = 2nd
    assert moments[-1].expires_at is None


def test_meeting_reminders_whose_moment_passed_at_planning_are_skipped():
    start = local(2026, 12, 3, 9, 0)
    offsets = (timedelta(days=7), timedelta(days=1), timedelta(hours=2))
    moments = meeting_reminders(start, offsets, local(2026, 11, 30), planned_at=local(2026, 11, 30))
    assert [(m.label, m.due_at, m.expires_at) for m in moments] == [
        ("T-1d", local(2026, 12, 2, 9, 0), local(2026, 12, 3, 7, 0)),
        ("T-2h", local(2026, 12, 3, 7, 0), start),
    ]
    assert meeting_reminders(start, offsets, start, planned_at=local(2026, 11, 1)) == []
