"""Anything no other handler took: a short hint to /help (in groups only when addressed)."""

from __future__ import annotations

from telegram.ext import BaseHandler, MessageHandler, filters

from bot.i18n import _
from bot.text import escape
from handlers.common import Reply, Turn, handler


@handler
async def unknown_command(turn: Turn) -> Reply | None:
    text = turn.message.text or ""
    command = text.split()[0] if text else ""
    if not turn.in_private:
        # Other bots share groups; answer only commands addressed to us by name.
        username = turn.context.bot.username or ""
        if not command.lower().endswith(f"@{username.lower()}"):
            return None
    return Reply(escape(_("I do not know that command. Send /help to see what you can do.")))


@handler
async def unexpected_text(turn: Turn) -> Reply:
    return Reply(escape(_("I did not understand that message. Send /help to see what you can do.")))


@handler
async def unexpected_document(turn: Turn) -> Reply:
    return Reply(escape(_("To import a roster, send the file again with the caption /import.")))


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(filters.COMMAND, unknown_command),
        MessageHandler(private & filters.Document.ALL, unexpected_document),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, unexpected_text),
    ]
