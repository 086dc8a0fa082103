"""RSVP buttons on meeting reminders and /meetings; /status with status buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import callbacks
from bot.callbacks import MeetingPress, Rsvp, TaskPress, TaskStatus
from bot.db import transaction
from bot.models import MeetingResponse, StatusReport
from tests.chat import HANOI, local, press, reply_dated
from tests.people import registered


async def _responses(bot):
    async with bot.sessions() as session:
        return (await session.scalars(select(MeetingResponse))).all()


async def _invited(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng")
    replies = await bot.say_all(an, "/meetings")
    [card] = [r for r in replies if r.get("reply_markup")]
    return an, card


async def test_answers_change_until_the_meeting_starts_and_show_in_meetings(bot, admin):
    an, card = await _invited(bot, admin)
    answer = await press(bot, an, card, callbacks.encode(MeetingPress(1, Rsvp.ATTEND)))
    assert "✅" in answer["text"]
    await press(bot, an, card, callbacks.encode(MeetingPress(1, Rsvp.ABSENT)))
    [response] = await _responses(bot)
    assert response.answer == "absent"
    replies = await bot.say_all(an, "/meetings")
    text = "\n".join(r["text"] for r in replies)
    assert "❌ 1" in text and "✅ 0" in text

    bot.clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=HANOI).astimezone(UTC))
    late = await press(bot, an, card, callbacks.encode(MeetingPress(1, Rsvp.ATTEND)))
    assert late["show_alert"] is True
    [response] = await _responses(bot)
    assert response.answer == "absent"


async def test_a_delegate_is_named_by_replying_to_the_question(bot, admin):
    an, card = await _invited(bot, admin)
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(MeetingPress(1, Rsvp.DELEGATE)))
    question = await bot.api.wait_for_message(an.id, since=since)
    confirmed = await bot.say(an, "Lê Thị Hoa, Phó Vụ trưởng <Vụ Đầu tư>", reply_to=question)
    assert "Lê Thị Hoa, Phó Vụ trưởng <Vụ Đầu tư>" in confirmed["text"]
    [response] = await _responses(bot)
    assert (response.answer, response.delegate) == (
        "delegate",
        "Lê Thị Hoa, Phó Vụ trưởng <Vụ Đầu tư>",
    )


async def test_a_member_of_another_council_cannot_answer(bot, admin):
    _an, card = await _invited(bot, admin)
    outsider = await registered(bot, "Lê Văn Cường", "TN", "DLK")
    refused = await press(bot, outsider, card, callbacks.encode(MeetingPress(1, Rsvp.ATTEND)))
    assert refused["show_alert"] is True
    assert await _responses(bot) == []


async def test_status_lists_the_agency_tasks_with_buttons_that_record(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC,HN Q4/2026 | Báo cáo quý")
    await bot.say(admin, "/newtask DBSH HN Q4/2026 | Việc của Hà Nội")
    replies = await bot.say_all(an, "/status")
    cards = [r for r in replies if r.get("reply_markup")]
    assert len(cards) == 1 and "Báo cáo quý" in cards[0]["text"]
    await press(bot, an, cards[0], callbacks.encode(TaskPress(1, TaskStatus.BLOCKED)))
    async with bot.sessions() as session:
        [report] = (await session.scalars(select(StatusReport))).all()
    assert report.status == "blocked"
    await press(bot, an, cards[0], callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    nothing = await bot.say(an, "/status")
    assert "Báo cáo quý" not in nothing["text"]


async def _asked_for_a_delegate(bot, admin):
    """An presses 👤; the question arrives, but its id is not recorded (as when a reply
    comes before it is, or sending it failed)."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2027-01-08 09:00 | Góp ý quy hoạch vùng")
    await bot.say(admin, "/newtask DBSH BTC 31/12/2026 | Báo cáo quý IV")
    [card] = [r for r in await bot.say_all(an, "/meetings") if r.get("reply_markup")]
    pressed_at = bot.clock.now()
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(MeetingPress(1, Rsvp.DELEGATE)))
    question = await bot.api.wait_for_message(an.id, since=since)
    async with transaction(bot.sessions) as session:
        [response] = (await session.scalars(select(MeetingResponse))).all()
        assert response.prompt_message_id == question["message_id"]
        response.prompt_message_id = None
    return an, card, question, pressed_at


async def test_an_old_delegate_question_does_not_take_a_later_reply_to_a_reminder(bot, admin):
    an, _card, _question, _pressed_at = await _asked_for_a_delegate(bot, admin)
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 17, 8, 0))  # the task's first reminder
    [reminder] = [m for m in bot.api.sent[since:] if "Báo cáo quý IV" in m.get("text", "")]

    answer = await bot.say(an, "Lê Thị Hoa, Phó Vụ trưởng", reply_to=reminder)
    # Handled as what it is: a note on the task, which has no answer yet.
    assert answer["text"] == "Vui lòng chọn một nút trả lời trước, sau đó gửi ghi chú."
    [response] = await _responses(bot)
    assert (response.answer, response.delegate) == ("delegate", None)


async def test_a_question_being_asked_takes_only_a_reply_to_a_message_sent_after_the_press(
    bot, admin
):
    an, card, question, pressed_at = await _asked_for_a_delegate(bot, admin)
    hint = (
        "Tin nhắn này chưa được ghi nhận vì không phải là câu trả lời cho câu hỏi đang chờ "
        "(ghi chú về tình hình thực hiện nhiệm vụ, hoặc họ tên người được cử đi họp thay). "
        "Vui lòng gửi /help để xem các chức năng có thể sử dụng."
    )
    # The card with the buttons was sent before the press: a reply to it names no one.
    earlier = pressed_at - timedelta(minutes=1)
    assert (await reply_dated(bot, an, "Lê Thị Hoa", card, earlier))["text"] == hint
    # The question itself, sent just after the press, takes the name even before its id
    # is recorded...
    bot.clock.advance(timedelta(seconds=30))
    sent = pressed_at + timedelta(seconds=1)
    answer = await reply_dated(bot, an, "Lê Thị Hoa, Phó Vụ trưởng", question, sent)
    assert (
        answer["text"] == "👤 Đã ghi nhận: Lê Thị Hoa, Phó Vụ trưởng sẽ dự cuộc họp #1 thay Quý vị."
    )
    # ...but only shortly after the answer (here the name, just recorded), even to a
    # message sent after it.
    answered_at = bot.clock.now()
    async with transaction(bot.sessions) as session:
        [response] = (await session.scalars(select(MeetingResponse))).all()
        response.prompt_message_id = None
    bot.clock.advance(timedelta(minutes=3))
    after = answered_at + timedelta(seconds=1)
    late = await reply_dated(bot, an, "Trần Văn Bảo", question, after)
    assert late["text"] == hint
    [response] = await _responses(bot)
    assert response.delegate == "Lê Thị Hoa, Phó Vụ trưởng"


async def test_a_reply_to_a_note_question_is_a_note_even_while_a_delegate_is_asked_for(bot, admin):
    an, _card, _question, pressed_at = await _asked_for_a_delegate(bot, admin)
    [status] = [r for r in await bot.say_all(an, "/status") if r.get("reply_markup")]
    since = len(bot.api.sent)
    await press(bot, an, status, callbacks.encode(TaskPress(1, TaskStatus.AT_RISK)))
    note_question = await bot.api.wait_for_message(an.id, since=since)
    sent = pressed_at + timedelta(seconds=2)  # after the 👤 press too
    answer = await reply_dated(bot, an, "Chờ số liệu", note_question, sent)
    assert answer["text"] == "📝 Đã ghi nhận ghi chú cho nhiệm vụ #1."
    [response] = await _responses(bot)
    assert response.delegate is None


async def test_pressing_the_delegate_button_again_asks_again(bot, admin):
    an, card, _question, _pressed_at = await _asked_for_a_delegate(bot, admin)
    bot.clock.advance(timedelta(minutes=5))
    pressed_again = bot.clock.now()
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(MeetingPress(1, Rsvp.DELEGATE)))
    question = await bot.api.wait_for_message(an.id, since=since)
    async with transaction(bot.sessions) as session:
        [response] = (await session.scalars(select(MeetingResponse))).all()
        response.prompt_message_id = None  # its id not recorded yet
    sent = pressed_again + timedelta(seconds=1)
    answer = await reply_dated(bot, an, "Lê Thị Hoa", question, sent)
    assert answer["text"] == "👤 Đã ghi nhận: Lê Thị Hoa sẽ dự cuộc họp #1 thay Quý vị."
