"""/desk in the chat when the desk is off (no WEB_URL): it says how to turn it on."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import DeskLink
from tests.people import registered


async def test_without_web_url_desk_says_how_to_turn_it_on(bot, admin):
    assert bot.settings.web_url is None
    assert "desk" not in bot.app.bot_data  # no server either
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    for person in (an, admin):
        answer = await bot.say(person, "/desk")
        assert "WEB_URL" in answer["text"] and "chưa được bật" in answer["text"]
        assert not answer.get("reply_markup")
    async with bot.sessions() as session:
        assert (await session.scalars(select(DeskLink))).all() == []


async def test_desk_is_in_help_and_in_the_command_menu(bot):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    answer = await bot.say(an, "/help")
    assert "/desk — " in answer["text"]
    menu = bot.api.commands_for({"type": "all_private_chats"}, "vi")
    assert "desk" in {c["command"] for c in menu}


async def test_without_an_https_desk_nobody_gets_a_desk_menu_button(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/start")
    assert bot.api.menu_buttons == {}


async def test_members_and_admins_get_the_desk_button_a_stranger_does_not(
    api, database_url, seeded, clock
):
    from bot.config import load_settings
    from tests.desk import free_port
    from tests.harness import BotHarness

    port = free_port()
    chief = api.add_user(first_name="Thư ký", language_code="vi")
    settings = load_settings(
        env_file=None,
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        database_url=database_url,
        default_locale="vi",
        web_url="https://desk.example.gov.vn",
        web_port=port,
        admin_telegram_ids=[chief.id],
    )
    harness = BotHarness(api, settings, clock, seeded)
    await harness.start()
    try:
        # An admin named in ADMIN_TELEGRAM_IDS: set when the bot starts.
        assert api.menu_buttons[chief.id] == {
            "type": "web_app",
            "text": "Trang làm việc",
            "web_app": {"url": "https://desk.example.gov.vn/"},
        }
        an = await registered(harness, "Nguyễn Văn An", "DBSH", "BTC", language_code="en")
        await harness.settle()
        assert api.menu_buttons[an.id]["type"] == "web_app"
        # In the member's language (the roster's or Telegram's: English here).
        assert api.menu_buttons[an.id]["text"] == "Desk"
        stranger = api.add_user(first_name="Lạ", language_code="vi")
        await harness.say(stranger, "/start")
        await harness.settle()
        assert stranger.id not in api.menu_buttons
    finally:
        await harness.stop()
