"""The desk's meeting pages: the list with answer counts, the new-meeting form (the same
service and reminders as /newmeeting, one meeting for a form sent twice, errors shown with
the values kept), a meeting's page with its attendance list, moving and cancelling it (the
council told as the chat tells it), the attendance XLSX, and a member's answer on /my."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.config import Settings
from bot.models import AuditLog, Meeting, MeetingResponse, Outbox, OutboxState, RsvpAnswer
from tests.chat import linked_group, local
from tests.desk import CSRF, FORM_KEY, HOSTILE, Browser, desk_settings, init_data
from tests.people import enrol, person, registered

DELEGATE = "Lê Thị Hoa, Phó Vụ trưởng <Vụ Đầu tư>"
LITERAL = "Báo cáo &lt;b&gt;tháng&lt;/b&gt; &lt;script&gt;"


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot, admin) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    assert status == 200
    yield one
    await one.close()


async def _signed_in(bot, user) -> Browser:
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(user, bot.api.token, bot.clock.now()))
    assert status == 200
    return one


async def _form(browser: Browser) -> dict[str, str]:
    status, page, _ = await browser.get("/meetings/new")
    assert status == 200, page
    [key] = FORM_KEY.findall(page)
    return {"csrf": CSRF.findall(page)[-1], "form_key": key}


def _fields(hidden: dict[str, str], **typed: str) -> dict[str, str]:
    return {
        **hidden,
        "council": "DBSH",
        "title": "Góp ý quy hoạch vùng",
        "day": "2026-12-03",
        "time": "09:00",
        "place": "Phòng họp số 1",
        **typed,
    }


async def _meetings(bot) -> list[Meeting]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(Meeting).order_by(Meeting.id))).all())


async def _outbox(bot, subject: str) -> list[Outbox]:
    async with bot.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Outbox).where(Outbox.subject == subject).order_by(Outbox.id)
                )
            ).all()
        )


async def _responses(bot) -> list[MeetingResponse]:
    async with bot.sessions() as session:
        return list(
            (await session.scalars(select(MeetingResponse).order_by(MeetingResponse.id))).all()
        )


async def _logged(bot, action: str) -> list[tuple[str, dict]]:
    async with bot.sessions() as session:
        rows = (await session.scalars(select(AuditLog).where(AuditLog.action == action))).all()
    return [(row.actor, row.details) for row in rows]


def _texts(bot, chat_id: int, since: int) -> list[str]:
    return [m["text"] for m in bot.api.sent[since:] if m["chat"]["id"] == chat_id]


def _alert(page: str, marker: str = 'id="form-error"') -> str:
    alert = page[page.index(marker) :]
    return alert[: alert.index("</p>")]


async def _council(bot, admin):
    """DBSH: An (BTC) and Bình (HN) registered, Cường (VPCP) on the roster only; a group
    linked to DBSH; Dũng sits in TN."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await enrol(bot, person("DBSH", "Lê Văn Cường", "VPCP"))
    dung = await registered(bot, "Phạm Văn Dũng", "TN", "DLK")
    group = await linked_group(bot, admin)
    return an, binh, dung, group


async def test_a_meeting_made_with_the_form_gets_the_reminders_newmeeting_plans(
    bot, admin, browser
):
    await _council(bot, admin)
    page = (await browser.get("/meetings/new"))[1]
    for name in ("council", "title", "day", "time", "place"):
        assert f'<label for="m-{name}">' in page and f'id="m-{name}"' in page
    assert 'type="date"' in page and 'type="time"' in page
    status, _, response = await browser.post("/meetings/new", data=_fields(await _form(browser)))
    assert status == 303 and response.headers["Location"] == "/meetings/1"
    [meeting] = await _meetings(bot)
    assert (meeting.council.code, meeting.title, meeting.place) == (
        "DBSH",
        "Góp ý quy hoạch vùng",
        "Phòng họp số 1",
    )
    assert meeting.starts_at == local(2026, 12, 3, 9, 0)
    # The chat's /newmeeting, the same meeting: the same reminders, one for one.
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng | Phòng 1")
    desk_rows, chat_rows = await _outbox(bot, "meeting:1"), await _outbox(bot, "meeting:2")
    assert len(desk_rows) == 3 * 3  # 7 days, 1 day, 2 hours before: An, Bình, the group

    def shape(rows: list[Outbox]) -> list[tuple]:
        return sorted(
            (r.kind, r.member_id or 0, r.group_id or 0, r.due_at, r.dedupe_key.split(":", 2)[2])
            for r in rows
        )

    assert shape(desk_rows) == shape(chat_rows)
    assert {r.due_at for r in desk_rows} == {
        local(2026, 11, 26, 9, 0),
        local(2026, 12, 2, 9, 0),
        local(2026, 12, 3, 7, 0),
    }
    [(actor, details), _] = await _logged(bot, "meeting.create")
    assert actor == f"tg:{admin.id}" and details == {"meeting_id": 1, "council": "DBSH"}


async def test_the_same_meeting_form_sent_twice_makes_one_meeting(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    hidden = await _form(browser)
    first = await browser.post("/meetings/new", data=_fields(hidden))
    again = await browser.post("/meetings/new", data=_fields(hidden))  # double click, or back
    assert first[0] == again[0] == 303
    assert first[2].headers["Location"] == again[2].headers["Location"] == "/meetings/1"
    assert len(await _meetings(bot)) == 1
    assert len(await _outbox(bot, "meeting:1")) == 3  # planned once
    assert len(await _logged(bot, "meeting.create")) == 1
    other = await browser.post("/meetings/new", data=_fields(await _form(browser)))
    assert other[2].headers["Location"] == "/meetings/2"


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ({"day": "2026-11-20"}, "đã qua"),
        ({"day": "2026-11-23", "time": "08:59"}, "đã qua"),  # earlier today
        ({"day": "2027-02-31"}, "2027-02-31"),
        ({"time": "25:00"}, "25:00"),
        ({"day": ""}, "ngày"),
        ({"title": "   "}, "Tiêu đề để trống"),
        ({"title": "x" * 301}, "301"),
        ({"council": "ZZZ"}, "ZZZ"),
        ({"council": ""}, "Hội đồng"),
        ({"place": "p" * 301}, "Địa điểm dài 301"),
    ],
)
async def test_a_bad_meeting_form_is_shown_again_with_its_error_and_the_values_typed(
    bot, admin, browser, typed, error
):
    hidden = await _form(browser)
    status, page, _ = await browser.post(
        "/meetings/new", data=_fields(hidden, **{"title": HOSTILE, **typed})
    )
    assert status == 400
    assert await _meetings(bot) == []
    alert = _alert(page)
    assert error in alert, alert
    assert "/newmeeting" not in alert  # the form's error, not the chat's usage
    if "title" not in typed:
        assert f'value="{LITERAL}' in page  # kept, and shown literally
    assert "<script>alert" not in page
    assert f'name="form_key" value="{hidden["form_key"]}"' in page  # the same form
    if "day" not in typed:
        assert 'value="2026-12-03"' in page
    if "place" not in typed:
        assert 'value="Phòng họp số 1"' in page


async def test_the_list_shows_each_council_s_meetings_with_their_answers(bot, admin, browser):
    an, binh, _dung, _group = await _council(bot, admin)
    await bot.say(admin, f"/newmeeting DBSH 2026-12-03 09:00 | {HOSTILE} | Phòng <1>")
    await bot.say(admin, "/newmeeting TN 2026-12-04 09:00 | Họp Tây Nguyên")
    await bot.say(admin, "/newmeeting DBSH 2026-11-23 10:00 | Họp sáng nay")
    for user, answer in ((an, "attend"), (binh, "absent")):
        member = await _signed_in(bot, user)
        token = await member.csrf_of("/my")
        assert (await member.post("/my/meetings/1/answer", data={"csrf": token, "answer": answer}))[
            0
        ] == 303
        await member.close()
    status, page, _ = await browser.get("/meetings")
    assert status == 200
    dbsh = page[page.index('id="council-DBSH"') : page.index('id="council-TN"')]
    assert LITERAL in dbsh and "<script>alert" not in page
    assert "Phòng &lt;1&gt;" in dbsh
    # Attend 1, absent 1, delegate 0, not answered 1 (Cường, on the roster only).
    row = dbsh[dbsh.index('href="/meetings/1"') :]
    row = row[: row.index("</tr>")]
    assert re.findall(r": (\d+)", row) == ["1", "1", "0", "1"]
    assert "09:00, thứ Năm, ngày 03/12/2026" in row
    assert dbsh.index('href="/meetings/3"') < dbsh.index('href="/meetings/1"')  # soonest first
    assert "Họp Tây Nguyên" in page[page.index('id="council-TN"') :]
    # One council only.
    status, page, _ = await browser.get("/meetings?council=TN")
    assert status == 200 and "Họp Tây Nguyên" in page and "Họp sáng nay" not in page
    assert 'id="council-DBSH"' not in page
    status, page, _ = await browser.get("/meetings?council=ZZZ")
    assert status == 400 and "ZZZ" in page
    # Half an hour after it began: that meeting is among the recent ones, not upcoming.
    bot.clock.set(local(2026, 11, 23, 10, 30))
    page = (await browser.get("/meetings?council=DBSH"))[1]
    upcoming, recent = page.split("<h3>", 3)[1:3]
    assert "Họp sáng nay" in recent and "Họp sáng nay" not in upcoming
    assert LITERAL in upcoming


async def test_the_meeting_page_lists_everyone_invited_with_their_answer_and_delegate(
    bot, admin, browser
):
    an, binh, _dung, _group = await _council(bot, admin)
    await bot.say(admin, f"/newmeeting DBSH 2026-12-03 09:00 | {HOSTILE} | Phòng họp số 1")
    await bot.say(admin, "/newmeeting TN 2026-12-04 09:00 | Họp Tây Nguyên")
    member = await _signed_in(bot, an)
    token = await member.csrf_of("/my")
    await member.post("/my/meetings/1/answer", data={"csrf": token, "answer": "attend"})
    await member.close()
    member = await _signed_in(bot, binh)
    token = await member.csrf_of("/my")
    answer = {"csrf": token, "answer": "delegate", "delegate": DELEGATE}
    assert (await member.post("/my/meetings/1/answer", data=answer))[0] == 303
    await member.close()

    status, page, _ = await browser.get("/meetings/1")
    assert status == 200
    assert f'<h1><span class="task-id">#1</span> {LITERAL}' in page
    table = page[page.index('id="attendance"') : page.index("</table>")]
    rows = {
        name: table[table.index(name) :][: table[table.index(name) :].index("</tr>")]
        for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường")
    }
    assert "Tham dự" in rows["Nguyễn Văn An"]
    assert "Cử người dự thay" in rows["Trần Thị Bình"]
    assert "Lê Thị Hoa, Phó Vụ trưởng &lt;Vụ Đầu tư&gt;" in rows["Trần Thị Bình"]
    assert "chưa trả lời" in rows["Lê Văn Cường"]
    assert "Phạm Văn Dũng" not in table  # TN's, not invited
    # Each with their agency.
    [binh_row] = [r for r in await _responses(bot) if r.answer == RsvpAnswer.DELEGATE]
    assert binh_row.member.agency.name_vi in rows["Trần Thị Bình"]
    assert 'href="/meetings/1/attendance.xlsx"' in page

    # The attendance list: the chat's /export file, read back.
    async with browser.http.get(browser.base + "/meetings/1/attendance.xlsx") as response:
        assert response.status == 200
        content = await response.read()
        assert response.content_type == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="dang-ky-du-hop-1.xlsx"'
        )
    sheet = load_workbook(io.BytesIO(content))["Đăng ký dự họp"]
    desk_rows = [[c.value for c in row] for row in sheet.iter_rows()]
    chat = await bot.say(admin, "/export 1")
    _name, chat_content = chat["_files"]["document"]
    chat_sheet = load_workbook(io.BytesIO(chat_content))["Đăng ký dự họp"]
    assert desk_rows == [[c.value for c in row] for row in chat_sheet.iter_rows()]
    listed = {row[1]: row for row in desk_rows if row and row[1] in rows}
    assert listed["Trần Thị Bình"][5:7] == ["Cử người dự thay", DELEGATE]
    assert listed["Nguyễn Văn An"][5] == "Dự họp"
    assert listed["Lê Văn Cường"][5] == "Chưa trả lời"
    exports = await _logged(bot, "export")
    assert [d["meeting"] for _, d in exports] == [1, 1]
    assert exports[0][0] == f"tg:{admin.id}"
    assert (await browser.get("/meetings/99"))[0] == 404
    assert (await browser.get("/meetings/99/attendance.xlsx"))[0] == 404


async def test_moving_through_the_form_replans_reminders_and_tells_the_council(bot, admin, browser):
    an, binh, dung, group = await _council(bot, admin)
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng | Phòng 1")
    page = (await browser.get("/meetings/1"))[1]
    assert 'name="day" type="date" required value="2026-12-03"' in page
    assert 'value="09:00"' in page and 'value="Phòng 1"' in page
    token = CSRF.findall(page)[-1]
    since = len(bot.api.sent)
    moved = {"csrf": token, "day": "2026-12-10", "time": "14:30", "place": "Phòng <2>"}
    status, _, response = await browser.post("/meetings/1/move", data=moved)
    assert status == 303 and response.headers["Location"] == "/meetings/1"
    [meeting] = await _meetings(bot)
    assert meeting.starts_at == local(2026, 12, 10, 14, 30) and meeting.place == "Phòng <2>"
    rows = await _outbox(bot, "meeting:1")
    assert {r.state for r in rows if r.due_at == local(2026, 11, 26, 9, 0)} == {
        OutboxState.CANCELLED
    }
    planned = [r for r in rows if r.state == OutboxState.PENDING]
    assert {r.due_at for r in planned} == {
        local(2026, 12, 3, 14, 30),
        local(2026, 12, 9, 14, 30),
        local(2026, 12, 10, 12, 30),
    }
    await bot.deliver()
    for chat_id in (an.id, binh.id, group.id):
        [notice] = _texts(bot, chat_id, since)
        assert notice.startswith("🔁 Thông báo đổi thời gian cuộc họp")
        assert "14:30, thứ Năm, ngày 10/12/2026" in notice and "Phòng <2>" in notice
    assert _texts(bot, dung.id, since) == []
    [(actor, details)] = await _logged(bot, "meeting.move")
    assert actor == f"tg:{admin.id}"
    assert (details["place"], details["previous_place"]) == ("Phòng <2>", "Phòng 1")

    # A new place alone: the council is told of the place.
    since = len(bot.api.sent)
    moved = {**moved, "place": "Hội trường A"}
    assert (await browser.post("/meetings/1/move", data=moved))[0] == 303
    await bot.deliver()
    [notice] = _texts(bot, an.id, since)
    assert "Hội trường A" in notice and "đổi thời gian" not in notice


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ({"day": "2026-11-20"}, "đã qua"),
        ({"time": "9 giờ"}, "9 giờ"),
        ({"day": "03/12/2026", "time": "09:00", "place": "Phòng 1"}, "đúng thời gian"),
        ({"place": "p" * 301}, "Địa điểm dài 301"),
        ({"day": ""}, "ngày"),
    ],
)
async def test_a_bad_move_is_shown_again_and_changes_nothing(bot, admin, browser, typed, error):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng | Phòng 1")
    before = [(r.id, r.state) for r in await _outbox(bot, "meeting:1")]
    token = await browser.csrf_of("/meetings/1")
    moved = {"csrf": token, "day": "2026-12-10", "time": "14:30", "place": "Phòng 2", **typed}
    status, page, _ = await browser.post("/meetings/1/move", data=moved)
    assert status == 400
    assert error in _alert(page), _alert(page)
    assert f'value="{moved["day"]}"' in page and f'value="{moved["time"]}"' in page
    [meeting] = await _meetings(bot)
    assert meeting.starts_at == local(2026, 12, 3, 9, 0) and meeting.place == "Phòng 1"
    assert [(r.id, r.state) for r in await _outbox(bot, "meeting:1")] == before
    assert await _logged(bot, "meeting.move") == []


async def test_cancelling_asks_first_then_tells_the_council_and_withdraws_reminders(
    bot, admin, browser
):
    an, binh, dung, group = await _council(bot, admin)
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng")
    status, page, _ = await browser.get("/meetings/1/cancel")
    assert status == 200 and 'action="/meetings/1/cancel"' in page and "Sơ kết 6 tháng" in page
    assert (await _meetings(bot))[0].cancelled_at is None  # the page alone changes nothing
    since = len(bot.api.sent)
    token = CSRF.findall(page)[-1]
    status, _, response = await browser.post("/meetings/1/cancel", data={"csrf": token})
    assert status == 303 and response.headers["Location"] == "/meetings/1"
    [meeting] = await _meetings(bot)
    assert meeting.cancelled_at == bot.clock.now()
    reminders = await _outbox(bot, "meeting:1")
    assert reminders and {r.state for r in reminders} == {OutboxState.CANCELLED}
    await bot.deliver()
    for chat_id in (an.id, binh.id, group.id):
        [notice] = _texts(bot, chat_id, since)
        assert notice.startswith("❌ Thông báo hủy cuộc họp") and "Sơ kết 6 tháng" in notice
    assert _texts(bot, dung.id, since) == []  # TN's, not told
    [(actor, _)] = await _logged(bot, "meeting.cancel")
    assert actor == f"tg:{admin.id}"
    page = (await browser.get("/meetings/1"))[1]
    assert "/meetings/1/move" not in page and "/meetings/1/cancel" not in page
    assert "Sơ kết 6 tháng" not in (await browser.get("/meetings"))[1]
    # Cancelled: no confirmation page, and a second cancel finds nothing to cancel.
    assert (await browser.get("/meetings/1/cancel"))[0] == 404
    assert (await browser.post("/meetings/1/cancel", data={"csrf": token}))[0] == 404


async def test_a_member_answers_on_their_page_through_the_chat_s_rsvp(bot, admin):
    an, _binh, _dung, _group = await _council(bot, admin)
    await bot.say(admin, f"/newmeeting DBSH 2026-12-03 09:00 | {HOSTILE}")
    await bot.say(admin, "/newmeeting TN 2026-12-04 09:00 | Họp Tây Nguyên")
    member = await _signed_in(bot, an)
    try:
        status, page, _ = await member.get("/my")
        assert status == 200 and LITERAL in page and "<script>alert" not in page
        assert 'action="/my/meetings/1/answer"' in page and "/my/meetings/2/" not in page
        assert '<label for="delegate-1">' in page
        token = CSRF.findall(page)[-1]
        status, _, response = await member.post(
            "/my/meetings/1/answer", data={"csrf": token, "answer": "absent"}
        )
        assert status == 303 and response.headers["Location"] == "/my#meeting-1"
        [response_row] = await _responses(bot)
        assert response_row.answer == RsvpAnswer.ABSENT
        page = (await member.get("/my"))[1]
        assert "❌ Vắng mặt" in page[page.index('id="meeting-1"') :]
        # A delegate with their name, in one form.
        answer = {"csrf": token, "answer": "delegate", "delegate": "  " + DELEGATE + "\n"}
        assert (await member.post("/my/meetings/1/answer", data=answer))[0] == 303
        [response_row] = await _responses(bot)
        assert (response_row.answer, response_row.delegate) == (RsvpAnswer.DELEGATE, DELEGATE)
        page = (await member.get("/my"))[1]
        assert "Lê Thị Hoa, Phó Vụ trưởng &lt;Vụ Đầu tư&gt;" in page
        actions = [d["answer"] for _, d in await _logged(bot, "meeting.rsvp")]
        assert actions == ["absent", "delegate"]
        [(actor, details)] = await _logged(bot, "meeting.delegate")
        assert actor == f"tg:{an.id}" and details["delegate"] == DELEGATE
        # The chat sees the same answer.
        replies = await bot.say_all(an, "/meetings")
        assert any("Lê Thị Hoa" in r["text"] for r in replies)

        # A meeting of a council An is not in: not found, nothing written.
        for answer in ({"answer": "attend"}, {"answer": "delegate", "delegate": "Ai đó"}):
            status, _, _ = await member.post(
                "/my/meetings/2/answer", data={"csrf": token, **answer}
            )
            assert status == 404
        assert (await member.post("/my/meetings/99/answer", data={"csrf": token}))[0] == 404
        assert len(await _responses(bot)) == 1
    finally:
        await member.close()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"answer": "delegate", "delegate": "   "}, "họ tên và chức vụ"),
        ({"answer": "delegate", "delegate": "d" * 301}, "301"),
        ({"answer": "maybe"}, "maybe"),
        ({}, ""),
    ],
)
async def test_a_bad_answer_is_shown_on_the_member_page_and_writes_nothing(
    bot, admin, answer, error
):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng")
    member = await _signed_in(bot, an)
    try:
        token = await member.csrf_of("/my")
        status, page, _ = await member.post("/my/meetings/1/answer", data={"csrf": token, **answer})
        assert status == 400
        alert = _alert(page, 'id="rsvp-error"')
        assert error in alert
        if "delegate" in answer and answer["delegate"].strip():
            assert f'value="{answer["delegate"]}"' in page  # as typed
        assert await _responses(bot) == []
        assert await _logged(bot, "meeting.rsvp") == []
    finally:
        await member.close()


async def test_answers_close_when_the_meeting_has_started(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-11-23 11:00 | Họp trưa nay")
    member = await _signed_in(bot, an)
    try:
        token = await member.csrf_of("/my")
        bot.clock.set(local(2026, 11, 23, 11, 30))
        status, page, _ = await member.post(
            "/my/meetings/1/answer", data={"csrf": token, "answer": "attend"}
        )
        assert status == 403 and "đã bắt đầu" in page
        assert await _responses(bot) == []
    finally:
        await member.close()


async def test_members_get_403_on_every_meeting_admin_route(bot, admin, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng")
    member = await _signed_in(bot, an)
    try:
        for path in (
            "/meetings",
            "/meetings/new",
            "/meetings/1",
            "/meetings/1/cancel",
            "/meetings/1/attendance.xlsx",
        ):
            status, page, _ = await member.get(path)
            assert status == 403, path
            assert "form_key" not in page and "Sơ kết" not in page
        token = await member.csrf_of("/my")
        hidden = {"csrf": token, "form_key": "k" * 32}
        assert (await member.post("/meetings/new", data=_fields(hidden)))[0] == 403
        moved = {"csrf": token, "day": "2026-12-10", "time": "14:30", "place": ""}
        assert (await member.post("/meetings/1/move", data=moved))[0] == 403
        assert (await member.post("/meetings/1/cancel", data={"csrf": token}))[0] == 403
        page = (await member.get("/my"))[1]
        assert 'href="/meetings"' not in page  # no nav link for members
    finally:
        await member.close()
    [meeting] = await _meetings(bot)
    assert meeting.cancelled_at is None and meeting.starts_at == local(2026, 12, 3, 9, 0)
    assert 'href="/meetings"' in (await browser.get("/"))[1]


async def test_meeting_forms_without_their_csrf_token_are_refused(bot, admin, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Sơ kết 6 tháng")
    hidden = await _form(browser)
    bad = {"csrf": "0" * 64}
    assert (await browser.post("/meetings/new", data=_fields({**hidden, **bad})))[0] == 403
    no_token = {k: v for k, v in _fields(hidden).items() if k != "csrf"}
    assert (await browser.post("/meetings/new", data=no_token))[0] == 403
    moved = {"day": "2026-12-10", "time": "14:30", "place": ""}
    assert (await browser.post("/meetings/1/move", data=moved))[0] == 403
    assert (await browser.post("/meetings/1/cancel", data={}))[0] == 403
    member = await _signed_in(bot, an)
    try:
        assert (await member.post("/my/meetings/1/answer", data={"answer": "attend"}))[0] == 403
    finally:
        await member.close()
    [meeting] = await _meetings(bot)
    assert meeting.cancelled_at is None and meeting.starts_at == local(2026, 12, 3, 9, 0)
    assert await _responses(bot) == []
    assert len(await _meetings(bot)) == 1
