"""Signing in to the desk (SPEC §9): Telegram's initData, /desk's one-time link, sessions,
CSRF on every form, and sessions that end when a right is taken away."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.db import transaction
from bot.models import AuditLog, DeskLink, DeskSession, Member
from bot.services import admins, members
from tests.desk import Browser, desk_settings, init_data
from tests.people import registered

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/auth/link/[A-Za-z0-9_-]+)")


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    yield one
    await one.close()


async def _link_for(bot, user) -> str:
    answer = await bot.say(user, "/desk")
    found = LINK.search(answer["text"])
    assert found, answer["text"]
    return found.group(1)


# --- initData ---------------------------------------------------------------------------


async def test_good_init_data_opens_a_session_for_a_member(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    data = init_data(an, bot.api.token, bot.clock.now())
    status, body = await browser.sign_in_with_telegram(data)
    assert (status, body) == (200, {"ok": True, "redirect": "/my"})
    status, page, _ = await browser.get("/my")
    assert status == 200
    assert "<h1>Nhiệm vụ và cuộc họp của Quý vị</h1>" in page
    # Only the hash of the session id is stored.
    async with bot.sessions() as session:
        stored = (await session.scalars(select(DeskSession))).one()
    assert stored.telegram_user_id == an.id and stored.via == "telegram"
    assert browser.session_cookie() not in (None, stored.session_hash)


async def test_init_data_as_a_form_field_signs_an_admin_in_to_the_overview(bot, admin, browser):
    data = init_data(admin, bot.api.token, bot.clock.now())
    status, _, response = await browser.post("/auth/telegram", data={"initData": data})
    assert (status, response.headers["Location"]) == (303, "/")
    status, _, _ = await browser.get("/")
    assert status == 200


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda data, token: data[:-4] + "0000", id="wrong hash"),
        pytest.param(lambda data, token: re.sub(r"&?hash=[0-9a-f]+", "", data), id="no hash"),
        pytest.param(lambda data, token: data.replace("AAH-test", "AAH-other"), id="changed field"),
        pytest.param(lambda data, token: "", id="empty"),
        pytest.param(lambda data, token: "%%%", id="not a query string"),
    ],
)
async def test_init_data_that_telegram_did_not_sign_is_refused(bot, browser, forge):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    data = forge(init_data(an, bot.api.token, bot.clock.now()), bot.api.token)
    status, _ = await browser.sign_in_with_telegram(data)
    assert status == 401
    assert browser.session_cookie() is None
    assert (await browser.get("/my"))[0] == 401


async def test_init_data_of_another_bot_is_refused(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    other_token = "987654:AAE-another-bots-token"
    status, _ = await browser.sign_in_with_telegram(init_data(an, other_token, bot.clock.now()))
    assert status == 401


async def test_stale_init_data_is_refused(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    max_age = timedelta(seconds=bot.settings.web_auth_max_age)
    stale = init_data(an, bot.api.token, bot.clock.now() - max_age - timedelta(seconds=1))
    assert (await browser.sign_in_with_telegram(stale))[0] == 401
    fresh_enough = init_data(an, bot.api.token, bot.clock.now() - max_age + timedelta(seconds=5))
    assert (await browser.sign_in_with_telegram(fresh_enough))[0] == 200


async def test_init_data_of_someone_not_on_any_roster_opens_nothing(bot, browser):
    stranger = bot.api.add_user(first_name="Người lạ")
    status, _ = await browser.sign_in_with_telegram(
        init_data(stranger, bot.api.token, bot.clock.now())
    )
    assert status == 403
    assert browser.session_cookie() is None
    async with bot.sessions() as session:
        assert (await session.scalars(select(DeskSession))).all() == []


# --- /desk and its one-time link -----------------------------------------------------------


async def test_desk_gives_a_one_time_link_that_signs_in_once(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    link = await _link_for(bot, an)
    async with bot.sessions() as session:
        stored = (await session.scalars(select(DeskLink))).one()
    assert link.rsplit("/", 1)[1] != stored.token_hash  # only the hash is kept
    # Opening the link (or a link preview fetching it) does not use it up.
    assert (await browser.get(link.removeprefix(browser.base)))[0] == 200
    status, _, response = await browser.sign_in_with_link(link)
    assert (status, response.headers["Location"]) == (303, "/my")
    assert (await browser.get("/my"))[0] == 200
    # Used once: a second browser cannot use it again.
    other = Browser(browser.base)
    try:
        status, page, _ = await other.sign_in_with_link(link)
        assert status == 404
        assert "/desk" in page
        assert other.session_cookie() is None
    finally:
        await other.close()


async def test_a_link_older_than_ten_minutes_is_refused(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    link = await _link_for(bot, an)
    bot.clock.advance(timedelta(minutes=10, seconds=1))
    status, _, _ = await browser.sign_in_with_link(link)
    assert status == 404
    assert browser.session_cookie() is None


async def test_a_link_form_without_its_csrf_token_is_refused(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    link = await _link_for(bot, an)
    path = link.removeprefix(browser.base)
    assert (await browser.get(path))[0] == 200
    assert (await browser.post(path, data={}))[0] == 403
    assert (await browser.post(path, data={"csrf": "0" * 64}))[0] == 403
    # Nothing was used up: with the token it still works.
    assert (await browser.sign_in_with_link(link))[0] == 303


async def test_desk_in_a_group_or_for_a_stranger_gives_no_link(bot, admin):
    from tests.chat import linked_group

    group = await linked_group(bot, admin)
    answer = await bot.say(admin, "/desk", chat=group)
    assert "riêng" in answer["text"] and "/auth/link/" not in answer["text"]
    stranger = bot.api.add_user(first_name="Người lạ")
    answer = await bot.say(stranger, "/desk")
    assert "/auth/link/" not in answer["text"]
    assert str(stranger.id) in answer["text"]  # how to get registered, with their id
    async with bot.sessions() as session:
        assert (await session.scalars(select(DeskLink))).all() == []


async def test_desk_on_http_gives_no_mini_app_button(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    answer = await bot.say(an, "/desk")
    # Telegram opens Mini Apps over https only; on http://127.0.0.1 the link is the way.
    assert "reply_markup" not in answer or not answer["reply_markup"]


# --- signing out, and sessions ended by a removal ---------------------------------------------


async def test_sign_out_needs_its_csrf_token_and_ends_the_session(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    assert (await browser.post("/auth/logout", data={}))[0] == 403
    assert (await browser.get("/my"))[0] == 200  # still signed in
    token = await browser.csrf_of("/my")
    assert (await browser.post("/auth/logout", data={"csrf": token}))[0] == 200
    assert (await browser.get("/my"))[0] == 401


async def test_a_session_cookie_cannot_be_replayed_after_sign_out(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    cookie = browser.session_cookie()
    token = await browser.csrf_of("/my")
    await browser.post("/auth/logout", data={"csrf": token})
    thief = Browser(browser.base)
    try:
        status, _, _ = await thief.get("/my", headers={"Cookie": f"desk_session={cookie}"})
        assert status == 401
    finally:
        await thief.close()


async def test_taking_the_admin_right_away_ends_the_desk_session(bot, admin, browser):
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    assert (await browser.get("/"))[0] == 200
    async with transaction(bot.sessions) as session:
        await admins.remove_admin(session, bot.clock.now(), admin.id, "cli")
    assert (await browser.get("/"))[0] == 401
    async with bot.sessions() as session:
        ended = (await session.scalars(select(DeskSession))).one()
    assert ended.ended_at is not None


async def test_removing_a_member_ends_their_desk_sessions(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    assert (await browser.get("/my"))[0] == 200
    async with transaction(bot.sessions) as session:
        member_id = (await session.scalars(select(Member.id))).one()
        await members.remove_member(session, bot.clock.now(), member_id, "cli", None)
    assert (await browser.get("/my"))[0] == 401


async def test_removing_a_council_seat_ends_the_desk_sessions(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    async with transaction(bot.sessions) as session:
        member_id = (await session.scalars(select(Member.id))).one()
        await members.remove_member(session, bot.clock.now(), member_id, "cli", "DBSH")
    assert (await browser.get("/my"))[0] == 401


async def test_a_session_lasts_twelve_hours(bot, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    bot.clock.advance(timedelta(hours=11, minutes=59))
    assert (await browser.get("/my"))[0] == 200
    bot.clock.advance(timedelta(minutes=2))
    assert (await browser.get("/my"))[0] == 401


async def test_ended_sessions_and_used_links_are_pruned_a_day_later(bot, browser):
    from jobs.prune import prune

    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await browser.sign_in_with_link(await _link_for(bot, an))
    await browser.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    deps = bot.app.bot_data["deps"]

    async def left() -> tuple[int, int]:
        async with bot.sessions() as session:
            links = (await session.scalars(select(DeskLink))).all()
            sessions = (await session.scalars(select(DeskSession))).all()
        return len(links), len(sessions)

    bot.clock.advance(timedelta(hours=13))  # both sessions ran out an hour ago
    await prune(deps)
    assert await left() == (1, 2)
    bot.clock.advance(timedelta(days=1))
    await prune(deps)
    assert await left() == (0, 0)
    # Who signed in, and how, stays in the audit log.
    async with bot.sessions() as session:
        entries = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "desk.sign_in"))
        ).all()
    assert [(e.actor, e.details["via"]) for e in entries] == [
        (f"tg:{an.id}", "link"),
        (f"tg:{an.id}", "telegram"),
    ]


def test_init_data_is_checked_as_telegram_documents_it():
    """An initData made step by step as Telegram's documentation says (not with the bot's
    own signing helper), percent-encoded as Telegram sends it."""
    import hashlib
    import hmac
    import json
    from datetime import UTC, datetime
    from urllib.parse import quote

    from bot.services.desk import SignInRefused, verify_init_data

    token = "123456:AAE-test-token"
    user = json.dumps({"id": 4242, "first_name": "Bình", "language_code": "vi"})
    fields = {"auth_date": "1795400000", "query_id": "AAHq", "user": user, "signature": "c2ln"}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    raw = "&".join(f"{k}={quote(v, safe='')}" for k, v in [*fields.items(), ("hash", digest)])
    now = datetime.fromtimestamp(1795400000 + 60, tz=UTC)
    who = verify_init_data(raw, token, now, timedelta(hours=1))
    assert (who.id, who.first_name, who.language_code) == (4242, "Bình", "vi")
    with pytest.raises(SignInRefused):
        verify_init_data(raw.replace("AAHq", "AAHr"), token, now, timedelta(hours=1))
    with pytest.raises(SignInRefused):
        verify_init_data(raw + "&hash=" + digest, token, now, timedelta(hours=1))  # twice
    with pytest.raises(SignInRefused):  # signed in the future
        verify_init_data(raw, token, now - timedelta(minutes=5), timedelta(hours=1))
