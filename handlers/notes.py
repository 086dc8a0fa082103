"""Replies to the bot: a note on a status report, or the name of a meeting delegate.

The reply is matched to the bot's question (or to a task reminder) by message id; in a
group, a reply that matches nothing is left alone, in private it gets a hint.
"""

from __future__ import annotations

from telegram.ext import BaseHandler, MessageHandler, filters

from bot.i18n import _
from bot.services import reports, rsvp
from bot.text import escape, html_format
from handlers.common import Reply, Turn, handler


@handler
async def reply(turn: Turn) -> Reply | None:
    replied = turn.message.reply_to_message
    assert replied is not None
    text = turn.message.text or ""
    to_the_bot = replied.from_user is not None and replied.from_user.id == turn.context.bot.id
    response = await rsvp.set_delegate(
        turn.session,
        turn.now,
        turn.who,
        turn.chat_id,
        replied.message_id,
        text,
        to_the_bot=to_the_bot,
        replied_at=replied.date,
    )
    if response is not None:
        return Reply(
            html_format(
                _("👤 Recorded: {delegate} will attend meeting #{id} in your place."),
                delegate=response.delegate,
                id=response.meeting_id,
            )
        )
    report = await reports.add_note(
        turn.session,
        turn.now,
        turn.who,
        turn.chat_id,
        replied.message_id,
        text,
        to_the_bot=to_the_bot,
        replied_at=replied.date,
    )
    if report is not None:
        return Reply(html_format(_("📝 Your note on task #{id} is recorded."), id=report.task_id))
    if not turn.in_private:
        return None
    return Reply(
        escape(
            _("I am not waiting for an answer to that message. Send /help to see what you can do.")
        )
    )


def handlers() -> list[BaseHandler]:
    return [MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, reply)]
