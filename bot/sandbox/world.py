"""The contract between the sandbox's runtime and its web chat.

The web chat (`bot/sandbox/web*`, the page under `bot/sandbox/static/`) knows nothing of
the bot, the database or the local Bot API server: it asks a `SandboxWorld` what a person
sees and tells it what that person does. The runtime implements it around the local Bot
API server (which already keeps every chat, message and button the way Telegram does) and
the one clock shared by the bot, the server and the page.

Messages cross this seam as Telegram `Message` JSON objects, exactly as the Bot API would
return them (`message_id`, `date`, `chat`, `from`, `text` + `entities` or `caption` +
`caption_entities` with UTF-16 offsets, `reply_markup`, `reply_to_message`, `document`,
`photo`, `edit_date`, `message_thread_id`…): the page renders entities as Telegram
clients do, so no HTML from the bot is ever inserted into the page as markup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

JSONDict = dict[str, Any]
ClockStep = Literal["hour", "day", "next"]


class SandboxRefusal(Exception):
    """What Telegram itself would refuse (a text over 4,096 characters, an empty message,
    a file over the size limit, a chat the person is not in): the page shows `str(self)`
    and nothing is sent. `status` is the HTTP status the web chat answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Person:
    """Someone the visitor can act as."""

    id: int  # Telegram user id
    name: str  # "Nguyễn Văn An"
    position: str  # "Vụ trưởng", may be ""
    agency: str  # "Bộ Tài chính", may be "" for the secretariat officer
    is_admin: bool
    language: str  # "vi" or "en"
    registered: bool  # pressed Start with an invite (one person deliberately has not)


@dataclass(frozen=True)
class ChatSummary:
    id: int
    type: Literal["private", "group", "supergroup"]
    title: str  # the bot's name for a private chat, the group's title otherwise
    last: JSONDict | None  # the newest Message, for the preview line
    unread: int  # messages newer than the person last read (`mark_read`)


@dataclass(frozen=True)
class Clock:
    utc: str  # ISO 8601, "2026-12-03T01:30:00+00:00"
    local: str  # the bot's time in Hanoi as bot/formats.py writes it, in the person's language
    next_due: str | None  # ISO moment of the next scheduled message (outbox), if any


@dataclass(frozen=True)
class Step:
    """A step of the guided path for a first visit."""

    id: str  # "answer-reminder", "add-note", "create-task", "post-digest", "announce", "summary"
    title: str  # in the person's language
    hint: str  # one line: how to do it
    done: bool


@dataclass(frozen=True)
class Event:
    """Pushed to the page (server-sent events). `chat_id` None: for everyone.

    kind: "message" (payload: Message), "edit" (payload: Message, replaces the one with its
    message_id), "delete" ({"message_id"}), "answer" (a callback answer for `user_id`:
    {"text", "show_alert"}), "clock" (asdict(Clock)), "steps" (list of asdict(Step)).
    """

    kind: Literal["message", "edit", "delete", "answer", "clock", "steps"]
    payload: Any
    chat_id: int | None = None
    user_id: int | None = None  # only this person sees it ("answer", "steps")
    members: frozenset[int] = field(default_factory=frozenset)  # who is in chat_id


class SandboxWorld(Protocol):
    async def people(self) -> list[Person]: ...

    async def bot_user(self) -> JSONDict:
        """The bot's `User` object (id, first_name, username)."""
        ...

    async def chats_of(self, user_id: int) -> list[ChatSummary]:
        """The person's private chat with the bot first, then the groups they are in."""
        ...

    async def messages(
        self, user_id: int, chat_id: int, before: int | None, limit: int
    ) -> tuple[list[JSONDict], bool]:
        """Up to `limit` messages of the chat older than message `before` (None: the
        newest), oldest first, and whether older ones remain. SandboxRefusal(403) when the
        person is not in the chat."""
        ...

    async def mark_read(self, user_id: int, chat_id: int, message_id: int) -> None: ...

    async def commands_for(self, user_id: int, chat_id: int) -> list[JSONDict]:
        """The command menu Telegram would show this person in this chat (the bot's
        setMyCommands, resolved by scope and language): [{"command", "description"}]."""
        ...

    async def send_text(
        self, user_id: int, chat_id: int, text: str, reply_to: int | None
    ) -> JSONDict:
        """The person sends a text (commands included); returns their Message. The bot's
        answers arrive later as events."""
        ...

    async def send_file(
        self,
        user_id: int,
        chat_id: int,
        file_name: str,
        content: bytes,
        caption: str,
        reply_to: int | None,
    ) -> JSONDict:
        """The person sends a document (a photo when it is a JPEG/PNG sent as one)."""
        ...

    async def press(
        self, user_id: int, chat_id: int, message_id: int, data: str
    ) -> JSONDict | None:
        """The person presses an inline button; returns the bot's answerCallbackQuery
        parameters ({"text", "show_alert"}) once it answered (None if it answered nothing
        within a few seconds)."""
        ...

    async def open_mini_app(self, user_id: int, chat_id: int, message_id: int, url: str) -> str:
        """The address a message's Mini App (web_app) button opens for the person: `url`
        with Telegram's launch parameters (initData signed with the bot's token)."""
        ...

    async def file(self, file_id: str) -> tuple[str, str, bytes]:
        """(file name, MIME type, content) of a file in a message, for download."""
        ...

    async def clock(self, user_id: int) -> Clock: ...

    async def move_clock(self, step: ClockStep, user_id: int) -> Clock:
        """+1 hour, +1 day, or to the next scheduled message; every due message is sent
        before this returns."""
        ...

    async def steps(self, user_id: int) -> list[Step]: ...

    def events(self) -> AsyncIterator[Event]:
        """Every event from now on, for every chat; the web chat filters by person."""
        ...
