"""The government calendar in chat, across the 2026 New Year swap and Tết Bính Ngọ:
reminders before a deadline in the break go out before it, a deadline on a day off
runs to the end of the next working day, the weekly digest of a holiday Monday goes
out on Tuesday, and an admin scheduling a meeting on a day off is told so."""

from __future__ import annotations

import pytest

from bot.clock import FrozenClock
from tests.chat import linked_group, local
from tests.people import registered
from tests.test_chat_tasks import walk


@pytest.fixture
def clock() -> FrozenClock:
    # Monday 26 January 2026, 09:00 in Hanoi: three weeks before Tết.
    return FrozenClock(local(2026, 1, 26, 9, 0))


def _digests(bot, chat_id, since):
    return [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == chat_id and m.get("text", "").startswith("📊")
    ]


async def test_a_deadline_in_tet_is_reminded_before_the_break_and_never_after_it(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC 20/02/2026 | Báo cáo tình hình triển khai quy hoạch")

    log = await walk(bot, local(2026, 3, 3, 12, 0))

    got = [(moment, m) for moment, m in log if m["chat"]["id"] == an.id]
    moments = [moment for moment, _ in got]
    # T-14d on Friday 06/02; T-7d, T-3d, T-1d and the due day (13/02 and the break)
    # as one message on Friday 13/02, the last working day before Tết.
    assert moments[:2] == [local(2026, 2, 6, 8, 0), local(2026, 2, 13, 8, 0)]
    # Nothing during the break, nothing on Monday 23/02, the deadline's last day: the
    # first nudge comes on the 2nd working day after it, Wednesday 25/02.
    assert moments[2] == local(2026, 2, 25, 8, 0)
    assert got[2][1]["text"].startswith("⏰")  # a nudge, no longer a reminder
    reminder = got[1][1]["text"]
    assert "là ngày nghỉ nên hạn kéo dài đến hết" in reminder
    assert "còn 10 ngày" in reminder  # to the end of Monday 23/02


async def test_the_digest_of_a_holiday_monday_goes_out_on_tuesday_at_the_same_time(bot, admin):
    # Giỗ Tổ Hùng Vương falls on Sunday 26/04/2026; Monday 27/04 is off in lieu.
    await bot.advance_to(local(2026, 4, 26, 20, 0))
    group = await linked_group(bot, admin)
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 4, 27, 12, 0))
    await bot.advance_to(local(2026, 4, 28, 8, 29))
    assert _digests(bot, group.id, since) == []
    await bot.advance_to(local(2026, 4, 28, 8, 30))
    assert len(_digests(bot, group.id, since)) == 1
    # The next Monday is a working day: back on schedule, once.
    await bot.advance_to(local(2026, 5, 4, 8, 30))
    assert len(_digests(bot, group.id, since)) == 2


async def test_a_week_of_tet_gives_one_digest_after_the_break_not_two(bot, admin):
    await bot.advance_to(local(2026, 2, 13, 12, 0))
    group = await linked_group(bot, admin)
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 2, 20, 12, 0))
    assert _digests(bot, group.id, since) == []  # Monday 16/02 is in the break
    await bot.advance_to(local(2026, 2, 23, 8, 30))
    await bot.advance_to(local(2026, 2, 23, 9, 0))
    assert len(_digests(bot, group.id, since)) == 1


@pytest.mark.parametrize(
    ("moment", "cause"),
    [
        ("2026-02-14 09:00", "(Tết Nguyên đán)"),  # Saturday, first day of the break
        ("2026-02-18 09:00", "(Tết Nguyên đán)"),
        ("2026-03-07 09:00", "(nghỉ cuối tuần)"),
    ],
)
async def test_a_meeting_on_a_day_off_is_scheduled_and_the_admin_is_told(bot, admin, moment, cause):
    answer = await bot.say(admin, f"/newmeeting DBSH {moment} | Họp Hội đồng điều phối vùng")
    assert "#1" in answer["text"]
    assert "⚠️ Lưu ý:" in answer["text"] and f"là ngày nghỉ {cause}." in answer["text"]


async def test_a_meeting_on_the_make_up_saturday_gets_no_warning(bot, admin):
    await bot.advance_to(local(2026, 1, 5, 9, 0))
    answer = await bot.say(admin, "/newmeeting DBSH 2026-01-10 09:00 | Họp ngày làm bù")
    assert "#1" in answer["text"] and "Lưu ý" not in answer["text"]
    weekday = await bot.say(admin, "/newmeeting DBSH 2026-03-05 09:00 | Họp thường kỳ")
    assert "#2" in weekday["text"] and "Lưu ý" not in weekday["text"]
