"""Inline-button presses. Every press is decoded in one place (bot/callbacks.py) and
checked by a service at the moment of the press; a refusal is answered in a pop-up.

After a status button the bot asks for an optional note, after 👤 for the delegate's
name; both questions use ForceReply, and the reply is matched to the question by its
message id (handlers/notes.py).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ForceReply
from telegram.constants import ChatType, ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import callbacks
from bot.callbacks import (
    AnnouncementPress,
    BroadcastAction,
    BroadcastPress,
    MeetingPress,
    Rsvp,
    TaskPress,
)
from bot.db import transaction
from bot.flood import patiently
from bot.i18n import _
from bot.keyboards import rsvp_word, task_word
from bot.services import broadcasts, reports, rsvp
from bot.services.broadcasts import Progress
from bot.services.errors import ServiceError
from bot.text import Html, html_format, mention
from handlers.common import Turn, handler
from jobs.broadcasts import progress_text

# The name of the background task that sends a question (tests wait for it).
ASK_TASK_NAME = "ask-for-note"

Attach = Callable[[AsyncSession, int, int], Awaitable[None]]


@handler
async def pressed(turn: Turn) -> None:
    query = turn.update.callback_query
    assert query is not None
    press = callbacks.decode(query.data)
    try:
        if isinstance(press, TaskPress):
            await _task_status(turn, press)
        elif isinstance(press, MeetingPress):
            await _meeting_answer(turn, press)
        elif isinstance(press, BroadcastPress):
            await _broadcast(turn, press)
        elif isinstance(press, AnnouncementPress):
            new = await broadcasts.acknowledge(
                turn.session, turn.now, turn.who.telegram_user_id, press.announcement_id
            )
            _answer(turn, _("👍 Thank you.") if new else _("Already counted. Thank you."))
        else:
            _answer(turn, _("This button is no longer valid."), alert=True)
    except ServiceError as error:
        _answer(turn, error.render(), alert=True)


def _answer(turn: Turn, text: str, *, alert: bool = False) -> None:
    query = turn.update.callback_query
    assert query is not None
    turn.after_commit.append(lambda: query.answer(text, show_alert=alert))


@dataclass
class _Question:
    """A question on its way to a chat: waiting for its turn under the pacer, then sent."""

    text: Html
    attach: Attach
    sending: bool = False


def _ask(turn: Turn, kind: str, question: Html, attach: Attach) -> None:
    """After the commit: ask with ForceReply in the chat of the press, then remember the
    question's message id so the reply finds its answer.

    A newer question of the same kind to the same person takes the place of one still
    waiting for its turn (its place in line, not the back of it): someone tapping through
    several tasks gets one question, about the last, not a queue of them trickling in at
    one a second (the earlier reports still take a note as a reply to their own message).
    Questions are paced like every send, so under load they wait; the press itself is
    answered at once.
    """
    deps = turn.deps
    chat_id = turn.chat_id
    chat = turn.update.effective_chat
    user = turn.update.effective_user
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    if in_group and user is not None:
        # In a group the question names the person it is for.
        question = html_format(
            "{who}: {question}", who=mention(user.id, user.full_name), question=question
        )
    waiting = _waiting_questions(turn)
    key = (chat_id, user.id if user is not None else 0, kind)

    async def ask(this: _Question) -> None:
        try:
            await deps.pacer.wait(chat_id, in_group)
            this.sending = True  # from here on a newer question waits for its own turn
            sent = await patiently(
                functools.partial(
                    turn.context.bot.send_message,
                    chat_id,
                    this.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=ForceReply(selective=True),
                )
            )
        finally:
            if waiting.get(key) is this:
                del waiting[key]
        async with transaction(deps.sessions()) as session:
            await this.attach(session, sent.chat_id, sent.message_id)

    async def in_background() -> None:
        earlier = waiting.get(key)
        if earlier is not None and not earlier.sending:
            earlier.text, earlier.attach = question, attach
            return
        this = waiting[key] = _Question(question, attach)
        # Not awaited here: the next person's press must not wait behind this question.
        turn.context.application.create_task(ask(this), update=turn.update, name=ASK_TASK_NAME)

    turn.after_commit.append(in_background)


_WAITING = "questions waiting"


def _waiting_questions(turn: Turn) -> dict[tuple[int, int, str], _Question]:
    """The questions of this application still on their way, by (chat, person, kind)."""
    waiting: dict[tuple[int, int, str], _Question] = turn.context.application.bot_data.setdefault(
        _WAITING, {}
    )
    return waiting


async def _task_status(turn: Turn, press: TaskPress) -> None:
    recorded = await reports.record_status(
        turn.session, turn.now, turn.who, press.task_id, press.status, ask_in_chat=turn.chat_id
    )
    label = f"{press.status.emoji} {task_word(press.status)}"
    _answer(turn, _("Recorded: {status}").format(status=label))
    if recorded.repeated:
        return
    question = html_format(
        _(
            "{status} — recorded for task #{id}. If you wish, reply to this message with a "
            "short note (at most 1,000 characters)."
        ),
        status=label,
        id=recorded.task_id,
    )
    if recorded.task_done:
        done = _("Every agency has now reported this task as done.")
        question = html_format("{q}\n{done}", q=question, done=done)
    report_id = recorded.report_id

    async def attach(session: AsyncSession, chat_id: int, message_id: int) -> None:
        await reports.attach_prompt(session, report_id, chat_id, message_id)

    _ask(turn, "note", question, attach)


async def _meeting_answer(turn: Turn, press: MeetingPress) -> None:
    answered = await rsvp.answer(turn.session, turn.now, turn.who, press.meeting_id, press.answer)
    label = f"{press.answer.emoji} {rsvp_word(press.answer)}"
    _answer(turn, _("Recorded: {status}").format(status=label))
    if press.answer != Rsvp.DELEGATE:
        return
    response_id = answered.response.id
    rsvp.expect_prompt(answered.response, turn.chat_id)

    async def attach(session: AsyncSession, chat_id: int, message_id: int) -> None:
        await rsvp.attach_prompt(session, response_id, chat_id, message_id)

    question = html_format(
        _(
            "Who will attend meeting #{id} instead of you? "
            "Reply to this message with their name and position."
        ),
        id=answered.meeting.id,
    )
    _ask(turn, "delegate", question, attach)


async def _broadcast(turn: Turn, press: BroadcastPress) -> None:
    query = turn.update.callback_query
    assert query is not None
    if press.action == BroadcastAction.CANCEL:
        await broadcasts.cancel(turn.session, turn.now, turn.who, press.announcement_id)
        _answer(turn, _("Cancelled: nothing was sent."))
        turn.after_commit.append(lambda: query.edit_message_reply_markup(reply_markup=None))
        return
    announcement, queued = await broadcasts.confirm(
        turn.session, turn.now, turn.who, press.announcement_id
    )
    _answer(turn, _("📣 Sending…"))
    turn.after_commit.append(lambda: query.edit_message_reply_markup(reply_markup=None))
    text = progress_text(announcement, Progress(total=queued, waiting=queued))
    deps = turn.deps
    chat_id = turn.chat_id

    async def show_progress() -> None:
        await deps.pacer.wait(chat_id, False)
        sent = await patiently(
            functools.partial(
                turn.context.bot.send_message, chat_id, text, parse_mode=ParseMode.HTML
            )
        )
        async with transaction(deps.sessions()) as session:
            await broadcasts.attach_progress(
                session, announcement.id, sent.chat_id, sent.message_id, text
            )

    turn.after_commit.append(show_progress)


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(pressed)]
