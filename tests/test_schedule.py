"""The timing rules of SPEC §5 as pure functions (bot/schedule.py)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from bot.schedule import meeting_reminders, nudges, on_a_working_day, task_reminders
from bot.worktime import WorkCalendar, load_adjustments
from tests.chat import HANOI, local
from tests.test_worktime import SHIPPED_CSV

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


def test_reminders_of_a_deadline_in_tet_go_out_before_the_break_in_one_message():
    # Due Friday 20/02/2026, mùng 4 Tết (off 14-22/02): T-7d (Fri 13/02) is a working
    # day; T-3d, T-1d and the due day fall in the break and move back to Friday 13/02,
    # where the four make one message. Nothing goes out after the deadline.
    moments = task_reminders(date(2026, 2, 20), DAYS, CALENDAR, planned_at=local(2026, 1, 26, 9))
    assert [(m.label, m.due_at) for m in moments] == [
        ("T-14d", local(2026, 2, 6, 8, 0)),
        ("T-0d", local(2026, 2, 13, 8, 0)),
    ]
    assert all(m.due_at < local(2026, 2, 14) for m in moments)


def test_a_reminder_pushed_by_the_creation_moment_stays_within_the_deadline():
    # Created on Saturday 14/02/2026 in the break: the reminders' working day (13/02) has
    # passed, so one goes out on the next working morning, 23/02, the deadline's last day.
    moments = task_reminders(date(2026, 2, 20), DAYS, CALENDAR, planned_at=local(2026, 2, 14, 10))
    assert [(m.label, m.due_at) for m in moments] == [("T-0d", local(2026, 2, 23, 8, 0))]
    # Created on the due day after office hours: no reminder would come in time.
    assert (
        task_reminders(date(2026, 12, 4), DAYS, CALENDAR, planned_at=local(2026, 12, 4, 18)) == []
    )


def test_a_reminder_on_a_day_off_moves_back_onto_a_make_up_saturday():
    # The 2026 New Year swap (shipped file): Friday 02/01 off, Saturday 10/01 worked.
    shipped = WorkCalendar(HANOI, load_adjustments(SHIPPED_CSV))
    moments = task_reminders(date(2026, 1, 12), DAYS, shipped, planned_at=local(2025, 12, 1, 9))
    assert [(m.label, m.due_at) for m in moments] == [
        ("T-14d", local(2025, 12, 29, 8, 0)),
        ("T-7d", local(2026, 1, 5, 8, 0)),
        ("T-3d", local(2026, 1, 9, 8, 0)),
        ("T-1d", local(2026, 1, 10, 8, 0)),  # Sunday 11/01 -> the make-up Saturday
        ("T-0d", local(2026, 1, 12, 8, 0)),
    ]
    # T-7d of a deadline on Friday 09/01 falls on the swapped Friday 02/01: Wednesday 31/12.
    earlier = task_reminders(date(2026, 1, 9), (7,), shipped, planned_at=local(2025, 12, 1, 9))
    assert [m.due_at for m in earlier] == [local(2025, 12, 31, 8, 0)]


def test_nudges_of_a_saturday_deadline_count_from_the_monday_it_ends_on():
    # Due Saturday 05/12/2026: it ends on Monday 07/12, the first nudge is Wednesday 09/12.
    moments = nudges(date(2026, 12, 5), CALENDAR, planned_at=local(2026, 11, 23, 9))
    assert moments[0].due_at == local(2026, 12, 9, 8, 0)
    # A deadline on a working day keeps the rule: 2nd working day after it.
    friday = nudges(date(2026, 12, 4), CALENDAR, planned_at=local(2026, 11, 23, 9))
    assert friday[0].due_at == local(2026, 12, 8, 8, 0)


def test_a_weekly_moment_on_a_day_off_moves_to_the_next_working_day_same_time():
    # Monday 27/04/2026 is off (Giỗ Tổ Hùng Vương, 26/04, falls on a Sunday).
    assert on_a_working_day(local(2026, 4, 27, 8, 30), CALENDAR) == local(2026, 4, 28, 8, 30)
    # Monday 16/02/2026, Tết: the week after, Monday 23/02.
    assert on_a_working_day(local(2026, 2, 16, 8, 30), CALENDAR) == local(2026, 2, 23, 8, 30)
    assert on_a_working_day(local(2026, 4, 20, 8, 30), CALENDAR) == local(2026, 4, 20, 8, 30)
