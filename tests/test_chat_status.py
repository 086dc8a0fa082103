"""Status buttons on task reminders: who may press, what is recorded, the note question."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import callbacks
from bot.callbacks import TaskPress, TaskStatus
from bot.db import transaction
from bot.models import StatusReport, Task, TaskAgency
from tests.chat import HANOI, press, reply_dated
from tests.people import registered

REMINDER_DAY = datetime(2026, 12, 17, 8, 0, tzinfo=HANOI).astimezone(UTC)  # T-14d
HINT = (
    "Tin nhắn này chưa được ghi nhận vì không phải là câu trả lời cho câu hỏi đang chờ "
    "(ghi chú về tình hình thực hiện nhiệm vụ, hoặc họ tên người được cử đi họp thay). "
    "Vui lòng gửi /help để xem các chức năng có thể sử dụng."
)


async def _reminded(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await bot.say(admin, "/newtask DBSH BTC,HN Q4/2026 | Báo cáo thực hiện quy hoạch vùng")
    since = len(bot.api.sent)
    await bot.advance_to(REMINDER_DAY)
    reminders = {m["chat"]["id"]: m for m in bot.api.sent[since:]}
    return an, binh, reminders


async def _reports(bot):
    async with bot.sessions() as session:
        return (await session.scalars(select(StatusReport).order_by(StatusReport.id))).all()


async def test_done_closes_the_agency_part_and_asks_for_a_note(bot, admin):
    an, binh, reminders = await _reminded(bot, admin)
    done = callbacks.encode(TaskPress(1, TaskStatus.DONE))
    since = len(bot.api.sent)
    answer = await press(bot, an, reminders[an.id], done)
    assert "✅" in answer["text"]
    question = await bot.api.wait_for_message(an.id, since=since)
    assert "#1" in question["text"]
    [asked] = [
        params
        for name, params, _status in bot.api.calls
        if name == "sendMessage" and params.get("text") == question["text"]
    ]
    markup = asked["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert markup["force_reply"] is True

    [report] = await _reports(bot)
    assert (report.status, report.member.full_name) == ("done", "Nguyễn Văn An")
    assert report.prompt_message_id == question["message_id"]
    async with bot.sessions() as session:
        parts = (await session.scalars(select(TaskAgency).order_by(TaskAgency.id))).all()
        task = await session.get(Task, 1)
    assert parts[0].done_at is not None and parts[1].done_at is None
    assert task.done_at is None  # Hà Nội has not answered
    listing = await bot.say(an, "/tasks")
    assert "BTC ✅" in listing["text"] and "HN —" in listing["text"]

    # The agency's nudges stop: on the due day only Hà Nội is reminded.
    since = len(bot.api.sent)
    await bot.advance_to(datetime(2026, 12, 31, 8, 0, tzinfo=HANOI).astimezone(UTC))
    assert {m["chat"]["id"] for m in bot.api.sent[since:]} == {binh.id}


async def test_a_member_of_another_agency_changes_nothing(bot, admin):
    an, _binh, reminders = await _reminded(bot, admin)
    outsider = await registered(bot, "Phạm Văn Dũng", "DBSH", "BCT")
    answer = await press(
        bot, outsider, reminders[an.id], callbacks.encode(TaskPress(1, TaskStatus.DONE))
    )
    assert answer["show_alert"] is True and "cơ quan" in answer["text"]
    assert await _reports(bot) == []


async def test_double_tap_records_one_report_and_other_statuses_are_kept(bot, admin):
    an, _binh, reminders = await _reminded(bot, admin)
    at_risk = callbacks.encode(TaskPress(1, TaskStatus.AT_RISK))
    await press(bot, an, reminders[an.id], at_risk)
    await press(bot, an, reminders[an.id], at_risk)
    assert [r.status for r in await _reports(bot)] == ["at_risk"]
    listing = await bot.say(an, "/tasks")
    assert "BTC 🟠" in listing["text"]


async def test_forged_stale_and_garbage_presses_are_refused(bot, admin):
    an, _binh, reminders = await _reminded(bot, admin)
    reminder = reminders[an.id]
    for data in ("garbage", "0:t:1:d", "1:t:1:z", "1:t:999:d", "x" * 64):
        answer = await press(bot, an, reminder, data)
        assert answer["show_alert"] is True, data
    await bot.say(admin, "/canceltask 1")
    answer = await press(bot, an, reminder, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    assert answer["show_alert"] is True and "hủy" in answer["text"]
    assert await _reports(bot) == []


async def _answered(bot, admin, status=TaskStatus.ON_TRACK):
    an, _binh, reminders = await _reminded(bot, admin)
    since = len(bot.api.sent)
    await press(bot, an, reminders[an.id], callbacks.encode(TaskPress(1, status)))
    question = await bot.api.wait_for_message(an.id, since=since)
    return an, reminders, question


async def test_a_reply_to_the_question_records_the_note(bot, admin):
    an, _reminders, question = await _answered(bot, admin)
    note = "Đã trình <UBND> & chờ ý kiến 👍"
    answer = await bot.say(an, note, reply_to=question)
    assert "#1" in answer["text"]
    [report] = await _reports(bot)
    assert report.note == note


async def test_a_reply_to_the_reminder_records_the_note_on_the_latest_report(bot, admin):
    an, reminders, _question = await _answered(bot, admin)
    await bot.say(an, "Dự kiến nộp ngày 28/12", reply_to=reminders[an.id])
    [report] = await _reports(bot)
    assert (report.status, report.note) == ("on_track", "Dự kiến nộp ngày 28/12")


async def test_a_note_of_only_spaces_is_refused(bot, admin):
    an, _reminders, question = await _answered(bot, admin)
    answer = await bot.say(an, "   \n  ", reply_to=question)
    assert "trống" in answer["text"]
    [report] = await _reports(bot)
    assert report.note is None


async def test_a_note_of_exactly_1000_characters_is_kept(bot, admin):
    an, _reminders, question = await _answered(bot, admin)
    await bot.say(an, "đ" * 1000, reply_to=question)
    [report] = await _reports(bot)
    assert report.note == "đ" * 1000


async def test_a_note_over_1000_characters_is_refused_and_echoed(bot, admin):
    an, _reminders, question = await _answered(bot, admin)
    note = "Ghi chú <dài> " + "x" * 987  # 1,001 characters
    since = len(bot.api.sent)
    bot.api.send_message(an, note, reply_to=question)
    await bot.settle()
    texts = "\n".join(m["text"] for m in bot.api.sent[since:] if m["chat"]["id"] == an.id)
    assert len(note) == 1001
    assert "1001" in texts and note in texts
    [report] = await _reports(bot)
    assert report.note is None


async def test_a_reply_to_another_message_gets_a_hint(bot, admin):
    an, _reminders, _question = await _answered(bot, admin)
    hello = await bot.say(an, "/whoami")
    answer = await bot.say(an, "Cảm ơn", reply_to=hello)
    assert "/help" in answer["text"]
    [report] = await _reports(bot)
    assert report.note is None


async def test_quick_presses_get_one_question_about_the_last_and_the_note_finds_it(bot, admin):
    an, _binh, reminders = await _reminded(bot, admin)
    reminder = reminders[an.id]
    since = len(bot.api.sent)
    # Three taps in a row, as fast as a thumb: 🟢, 🟠, 🔴. Telegram allows about one
    # message a second in a chat, so the 🟢 question takes the chat's last free slot; the
    # 🟠 one waits and is replaced by the 🔴 one.
    for status in (TaskStatus.ON_TRACK, TaskStatus.AT_RISK, TaskStatus.BLOCKED):
        bot.api.press_button(an, reminder, callbacks.encode(TaskPress(1, status)), force=True)
    await bot.settle(timeout=10)
    questions = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    assert [q["text"][:1] for q in questions] == ["🟢", "🔴"]
    reports = await _reports(bot)
    assert [r.status for r in reports] == ["on_track", "at_risk", "blocked"]
    # The replaced question was never sent: its report waits for no message id.
    assert [r.prompt_message_id for r in reports] == [
        questions[0]["message_id"],
        None,
        questions[1]["message_id"],
    ]
    await bot.say(an, "Vướng mặt bằng", reply_to=questions[1])
    # A reply to another bot message does not land on the report whose question never went.
    hello = await bot.say(an, "/whoami")
    answer = await bot.say(an, "Cảm ơn", reply_to=hello)
    assert "/help" in answer["text"]
    assert [r.note for r in await _reports(bot)] == [None, None, "Vướng mặt bằng"]


async def _forget_the_question(bot):
    """As if the question's id had not been recorded (a reply came first, or it failed)."""
    async with transaction(bot.sessions) as session:
        for report in (await session.scalars(select(StatusReport))).all():
            report.prompt_message_id = None


async def test_an_old_note_question_does_not_take_a_later_reply_to_another_message(bot, admin):
    an, _reminders, _question = await _answered(bot, admin)
    await _forget_the_question(bot)
    bot.clock.advance(timedelta(minutes=10))
    hello = await bot.say(an, "/whoami")
    answer = await bot.say(an, "Cảm ơn", reply_to=hello)
    assert answer["text"] == HINT
    [report] = await _reports(bot)
    assert report.note is None


async def test_a_note_question_being_asked_takes_a_reply_to_it_not_to_an_earlier_message(
    bot, admin
):
    an, _binh, reminders = await _reminded(bot, admin)
    hello = await bot.say(an, "/whoami")  # before the press
    pressed_at = bot.clock.now()
    since = len(bot.api.sent)
    await press(bot, an, reminders[an.id], callbacks.encode(TaskPress(1, TaskStatus.AT_RISK)))
    question = await bot.api.wait_for_message(an.id, since=since)
    await _forget_the_question(bot)
    bot.clock.advance(timedelta(seconds=20))

    earlier = pressed_at - timedelta(minutes=1)
    assert (await reply_dated(bot, an, "Cảm ơn", hello, earlier))["text"] == HINT
    sent = pressed_at + timedelta(seconds=1)
    answer = await reply_dated(bot, an, "Chờ vốn bổ sung", question, sent)
    assert answer["text"] == "📝 Đã ghi nhận ghi chú cho nhiệm vụ #1."
    [report] = await _reports(bot)
    assert report.note == "Chờ vốn bổ sung"
