"""The one error handler: log with the update id, tell the user briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.i18n import _
from bot.text import escape

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("unexpected error handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    # The locale of the failed update is still set in this task when the handler failed
    # after it was decided; otherwise the default applies.
    text = _(
        "Sorry, something went wrong on our side. Nothing was changed; please try again later."
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        else:
            await update.effective_chat.send_message(escape(text), parse_mode=ParseMode.HTML)
    except TelegramError:
        log.warning("could not tell chat %s about the error", update.effective_chat.id)
