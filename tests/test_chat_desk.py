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
