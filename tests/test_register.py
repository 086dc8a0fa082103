"""One register, one set of terms (issue 10, point 7): the bot speaks for the standing
agency named by SECRETARIAT_NAME, greets an official by position and name, addresses a
province as its letters do, and says so when a message was not recorded."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from bot import callbacks
from bot.callbacks import (
    BroadcastAction,
    BroadcastPress,
    MeetingPress,
    Rsvp,
    TaskPress,
    TaskStatus,
)
from bot.config import Settings
from tests.chat import linked_group, local, press
from tests.people import enrol, registered
from tests.rosters import person

OFFICE = "Văn phòng Hội đồng điều phối vùng Đồng bằng sông Hồng"


@pytest.fixture
def settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The usual test settings (tests/conftest.py); a test parametrized with
    `secretariat` (and `secretariat_en`) runs with that SECRETARIAT_NAME (and
    SECRETARIAT_NAME_EN)."""
    callspec = getattr(request.node, "callspec", None)
    params = callspec.params if callspec is not None else {}
    update = {
        field: params[param]
        for param, field in (
            ("secretariat", "secretariat_name"),
            ("secretariat_en", "secretariat_name_en"),
        )
        if params.get(param)
    }
    return settings.model_copy(update=update)


async def _walk(bot, until: datetime) -> None:
    """Move the frozen clock to `until` in steps of at most 6 hours (the planner looks one
    day ahead), so every reminder, nudge and digest on the way goes out."""
    while bot.clock.now() < until:
        await bot.advance_to(min(until, bot.clock.now() + timedelta(hours=6)))


async def test_a_new_member_is_greeted_by_position_and_name(bot):
    [(_member, token)] = await enrol(bot, person("DBSH", "Nguyễn Văn An", "BTC"))
    an = bot.api.add_user(first_name="An", language_code="vi")
    welcome = await bot.say(an, f"/start {token}")
    assert welcome["text"].startswith(
        "Kính chào Vụ trưởng Nguyễn Văn An. Quý vị đã đăng ký thành công."
    )

    # No position on the roster: the name alone, with the polite form of address.
    [(_member, token)] = await enrol(bot, person("DBSH", "Trần Thị Bình", "HN", position=""))
    binh = bot.api.add_user(first_name="Bình", language_code="vi")
    welcome = await bot.say(binh, f"/start {token}")
    assert welcome["text"].startswith("Kính chào Quý vị Trần Thị Bình. Quý vị đã đăng ký")

    # Coming back later with /start: the same form of address.
    again = await bot.say(an, "/start")
    assert again["text"].startswith("Kính chào Vụ trưởng Nguyễn Văn An.\n")
    again = await bot.say(binh, "/start")
    assert again["text"].startswith("Kính chào Quý vị Trần Thị Bình.\n")

    [(_member, token)] = await enrol(
        bot, person("DBSH", "Lê Văn Cường", "BXD", position="Director General", language="en")
    )
    cuong = bot.api.add_user(first_name="Cường", language_code="en")
    welcome = await bot.say(cuong, f"/start {token}")
    assert welcome["text"].startswith(
        "Welcome, Director General Lê Văn Cường. You are now registered."
    )


async def test_the_standing_agency_is_named_by_default(bot, admin):
    stranger = bot.api.add_user(first_name="Khách", language_code="vi")
    answer = await bot.say(stranger, "/start")
    assert "do Cơ quan thường trực Hội đồng gửi" in answer["text"]
    assert "Ban thư ký" not in answer["text"]
    shown = await bot.say(admin, "/start")
    assert shown["text"] == (
        "Kính chào Quý vị, cán bộ Cơ quan thường trực Hội đồng. Vui lòng gửi /help để bắt đầu."
    )


@pytest.mark.parametrize("secretariat", [OFFICE])
async def test_a_changed_secretariat_name_is_where_the_bot_speaks_for_the_agency(
    bot, admin, secretariat
):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")

    stranger = bot.api.add_user(first_name="Khách", language_code="vi")
    unknown = await bot.say(stranger, "/start")
    assert f"do {OFFICE} gửi" in unknown["text"]
    expired = await bot.say(stranger, "/start not-a-token")
    assert f"liên hệ {OFFICE}" in expired["text"]

    refused = await bot.say(an, "/newtask DBSH BTC 31/12/2026 | Báo cáo")
    assert refused["text"] == f"Chỉ cán bộ {OFFICE} mới có thể thực hiện thao tác này."

    greeting = await bot.say(admin, "/start")
    assert OFFICE in greeting["text"]
    help_text = await bot.say(admin, "/help")
    assert f"Dành cho cán bộ {OFFICE}:" in help_text["text"]

    preview = await bot.say(admin, "/announce DBSH\nKính gửi các thành viên Hội đồng.")
    assert f"📣 Thông báo của {OFFICE}" in preview["text"]
    since = len(bot.api.sent)
    bot.api.press_button(admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND)))
    await bot.settle()
    await bot.deliver()
    [copy] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    assert copy["text"].startswith(f"📣 Thông báo của {OFFICE}")


async def _announced_to_an_english_reader(bot, admin) -> str:
    [(_member, token)] = await enrol(
        bot, person("DBSH", "Lê Văn Cường", "BXD", position="Director General", language="en")
    )
    cuong = bot.api.add_user(first_name="Cường", language_code="en")
    await bot.say(cuong, f"/start {token}")
    preview = await bot.say(admin, "/announce DBSH\nKính gửi các thành viên Hội đồng.")
    since = len(bot.api.sent)
    bot.api.press_button(admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND)))
    await bot.settle()
    await bot.deliver()
    [copy] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == cuong.id]
    return str(copy["text"])


@pytest.mark.parametrize(
    ("secretariat", "secretariat_en", "heading"),
    [
        # The default name is translated, to sit inside an English sentence.
        (None, None, "📣 Announcement from the Council's standing agency"),
        # A changed name is a proper name: as given, unless an English one is given.
        (OFFICE, None, f"📣 Announcement from {OFFICE}"),
        (
            OFFICE,
            "the Office of the Red River Delta Council",
            "📣 Announcement from the Office of the Red River Delta Council",
        ),
    ],
)
async def test_english_readers_get_the_standing_agency_named_in_english(
    bot, admin, secretariat, secretariat_en, heading
):
    text = await _announced_to_an_english_reader(bot, admin)
    assert text.startswith(heading), text


async def test_a_reminder_addresses_a_province_by_its_peoples_committee(bot, admin):
    # Now: Monday 23/11/2026. The 7-day reminder of a task due 01/12 goes out on 24/11.
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN", position="Phó Chủ tịch UBND")
    await bot.say(admin, "/newtask DBSH HN 01/12/2026 | Báo cáo tiến độ dự án")
    since = len(bot.api.sent)
    await _walk(bot, local(2026, 11, 24, 9, 0))
    [reminder] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == binh.id]
    assert "🏛 Cơ quan: UBND thành phố Hà Nội" in reminder["text"]
    assert "Đề nghị Quý cơ quan báo cáo tình hình thực hiện" in reminder["text"]


async def test_the_delegate_question_asks_for_name_and_position(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 03/12/2026 09:00 | Góp ý quy hoạch vùng")
    [card] = [r for r in await bot.say_all(an, "/meetings") if r.get("reply_markup")]
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(MeetingPress(1, Rsvp.DELEGATE)))
    question = await bot.api.wait_for_message(an.id, since=since)
    assert question["text"] == (
        "Ai sẽ dự cuộc họp #1 thay Quý vị? Vui lòng trả lời tin nhắn này bằng họ tên và "
        "chức vụ của người được cử đi họp thay."
    )


async def test_newmeeting_takes_a_date_as_officials_write_it_and_its_usage_shows_one(bot, admin):
    created = await bot.say(admin, "/newmeeting DBSH 03/12/2026 09:00 | Góp ý quy hoạch vùng")
    assert created["text"].startswith("✅ Đã lên lịch cuộc họp #1.")
    listed = await bot.say_all(admin, "/meetings")
    assert "09:00, thứ Năm, ngày 03/12/2026" in "\n".join(m["text"] for m in listed)

    usage = await bot.say(admin, "/newmeeting DBSH 31/02/2027 09:00 | Họp")
    assert usage["text"] == (
        "“31/02/2027” không phải là ngày hợp lệ (ngày/tháng/năm, ví dụ: 03/12/2026).\n\n"
        "Cú pháp: /newmeeting MÃ_HỘI_ĐỒNG NGÀY GIỜ | TIÊU_ĐỀ [| ĐỊA_ĐIỂM] — NGÀY ghi theo "
        "dạng ngày/tháng/năm; địa điểm có thể bỏ trống\n"
        "Ví dụ: /newmeeting DBSH 03/12/2026 09:00 | Góp ý quy hoạch vùng | Văn phòng Chính phủ"
    )
    moved = await bot.say(admin, "/movemeeting 1")
    assert "Ví dụ: /movemeeting 5 04/12/2026 14:00" in moved["text"]
    assert "MÃ_CUỘC_HỌP NGÀY GIỜ" in moved["text"]


async def test_a_reply_the_bot_did_not_record_says_so(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    hello = await bot.say(an, "/whoami")
    answer = await bot.say(an, "Đã gửi báo cáo qua đường công văn.", reply_to=hello)
    assert answer["text"].startswith("Tin nhắn này chưa được ghi nhận vì")

    # In the council's group: a reply to the bot is told the same; people answering
    # each other are left alone.
    group = await linked_group(bot, admin)
    linked = await bot.say(admin, "/help", chat=group)
    told = await bot.say(an, "Bộ Tài chính đã hoàn thành.", chat=group, reply_to=linked)
    assert told["text"].startswith("Tin nhắn này chưa được ghi nhận vì")
    own = bot.api.send_message(an, "Xin chào các đồng chí.", chat=group)["message"]
    await bot.settle()
    since = len(bot.api.sent)
    bot.api.send_message(admin, "Chào anh An.", chat=group, reply_to=own)
    await bot.settle()
    assert [m for m in bot.api.sent[since:] if m["chat"]["id"] == group.id] == []


# What a careful officer would mark in a Vietnamese message: the old names of the agency
# and of a person, hours as "tiếng", a capital weekday inside a sentence, an ISO date.
_DEFECTS = {
    "Tài khoản này": re.compile(r"Tài khoản này"),
    "Ban thư ký": re.compile(r"Ban thư ký"),
    "quản trị viên": re.compile(r"quản trị viên"),
    "bản tin": re.compile(r"[Bb]ản tin"),
    "tiếng (hours)": re.compile(r"\d+\s+tiếng"),
    "Thứ mid-sentence": re.compile(r"[\w,] Thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)"),
    "YYYY-MM-DD": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
}


async def test_a_typical_session_reads_in_one_register(bot, admin):
    stranger = bot.api.add_user(first_name="Khách", language_code="vi")
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN", position="Phó Chủ tịch UBND")
    group = await linked_group(bot, admin)
    await bot.say(stranger, "/start")
    await bot.say(stranger, "/tasks")
    for user in (an, admin):
        await bot.say(user, "/help")
        await bot.say_all(user, "/whoami")
    await bot.say(an, "/newtask DBSH BTC 31/12/2026 | Báo cáo")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng")
    await bot.say(admin, "/newtask DBSH BTC,HN 2026-12-18 | Báo cáo quý | period=Q4/2026")
    await bot.say(admin, "/newtask DBSH")
    await bot.say(admin, "/digestat DBSH")
    await bot.say(admin, "/digestat DBSH t6 16:00")
    await bot.say_all(admin, "/tasks DBSH")
    await bot.say_all(admin, "/meetings")
    cards = [m for m in await bot.say_all(an, "/status") if m.get("reply_markup")]
    await press(bot, an, cards[0], callbacks.encode(TaskPress(1, TaskStatus.AT_RISK)))
    await bot.say(an, "Xin gia hạn thêm một tuần.")
    await bot.say_all(admin, "/digest DBSH")
    await bot.deliver()
    # Reminders, nudges, the escalation and two weekly digests, into January.
    await _walk(bot, local(2027, 1, 19, 9, 0))

    texts = [m.get("text") or m.get("caption") or "" for m in bot.api.sent]
    chats = {m["chat"]["id"] for m in bot.api.sent}
    assert {an.id, binh.id, admin.id, stranger.id, group.id} <= chats
    found = [
        (name, text) for text in texts for name, pattern in _DEFECTS.items() if pattern.search(text)
    ]
    assert found == []
    assert any("Bản tổng hợp — " in text for text in texts)
