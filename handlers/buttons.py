"""Inline-button presses. Every press is decoded in one place (bot/callbacks.py).

Recording task statuses and RSVPs is the next step (issue 4); until then a valid
press is answered honestly, and garbage or old-format data gets a clear refusal.
"""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import callbacks
from bot.i18n import _
from handlers.common import Turn, handler


@handler
async def pressed(turn: Turn) -> None:
    query = turn.update.callback_query
    assert query is not None
    press = callbacks.decode(query.data)
    if press is None:
        text = _("This button is no longer valid.")
    else:
        text = _(
            "Answers by button are not recorded yet. Please send your answer to the secretariat."
        )
    turn.after_commit.append(lambda: query.answer(text, show_alert=True))


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(pressed)]
