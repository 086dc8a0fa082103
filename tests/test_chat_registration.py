"""Registration and personal commands, end to end over HTTP (SPEC §3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.models import Member, TelegramUser
from tests.people import enrol, registered
from tests.rosters import person


async def _member(bot, member_id):
    async with bot.sessions() as session:
        return await session.get(Member, member_id)


async def test_start_with_an_invite_binds_the_user_once(bot):
    [(member, token)] = await enrol(bot, person("DBSH", "Nguyễn Văn An", "BTC"))
    an = bot.api.add_user(first_name="An")
    answer = await bot.say(an, f"/start {token}")
    assert "Nguyễn Văn An" in answer["text"]
    assert "Bộ Tài chính" in answer["text"]
    assert (await _member(bot, member.id)).telegram_user_id == an.id

    # Someone else opening the same link is refused and nothing changes.
    other = bot.api.add_user(first_name="Khác")
    refused = await bot.say(other, f"/start {token}")
    assert "Nguyễn Văn An" not in refused["text"]
    assert (await _member(bot, member.id)).telegram_user_id == an.id
    # The member pressing it again is told they are registered already.
    again = await bot.say(an, f"/start {token}")
    assert "Nguyễn Văn An" in again["text"]


async def test_start_with_garbage_expired_and_used_tokens(bot):
    user = bot.api.add_user(first_name="Bình", language_code="en")
    garbage = await bot.say(user, "/start not-a-real-token-at-all")
    assert "not valid" in garbage["text"]

    [(_m1, expired), (_m2, fresh)] = await enrol(
        bot, person(name="Trần Thị Bình"), person(name="Lê Văn Cường")
    )
    bot.clock.advance(timedelta(days=15))
    assert "expired" in (await bot.say(user, f"/start {expired}"))["text"]

    # A fresh one issued after the clock moved works; used by another it is refused.
    async with bot.sessions.begin() as session:
        from bot.services.invites import reissue_invite

        _member, fresh = await reissue_invite(session, bot.clock.now(), _m2.id, "test")
    assert "Lê Văn Cường" in (await bot.say(user, f"/start {fresh}"))["text"]
    intruder = bot.api.add_user(first_name="X", language_code="en")
    assert "already been used" in (await bot.say(intruder, f"/start {fresh}"))["text"]
    async with bot.sessions() as session:
        assert await session.get(TelegramUser, intruder.id) is None


async def test_start_without_token_shows_the_telegram_id(bot):
    stranger = bot.api.add_user(first_name="Lạ", language_code="vi")
    answer = await bot.say(stranger, "/start")
    assert str(stranger.id) in answer["text"]
    # The id is shown as code so it can be copied.
    assert any(e["type"] == "code" for e in answer.get("entities", []))


async def test_unregistered_users_get_no_council_data(bot):
    stranger = bot.api.add_user(first_name="Lạ", language_code="en")
    answer = await bot.say(stranger, "/whoami")
    assert "not registered" in answer["text"]
    assert str(stranger.id) in answer["text"]
    help_text = (await bot.say(stranger, "/help"))["text"]
    assert "/whoami" not in help_text and "/link" not in help_text


async def test_names_with_html_characters_and_diacritics_are_shown_exactly(bot):
    name = 'Nguyễn <Văn> & "Đức"'
    user = await registered(bot, name=name, language_code="en")
    answer = await bot.say(user, "/whoami")
    assert name in answer["text"]


async def test_whoami_lists_councils_and_roles(bot):
    user = await registered(bot, name="Phạm Thu Hà", council="DBSCL", agency="CT", role="chair")
    answer = await bot.say(user, "/whoami")
    assert "Phạm Thu Hà" in answer["text"]
    assert "DBSCL" in answer["text"]
    assert "Thành phố Cần Thơ" in answer["text"]


async def test_lang_switches_every_later_text(bot):
    user = await registered(bot, name="Võ Minh Tâm", language_code="vi")
    vi_help = (await bot.say(user, "/help"))["text"]
    assert "/whoami" in vi_help
    bad = await bot.say(user, "/lang xx")
    assert "xx" in bad["text"]
    async with bot.sessions() as session:
        assert (await session.get(TelegramUser, user.id)).language is None

    switched = await bot.say(user, "/lang en")
    assert switched["text"] == "Language set to English."
    en_help = (await bot.say(user, "/help"))["text"]
    assert "What you can do:" in en_help
    assert "Councils:" in (await bot.say(user, "/whoami"))["text"]
    # The user's own menu now follows the chosen language.
    menu = bot.api.commands_for({"type": "chat", "chat_id": user.id})
    assert menu is not None and any(c["command"] == "whoami" for c in menu)


async def test_telegram_language_code_picks_the_first_language(bot):
    english = bot.api.add_user(first_name="Ann", language_code="en-US")
    assert "not registered" in (await bot.say(english, "/start"))["text"]
    vietnamese = bot.api.add_user(first_name="Ân", language_code="vi")
    assert "not registered" not in (await bot.say(vietnamese, "/start"))["text"]


async def test_the_roster_language_wins_over_telegrams(bot):
    user = await registered(bot, name="John Nguyen", language_code="vi", language="en")
    assert "Councils:" in (await bot.say(user, "/whoami"))["text"]


async def test_unknown_commands_and_stray_text_get_a_hint(bot):
    user = bot.api.add_user(first_name="An", language_code="en")
    assert "/help" in (await bot.say(user, "/frobnicate"))["text"]
    assert "/help" in (await bot.say(user, "hello there"))["text"]


async def test_the_start_up_publishes_menus_per_language(bot):
    for language in ("vi", "en"):
        menu = bot.api.commands_for({"type": "all_private_chats"}, language)
        names = [c["command"] for c in menu]
        assert names == [
            "start", "help", "whoami", "lang", "status", "tasks", "meetings", "submit", "away",
            "back", "desk",
        ]  # fmt: skip
    en = bot.api.commands_for({"type": "all_private_chats"}, "en")
    vi = bot.api.commands_for({"type": "all_private_chats"}, "vi")
    assert en != vi  # really translated


async def test_registration_is_recorded_for_reachability(bot):
    user = await registered(bot, name="Đặng Văn Lâm")
    async with bot.sessions() as session:
        account = await session.get(TelegramUser, user.id)
        assert account.private_chat_ok
        member = await session.scalar(select(Member).where(Member.telegram_user_id == user.id))
        assert member.registered_at == bot.clock.now()
