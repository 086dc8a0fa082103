"""/away and /back (SPEC §3, §6 "Away"): an absence, its stand-in chosen with a button
and checked at the press, task reminders held back from the member who is away and
passed to the stand-in, meeting reminders still sent, and the digest showing it."""

from __future__ import annotations

from sqlalchemy import select

from bot import callbacks
from bot.callbacks import StandInPress, TaskPress, TaskStatus
from bot.models import Absence, AuditLog, Member, TaskAgency
from tests.chat import linked_group, local, press
from tests.people import registered

TITLE = "Báo cáo thực hiện quy hoạch vùng"
T14 = local(2026, 12, 17, 8, 0)  # the first reminder of a task due 31/12/2026
T7 = local(2026, 12, 24, 8, 0)


async def _absences(bot) -> list[Absence]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(Absence).order_by(Absence.id))).all())


async def _member_id(bot, name: str) -> int:
    async with bot.sessions() as session:
        return (await session.scalars(select(Member.id).where(Member.full_name == name))).one()


async def _audit(bot, action: str) -> list[AuditLog]:
    async with bot.sessions() as session:
        rows = await session.scalars(select(AuditLog).where(AuditLog.action == action))
        return list(rows.all())


def _task_messages(bot, chat_id, since):
    return [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == chat_id and TITLE in m.get("text", "") and "📊" not in m["text"]
    ]


def _buttons(message) -> list[tuple[str, str]]:
    keyboard = message["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in keyboard for b in row]


async def test_away_offers_the_agencys_members_and_confirms_the_chosen_stand_in(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "TN", "BTC")  # same agency, other council
    await registered(bot, "Lê Văn Cường", "DBSH", "BCT")  # another agency: not offered

    answer = await bot.say(an, "/away 07/12/2026 11/12/2026")
    assert answer["text"].startswith(
        "🌴 Đã ghi nhận: Quý vị vắng từ ngày 07/12/2026 đến ngày 11/12/2026."
    )
    assert "Gửi /back" in answer["text"]
    [(who, data), (nobody, _none)] = _buttons(answer)
    assert who == "👤 Trần Thị Bình" and nobody == "✖️ Không có người thay"
    assert len(data.encode()) <= 64
    [absence] = await _absences(bot)
    assert (absence.stand_in_id, absence.ended_at) == (None, None)

    since = len(bot.api.sent)
    toast = await press(bot, an, answer, data)
    assert toast["text"] == "Đã ghi nhận."
    confirmation = await bot.api.wait_for_message(an.id, since=since)
    assert confirmation["text"] == (
        "✅ Đã ghi nhận: Quý vị vắng từ ngày 07/12/2026 đến ngày 11/12/2026; "
        "Trần Thị Bình thay Quý vị."
    )
    [absence] = await _absences(bot)
    assert absence.stand_in_id == await _member_id(bot, "Trần Thị Bình")
    assert [a.details["stand_in_id"] for a in await _audit(bot, "member.stand_in")] == [
        absence.stand_in_id
    ]
    assert len(await _audit(bot, "member.away")) == 1

    # The stand-in is told, through the outbox.
    since = len(bot.api.sent)
    await bot.deliver()
    [notice] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == binh.id]
    assert notice["text"].startswith(
        "👤 Nguyễn Văn An (BTC) vắng từ ngày 07/12/2026 đến ngày 11/12/2026 và đã chọn "
        "Quý vị làm người thay"
    )


async def test_away_with_nobody_else_registered_records_it_without_buttons(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    answer = await bot.say(an, "/away 23/11/2026 23/11/2026")  # today is allowed
    assert "reply_markup" not in answer
    assert "không có người thay" in answer["text"]
    assert len(await _absences(bot)) == 1


async def test_away_with_bad_dates_answers_the_usage_and_records_nothing(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    cases = {
        "/away 11/12/2026 07/12/2026": "Ngày cuối của thời gian vắng trước ngày đầu.",
        "/away 22/11/2026 30/11/2026": "Thời gian vắng không thể bắt đầu trong quá khứ",
        "/away 32/12/2026 02/01/2027": "“32/12/2026” không phải là ngày hợp lệ",
        "/away 07/12/2026": "Vui lòng ghi ngày đầu và ngày cuối",
        "/away": "Vui lòng ghi ngày đầu và ngày cuối",
    }
    for command, reason in cases.items():
        answer = await bot.say(an, command)
        assert answer["text"].startswith(reason), (command, answer["text"])
        assert "Ví dụ: /away 07/12/2026 11/12/2026" in answer["text"]
    assert await _absences(bot) == []


async def test_away_in_english(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC", language_code="en")
    await bot.say(an, "/lang en")
    bad = await bot.say(an, "/away 11/12/2026 07/12/2026")
    assert bad["text"].startswith("The last day of the absence is before its first day.")
    assert "Example: /away 07/12/2026 11/12/2026" in bad["text"]
    good = await bot.say(an, "/away 07/12/2026 11/12/2026")
    assert good["text"].startswith(
        "🌴 Recorded: you are away from 7 December 2026 to 11 December 2026."
    )


async def test_a_forged_press_naming_someone_of_another_agency_is_refused(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "DBSH", "BTC")
    await registered(bot, "Lê Văn Cường", "DBSH", "BCT")
    answer = await bot.say(an, "/away 07/12/2026 11/12/2026")
    [absence] = await _absences(bot)
    cuong = await _member_id(bot, "Lê Văn Cường")
    forged = callbacks.encode(StandInPress(absence.id, cuong))
    refusal = await press(bot, an, answer, forged)
    assert refusal["show_alert"] is True
    assert refusal["text"] == "Người thay phải là một thành viên khác đã đăng ký của cùng cơ quan."
    # Nor may someone else choose for An, nor An name himself.
    binh_user = await registered(bot, "Phạm Thị Dung", "DBSH", "BTC")
    binh = await _member_id(bot, "Trần Thị Bình")
    other = await press(bot, binh_user, answer, callbacks.encode(StandInPress(absence.id, binh)))
    assert other["text"] == "Lịch vắng này không phải của Quý vị hoặc không còn tồn tại."
    himself = await press(
        bot, an, answer, callbacks.encode(StandInPress(absence.id, absence.member_id))
    )
    assert himself["show_alert"] is True
    [absence] = await _absences(bot)
    assert absence.stand_in_id is None
    assert await _audit(bot, "member.stand_in") == []


async def test_away_and_back_are_answered_in_private_only(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin)
    for command in ("/away 07/12/2026 11/12/2026", "/back"):
        answer = await bot.say(an, command, chat=group)
        assert answer["text"] == "Vui lòng gửi /away và /back cho bot trong cuộc trò chuyện riêng."
    assert await _absences(bot) == []


async def test_away_and_back_are_for_members_only(bot):
    stranger = bot.api.add_user(first_name="Khách", language_code="vi")
    answer = await bot.say(stranger, "/away 07/12/2026 11/12/2026")
    assert answer["text"] == "Chỉ thành viên đã đăng ký mới có thể đăng ký lịch vắng."
    back = await bot.say(stranger, "/back")
    assert back["text"] == "Chỉ thành viên đã đăng ký mới có thể đăng ký lịch vắng."
    assert await _absences(bot) == []


async def test_back_ends_the_absence_and_back_when_not_away_is_refused(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    refused = await bot.say(an, "/back")
    assert refused["text"] == (
        "Quý vị không có lịch vắng nào đang có hiệu lực nên không có gì để kết thúc."
    )
    await bot.say(an, "/away 23/11/2026 27/11/2026")
    back = await bot.say(an, "/back")
    assert back["text"] == (
        "👋 Chào mừng Quý vị trở lại. Lịch vắng từ ngày 23/11/2026 đến ngày 27/11/2026 đã "
        "kết thúc; Quý vị sẽ nhận lại nhắc việc."
    )
    [absence] = await _absences(bot)
    assert absence.ended_at == bot.clock.now()
    assert len(await _audit(bot, "member.back")) == 1
    again = await bot.say(an, "/back")
    assert again["text"].startswith("Quý vị không có lịch vắng nào")


async def test_a_second_away_that_overlaps_replaces_the_first(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(an, "/away 07/12/2026 11/12/2026")
    answer = await bot.say(an, "/away 09/12/2026 15/12/2026")
    assert (
        "Lịch vắng này thay cho lịch vắng trước đó của Quý vị (từ ngày 07/12/2026 đến "
        "ngày 11/12/2026)." in answer["text"]
    )
    first, second = await _absences(bot)
    assert first.ended_at is not None and second.ended_at is None
    # One that does not overlap is kept alongside.
    await bot.say(an, "/away 20/12/2026 22/12/2026")
    assert [a.ended_at is None for a in await _absences(bot)] == [False, True, True]


async def test_the_agencys_only_member_away_has_reminders_go_to_the_stand_in(bot, admin):
    """The checked scenario: BTC's only member in DBSH is away; the stand-in (BTC, seated
    in another council) gets the task reminder once, can answer it, and the digest shows
    the absence instead of counting BTC silent. Meeting reminders still reach An."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "TN", "BTC")
    await registered(bot, "Lê Văn Cường", "DBSH", "HN")
    group = await linked_group(bot, admin)
    # Planned before the absence exists: the outbox decides when it sends.
    await bot.say(admin, f"/newtask DBSH BTC,HN 31/12/2026 | {TITLE}")
    await bot.say(admin, "/newmeeting DBSH 18/12/2026 09:00 | Họp rà soát kế hoạch")
    answer = await bot.say(an, "/away 17/12/2026 18/12/2026")
    [(_who, data), _nobody] = _buttons(answer)
    await press(bot, an, answer, data)
    start = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 11, 9, 0))  # the meeting's 7-day reminder

    since = len(bot.api.sent)
    await bot.advance_to(T14)
    assert _task_messages(bot, an.id, since) == []
    [reminder] = _task_messages(bot, binh.id, since)
    assert (
        "👤 Quý vị nhận thông báo này thay cho Nguyễn Văn An (vắng đến ngày 18/12/2026)."
        in reminder["text"]
    )
    assert _task_messages(bot, group.id, since) == []

    # The meeting reminder of the day before still reaches An, marked.
    await bot.advance_to(local(2026, 12, 17, 9, 0))
    *before, meeting = [
        m
        for m in bot.api.sent[start:]
        if m["chat"]["id"] == an.id and "Họp rà soát kế hoạch" in m.get("text", "")
    ]
    assert "🌴 Quý vị đang vắng đến ngày 18/12/2026." in meeting["text"]
    assert [("🌴" in m["text"]) for m in before] == [False]  # 7 days before: not away yet

    # The digest: BTC is away, not silent; HN is silent.
    digest = await bot.say(admin, "/digest DBSH")
    text = digest["text"]
    silent = text.split("🔕")[1].split("\n\n")[0]
    assert "UBND thành phố Hà Nội" in silent and "Bộ Tài chính" not in silent
    assert "• BTC — Nguyễn Văn An: vắng đến ngày 18/12/2026, Trần Thị Bình thay" in text

    # The stand-in answers for the agency from the reminder.
    toast = await press(bot, binh, reminder, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    assert toast["text"].startswith("Đã ghi nhận")
    async with bot.sessions() as session:
        part = await session.scalar(select(TaskAgency).where(TaskAgency.task_id == 1))
        assert part is not None and part.done_at is not None

    # Back after the absence: the next reminder would go to An again (none left: done).
    await bot.advance_to(T7)
    assert _task_messages(bot, an.id, since) == []


async def test_a_member_away_without_a_stand_in_gets_nothing_and_nobody_gets_it(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, f"/newtask DBSH BTC 31/12/2026 | {TITLE}")
    await bot.say(an, "/away 17/12/2026 17/12/2026")
    since = len(bot.api.sent)
    await bot.advance_to(T14)
    assert _task_messages(bot, an.id, since) == []
    await bot.advance_to(T7)  # over: reminders come again
    [reminder] = _task_messages(bot, an.id, since)
    assert "👤" not in reminder["text"]


async def test_with_another_member_present_the_stand_in_gets_no_extra_copy(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "BTC")
    await bot.say(admin, f"/newtask DBSH BTC 31/12/2026 | {TITLE}")
    answer = await bot.say(an, "/away 17/12/2026 18/12/2026")
    [(_who, data), _nobody] = _buttons(answer)
    await press(bot, an, answer, data)
    since = len(bot.api.sent)
    await bot.advance_to(T14)
    assert _task_messages(bot, an.id, since) == []
    [own] = _task_messages(bot, binh.id, since)  # her own reminder, once
    assert "👤" not in own["text"]


async def test_two_away_members_naming_one_stand_in_give_her_one_copy(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    dung = await registered(bot, "Phạm Thị Dung", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "TN", "BTC")
    await bot.say(admin, f"/newtask DBSH BTC 31/12/2026 | {TITLE}")
    binh_id = await _member_id(bot, "Trần Thị Bình")
    for user in (an, dung):
        answer = await bot.say(user, "/away 17/12/2026 18/12/2026")
        [absence] = [a for a in await _absences(bot) if a.stand_in_id is None]
        await press(bot, user, answer, callbacks.encode(StandInPress(absence.id, binh_id)))
    since = len(bot.api.sent)
    await bot.advance_to(T14)
    assert _task_messages(bot, an.id, since) == _task_messages(bot, dung.id, since) == []
    assert len(_task_messages(bot, binh.id, since)) == 1


async def test_a_nudge_for_an_away_member_goes_to_the_stand_in(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "TN", "BTC")
    # Due Tuesday 01/12/2026: the first nudge is on Thursday 03/12 at 08:00.
    await bot.say(admin, "/newtask DBSH BTC 01/12/2026 | Báo cáo nhanh")
    await bot.advance_to(local(2026, 12, 2, 9, 0))
    answer = await bot.say(an, "/away 03/12/2026 04/12/2026")
    [(_who, data), _nobody] = _buttons(answer)
    await press(bot, an, answer, data)
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 3, 8, 0))
    nudges = [m for m in bot.api.sent[since:] if "Báo cáo nhanh" in m.get("text", "")]
    assert [m["chat"]["id"] for m in nudges] == [binh.id]
    assert nudges[0]["text"].startswith("⏰ Quá hạn")
    assert "thay cho Nguyễn Văn An" in nudges[0]["text"]


async def test_the_digest_shows_an_absence_in_english_too(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "TN", "BTC")
    await bot.say(admin, "/lang en")
    await bot.say(admin, f"/newtask DBSH BTC 01/12/2026 | {TITLE}")
    answer = await bot.say(an, "/away 23/11/2026 27/11/2026")
    [(_who, data), _nobody] = _buttons(answer)
    await press(bot, an, answer, data)
    digest = await bot.say(admin, "/digest DBSH")
    assert "🌴 Away" in digest["text"]
    assert (
        "• BTC — Nguyễn Văn An: away until 27 November 2026, Trần Thị Bình stands in"
        in digest["text"]
    )
    assert "🔕" not in digest["text"]  # BTC's only member there is away: not silent
