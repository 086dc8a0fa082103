"""RSVP buttons on meeting reminders and /meetings; /status with status buttons."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot import callbacks
from bot.callbacks import MeetingPress, Rsvp, TaskPress, TaskStatus
from bot.models import MeetingResponse, StatusReport
from tests.chat import HANOI, press
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
