"""What a handled update still has to say to Telegram, as data, and saying it.

A handler's answers (messages, files, a callback query's answer, a question asking for
a note, the broadcast's progress message, a refreshed command menu) are not sent from
inside its transaction. They are written as plain JSON *replies* into the update's inbox
row in that same transaction (bot/inbox/store.mark_handled), and sent after the commit.
So a reply whose send fails, or that a crash interrupts, is data: it is sent again
(bot/inbox/flow.py), never answered with "nothing was changed" when something was.

Every message to a chat, edits included, waits for its turn under the one pacer shared
with everything the process sends (bot/outbox/pacing.py). A text longer than Telegram's
limit is split at line boundaries; a caption too long for a file goes after it as text.

Sending repeats at most the reply under way when a crash comes (at-least-once, like the
outbox; docs/inbox.md).

In a forum group, the answers to a message sent inside a topic go to that topic
(`thread`: its message_thread_id; none for General and every other chat).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram import Bot, ForceReply, InlineKeyboardMarkup, ReplyParameters
from telegram import Message as TelegramMessage
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application

from bot.app import Deps
from bot.config import Settings
from bot.db import transaction
from bot.menus import publish_desk_button, publish_user_menu
from bot.services import broadcasts, groups, people, reports, rsvp
from bot.telegram_http import retry_after_seconds
from bot.text import CAPTION_LIMIT, Html, split_message, visible_length

log = logging.getLogger(__name__)

Effect = dict[str, Any]
Keep = Callable[[list[Effect]], Awaitable[None]]
T = TypeVar("T")

# Tries of one reply when Telegram cannot be reached, before it is kept for later.
NETWORK_TRIES = 3
NETWORK_PAUSES = (1.0, 3.0)
# Telegram asks to wait (429) at most this many times in a row before the reply is kept
# for later.
FLOOD_TRIES = 4
# Replies that change a message already there rather than send a new one.
EDITS = frozenset({"edit", "remove_keyboard"})
# The name of the background task that sends a question (tests wait for it).
ASK_TASK_NAME = "ask-for-note"


# --- building replies (in the handler, before the commit) ----------------------------------


def thread_of(message: TelegramMessage | None) -> int | None:
    """The forum topic a message was sent in, None outside topics (General included).

    A reply in a supergroup without topics also carries a message_thread_id (of the
    reply thread): only a topic message's counts."""
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


def send(
    chat_id: int,
    text: Html,
    *,
    in_group: bool,
    markup: InlineKeyboardMarkup | None = None,
    quote: int | None = None,
    thread: int | None = None,
) -> Effect:
    """A message; `quote`: the message it answers (in groups, so the asker sees it)."""
    return {
        "op": "send",
        "chat_id": chat_id,
        "in_group": in_group,
        "text": str(text),
        "markup": markup.to_dict() if markup is not None else None,
        "quote": quote,
        "thread": thread,
    }


def document(
    chat_id: int,
    caption: Html,
    name: str,
    content: bytes,
    *,
    in_group: bool,
    thread: int | None = None,
) -> Effect:
    return {
        "op": "document",
        "chat_id": chat_id,
        "in_group": in_group,
        "caption": str(caption),
        "name": name,
        "content": base64.b64encode(content).decode("ascii"),
        "thread": thread,
    }


def photo(
    chat_id: int, caption: Html, content: bytes, *, in_group: bool, thread: int | None = None
) -> Effect:
    return {
        "op": "photo",
        "chat_id": chat_id,
        "in_group": in_group,
        "caption": str(caption),
        "content": base64.b64encode(content).decode("ascii"),
        "thread": thread,
    }


def stored_file(
    chat_id: int,
    caption: Html,
    kind: str,
    file_id: str,
    *,
    in_group: bool,
    thread: int | None = None,
) -> Effect:
    """A file Telegram already keeps, sent by its file_id (no upload); kind "document" or
    "photo"."""
    return {
        "op": "stored_file",
        "chat_id": chat_id,
        "in_group": in_group,
        "caption": str(caption),
        "kind": kind,
        "file_id": file_id,
        "thread": thread,
    }


def kept_file(
    chat_id: int,
    caption: Html,
    name: str,
    path: str,
    *,
    in_group: bool,
    thread: int | None = None,
) -> Effect:
    """A document kept under FILES_DIR (`path` relative to it), read when it is sent: the
    effect itself stays small (a handled update keeps its replies in the database)."""
    return {
        "op": "kept_file",
        "chat_id": chat_id,
        "in_group": in_group,
        "caption": str(caption),
        "name": name,
        "path": path,
        "thread": thread,
    }


def answer(query_id: str, text: str, *, alert: bool = False) -> Effect:
    """The answer to a button press (a toast, or a dialog with `alert`)."""
    return {"op": "answer", "query_id": query_id, "text": text[:200], "alert": alert}


def remove_keyboard(chat_id: int, message_id: int, *, in_group: bool) -> Effect:
    return {
        "op": "remove_keyboard",
        "chat_id": chat_id,
        "message_id": message_id,
        "in_group": in_group,
    }


def edit(chat_id: int, message_id: int, text: Html) -> Effect:
    """New text for a message of the bot's (a private chat's: the broadcast's progress)."""
    return {
        "op": "edit",
        "chat_id": chat_id,
        "message_id": message_id,
        "text": str(text),
        "in_group": False,
    }


def ask(
    chat_id: int,
    person: int,
    kind: str,
    question: Html,
    attach: tuple[str, int],
    *,
    in_group: bool,
    thread: int | None = None,
) -> Effect:
    """A question with ForceReply; its message id is then attached to the report
    (`attach` = ("report", id)) or the meeting answer (("response", id)) it is about."""
    return {
        "op": "ask",
        "chat_id": chat_id,
        "in_group": in_group,
        "person": person,
        "kind": kind,
        "text": str(question),
        "attach": list(attach),
        "thread": thread,
    }


def progress(chat_id: int, announcement_id: int, text: Html) -> Effect:
    """The broadcast's progress message, edited later by jobs/broadcasts.py."""
    return {
        "op": "progress",
        "chat_id": chat_id,
        "announcement_id": announcement_id,
        "text": str(text),
    }


def menu(user_id: int, locale: str, *, admin: bool, desk: bool) -> Effect:
    """The person's command menu (admin commands or not) and the desk's menu button
    (`desk`: they may use it)."""
    return {"op": "menu", "user_id": user_id, "locale": locale, "admin": admin, "desk": desk}


# --- saying them (after the commit) ----------------------------------------------------------


class SendLater(Exception):
    """Telegram could not be reached: the replies from this one on are kept for later."""


@dataclass
class _Question:
    """A question on its way: waiting for its turn under the pacer, then sent."""

    effect: Effect
    sending: bool = False


@dataclass
class Speaker:
    """Says replies for one application."""

    deps: Deps
    bot: Bot
    application: Application
    # Questions still on their way, by (chat, person, kind) (see `_ask`).
    waiting: dict[tuple[int, int, str], _Question] = field(default_factory=dict)

    async def say(
        self, effects: list[Effect], update: object = None, keep: Keep | None = None
    ) -> list[Effect]:
        """Say each reply in order; returns those left to say later (Telegram could not
        be reached), an empty list when all are said or given up for good.

        `keep` records the replies still to say: it is called before a reply that must
        wait for its chat's turn once earlier ones were said, so that after a crash
        during the wait the ones said are not said again.
        """
        said_since_kept = False
        for index, effect in enumerate(effects):
            if keep is not None and said_since_kept and self._must_wait(effect):
                await keep(effects[index:])
                said_since_kept = False
            try:
                await self._say(effect, update)
                said_since_kept = True
            except SendLater:
                return effects[index:]
            except (Forbidden, BadRequest) as error:
                # Blocked, or a message that cannot be sent as it is: trying again would
                # give the same answer.
                log.warning(
                    "reply %s to chat %s not sent: %s", effect["op"], effect.get("chat_id"), error
                )
                if isinstance(error, Forbidden) and not effect.get("in_group"):
                    await self._unreachable(effect.get("chat_id"))
        return []

    def _must_wait(self, effect: Effect) -> bool:
        chat_id = effect.get("chat_id")
        if effect["op"] in ("answer", "ask", "menu") or not isinstance(chat_id, int):
            return False
        return self.deps.pacer.chat_free_in(chat_id, effect.get("in_group", False)) > 0

    async def _say(self, effect: Effect, update: object) -> None:
        op = effect["op"]
        if op == "answer":
            await self._patiently(
                functools.partial(
                    self.bot.answer_callback_query,
                    effect["query_id"],
                    text=effect["text"],
                    show_alert=effect["alert"],
                ),
                None,
            )
        elif op == "send":
            await self._send_text(effect)
        elif op in ("document", "photo", "stored_file", "kept_file"):
            await self._send_file(effect)
        elif op == "remove_keyboard":
            await self._remove_keyboard(effect)
        elif op == "edit":
            await self._edit(effect)
        elif op == "ask":
            self._ask(effect, update)
        elif op == "progress":
            await self._progress(effect)
        elif op == "menu":
            await publish_user_menu(
                self.bot, effect["user_id"], effect["locale"], admin=effect["admin"]
            )
            await publish_desk_button(
                self.bot,
                effect["user_id"],
                effect["locale"],
                web_url=_desk_url(self.deps.settings),
                # Effects kept from before the desk had a button: as the admin flag says.
                may_use=bool(effect.get("desk", effect["admin"])),
            )
        else:
            log.error("unknown reply %r dropped", op)

    async def _send_text(self, effect: Effect) -> TelegramMessage:
        markup = _markup(effect.get("markup"), self.bot)
        parts = split_message(effect["text"])
        first: TelegramMessage | None = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            quote = effect.get("quote") if index == 0 else None
            reply_to = ReplyParameters(quote, allow_sending_without_reply=True) if quote else None
            sent = await self._to_chat(
                effect,
                functools.partial(
                    self._text_to,
                    text=part,
                    markup=markup if last else None,
                    reply_to=reply_to,
                    thread=effect.get("thread"),
                ),
            )
            first = first or sent
        assert first is not None
        return first

    async def _text_to(
        self,
        chat_id: int,
        *,
        text: str,
        markup: InlineKeyboardMarkup | None,
        reply_to: ReplyParameters | None,
        thread: int | None = None,
    ) -> TelegramMessage:
        return await self.bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            reply_parameters=reply_to,
            message_thread_id=thread,
        )

    async def _send_file(self, effect: Effect) -> None:
        content: bytes | str
        if effect["op"] == "stored_file":
            content = effect["file_id"]
            op = effect["kind"]
        elif effect["op"] == "kept_file":
            path = self.deps.settings.files_dir / effect["path"]
            try:
                content = await asyncio.to_thread(path.read_bytes)
            except OSError as error:
                # Gone from FILES_DIR (moved, restored without it): nothing to send; the
                # caption still says whose report it was.
                log.error("report file %s cannot be read: %s", effect["path"], error.strerror)
                await self._send_text({**effect, "op": "send", "text": effect["caption"]})
                return
            op = "document"
        else:
            content = base64.b64decode(effect["content"])
            op = effect["op"]
        caption = effect.get("caption") or ""
        # A caption Telegram would refuse goes after the file, as text.
        fits = visible_length(caption) <= CAPTION_LIMIT
        if op == "document":
            await self._to_chat(
                effect,
                lambda chat_id: self.bot.send_document(
                    chat_id,
                    content,
                    filename=effect.get("name"),
                    caption=caption if fits else None,
                    parse_mode=ParseMode.HTML,
                    message_thread_id=effect.get("thread"),
                ),
            )
        else:
            await self._to_chat(
                effect,
                lambda chat_id: self.bot.send_photo(
                    chat_id,
                    content,
                    caption=caption if fits else None,
                    parse_mode=ParseMode.HTML,
                    message_thread_id=effect.get("thread"),
                ),
            )
        if not fits and caption.strip():
            await self._send_text({**effect, "op": "send", "text": caption, "markup": None})

    async def _remove_keyboard(self, effect: Effect) -> None:
        try:
            await self._to_chat(
                effect,
                lambda chat_id: self.bot.edit_message_reply_markup(
                    chat_id, effect["message_id"], reply_markup=None
                ),
            )
        except BadRequest as error:  # already without buttons, or deleted
            log.info("keyboard of message %s not removed: %s", effect["message_id"], error)

    async def _edit(self, effect: Effect) -> None:
        try:
            await self._to_chat(
                effect,
                lambda chat_id: self.bot.edit_message_text(
                    effect["text"], chat_id, effect["message_id"], parse_mode=ParseMode.HTML
                ),
            )
        except BadRequest as error:  # "message is not modified", or deleted by its reader
            log.info("message %s not edited: %s", effect["message_id"], error)

    async def _progress(self, effect: Effect) -> None:
        announcement_id = effect["announcement_id"]
        async with transaction(self.deps.sessions()) as session:
            if await broadcasts.has_progress_message(session, announcement_id):
                return  # said before a crash, recorded: do not post a second one
        sent = await self._send_text({**effect, "op": "send", "in_group": False})
        async with transaction(self.deps.sessions()) as session:
            await broadcasts.attach_progress(
                session, announcement_id, sent.chat_id, sent.message_id, effect["text"]
            )

    def _ask(self, effect: Effect, update: object) -> None:
        """Send a question in the background, not awaited: the person's next update, and
        the next person's press, must not wait behind it.

        A newer question of the same kind to the same person takes the place of one still
        waiting for its turn (its place in line, not the back of it): someone tapping
        through several tasks gets one question, about the last, not a queue of them
        trickling in at one a second (the earlier reports still take a note as a reply to
        their own message). Questions are paced like every send, so under load they
        wait. Best effort: a question lost in a crash is not asked again (the note can
        still be given as a reply to the reminder).
        """
        key = (effect["chat_id"], effect["person"], effect["kind"])
        earlier = self.waiting.get(key)
        if earlier is not None and not earlier.sending:
            earlier.effect = effect
            return
        this = self.waiting[key] = _Question(effect)
        self.application.create_task(self._ask_now(key, this), name=ASK_TASK_NAME)

    async def _ask_now(self, key: tuple[int, int, str], this: _Question) -> None:
        effect = this.effect
        try:
            await self.deps.pacer.wait(effect["chat_id"], effect["in_group"])
            this.sending = True  # from here on a newer question waits for its own turn
            effect = this.effect
            sent = await self._patiently(
                functools.partial(
                    self.bot.send_message,
                    effect["chat_id"],
                    effect["text"],
                    parse_mode=ParseMode.HTML,
                    reply_markup=ForceReply(selective=True),
                    message_thread_id=effect.get("thread"),
                ),
                effect["chat_id"],
                effect["in_group"],
            )
        except Exception as error:
            log.warning("question to chat %s not sent: %s", effect["chat_id"], error)
            return
        finally:
            if self.waiting.get(key) is this:
                del self.waiting[key]
        kind, target = effect["attach"]
        async with transaction(self.deps.sessions()) as session:
            if kind == "report":
                await reports.attach_prompt(session, target, sent.chat_id, sent.message_id)
            else:
                await rsvp.attach_prompt(session, target, sent.chat_id, sent.message_id)

    # --- one send to a chat: paced, 429 waited out, migration followed ----------------------

    async def _to_chat(self, effect: Effect, send: Callable[[int], Awaitable[T]]) -> T:
        chat_id: int = effect["chat_id"]
        in_group: bool = effect.get("in_group", False)
        # An edit keeps the chat's pace but is not a new message (bot/outbox/pacing.py).
        await self.deps.pacer.wait(chat_id, in_group, overall=effect["op"] not in EDITS)
        try:
            return await self._patiently(functools.partial(send, chat_id), chat_id, in_group)
        except ChatMigrated as error:
            # The group became a supergroup: follow it (and keep its council link).
            new_id = error.new_chat_id
            async with transaction(self.deps.sessions()) as session:
                await groups.group_migrated(session, self.deps.clock.now(), chat_id, new_id)
            effect["chat_id"] = new_id
            await self.deps.pacer.wait(new_id, True)
            return await self._patiently(functools.partial(send, new_id), new_id, True)

    async def _patiently(
        self, call: Callable[[], Awaitable[T]], chat_id: int | None, in_group: bool = False
    ) -> T:
        """Call Telegram; wait out a 429 (holding the chat for the pacer), retry a network
        failure a few times; then give up for now (SendLater)."""
        network_failures = floods = 0
        while True:
            try:
                return await call()
            except RetryAfter as error:
                floods += 1
                seconds = retry_after_seconds(error.retry_after)
                if chat_id is not None:
                    self.deps.pacer.hold(chat_id, seconds)
                if floods >= FLOOD_TRIES:
                    raise SendLater from error
                await asyncio.sleep(seconds)
                if chat_id is not None:
                    await self.deps.pacer.wait(chat_id, in_group)
            except (Forbidden, BadRequest, ChatMigrated):
                raise
            except NetworkError as error:  # also TimedOut and Telegram's 5xx
                network_failures += 1
                if network_failures >= NETWORK_TRIES:
                    log.warning("Telegram cannot be reached (%s); the reply is kept", error)
                    raise SendLater from error
                await asyncio.sleep(NETWORK_PAUSES[network_failures - 1])

    async def _unreachable(self, chat_id: object) -> None:
        if not isinstance(chat_id, int):
            return
        async with transaction(self.deps.sessions()) as session:
            await people.mark_unreachable(session, chat_id)


def _markup(data: dict[str, Any] | None, bot: Bot) -> InlineKeyboardMarkup | None:
    if data is None:
        return None
    return InlineKeyboardMarkup.de_json(data, bot)


def speaker_of(application: Application) -> Speaker:
    speaker = application.bot_data.get("speaker")
    if speaker is None:
        speaker = application.bot_data["speaker"] = Speaker(
            application.bot_data["deps"], application.bot, application
        )
    assert isinstance(speaker, Speaker)
    return speaker


def _desk_url(settings: Settings) -> str | None:
    return settings.web_url if settings.opens_mini_app(settings.web_url) else None
