"""The one shape every handler has.

A handler is `async def verb(turn: Turn) -> Reply | list[Reply] | None`, wrapped by
`@handler`. The wrapper opens one transaction, works out who is asking and in which
language, runs the handler, and writes its answers as replies (bot/replies.py)
into the update's inbox row in that same transaction, which also marks the update
handled (bot/inbox/store.mark_handled): the changes are made once, and the answers
are data. It commits, gives the processing slot back, and only then says the answers.
Expected errors (ServiceError) roll the transaction back and become a message in the
user's language; unexpected ones roll it back and are left to the inbox flow, which
tries the update again a few times before apologising.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot import replies
from bot.app import Deps, deps_of
from bot.db import transaction
from bot.i18n import set_locale
from bot.inbox import handling as inbox_handling
from bot.inbox.handling import Handling, Outcome
from bot.inbox.store import mark_handled
from bot.models import WHOLE_CHAT
from bot.replies import Effect, speaker_of, thread_of
from bot.services import audit, groups
from bot.services.errors import ServiceError
from bot.services.people import Requester, TelegramIdentity, identify
from bot.text import Html, escape

log = logging.getLogger(__name__)


@dataclass
class Reply:
    text: Html
    markup: InlineKeyboardMarkup | None = None
    document: tuple[str, bytes] | None = None  # (file name, content); text is its caption
    photo: bytes | None = None  # a picture; text is its caption
    # A file Telegram already has, sent again by its file_id: (kind, file_id); kind is
    # "document" or "photo"; text is its caption.
    file_id: tuple[str, str] | None = None
    # A document kept under FILES_DIR, read when sent: (file name, path relative to it).
    kept: tuple[str, str] | None = None


@dataclass
class Turn:
    """One update being handled: who asks, where, with one open session."""

    update: Update
    context: ContextTypes.DEFAULT_TYPE
    session: AsyncSession
    who: Requester
    deps: Deps
    # Answers other than the returned messages (a button press's answer, a question…),
    # said after the commit in this order, before the messages.
    effects: list[Effect] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return self.deps.clock.now()

    @property
    def args(self) -> list[str]:
        return list(self.context.args or [])

    @property
    def args_text(self) -> str:
        """Everything after the command, as typed: keeps “|”, spacing and line breaks."""
        text = self.message.text or self.message.caption or ""
        return _COMMAND.sub("", text, count=1).strip()

    @property
    def actor(self) -> str:
        """How the audit log names whoever is acting."""
        return audit.telegram_actor(self.who.telegram_user_id)

    @property
    def identity(self) -> TelegramIdentity:
        identity = identity_of(self.update.effective_user)
        assert identity is not None
        return identity

    @property
    def in_private(self) -> bool:
        chat = self.update.effective_chat
        return chat is not None and chat.type == ChatType.PRIVATE

    @property
    def chat_id(self) -> int:
        chat = self.update.effective_chat
        assert chat is not None
        return chat.id

    @property
    def thread_id(self) -> int:
        """The forum topic the update came from; WHOLE_CHAT outside topics (General too)."""
        return thread_of(self.update.effective_message) or WHOLE_CHAT

    @property
    def message(self) -> Message:
        message = self.update.effective_message
        assert message is not None
        return message

    # --- answers besides messages, said after the commit ---------------------------------

    def answer_query(self, text: str, *, alert: bool = False) -> None:
        """Answer the button press (a toast; a dialog with `alert`)."""
        query = self.update.callback_query
        assert query is not None
        self.effects.append(replies.answer(query.id, text, alert=alert))

    def remove_keyboard(self) -> None:
        """Take the buttons off the message whose button was pressed."""
        query = self.update.callback_query
        assert query is not None and query.message is not None
        self.effects.append(
            replies.remove_keyboard(
                self.chat_id, query.message.message_id, in_group=not self.in_private
            )
        )

    def ask(self, kind: str, question: Html, attach: tuple[str, int]) -> None:
        """Ask the person a question they answer by replying (ForceReply)."""
        self.effects.append(
            replies.ask(
                self.chat_id,
                self.who.telegram_user_id,
                kind,
                question,
                attach,
                in_group=not self.in_private,
                thread=thread_of(self.update.effective_message),
            )
        )

    def show_progress(self, announcement_id: int, text: Html) -> None:
        self.effects.append(replies.progress(self.chat_id, announcement_id, text))

    def refresh_menu(self, user_id: int, locale: str, *, admin: bool, desk: bool) -> None:
        self.effects.append(replies.menu(user_id, locale, admin=admin, desk=desk))


_COMMAND = re.compile(r"^/\S+")

T = TypeVar("T")

HandlerFn = Callable[[Turn], Awaitable["Reply | list[Reply] | None"]]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def identity_of(user: User | None) -> TelegramIdentity | None:
    if user is None:
        return None
    return TelegramIdentity(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


async def who_is_asking(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Requester:
    """Who sent this update, read in a short transaction of its own and nothing written:
    for a handler that looks before a slow step it must not hold the database for (a
    file to download and parse), then does its work in `@handler`'s transaction."""
    deps = deps_of(context)
    async with transaction(deps.sessions()) as session:
        return await identify(
            session, identity_of(update.effective_user), deps.settings.default_locale
        )


class _Duplicate(Exception):
    """This update was handled by another attempt: roll this one back."""


class AnsweringFailed(Exception):
    """An unexpected error after the commit: the changes are saved, an answer is not."""


def handler(fn: HandlerFn) -> Callback:
    @functools.wraps(fn)
    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        deps = deps_of(context)
        default = deps.settings.default_locale
        chat = update.effective_chat
        in_group = chat is not None and chat.type != ChatType.PRIVATE
        handling = inbox_handling.current.get()
        turn: Turn | None = None
        try:
            async with transaction(deps.sessions()) as session:
                who = await identify(session, identity_of(update.effective_user), default)
                # Groups are read by many people: the group's language, not the sender's.
                set_locale(
                    await groups.group_language(session, chat.id, default)
                    if in_group and chat is not None
                    else who.locale
                )
                turn = Turn(update, context, session, who, deps)
                answers = turn.effects + to_effects(update, await fn(turn))
                await _gate(session, handling, answers, deps.clock.now())
        except _Duplicate:
            return
        except ServiceError as error:
            answers = to_effects(update, Reply(escape(error.render())))
            try:
                async with transaction(deps.sessions()) as session:
                    await _gate(session, handling, answers, deps.clock.now())
            except _Duplicate:
                return
        except Exception as error:
            if handling is None:
                raise  # not from the inbox: python-telegram-bot's error handler
            handling.outcome, handling.error = Outcome.FAILED, error
            return
        if handling is not None:
            handling.outcome = Outcome.HANDLED
            # Waiting for Telegram's per-chat limits needs no database: let others in.
            handling.release_slot()
        try:
            keep = handling.keep if handling is not None else None
            left = await speaker_of(context.application).say(answers, update, keep)
        except Exception as error:
            raise AnsweringFailed(str(error)) from error
        if handling is not None:
            handling.left = left

    return callback


async def _gate(
    session: AsyncSession, handling: Handling | None, answers: list[Effect], now: datetime
) -> None:
    """Mark the update handled, with its answers, in the handler's own transaction."""
    if handling is not None and not await mark_handled(session, handling.update_id, answers, now):
        raise _Duplicate


def to_effects(update: Update, answers: Reply | list[Reply] | None) -> list[Effect]:
    """The handler's messages as replies to say in the update's chat."""
    chat = update.effective_chat
    if answers is None or chat is None:
        return []
    in_group = chat.type != ChatType.PRIVATE
    message = update.effective_message
    # In a group the first answer quotes the message it answers, so the asker sees it.
    quote = message.message_id if in_group and message is not None else None
    # Inside a forum topic, every answer stays in the topic, not only the one quoting.
    thread = thread_of(message)
    effects = []
    for reply in answers if isinstance(answers, list) else [answers]:
        if reply.file_id is not None:
            kind, file_id = reply.file_id
            effects.append(
                replies.stored_file(
                    chat.id, reply.text, kind, file_id, in_group=in_group, thread=thread
                )
            )
        elif reply.kept is not None:
            name, path = reply.kept
            effects.append(
                replies.kept_file(
                    chat.id, reply.text, name, path, in_group=in_group, thread=thread
                )
            )
        elif reply.photo is not None:
            effects.append(
                replies.photo(chat.id, reply.text, reply.photo, in_group=in_group, thread=thread)
            )
        elif reply.document is not None:
            name, content = reply.document
            effects.append(
                replies.document(
                    chat.id, reply.text, name, content, in_group=in_group, thread=thread
                )
            )
        else:
            effects.append(
                replies.send(
                    chat.id,
                    reply.text,
                    in_group=in_group,
                    markup=reply.markup,
                    quote=quote,
                    thread=thread,
                )
            )
            quote = None
    return effects
