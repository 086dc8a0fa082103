"""The desk's announcements: compose, preview (nothing queued, the audience counted),
confirm once through /announce's service, the copies delivered by the bot's sender, the
progress page and its 👍 by agency; edit, bad input, members and forms without a token
refused."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bot import callbacks
from bot.callbacks import AnnouncementPress
from bot.config import Settings
from bot.models import Announcement, AnnouncementState, AuditLog, Outbox
from tests.chat import linked_group, press
from tests.desk import CSRF, FORM_KEY, HOSTILE, Browser, desk_settings, init_data
from tests.people import enrol, registered
from tests.rosters import person

REFRESH = '<meta http-equiv="refresh" content="3">'
TEXT = f"Kính gửi các thành viên Hội đồng:\n{HOSTILE}\nTrân trọng."


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot, admin) -> AsyncIterator[Browser]:
    # The admin reached the desk from the bot's private chat (/desk): the summary of a
    # broadcast goes there.
    await bot.say(admin, "/desk")
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    assert status == 200
    yield one
    await one.close()


async def _form(browser: Browser, path: str = "/announcements/new") -> dict[str, str]:
    status, page, _ = await browser.get(path)
    assert status == 200, page
    return {"csrf": CSRF.findall(page)[-1], "form_key": FORM_KEY.findall(page)[0]}


async def _compose(browser: Browser, target: str = "DBSH", text: str = TEXT):
    hidden = await _form(browser)
    # As a browser sends a text area: its lines end in CRLF.
    return await browser.post(
        "/announcements/new",
        data={**hidden, "target": target, "text": text.replace("\n", "\r\n")},
    )


async def _count(bot, model) -> int:
    async with bot.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _announcements(bot) -> list[Announcement]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(Announcement).order_by(Announcement.id))).all())


def _copies(bot, since: int) -> list[dict]:
    return [m for m in bot.api.sent[since:] if "Trân trọng." in m.get("text", "")]


def _fact(page: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>([^<]*)</dd>", page)
    assert found, (label, page)
    return found.group(1)


async def test_a_desk_announcement_is_previewed_then_sent_once_to_each_member(bot, admin, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    dung = await registered(bot, "Phạm Thị Dung", "DBSH", "GL")
    bot.api.block(dung)
    await bot.settle()
    await enrol(bot, person("DBSH", "Lê Văn Cường", "DLK"))  # on the roster, not registered
    group = await linked_group(bot, admin, "DBSH")

    page = (await browser.get("/announcements/new"))[1]
    assert '<label for="a-target">' in page and '<label for="a-text">' in page
    assert "3996" in page  # the limit, said before typing
    status, _, response = await _compose(browser)
    assert status == 303 and response.headers["Location"] == "/announcements/1"
    [draft] = await _announcements(bot)
    assert draft.state == AnnouncementState.DRAFT and draft.target == "DBSH"
    assert await _count(bot, Outbox) == 0  # nothing queued before Confirm

    status, page, _ = await browser.get("/announcements/1")
    assert status == 200
    # As members will see it: the bot's heading, then the text literally, lines kept.
    assert "📣 Thông báo của" in page
    assert (
        "Kính gửi các thành viên Hội đồng:\nBáo cáo &lt;b&gt;tháng&lt;/b&gt; "
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;trích&#34;\nTrân trọng."
    ) in page
    assert "<script>alert" not in page
    assert _fact(page, "Thành viên trong danh sách") == "4"
    assert _fact(page, "Đã đăng ký (mỗi người một bản)") == "3"
    assert _fact(page, "Liên lạc được qua tin nhắn riêng") == "2"
    assert _fact(page, "Chưa bắt đầu trò chuyện với bot, hoặc đã chặn bot") == "1"
    assert _fact(page, "Nhóm đã liên kết") == "1"
    assert REFRESH not in page
    assert 'action="/announcements/1/confirm"' in page and 'action="/announcements/1/edit"' in page

    token = CSRF.findall(page)[-1]
    since = len(bot.api.sent)
    for _twice in range(2):  # a double click: one broadcast
        status, _, response = await browser.post("/announcements/1/confirm", data={"csrf": token})
        assert status == 303 and response.headers["Location"] == "/announcements/1"
    [sending] = await _announcements(bot)
    assert sending.state == AnnouncementState.SENDING
    assert await _count(bot, Outbox) == 4  # three people and the group, once each
    page = (await browser.get("/announcements/1"))[1]
    assert REFRESH in page  # refreshes itself while sending
    assert _fact(page, "Còn lại") == "4"

    await bot.deliver()
    copies = _copies(bot, since)
    assert Counter(m["chat"]["id"] for m in copies) == Counter({an.id: 1, binh.id: 1, group.id: 1})
    assert all(HOSTILE in m["text"] for m in copies)  # the admin's text, literally
    page = (await browser.get("/announcements/1"))[1]
    assert REFRESH not in page
    assert _fact(page, "Đã gửi tới") == "3 / 4"
    assert (
        _fact(page, "Không liên lạc được (chưa bắt đầu trò chuyện với bot, hoặc đã chặn bot)")
        == "1"
    )
    assert _fact(page, "Còn lại") == "0"
    assert "<li>Phạm Thị Dung</li>" in page
    assert "Chưa có ai." in page  # no 👍 yet
    # The chat's own summary went to the admin who confirmed, as after 📣 in the chat.
    summary = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id][-1]["text"]
    assert "Đã gửi tới: 3" in summary and "Phạm Thị Dung" in summary

    [copy] = [m for m in copies if m["chat"]["id"] == an.id]
    await press(bot, an, copy, callbacks.encode(AnnouncementPress(1)))
    page = (await browser.get("/announcements/1"))[1]
    assert _fact(page, "👍 Đã nhận") == "1"
    assert "<dt>Bộ Tài chính</dt><dd>Nguyễn Văn An</dd>" in page
    async with bot.sessions() as session:
        logged = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "announcement.send"))
        ).all()
    assert [(row.actor, row.details["copies"]) for row in logged] == [(f"tg:{admin.id}", 4)]

    listed = (await browser.get("/announcements"))[1]
    assert 'href="/announcements/1"' in listed and "&lt;script&gt;" in listed


async def test_to_all_councils_a_person_in_two_of_them_is_counted_and_reached_once(
    bot, admin, browser
):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await enrol(bot, person("TN", "Trần Thị Bình", "HN"))
    await registered(bot, "Lê Văn Cường", "TN", "DLK")
    status, _, _ = await _compose(browser, target="all")
    assert status == 303
    page = (await browser.get("/announcements/1"))[1]
    assert "tất cả các Hội đồng" in page
    assert _fact(page, "Đã đăng ký (mỗi người một bản)") == "3"
    since = len(bot.api.sent)
    await browser.post("/announcements/1/confirm", data={"csrf": CSRF.findall(page)[-1]})
    await bot.deliver()
    copies = Counter(m["chat"]["id"] for m in _copies(bot, since))
    assert len(copies) == 3 and copies[binh.id] == 1


async def test_the_same_form_sent_twice_makes_one_draft(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    hidden = await _form(browser)
    data = {**hidden, "target": "DBSH", "text": TEXT}
    first = await browser.post("/announcements/new", data=data)
    second = await browser.post("/announcements/new", data=data)
    assert first[0] == second[0] == 303
    assert first[2].headers["Location"] == second[2].headers["Location"] == "/announcements/1"
    assert len(await _announcements(bot)) == 1


async def test_three_copies_of_one_form_sent_at_once_make_one_draft(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    hidden = await _form(browser)
    data = {**hidden, "target": "DBSH", "text": TEXT}
    answers = await asyncio.gather(
        *(browser.post("/announcements/new", data=data) for _copy in range(3))
    )
    assert {(status, response.headers["Location"]) for status, _, response in answers} == {
        (303, "/announcements/1")
    }
    assert len(await _announcements(bot)) == 1


async def test_edit_withdraws_the_draft_and_gives_its_text_back_to_the_form(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _compose(browser)
    token = CSRF.findall((await browser.get("/announcements/1"))[1])[-1]
    status, _, response = await browser.post("/announcements/1/edit", data={"csrf": token})
    assert status == 303 and response.headers["Location"] == "/announcements/new?from=1"
    page = (await browser.get("/announcements/new?from=1"))[1]
    assert '<option value="DBSH" selected>' in page
    assert (
        ">Kính gửi các thành viên Hội đồng:\nBáo cáo &lt;b&gt;tháng&lt;/b&gt; "
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;trích&#34;\n"
        "Trân trọng.</textarea>"
    ) in page
    [withdrawn] = await _announcements(bot)
    assert withdrawn.state == AnnouncementState.CANCELLED
    # The old preview's Confirm, pressed afterwards (another tab): refused, nothing queued.
    status, page, _ = await browser.post("/announcements/1/confirm", data={"csrf": token})
    assert status == 403 and "đã được gửi hoặc đã bị hủy" in page
    assert await _count(bot, Outbox) == 0
    # The form sent again (edited) is a new draft.
    status, _, response = await _compose(browser, text=TEXT + "\nP.S.")
    assert status == 303 and response.headers["Location"] == "/announcements/2"


@pytest.mark.parametrize(
    ("target", "text", "said"),
    [
        ("DBSH", "  \r\n  ", "chưa có nội dung"),
        ("DBSH", HOSTILE + "x" * 4000, "4058"),
        ("XYZ", HOSTILE, "XYZ"),
        ("", HOSTILE, "Hội đồng"),
    ],
    ids=["empty", "too-long", "unknown-council", "no-council"],
)
async def test_bad_input_shows_the_form_again_with_the_text_kept(
    bot, admin, browser, target, text, said
):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    status, page, _ = await _compose(browser, target=target, text=text)
    assert status == 400
    [alert] = re.findall(r'<p class="alert" role="alert" id="form-error">([^<]*)</p>', page)
    assert said in alert
    if text.strip():  # kept as typed, escaped
        assert "Báo cáo &lt;b&gt;tháng&lt;/b&gt; &lt;script&gt;" in page
        assert "<script>alert" not in page
    assert FORM_KEY.search(page)  # the form again, ready to resend
    assert await _announcements(bot) == []
    assert await _count(bot, Outbox) == 0


async def test_the_limit_counts_the_text_as_telegram_does(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    fits = "x" * 3996
    status, _, _ = await _compose(browser, text=fits)
    assert status == 303
    status, page, _ = await _compose(browser, text=fits + "🎉")  # two UTF-16 units
    assert status == 400 and "3998" in page
    assert len(await _announcements(bot)) == 1


async def test_members_are_refused_every_announcement_page_and_form(bot, admin, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _compose(browser)
    member = Browser(bot.settings.web_url)
    try:
        await member.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
        for path in ("/announcements", "/announcements/new", "/announcements/1"):
            status, page, _ = await member.get(path)
            assert status == 403 and "Trân trọng" not in page, path
        token = await member.csrf_of("/my")
        data = {"csrf": token, "form_key": "k" * 32, "target": "DBSH", "text": "Giả mạo"}
        assert (await member.post("/announcements/new", data=data))[0] == 403
        assert (await member.post("/announcements/1/confirm", data={"csrf": token}))[0] == 403
        assert (await member.post("/announcements/1/edit", data={"csrf": token}))[0] == 403
    finally:
        await member.close()
    [draft] = await _announcements(bot)
    assert draft.state == AnnouncementState.DRAFT
    assert await _count(bot, Outbox) == 0


async def test_forms_without_their_csrf_token_are_refused(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    hidden = await _form(browser)
    data = {"form_key": hidden["form_key"], "target": "DBSH", "text": TEXT}
    assert (await browser.post("/announcements/new", data=data))[0] == 403
    assert await _announcements(bot) == []
    await _compose(browser)
    assert (await browser.post("/announcements/1/confirm", data={}))[0] == 403
    forged = {"csrf": "0" * 64}
    assert (await browser.post("/announcements/1/confirm", data=forged))[0] == 403
    assert (await browser.post("/announcements/1/edit", data={}))[0] == 403
    [draft] = await _announcements(bot)
    assert draft.state == AnnouncementState.DRAFT
    assert await _count(bot, Outbox) == 0


async def test_an_announcement_that_does_not_exist_is_not_found(bot, admin, browser):
    assert (await browser.get("/announcements/7"))[0] == 404
    token = await browser.csrf_of("/announcements/new")
    assert (await browser.post("/announcements/7/confirm", data={"csrf": token}))[0] == 404
    assert (await browser.get("/announcements/new?from=7"))[0] == 404
