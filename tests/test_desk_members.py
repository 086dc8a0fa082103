"""The desk's members pages (SPEC §9 /members, /members/import): the roster with search
and filters, a member's fresh invitation link and removal (the chat's own services), the
admins, and the roster import in two steps: a preview that writes nothing, then one
confirmation that imports exactly that file, once."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.config import Settings
from bot.db import transaction
from bot.models import AuditLog, CouncilMembership, DeskHandoff, InviteToken, Member, TelegramUser
from bot.services import admins, desk
from tests.desk import CSRF, Browser, desk_settings, init_data
from tests.people import enrol, registered
from tests.rosters import csv_bytes, person, xlsx_bytes

LINK = re.compile(r'value="https://t\.me/dieuphoi_test_bot\?start=([A-Za-z0-9_-]+)"')
HOSTILE_NAME = "Lê <b>Văn</b> <script>alert(1)</script> Độc"


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


async def _signed_in(bot, user) -> Browser:
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(user, bot.api.token, bot.clock.now()))
    assert status == 200
    return one


@pytest.fixture
async def browser(bot, admin) -> AsyncIterator[Browser]:
    one = await _signed_in(bot, admin)
    yield one
    await one.close()


async def _csrf(browser: Browser, path: str = "/members/import") -> str:
    status, page, _ = await browser.get(path)
    assert status == 200, page
    return CSRF.findall(page)[-1]


def _form(csrf: str | None, filename: str, content: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field("roster", content, filename=filename, content_type="application/octet-stream")
    return form


async def _upload(browser: Browser, filename: str, content: bytes, csrf: str | None = "auto"):
    token = await _csrf(browser) if csrf == "auto" else csrf
    return await browser.post("/members/import", data=_form(token, filename, content))


async def _count(bot, model, *where) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def _logged(bot, action: str) -> list[dict]:
    async with bot.sessions() as session:
        rows = (await session.scalars(select(AuditLog).where(AuditLog.action == action))).all()
    return [row.details for row in rows]


def _rows(page: str) -> dict[str, str]:
    """The preview's table: each row number with its line, tags removed."""
    found = {}
    for number, cells in re.findall(r'<th scope="row">(\d+)</th>(.*?)</tr>', page, re.S):
        found[number] = " ".join(re.sub(r"<[^>]+>", " ", cells).split())
    return found


# --- the roster ------------------------------------------------------------------------------


async def test_the_roster_shows_seats_and_states_and_narrows_by_search_and_filters(
    bot, admin, browser
):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await enrol(bot, person("DBSH", "Trần Thị Bình", "HN", role="vice_chair", phone="0912 345 678"))
    await enrol(bot, person("TN", "Trần Thị Bình", "HN"))  # a second seat
    cuong = await registered(bot, "Lê Văn Cường", "TN", "BXD", email="cuong@bxd.gov.vn")
    async with transaction(bot.sessions) as session:  # Cường blocked the bot (a 403 said so)
        await session.execute(
            update(TelegramUser).where(TelegramUser.id == cuong.id).values(private_chat_ok=False)
        )
    await enrol(bot, person("DBSH", "Phạm Văn Dũng", "BCT"))
    async with transaction(bot.sessions) as session:
        dung = await session.scalar(select(Member).where(Member.full_name == "Phạm Văn Dũng"))
        assert dung is not None
        dung.removed_at, dung.removed_by = bot.clock.now(), "cli"

    status, page, _ = await browser.get("/members")
    assert status == 200
    for field in ("m-q", "m-council", "m-agency", "m-state"):
        assert f'<label for="{field}">' in page and f'id="{field}"' in page
    names = re.findall(r'<a href="/members/\d+">([^<]+)</a>', page)
    assert names == ["Nguyễn Văn An", "Lê Văn Cường", "Trần Thị Bình"]  # by agency: BTC, BXD, HN
    assert "Phạm Văn Dũng" not in page  # removed: only with state=removed
    assert "DBSH: Phó Chủ tịch" in page and "TN: Ủy viên" in page
    assert 'state-registered">đã đăng ký' in page
    assert 'state-unreachable">' in page and 'state-waiting">' in page
    assert "3 thành viên" in page

    async def listed(query: str) -> list[str]:
        status, page, _ = await browser.get("/members?" + query)
        assert status == 200, page
        return re.findall(r'<a href="/members/\d+">([^<]+)</a>', page)

    assert await listed("q=nguyen+van+an") == ["Nguyễn Văn An"]  # without the marks
    assert await listed("q=BINH") == ["Trần Thị Bình"]
    assert await listed("q=0912.345") == ["Trần Thị Bình"]  # the phone, however written
    assert await listed("q=cuong%40bxd") == ["Lê Văn Cường"]
    assert await listed("q=btc") == ["Nguyễn Văn An"]  # the agency's code
    assert await listed("council=TN") == ["Lê Văn Cường", "Trần Thị Bình"]
    assert await listed("agency=hn") == ["Trần Thị Bình"]
    assert await listed("state=waiting") == ["Trần Thị Bình"]
    assert await listed("state=unreachable") == ["Lê Văn Cường"]
    assert await listed("state=registered") == ["Nguyễn Văn An"]
    assert await listed("state=removed") == ["Phạm Văn Dũng"]
    assert await listed("council=DBSH&state=registered&q=an") == ["Nguyễn Văn An"]
    assert await listed("q=nobody") == []
    status, page, _ = await browser.get("/members?state=sleeping")
    assert status == 400 and "sleeping" in page

    # The admins, and a member's page.
    page = (await browser.get("/members"))[1]
    admins_part = page[page.index('id="admins"') :]
    assert "Ban thư ký" in admins_part and str(admin.id) in admins_part
    status, page, _ = await browser.get("/members/2")
    assert status == 200
    assert "0912 345 678" in page and "Trần Thị Bình" in page and 'id="reissue"' in page
    assert (await browser.get("/members/999"))[0] == 404


async def test_hundreds_of_members_are_shown_a_hundred_at_a_time(bot, browser):
    await enrol(bot, *(person("DBSH", f"Người Thứ {i:03d}", "BTC") for i in range(230)))
    page = (await browser.get("/members"))[1]
    assert len(re.findall(r'<a href="/members/\d+">', page)) == 100
    assert "230 thành viên" in page
    assert '<strong aria-current="page">1</strong>' in page and "page=3" in page
    page = (await browser.get("/members?page=3"))[1]
    names = re.findall(r'<a href="/members/\d+">([^<]+)</a>', page)
    assert names[0] == "Người Thứ 200" and names[-1] == "Người Thứ 229"
    assert (await browser.get("/members?page=99"))[0] == 200  # the last page
    assert (await browser.get("/members?page=x"))[0] == 200  # the first


async def test_names_with_html_are_shown_literally(bot, browser):
    await enrol(bot, person("DBSH", HOSTILE_NAME, "BTC"))
    for path in ("/members", "/members/1", "/members/1/remove"):
        page = (await browser.get(path))[1]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert "<script>alert(1)" not in page and "<b>Văn</b>" not in page
    status, _, response = await _upload(
        browser, "r.csv", csv_bytes([person("DBSH", HOSTILE_NAME, "BTC"), person("ZZZ", "<i>x")])
    )
    assert status == 303
    page = (await browser.get(response.headers["Location"]))[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;i&gt;x" in page
    assert "<script>alert(1)" not in page and "<i>x" not in page


# --- a member's link and removal ---------------------------------------------------------------


async def test_a_fresh_link_replaces_the_old_one_as_the_chat_s_invite_does(bot, admin, browser):
    [(member, old_token)] = await enrol(bot, person("DBSH", "Trần Thị Bình", "HN"))
    csrf = await _csrf(browser, "/members/1")
    status, _, response = await browser.post("/members/1/invite", data={"csrf": csrf})
    assert status == 303
    location = response.headers["Location"]
    assert location.startswith("/members/links/")
    status, page, _ = await browser.get(location)
    assert status == 200
    [token] = LINK.findall(page)
    assert "readonly" in page and '<label for="link-1">' in page
    assert token != old_token
    newcomer = bot.api.add_user(first_name="Bình")
    refused = await bot.say(newcomer, f"/start {old_token}")
    assert refused["text"].startswith("Đường dẫn mời này đã được thay bằng đường dẫn mới hơn.")
    assert "Trần Thị Bình" in (await bot.say(newcomer, f"/start {token}"))["text"]
    [issued] = await _logged(bot, "invite.issue")
    assert issued["member_id"] == member.id
    # Another admin cannot read these links; after 30 minutes nobody can.
    other = bot.api.add_user(first_name="Khác")
    async with transaction(bot.sessions) as session:
        await admins.add_admin(session, bot.clock.now(), other.id, "Khác", "test")
    stranger = await _signed_in(bot, other)
    try:
        status, page, _ = await stranger.get(location)
        assert status == 403 and token not in page
    finally:
        await stranger.close()
    bot.clock.advance(timedelta(minutes=31))
    status, page, _ = await browser.get(location)
    assert status == 404 and token not in page


async def test_removing_a_member_asks_first_then_ends_their_desk_session(bot, admin, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    theirs = await _signed_in(bot, an)
    try:
        assert (await theirs.get("/my"))[0] == 200
        status, page, _ = await browser.get("/members/1/remove")
        assert status == 200 and 'id="confirm-remove"' in page
        async with bot.sessions() as session:  # the confirmation page changed nothing
            assert (await session.get(Member, 1)).removed_at is None  # type: ignore[union-attr]
        csrf = CSRF.findall(page)[-1]
        status, _, response = await browser.post("/members/1/remove", data={"csrf": csrf})
        assert status == 303 and response.headers["Location"] == "/members/1"
        async with bot.sessions() as session:
            member = await session.get(Member, 1)
        assert member is not None and member.removed_at is not None
        assert member.telegram_user_id is None
        assert await _count(bot, CouncilMembership, CouncilMembership.member_id == 1) == 0
        assert (await theirs.get("/my"))[0] == 401  # signed out at once
        [removal] = await _logged(bot, "member.remove")
        assert removal["desk_sessions_ended"] == 1 and removal["councils"] == ["DBSH"]
        # Twice: nothing more happens.
        again = await browser.post("/members/1/remove", data={"csrf": csrf})
        assert again[0] == 303 and len(await _logged(bot, "member.remove")) == 1
        page = (await browser.get("/members/1"))[1]
        assert 'id="reissue"' not in page and 'state-removed">' in page
        # No fresh link for someone removed (the chat's /invite refuses it too).
        status, page, _ = await browser.post("/members/1/invite", data={"csrf": csrf})
        assert status == 403 and "đã bị xóa khỏi danh sách thành viên" in page
        assert await _logged(bot, "invite.issue") == []
    finally:
        await theirs.close()


# --- the import ----------------------------------------------------------------------------


async def test_the_preview_lists_every_row_and_writes_nothing_then_confirm_imports_once(
    bot, admin, browser
):
    await enrol(bot, person("DBSH", "Người Cũ", "BCT"))  # not in the file: loses the seat
    rows = [
        person("DBSH", "Nguyễn Văn An", "BTC"),
        person("ZZZ", "Sai Hội Đồng", "BTC"),
        person("DBSH", "Trần Thị Bình", "HN", role="vice_chair"),
        person("DBSH", "", "BTC"),
        person("DBSH", "Lê Văn Cường", "BXD"),
    ]
    before = (await _count(bot, Member), await _count(bot, InviteToken))
    status, page, response = await _upload(browser, "danh-sach.xlsx", xlsx_bytes(rows))
    assert status == 303, page
    location = response.headers["Location"]
    status, page, _ = await browser.get(location)
    assert status == 200
    table = _rows(page)
    assert table["2"].endswith("mới") and "Nguyễn Văn An" in table["2"]
    assert "ZZZ" in table["3"] and "không có Hội đồng mã ZZZ" in table["3"]
    assert table["4"].endswith("mới") and table["6"].endswith("mới")
    assert "họ tên để trống" in table["5"]
    assert "Người Cũ" in page[page.index('id="removed"') :]
    assert 'id="nothing-yet"' in page and 'id="confirm-import"' in page
    assert not LINK.search(page)
    # Nothing written: no member, no link, no seat lost, no audit line.
    assert (await _count(bot, Member), await _count(bot, InviteToken)) == before
    assert await _count(bot, CouncilMembership) == 1
    assert len(await _logged(bot, "roster.import")) == 1  # the enrolment's only

    csrf = CSRF.findall(page)[-1]
    status, _, response = await browser.post(location, data={"csrf": csrf})
    assert status == 303 and response.headers["Location"] == location
    page = (await browser.get(location))[1]
    tokens = LINK.findall(page)
    assert len(tokens) == 3 and 'id="confirm-import"' not in page
    assert await _count(bot, Member) == before[0] + 3
    async with bot.sessions() as session:
        names = set((await session.scalars(select(Member.full_name))).all())
    assert {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"} <= names
    assert await _count(bot, CouncilMembership, CouncilMembership.member_id == 1) == 0
    imports = await _logged(bot, "roster.import")
    assert imports[-1] == {"new": 3, "updated": 0, "errors": 2, "seats_removed": 1}
    async with bot.sessions() as session:  # by this admin, as the chat's /import records it
        last = await session.scalar(
            select(AuditLog).where(AuditLog.action == "roster.import").order_by(AuditLog.id.desc())
        )
    assert last is not None and last.actor == f"tg:{admin.id}"
    # The links work.
    newcomer = bot.api.add_user(first_name="An")
    assert "Nguyễn Văn An" in (await bot.say(newcomer, f"/start {tokens[0]}"))["text"]
    # Confirming again imports nothing more.
    again = await browser.post(location, data={"csrf": csrf})
    assert again[0] == 303
    assert len(await _logged(bot, "roster.import")) == len(imports)
    assert await _count(bot, Member) == before[0] + 3
    async with bot.sessions() as session:  # the file's rows are not kept once imported
        handoff = await session.get(DeskHandoff, location.rsplit("/", 1)[1])
        assert handoff is not None and handoff.rows is None


async def test_two_confirmations_at_once_import_once(bot, browser):
    _, _, response = await _upload(browser, "r.csv", csv_bytes([person("DBSH", "Một Lần", "BTC")]))
    location = response.headers["Location"]
    csrf = await _csrf(browser, location)
    first, second = await asyncio.gather(
        browser.post(location, data={"csrf": csrf}), browser.post(location, data={"csrf": csrf})
    )
    assert first[0] == second[0] == 303
    assert await _count(bot, Member) == 1
    assert len(await _logged(bot, "roster.import")) == 1
    assert len(LINK.findall((await browser.get(location))[1])) == 1


async def test_a_roster_changed_since_the_preview_is_not_imported_but_previewed_again(bot, browser):
    _, _, response = await _upload(browser, "r.csv", csv_bytes([person("DBSH", "Nguyễn Văn An")]))
    location = response.headers["Location"]
    await enrol(bot, person("DBSH", "Nguyễn Văn An"))  # meanwhile, by the chat's /import
    csrf = await _csrf(browser, location)
    status, _, response = await browser.post(location, data={"csrf": csrf})
    assert status == 303 and response.headers["Location"] == location + "?changed=1"
    page = (await browser.get(response.headers["Location"]))[1]
    assert 'id="changed"' in page and _rows(page)["2"].endswith("không thay đổi")
    assert len(await _logged(bot, "roster.import")) == 1  # the chat's only
    status, _, _ = await browser.post(location, data={"csrf": csrf})
    assert status == 303 and len(await _logged(bot, "roster.import")) == 2


async def test_another_admin_s_preview_and_an_old_one_are_refused(bot, browser):
    _, _, response = await _upload(browser, "r.csv", csv_bytes([person("DBSH", "Nguyễn Văn An")]))
    location = response.headers["Location"]
    other = bot.api.add_user(first_name="Khác")
    async with transaction(bot.sessions) as session:
        await admins.add_admin(session, bot.clock.now(), other.id, "Khác", "test")
    stranger = await _signed_in(bot, other)
    try:
        status, page, _ = await stranger.get(location)
        assert status == 403 and "Nguyễn Văn An" not in page
        csrf = await _csrf(stranger, "/members")
        status, page, _ = await stranger.post(location, data={"csrf": csrf})
        assert status == 403
    finally:
        await stranger.close()
    assert await _count(bot, Member) == 0
    csrf = await _csrf(browser, location)
    bot.clock.advance(timedelta(minutes=31))
    status, page, _ = await browser.post(location, data={"csrf": csrf})
    assert status == 404 and "30" in page
    assert await _count(bot, Member) == 0
    # The prune job deletes the file that ran out.
    assert await _count(bot, DeskHandoff) == 1
    async with transaction(bot.sessions) as session:
        await desk.prune(session, bot.clock.now())
    assert await _count(bot, DeskHandoff) == 0


async def test_a_file_too_large_or_not_a_roster_gets_a_clear_message_and_keeps_nothing(
    bot, browser
):
    big = csv_bytes([person()]) + b"x" * (5 * 1024 * 1024)
    status, page, _ = await _upload(browser, "big.csv", big)
    assert status == 400 and "Tệp lớn hơn 5 MB" in page
    status, page, _ = await _upload(browser, "huge.csv", b"y" * (25 * 1024 * 1024))
    assert status == 400 and "Tệp lớn hơn 5 MB" in page
    status, page, _ = await _upload(browser, "roster.xlsx", b"%PDF-1.4 not a spreadsheet")
    assert status == 400 and "Tệp không phải là bảng tính XLSX hợp lệ" in page
    status, page, _ = await _upload(browser, "notes.csv", b"hello,world\n1,2\n")
    assert status == 400 and "Dòng tiêu đề thiếu cột" in page
    status, page, _ = await _upload(browser, "", b"")
    assert status == 400 and "Vui lòng chọn tệp danh sách thành viên" in page
    assert 'type="file"' in page and '<label for="r-file">' in page  # the form again
    assert await _count(bot, DeskHandoff) == 0 and await _count(bot, Member) == 0


# --- who may ---------------------------------------------------------------------------------


async def test_a_member_is_refused_every_members_page_and_action(bot, admin):
    await enrol(bot, person("DBSH", "Trần Thị Bình", "HN"))
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    theirs = await _signed_in(bot, an)
    try:
        for path in ("/members", "/members/1", "/members/1/remove", "/members/import"):
            assert (await theirs.get(path))[0] == 403, path
        csrf = await _csrf(theirs, "/my")
        for path in ("/members/1/invite", "/members/1/remove"):
            assert (await theirs.post(path, data={"csrf": csrf}))[0] == 403, path
        status, _, _ = await theirs.post(
            "/members/import", data=_form(csrf, "r.csv", csv_bytes([person(name="Kẻ Lạ")]))
        )
        assert status == 403
    finally:
        await theirs.close()
    assert await _count(bot, Member) == 2 and await _count(bot, DeskHandoff) == 0
    assert await _logged(bot, "invite.issue") == [] and await _logged(bot, "member.remove") == []


async def test_every_members_form_needs_its_csrf_token(bot, browser):
    await enrol(bot, person("DBSH", "Trần Thị Bình", "HN"))
    assert (await browser.post("/members/1/remove", data={}))[0] == 403
    assert (await browser.post("/members/1/invite", data={"csrf": "0" * 64}))[0] == 403
    status, _, _ = await _upload(browser, "r.csv", csv_bytes([person()]), csrf=None)
    assert status == 403
    status, _, _ = await _upload(browser, "r.csv", csv_bytes([person()]), csrf="00")
    assert status == 403
    assert await _count(bot, DeskHandoff) == 0
    assert await _logged(bot, "invite.issue") == [] and await _logged(bot, "member.remove") == []
