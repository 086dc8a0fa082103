"""Publish the command menus: members' per language, and admins' per chat."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError

from bot.commands import ADMIN_COMMANDS, GROUP_COMMANDS, MEMBER_COMMANDS, Command
from bot.config import SUPPORTED_LOCALES
from bot.i18n import _, use_locale

log = logging.getLogger(__name__)


def _menu(commands: Iterable[Command], locale: str) -> list[BotCommand]:
    with use_locale(locale):
        return [BotCommand(c.name, _(c.menu)) for c in commands]


async def publish_default_menus(bot: Bot, default_locale: str) -> None:
    """Every private chat sees the member commands in its Telegram language; groups see /help."""
    private, groups = BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats()
    await bot.set_my_commands(_menu(MEMBER_COMMANDS, default_locale), scope=private)
    await bot.set_my_commands(_menu(GROUP_COMMANDS, default_locale), scope=groups)
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(
            _menu(MEMBER_COMMANDS, locale), scope=private, language_code=locale
        )
        await bot.set_my_commands(_menu(GROUP_COMMANDS, locale), scope=groups, language_code=locale)


async def publish_user_menu(bot: Bot, user_id: int, locale: str, *, admin: bool) -> None:
    """A per-chat menu: the user's chosen language, and admin commands for admins."""
    commands = (*MEMBER_COMMANDS, *ADMIN_COMMANDS) if admin else MEMBER_COMMANDS
    try:
        await bot.set_my_commands(_menu(commands, locale), scope=BotCommandScopeChat(user_id))
    except TelegramError as exc:
        # Telegram refuses a chat scope for someone who never opened the bot; the menu
        # follows when they do (/start publishes it again).
        log.info("menu for user %s not published yet: %s", user_id, exc.message)


async def publish_desk_button(
    bot: Bot, user_id: int, locale: str, *, web_url: str | None, may_use: bool
) -> None:
    """The button beside the message field opens the desk as a Mini App for those who may
    use it (admins and members); anyone else gets Telegram's default (the command list)
    back. `web_url`: the desk's address if Telegram would open it (Settings.opens_mini_app),
    else None (nothing is published)."""
    if not web_url:
        return
    if may_use:
        with use_locale(locale):
            text = _("Desk")
        button: MenuButtonWebApp | MenuButtonDefault = MenuButtonWebApp(
            text, WebAppInfo(f"{web_url}/")
        )
    else:
        button = MenuButtonDefault()
    try:
        await bot.set_chat_menu_button(chat_id=user_id, menu_button=button)
    except TelegramError as exc:
        log.info("desk button for user %s not set: %s", user_id, exc.message)
