"""A reply in private to the bot's note question, or to a task reminder: a note."""

from __future__ import annotations

from telegram.ext import BaseHandler, MessageHandler, filters

from bot.i18n import _
from bot.services import reports
from bot.text import escape, html_format
from handlers.common import Reply, Turn, handler


@handler
async def note(turn: Turn) -> Reply:
    replied = turn.message.reply_to_message
    assert replied is not None
    report = await reports.add_note(
        turn.session, turn.who, turn.chat_id, replied.message_id, turn.message.text or ""
    )
    if report is None:
        return Reply(
            escape(
                _(
                    "I am not waiting for an answer to that message. "
                    "Send /help to see what you can do."
                )
            )
        )
    return Reply(html_format(_("📝 Your note on task #{id} is recorded."), id=report.task_id))


def handlers() -> list[BaseHandler]:
    return [
        MessageHandler(
            filters.ChatType.PRIVATE & filters.REPLY & filters.TEXT & ~filters.COMMAND, note
        )
    ]
