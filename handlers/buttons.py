"""Inline-button presses. Every press is decoded in one place (bot/callbacks.py) and
checked by a service at the moment of the press; a refusal is answered in a pop-up.

After a status button the bot asks for an optional note, after 👤 for the delegate's
name; both questions use ForceReply, and the reply is matched to the question by its
message id (handlers/notes.py).
"""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler

from bot import callbacks, replies
from bot.callbacks import (
    AnnouncementPress,
    BroadcastAction,
    BroadcastPress,
    FilePress,
    MeetingPress,
    Rsvp,
    StandInPress,
    TaskPress,
)
from bot.i18n import _
from bot.keyboards import rsvp_word, task_word
from bot.services import broadcasts, report_files, reports, rsvp
from bot.services.broadcasts import Progress
from bot.services.errors import ServiceError
from bot.text import Html, html_format, mention
from handlers.away import stand_in_chosen
from handlers.common import Reply, Turn, handler
from handlers.report_files import receipt
from jobs.broadcasts import progress_text


@handler
async def pressed(turn: Turn) -> Reply | None:
    query = turn.update.callback_query
    assert query is not None
    press = callbacks.decode(query.data)
    try:
        if isinstance(press, StandInPress):
            return await stand_in_chosen(turn, press)
        if isinstance(press, TaskPress):
            await _task_status(turn, press)
        elif isinstance(press, MeetingPress):
            await _meeting_answer(turn, press)
        elif isinstance(press, BroadcastPress):
            await _broadcast(turn, press)
        elif isinstance(press, FilePress):
            await _file_task(turn, press)
        elif isinstance(press, AnnouncementPress):
            new = await broadcasts.acknowledge(
                turn.session, turn.now, turn.who.telegram_user_id, press.announcement_id
            )
            _answer(turn, _("👍 Thank you.") if new else _("Already counted. Thank you."))
        else:
            _answer(turn, _("This button is no longer valid."), alert=True)
    except ServiceError as error:
        _answer(turn, error.render(), alert=True)
    return None


def _answer(turn: Turn, text: str, *, alert: bool = False) -> None:
    turn.answer_query(text, alert=alert)


def _ask(turn: Turn, kind: str, question: Html, attach: tuple[str, int]) -> None:
    """After the commit: ask with ForceReply in the chat of the press; the reply is matched
    to the question by its message id (bot/replies.py sends it in the background)."""
    user = turn.update.effective_user
    if not turn.in_private and user is not None:
        # In a group the question names the person it is for.
        question = html_format(
            "{who}: {question}", who=mention(user.id, user.full_name), question=question
        )
    turn.ask(kind, question, attach)


async def _task_status(turn: Turn, press: TaskPress) -> None:
    recorded = await reports.record_status(
        turn.session,
        turn.now,
        turn.who,
        press.task_id,
        press.status,
        ask_in_chat=turn.chat_id,
        today=turn.deps.timing.today(turn.now),
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
    _ask(turn, "note", question, ("report", recorded.report_id))


async def _file_task(turn: Turn, press: FilePress) -> None:
    """The task a report file sent with no context is for: recorded, then the receipt."""
    received = await report_files.choose_task(
        turn.session,
        turn.now,
        turn.who,
        press.file_id,
        press.task_id,
        turn.deps.timing.today(turn.now),
    )
    _answer(turn, _("Recorded for task #{id}.").format(id=received.task.id))
    turn.remove_keyboard()
    answer = receipt(received, turn.deps.settings.tz)
    turn.effects.append(
        replies.send(turn.chat_id, answer.text, in_group=not turn.in_private, markup=answer.markup)
    )


async def _meeting_answer(turn: Turn, press: MeetingPress) -> None:
    answered = await rsvp.answer(turn.session, turn.now, turn.who, press.meeting_id, press.answer)
    label = f"{press.answer.emoji} {rsvp_word(press.answer)}"
    _answer(turn, _("Recorded: {status}").format(status=label))
    if press.answer != Rsvp.DELEGATE:
        return
    rsvp.expect_prompt(answered.response, turn.chat_id)
    question = html_format(
        _(
            "Who will attend meeting #{id} instead of you? "
            "Reply to this message with their name and position."
        ),
        id=answered.meeting.id,
    )
    _ask(turn, "delegate", question, ("response", answered.response.id))


async def _broadcast(turn: Turn, press: BroadcastPress) -> None:
    if press.action == BroadcastAction.CANCEL:
        await broadcasts.cancel(turn.session, turn.now, turn.who, press.announcement_id)
        _answer(turn, _("Cancelled: nothing was sent."))
        turn.remove_keyboard()
        return
    announcement, queued = await broadcasts.confirm(
        turn.session, turn.now, turn.who, press.announcement_id
    )
    _answer(turn, _("📣 Sending…"))
    turn.remove_keyboard()
    turn.show_progress(
        announcement.id, progress_text(announcement, Progress(total=queued, waiting=queued))
    )


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(pressed)]
