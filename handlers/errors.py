"""When handling goes wrong: what the person is told, and python-telegram-bot's one error
handler.

The inbox flow (bot/inbox/flow.py) tries an update whose handling fails a few times;
only when it gives up does the person get `apology`, and since every try was rolled
back it may say that nothing was changed. An error after the commit (while answering)
never claims that: the changes are saved (`on_error`, AnsweringFailed).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot import replies
from bot.i18n import _, pick_locale, use_locale
from bot.text import escape
from handlers.common import AnsweringFailed

log = logging.getLogger(__name__)


def _locale(user_language: str | None, default: str) -> str:
    # No database here (it may be the reason of the failure): Telegram's language.
    return pick_locale(None, None, user_language, default)


def apology(update: Update, default_locale: str) -> list[replies.Effect]:
    """Every try of this update failed and was rolled back."""
    user = update.effective_user
    with use_locale(_locale(user.language_code if user else None, default_locale)):
        said = _(
            "Sorry, something went wrong on our side and your message could not be handled. "
            "Nothing was changed; please try again later."
        )
    return _sorry(update, said)


def _sorry(update: Update, said: str) -> list[replies.Effect]:
    chat = update.effective_chat
    if update.callback_query is not None:
        return [replies.answer(update.callback_query.id, said, alert=True)]
    if chat is None:
        return []
    return [
        replies.send(
            chat.id,
            escape(said),
            in_group=chat.type != "private",
            thread=replies.thread_of(update.effective_message),
        )
    ]


def flood_notice(payload: dict[str, Any], default_locale: str) -> list[replies.Effect]:
    """To someone sending faster than the bot can answer (at most once a minute)."""
    language, chat_id, query_id, in_group = None, None, None, False
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        sender = value.get("from") or {}
        language = sender.get("language_code")
        if key == "callback_query":
            query_id = value.get("id")
        chat = value.get("chat") or (value.get("message") or {}).get("chat") or {}
        chat_id = chat.get("id")
        in_group = chat.get("type") not in (None, "private")
        break
    with use_locale(_locale(language, default_locale)):
        said = _(
            "You are sending messages faster than I can answer, so I skipped some of them. "
            "Please wait a moment, then send again what is still unanswered."
        )
    if query_id is not None:
        return [replies.answer(str(query_id), said, alert=True)]
    if chat_id is None or in_group:
        return []  # never lecture a whole group
    return [replies.send(int(chat_id), escape(said), in_group=False)]


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Errors python-telegram-bot caught outside the inbox flow: log them, with the update
    id only (an update can be large), and tell the person without claiming a rollback."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    log.error("unexpected error handling update %s", update_id, exc_info=error)
    if not isinstance(update, Update) or not isinstance(error, AnsweringFailed):
        return
    # The locale of the failed update is still set in this task.
    said = _(
        "Sorry, something went wrong on our side while answering. Your request was "
        "recorded; please check the result before sending it again."
    )
    await replies.speaker_of(context.application).say(_sorry(update, said), update)
