"""Inline-button presses. Every press is decoded in one place (bot/callbacks.py) and
checked by the service at the moment of the press; a refusal is answered in a pop-up.
"""

from __future__ import annotations

from telegram import ForceReply
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import callbacks
from bot.callbacks import TaskPress
from bot.db import transaction
from bot.i18n import _
from bot.keyboards import task_word
from bot.services import reports
from bot.services.errors import ServiceError
from bot.text import html_format
from handlers.common import Turn, handler


@handler
async def pressed(turn: Turn) -> None:
    query = turn.update.callback_query
    assert query is not None
    press = callbacks.decode(query.data)
    if isinstance(press, TaskPress):
        await _task_status(turn, press)
        return
    if press is None:
        text = _("This button is no longer valid.")
    else:
        text = _(
            "Answers by button are not recorded yet. Please send your answer to the secretariat."
        )
    turn.after_commit.append(lambda: query.answer(text, show_alert=True))


async def _task_status(turn: Turn, press: TaskPress) -> None:
    query = turn.update.callback_query
    assert query is not None
    try:
        recorded = await reports.record_status(
            turn.session, turn.now, turn.who, press.task_id, press.status
        )
    except ServiceError as error:
        refusal = error.render()
        turn.after_commit.append(lambda: query.answer(refusal, show_alert=True))
        return
    label = f"{press.status.emoji} {task_word(press.status)}"
    confirm = _("Recorded: {status}").format(status=label)
    turn.after_commit.append(lambda: query.answer(confirm))
    if recorded.repeated:
        return
    report_id = recorded.report.id
    question = html_format(
        _(
            "{status} — recorded for task #{id}. If you wish, reply to this message with a "
            "short note (at most 1,000 characters)."
        ),
        status=label,
        id=recorded.task.id,
    )
    if recorded.task_done:
        done = _("Every agency has now reported this task as done.")
        question = html_format("{q}\n{done}", q=question, done=done)
    deps = turn.deps
    chat_id = turn.chat_id

    async def ask_for_note() -> None:
        sent = await turn.context.bot.send_message(
            chat_id,
            question,
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(selective=True),
        )
        async with transaction(deps.sessions()) as session:
            await reports.attach_prompt(session, report_id, sent.chat_id, sent.message_id)

    turn.after_commit.append(ask_for_note)


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(pressed)]
