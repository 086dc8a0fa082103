"""Replies to the bot: a note on a status report, or the name of a meeting delegate.

The reply is matched to the bot's question (or to a task reminder) by message id; in a
group, a reply to someone else is left alone; a reply to the bot that matches nothing
is told it was not recorded.
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
    # In a group, people answer each other; only a reply to the bot is ours to explain.
    if not turn.in_private and not to_the_bot:
        return None
    # Said plainly, so nobody takes the silence for a note or a delegate that was recorded.
    return Reply(
        escape(
            _(
                "This message was not recorded: it does not answer a question I am waiting "
                "on (a status note or a delegate's name). Send /help to see what you can do."
            )
        )
    )


def handlers() -> list[BaseHandler]:
    return [MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND, reply)]
