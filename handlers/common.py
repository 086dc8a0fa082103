"""The one shape every handler has.

A handler is `async def verb(turn: Turn) -> Reply | list[Reply] | None`, wrapped by
`@handler`. The wrapper opens one transaction, works out who is asking and in which
language, runs the handler, commits, and only then sends the replies. Expected errors
(ServiceError) roll the transaction back and become a message in the user's language.
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
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.app import Deps, deps_of
from bot.db import transaction
from bot.flood import patiently
from bot.i18n import set_locale
from bot.outbox.pacing import Pacer
from bot.services import audit
from bot.services.errors import ServiceError
from bot.services.people import Requester, TelegramIdentity, identify
from bot.text import Html, escape, split_message

log = logging.getLogger(__name__)


@dataclass
class Reply:
    text: Html
    markup: InlineKeyboardMarkup | None = None
    document: tuple[str, bytes] | None = None  # (file name, content); text is its caption
    photo: bytes | None = None  # a picture; text is its caption


@dataclass
class Turn:
    """One update being handled: who asks, where, with one open session."""

    update: Update
    context: ContextTypes.DEFAULT_TYPE
    session: AsyncSession
    who: Requester
    deps: Deps
    after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

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
    def message(self) -> Message:
        message = self.update.effective_message
        assert message is not None
        return message


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


def handler(fn: HandlerFn) -> Callback:
    @functools.wraps(fn)
    async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        deps = deps_of(context)
        default = deps.settings.default_locale
        chat = update.effective_chat
        in_group = chat is not None and chat.type != ChatType.PRIVATE
        turn: Turn | None = None
        try:
            async with transaction(deps.sessions()) as session:
                who = await identify(session, identity_of(update.effective_user), default)
                # Groups are read by many people: they get the councils' default language.
                set_locale(default if in_group else who.locale)
                turn = Turn(update, context, session, who, deps)
                replies = await fn(turn)
        except ServiceError as error:
            replies = Reply(escape(error.render()))
        else:
            for action in turn.after_commit:
                try:
                    await action()
                except TelegramError:
                    # The change is committed; only a follow-up message failed. Saying
                    # "nothing was changed" now would be wrong, so log and go on.
                    log.warning(
                        "update %s: a follow-up send failed", update.update_id, exc_info=True
                    )
        await send_replies(update, replies, deps.pacer)

    return callback


async def send_replies(update: Update, replies: Reply | list[Reply] | None, pacer: Pacer) -> None:
    """Send the answers, each under the pacer shared with everything the bot sends."""
    if replies is None:
        return
    message = update.effective_message
    chat = update.effective_chat
    if chat is None:
        return
    in_group = chat.type != ChatType.PRIVATE
    quote = in_group and message is not None
    for reply in replies if isinstance(replies, list) else [replies]:
        await pacer.wait(chat.id, in_group)
        if reply.photo is not None:
            await patiently(
                functools.partial(
                    chat.send_photo,
                    photo=reply.photo,
                    caption=reply.text,
                    parse_mode=ParseMode.HTML,
                )
            )
            continue
        if reply.document is not None:
            name, content = reply.document
            await patiently(
                functools.partial(
                    chat.send_document,
                    document=content,
                    filename=name,
                    caption=reply.text,
                    parse_mode=ParseMode.HTML,
                )
            )
            continue
        parts = split_message(reply.text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            markup = reply.markup if last else None
            if quote and message is not None and index == 0:
                send = functools.partial(
                    message.reply_text,
                    part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    do_quote=True,
                )
            else:
                send = functools.partial(
                    chat.send_message, part, parse_mode=ParseMode.HTML, reply_markup=markup
                )
            if index:
                await pacer.wait(chat.id, in_group)
            await patiently(send)
