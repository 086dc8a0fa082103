"""Meetings end to end: /newmeeting, reminders at 7 days, 1 day and 2 hours, moving and
cancelling, /meetings — through the real Application, the outbox and the fake server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot import callbacks
from bot.models import Meeting, Outbox, OutboxState
from tests.chat import linked_group, local
from tests.people import registered


def _reminders(bot, since):
    """What was sent since `since`, without the weekly digest that the group also gets."""
    return [
        m
        for m in bot.api.sent[since:]
        if "photo" not in m and not m.get("text", "").startswith("📊")
    ]


def _texts(bot, chat_id, since):
    return [m["text"] for m in bot.api.sent[since:] if m["chat"]["id"] == chat_id]


async def _meetings(bot) -> int:
    async with bot.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Meeting)) or 0


async def test_reminders_reach_every_member_and_group_once_at_each_moment(bot, admin):
    # Now: Monday 23 November 2026, 09:00 in Hanoi.
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    other = await registered(bot, "Lê Văn Cường", "TN", "DLK")
    group = await linked_group(bot, admin)
    await bot.say(admin, "/start")

    answer = await bot.say(
        admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng | Phòng họp số 1"
    )
    assert "#1" in answer["text"]
    assert "09:00, thứ Năm, ngày 03/12/2026" in answer["text"]

    since = len(bot.api.sent)
    expected = {
        "T-7d": local(2026, 11, 26, 9, 0),
        "T-1d": local(2026, 12, 2, 9, 0),
        "T-2h": local(2026, 12, 3, 7, 0),
    }
    for label, moment in expected.items():
        before = len(bot.api.sent)
        await bot.advance_to(moment - timedelta(minutes=1))
        assert _reminders(bot, before) == [], f"{label} went out early"
        await bot.advance_to(moment)
        got = _reminders(bot, before)
        chats = sorted(m["chat"]["id"] for m in got)
        assert chats == sorted([an.id, binh.id, group.id]), (label, chats)
        for message in got:
            assert "Góp ý quy hoạch vùng" in message["text"]
            assert "09:00, thứ Năm, ngày 03/12/2026" in message["text"]
            keyboard = message["reply_markup"]["inline_keyboard"]
            data = [button["callback_data"] for row in keyboard for button in row]
            assert [callbacks.decode(d) for d in data] == [
                callbacks.MeetingPress(1, answer) for answer in callbacks.Rsvp
            ]
    assert _texts(bot, other.id, since) == []
    # Nothing more once the meeting has started.
    await bot.advance_to(local(2026, 12, 3, 10, 0))
    assert len(_texts(bot, an.id, since)) == 3
    assert "còn 7 ngày" in _texts(bot, an.id, since)[0]
    assert "còn 2 giờ" in _texts(bot, an.id, since)[2]


async def test_moving_a_meeting_withdraws_old_reminders_and_tells_the_members(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng")
    since = len(bot.api.sent)

    moved = await bot.say(admin, "/movemeeting 1 2026-12-10 14:30")
    assert "14:30, thứ Năm, ngày 10/12/2026" in moved["text"]
    await bot.deliver()
    [notice] = _texts(bot, an.id, since)
    assert "14:30, thứ Năm, ngày 10/12/2026" in notice

    # The old 7-day reminder (26 Nov) is withdrawn; the new one comes on 3 Dec 14:30.
    await bot.advance_to(local(2026, 11, 26, 9, 0))
    assert len(_texts(bot, an.id, since)) == 1
    await bot.advance_to(local(2026, 12, 3, 14, 30))
    texts = _texts(bot, an.id, since)
    assert len(texts) == 2 and "Sơ kết 6 tháng" in texts[1]


async def test_cancelling_a_meeting_tells_the_members_and_stops_reminders(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng")
    since = len(bot.api.sent)
    await bot.say(admin, "/cancelmeeting 1")
    await bot.deliver()
    await bot.advance_to(local(2026, 12, 3, 8, 0))
    [notice] = _texts(bot, an.id, since)
    assert "Sơ kết 6 tháng" in notice
    listing = await bot.say(an, "/meetings")
    assert "Sơ kết" not in listing["text"]


async def test_meetings_lists_upcoming_ones_with_ids_and_buttons(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Họp <quý IV> & tổng kết")
    await bot.say(admin, "/newmeeting TN 2026-12-04 09:00 | Họp Tây Nguyên")
    replies = await bot.say_all(an, "/meetings")
    texts = "\n".join(r["text"] for r in replies)
    assert "#1" in texts and "Họp <quý IV> & tổng kết" in texts
    assert "Tây Nguyên" not in texts  # not one of the member's councils
    with_buttons = [r for r in replies if r.get("reply_markup")]
    assert len(with_buttons) == 1
    refused = await bot.say(an, "/meetings TN")
    assert "TN" in refused["text"] and "Tây Nguyên" not in refused["text"]


async def test_bad_meeting_commands_get_usage_and_create_nothing(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/lang en")
    cases = {
        "/newmeeting DBSH 2026-11-20 09:00 | Đã qua": "past",
        "/newmeeting DBSH 31/02/2027 09:00 | Ngày sai": "not a valid date",
        "/newmeeting DBSH 2026-12-03 25:00 | Giờ sai": "not a valid time",
        "/newmeeting DBSH 2026-12-03 09:00 Thiếu dấu": "|",
        "/newmeeting XYZ 2026-12-03 09:00 | Hội đồng lạ": "Unknown council XYZ",
        "/newmeeting DBSH 2026-12-03 09:00 | " + "x" * 301: "301 characters",
        "/newmeeting": "|",
        "/movemeeting 99 2026-12-03 09:00": "no meeting #99",
        "/cancelmeeting abc": "not a meeting id",
    }
    for command, reason in cases.items():
        answer = await bot.say(admin, command)
        assert reason in answer["text"], (command, answer["text"])
        if command.startswith("/newmeeting"):
            assert "Example: /newmeeting DBSH" in answer["text"], command
    refused = await bot.say(member, "/newmeeting DBSH 2026-12-03 09:00 | Không có quyền")
    assert "Chỉ cán bộ Cơ quan thường trực Hội đồng" in refused["text"]
    assert await _meetings(bot) == 0
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


async def test_a_member_without_a_private_chat_is_mentioned_in_the_group(bot, admin):
    an = await registered(bot, "Nguyễn <Văn> An", "DBSH", "BTC")
    group = await linked_group(bot, admin)
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch")
    bot.api.block(an)
    await bot.settle()
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 11, 26, 9, 0))
    in_group = [m for m in bot.api.sent[since:] if m["chat"]["id"] == group.id]
    assert len(in_group) == 2  # the group's own reminder and the mention
    mention = next(m for m in in_group if m["text"].startswith("Nguyễn <Văn> An"))
    links = [e.get("url") for e in mention.get("entities", [])]
    assert f"tg://user?id={an.id}" in links
    assert _texts(bot, an.id, since) == []
    async with bot.sessions() as session:
        states = (await session.scalars(select(Outbox.state))).all()
    assert OutboxState.FAILED not in states


async def test_help_tells_admins_how_to_move_and_cancel_meetings(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    admin_help = await bot.say(admin, "/help")
    for command in ("/newmeeting", "/movemeeting", "/cancelmeeting", "/newtask", "/canceltask"):
        assert command in admin_help["text"], command
    member_help = await bot.say(member, "/help")
    assert "/meetings" in member_help["text"] and "/tasks" in member_help["text"]
    assert "/movemeeting" not in member_help["text"]
