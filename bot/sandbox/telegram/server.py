"""A fake Telegram Bot API server for end-to-end tests of the bot.

The fake speaks real HTTP on ``127.0.0.1`` (a random free port) from inside the test's own
event loop, so a real python-telegram-bot ``Application``/``Bot`` can talk to it with
``base_url=server.base_url`` and ``base_file_url=server.base_file_url``.

Every call is checked against the official machine-readable API description
(``api.json``). Problems are recorded in :attr:`FakeBotApi.violations`; a fixture of the bot's
tests asserts that list is empty at teardown, so contract problems fail the test even when
the bot swallows the error.

Two kinds of error answers exist:

* **contract violations** (recorded in ``violations`` *and* answered with an error): unknown
  method or parameter, wrong method-name case, missing required parameter, a value that
  cannot be decoded to the documented type, HTML that Telegram cannot parse, empty or too
  long text/caption, invalid inline keyboards, answering an unknown or already answered
  callback query, editing a message that does not exist / is not the bot's, invalid
  commands, ...;
* **runtime conditions** a correct bot must handle (answered with an error, *not* recorded):
  blocked user, user who never started the bot, bot kicked from a group, group migrated to a
  supergroup, flood control (429), unknown chat, "message is not modified", "message to
  delete not found", injected faults (:meth:`FakeBotApi.fail_next`).

Forum supergroups (``add_group(forum=True)``) have topics: a user creates one with
:meth:`FakeBotApi.create_topic` (the bot with ``createForumTopic``), writes in it with
``send_message(..., topic=thread_id)`` and deletes it with :meth:`FakeBotApi.delete_topic`
(the bot with ``deleteForumTopic``). As in Telegram, a message in a topic carries
``message_thread_id`` and ``is_topic_message``, and one that replies to nothing in particular
carries the topic's creation message as ``reply_to_message``; the General topic is no
``message_thread_id`` at all. A send with a ``message_thread_id`` that names no live topic of
the chat (deleted, unknown, General's ``1``, or a chat without topics) answers 400 "message
thread not found" (a runtime condition, not a violation); a reply without
``message_thread_id`` lands in the replied message's topic.

Privacy mode: like a real bot (privacy mode is on by default), the bot only receives group
messages that are commands for it, replies to its own messages or service messages --
unless it is an administrator of the group or ``privacy_mode=False`` is passed. Messages
that would not reach the bot are stored but not queued (see :meth:`FakeBotApi.send_message`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import mimetypes
import re
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self
from urllib.parse import urlsplit

from aiohttp import web

from .html_check import HtmlParseError, parse_html_entities, utf16_len
from .limits import RateLimiter, RateLimits

__all__ = [
    "DEFAULT_API_JSON",
    "ApiError",
    "ApiSpec",
    "FakeBotApi",
    "FakeChat",
    "FakeUser",
]

JSONDict = dict[str, Any]
MessagePredicate = Callable[[JSONDict], bool]

# Shipped in the package (an installed wheel has no ../shared/): the official method and
# type list without its descriptions, the only parts the server reads.
DEFAULT_API_JSON: Path = Path(__file__).resolve().with_name("bot_api.json")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
CALLBACK_DATA_LIMIT = 64
DOWNLOAD_LIMIT = 20 * 1024 * 1024
THREAD_NOT_FOUND = "message thread not found"
# The colours Telegram accepts for a topic icon (createForumTopic's icon_color).
TOPIC_ICON_COLORS: frozenset[int] = frozenset(
    {0x6FB9F0, 0xFFD67E, 0xCB86DB, 0x8EEE98, 0xFF93B2, 0xFB6F5F}
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Methods that create messages: flood control applies to them (edits do not count).
MESSAGE_CREATING_METHODS: frozenset[str] = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "sendMediaGroup", "copyMessage", "forwardMessage"}
)
# Telegram's default when allowed_updates was never specified (or given as []).
_NOT_DEFAULT_UPDATES: frozenset[str] = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_CHAT_ACTIONS: frozenset[str] = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_SCOPES: frozenset[str] = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_MEDIA_KEYS: tuple[str, ...] = ("document", "photo", "video", "audio", "animation")
_COPYABLE_KEYS: tuple[str, ...] = ("text", "entities", *_MEDIA_KEYS, "caption", "caption_entities")
_INT_RE = re.compile(r"-?\d+")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANG_RE = re.compile(r"[a-z]{2}")
_ALL_PERMISSIONS_GIFTS: JSONDict = {
    "unlimited_gifts": True,
    "limited_gifts": True,
    "unique_gifts": True,
    "premium_subscription": True,
    "gifts_from_channels": True,
}


# --------------------------------------------------------------------------------------
# Public data classes
# --------------------------------------------------------------------------------------
@dataclass
class FakeUser:
    """A Telegram user the tests act as."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "vi"
    is_bot: bool = False

    def to_dict(self) -> JSONDict:
        """The Telegram ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


@dataclass
class FakeChat:
    """A group or supergroup (private chats are identified by the user's id)."""

    id: int
    type: str
    title: str
    username: str | None = None
    is_forum: bool = False  # a supergroup with topics

    def to_dict(self) -> JSONDict:
        """The Telegram ``Chat`` object."""
        data: JSONDict = {"id": self.id, "title": self.title, "type": self.type}
        if self.username is not None:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


ChatRef = FakeChat | FakeUser | int


class ApiError(Exception):
    """An error answer of the Bot API. ``violation`` marks contract violations."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        parameters: JSONDict | None = None,
        violation: bool = False,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.violation = violation

    def body(self) -> JSONDict:
        data: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


def _bad(description: str, *, violation: bool = False) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", violation=violation)


# --------------------------------------------------------------------------------------
# api.json
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    name: str
    types: tuple[str, ...]
    required: bool


class ApiSpec:
    """The parts of Telegram's machine-readable API description the fake needs."""

    def __init__(self, data: JSONDict) -> None:
        self.version: str = str(data.get("version", "?"))
        self.methods: dict[str, dict[str, _Field]] = {}
        self.returns: dict[str, list[str]] = {}
        for name, method in data["methods"].items():
            self.methods[name] = {
                f["name"]: _Field(f["name"], tuple(f["types"]), bool(f["required"]))
                for f in method.get("fields", [])
            }
            self.returns[name] = list(method.get("returns", []))
        self._by_lower = {name.lower(): name for name in self.methods}
        types: JSONDict = data["types"]
        self.update_types: frozenset[str] = frozenset(
            f["name"] for f in types["Update"]["fields"] if f["name"] != "update_id"
        )
        self.inline_button_fields: frozenset[str] = frozenset(
            f["name"] for f in types["InlineKeyboardButton"]["fields"]
        )

    def canonical(self, method: str) -> str | None:
        """The official spelling of ``method`` (looked up case-insensitively)."""
        if method in self.methods:
            return method
        return self._by_lower.get(method.lower())

    @staticmethod
    @functools.cache
    def load(path: Path) -> ApiSpec:
        with path.open(encoding="utf-8") as fh:
            return ApiSpec(json.load(fh))


# --------------------------------------------------------------------------------------
# Internal helpers
# --------------------------------------------------------------------------------------
@dataclass
class _Upload:
    filename: str
    content: bytes
    mime_type: str | None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None
    mime_type: str | None
    kind: str
    width: int = 0
    height: int = 0
    # The size Telegram reports, when a test makes a file look larger than its bytes
    # (a 25 MB report without 25 MB in memory).
    declared_size: int | None = None

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.content)

    def as_file(self) -> JSONDict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }

    def as_document(self) -> JSONDict:
        doc: JSONDict = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        doc["file_size"] = self.size
        return doc

    def as_photo(self) -> list[JSONDict]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.size,
            }
        ]


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    remaining: int


@dataclass
class _Call:
    method: str
    params: JSONDict
    files: dict[str, _Upload]
    caller: str | None = None


@dataclass(frozen=True)
class Poll:
    """One getUpdates call: who made it (see :meth:`FakeBotApi.base_url_for`), when it
    started and ended (the flood-control clock) and the answer's HTTP status."""

    caller: str | None
    started: float
    ended: float
    status: int


@dataclass
class _CallbackQuery:
    query_id: str
    chat_id: int | None
    data: str
    answered: bool = False


@dataclass
class _Suppressed:
    chat_id: int
    message: JSONDict
    reason: str


@dataclass
class _Signal:
    """Wakes every waiter when :meth:`notify` is called (callable from sync code)."""

    _event: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


def _image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG/JPEG/GIF/BMP/WEBP image, None if it is not an image."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        return int.from_bytes(content[6:8], "little"), int.from_bytes(content[8:10], "little")
    if content.startswith(b"BM") and len(content) >= 26:
        width = int.from_bytes(content[18:22], "little", signed=True)
        height = int.from_bytes(content[22:26], "little", signed=True)
        return abs(width), abs(height)
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return 512, 512
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(content):
            if content[i] != 0xFF:
                i += 1
                continue
            marker = content[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(content[i + 5 : i + 7], "big")
                width = int.from_bytes(content[i + 7 : i + 9], "big")
                return width, height
            i += 2 + int.from_bytes(content[i + 2 : i + 4], "big")
        return 320, 320
    return None


def _is_object_type(type_name: str) -> bool:
    return type_name[:1].isupper() and type_name not in {
        "String",
        "Integer",
        "Float",
        "Boolean",
        "InputFile",
    }


def _decode_value(name: str, value: Any, types: tuple[str, ...]) -> Any:
    """Decode one request parameter according to its documented types.

    Form-encoded values are strings; python-telegram-bot JSON-encodes every non-string value.
    Values from a JSON body already have JSON types and are only checked.
    """
    expected = " or ".join(types)
    bad = _bad(f'can\'t parse parameter "{name}": expected {expected}', violation=True)
    if isinstance(value, str):
        if all(t in ("String", "InputFile") for t in types):
            return value
        if "Integer" in types and _INT_RE.fullmatch(value.strip()):
            return int(value)
        if "String" in types:
            return value
        if types == ("Boolean",):
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0", ""):
                return False
            raise bad
        if types == ("Float",):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        if types == ("Integer",):
            raise bad
        try:
            decoded = json.loads(value)
        except ValueError:
            raise bad from None
        return _check_json_value(decoded, types, bad)
    return _check_json_value(value, types, bad)


def _check_json_value(value: Any, types: tuple[str, ...], bad: ApiError) -> Any:
    if isinstance(value, bool):
        if "Boolean" in types:
            return value
        raise bad
    if isinstance(value, int):
        if "Integer" in types or "Float" in types:
            return value
        if "String" in types:
            return str(value)
        if "Boolean" in types and value in (0, 1):
            return bool(value)
        raise bad
    if isinstance(value, float):
        if "Float" in types:
            return value
        raise bad
    if isinstance(value, str):
        if "String" in types or "InputFile" in types:
            return value
        raise bad
    if isinstance(value, list):
        if any(t.startswith("Array of ") for t in types):
            return value
        raise bad
    if isinstance(value, dict):
        if any(_is_object_type(t) and not t.startswith("Array of ") for t in types):
            return value
        raise bad
    raise bad


def _strip_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Trim surrounding whitespace like Telegram does, shifting entity offsets."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[JSONDict] = []
    for entity in entities:
        start = max(0, int(entity.get("offset", 0)) - lead)
        end = min(total, int(entity.get("offset", 0)) + int(entity.get("length", 0)) - lead)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


class _HasToDict(Protocol):
    def to_dict(self) -> JSONDict: ...


MessageRef = JSONDict | _HasToDict


def _as_message_dict(message: MessageRef) -> JSONDict:
    """Accept a message dict, an Update dict holding a message, or a PTB ``Message``."""
    if not isinstance(message, dict):
        return message.to_dict()
    if "update_id" in message:
        for key in ("message", "edited_message", "channel_post"):
            if key in message:
                return dict(message[key])
        raise ValueError("this update holds no message")
    return message


def _public(message: JSONDict) -> JSONDict:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------
class FakeBotApi:
    """Fake Telegram Bot API server. See the module docstring for the overall contract."""

    def __init__(
        self,
        token: str = "123456:TEST-token",  # noqa: S107
        bot_username: str = "dieuphoi_test_bot",
        limits: RateLimits | None = None,
        *,
        api_json: Path | str | None = None,
        bot_first_name: str = "Điều phối (test)",
        privacy_mode: bool = True,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.privacy_mode = privacy_mode
        prefix = token.split(":", 1)[0]
        self.bot_id: int = int(prefix) if prefix.isdigit() else 123456
        self.limits: RateLimits = limits if limits is not None else RateLimits()
        self.limiter = RateLimiter(self.limits, now)
        self.spec = ApiSpec.load(Path(api_json) if api_json is not None else DEFAULT_API_JSON)

        # observation
        self.sent: list[JSONDict] = []
        self.calls: list[tuple[str, JSONDict, int]] = []
        self.polls: list[Poll] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.callback_answers: dict[str, JSONDict] = {}
        self.violations: list[str] = []
        self.stats: Counter[str] = Counter()
        self.stats_by_chat: defaultdict[int, Counter[str]] = defaultdict(Counter)
        self.downloads: list[str] = []
        self.suppressed: list[_Suppressed] = []
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}
        # Telegram's test environment opens Mini Apps over http (the sandbox's local one).
        self.mini_apps_over_http = False
        self.webhook: JSONDict | None = None
        self._call_notes: list[str] = []

        # world state
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeChat] = {}
        self._members: dict[int, dict[int, str]] = {}
        self._bot_status: dict[int, str] = {}
        self._migrated: dict[int, int] = {}
        self._started: set[int] = set()
        self._blocked: set[int] = set()
        self._messages: dict[int, dict[int, JSONDict]] = {}
        # Live forum topics: chat id -> thread id (its creation message's id) -> ForumTopic.
        self._topics: dict[int, dict[int, JSONDict]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._download_faults = 0
        self._download_fault_status = 502
        # Seconds each file download takes (a slow link), so a test can crash the bot
        # in the middle of its downloads.
        self.download_delay = 0.0
        self._updates: list[JSONDict] = []
        self._allowed_updates: frozenset[str] = self.spec.update_types - _NOT_DEFAULT_UPDATES
        self._poller: object | None = None
        self._closing = False

        self._user_seq = 0
        self._group_seq = 0
        self._update_seq = 100_000_000
        self._query_seq = 0
        self._file_seq = 0
        self._media_group_seq = 0

        self._updates_signal = _Signal()
        self._messages_signal = _Signal()
        self._calls_signal = _Signal()

        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Start listening on a random free port of 127.0.0.1."""
        if self._runner is not None:
            raise RuntimeError("FakeBotApi already started")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # Several clients of one bot (several processes) tell themselves apart this way.
        app.router.add_route("*", "/{caller}/bot{token}/{method}", self._handle_api)
        app.router.add_get("/{caller}/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._closing = False

    async def stop(self) -> None:
        """Release pending long polls and shut the HTTP server down."""
        self._closing = True
        self._updates_signal.notify()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def base_url_for(self, caller: str) -> str:
        """The base URL for one of several clients: their calls, polls and messages are
        recorded with ``caller`` (``_caller`` in :attr:`sent`, :attr:`polls`)."""
        return f"http://127.0.0.1:{self.port}/{caller}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- world building
    def add_user(
        self,
        first_name: str = "An",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        *,
        started: bool = False,
    ) -> FakeUser:
        """Create a user (unique positive id). The user has not started the bot yet,
        unless ``started``: then the bot may write to them at once."""
        self._user_seq += 1
        user = FakeUser(
            id=700_000_000 + self._user_seq,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[user.id] = user
        if started:
            self._started.add(user.id)
        return user

    def add_group(
        self, title: str = "HĐĐP vùng ĐBSH", supergroup: bool = False, *, forum: bool = False
    ) -> FakeChat:
        """Create a group (negative id; supergroups ``-100…``). The bot is a plain member.

        ``forum``: a supergroup with topics (only its General topic at first)."""
        self._group_seq += 1
        if supergroup or forum:
            chat = FakeChat(
                -1_002_000_000_000 - self._group_seq, "supergroup", title, is_forum=forum
            )
            if forum:
                self._topics[chat.id] = {}
        else:
            chat = FakeChat(-4_000_000_000 - self._group_seq, "group", title)
        self._groups[chat.id] = chat
        self._members[chat.id] = {}
        self._bot_status[chat.id] = "member"
        return chat

    def create_topic(
        self, group: FakeChat | int, by_user: FakeUser, name: str, icon_color: int = 0x6FB9F0
    ) -> int:
        """``by_user`` creates a topic in a forum group; returns its ``message_thread_id``.

        Like Telegram, the topic's id is the id of its ``forum_topic_created`` service
        message, which the bot receives (service messages pass privacy mode)."""
        chat_id = self._forum(group)
        if self._members[chat_id].get(by_user.id) in (None, "left"):
            self._members[chat_id][by_user.id] = "member"
        message = self._open_topic(chat_id, by_user.to_dict(), name, icon_color)
        self._queue_update("message", message)
        return int(message["message_id"])

    def delete_topic(self, group: FakeChat | int, thread_id: int) -> None:
        """A group admin deletes a topic with all its messages (Telegram sends no update);
        sends to it then answer "message thread not found"."""
        chat_id = self._forum(group)
        if thread_id not in self._topics[chat_id]:
            raise ValueError(f"no topic {thread_id} in chat {chat_id}")
        self._close_topic(chat_id, thread_id)

    def forum_topics(self, group: FakeChat | int) -> dict[int, str]:
        """The live topics of a forum group: thread id -> name."""
        chat_id = self._ref_id(group)
        return {tid: t["name"] for tid, t in sorted(self._topics.get(chat_id, {}).items())}

    def set_chat_admin(self, group: FakeChat | int, user: FakeUser, is_admin: bool = True) -> None:
        """Make ``user`` an administrator (or a plain member) of ``group``."""
        self.set_chat_member_status(group, user, "administrator" if is_admin else "member")

    def set_chat_member_status(self, group: FakeChat | int, user: FakeUser, status: str) -> None:
        """Set a user's status: creator, administrator, member, left or kicked."""
        if status not in ("creator", "administrator", "member", "left", "kicked"):
            raise ValueError(f"unsupported status {status!r}")
        chat_id = self._live_group(group)
        self._members[chat_id][user.id] = status

    def block(self, user: FakeUser) -> None:
        """The user blocks the bot (queues the my_chat_member update Telegram sends)."""
        if user.id in self._blocked:
            return
        self._blocked.add(user.id)
        kicked = self._member_dict(self.bot_user, "kicked")
        self._queue_my_chat_member(user.id, user, "member", kicked)

    def unblock(self, user: FakeUser) -> None:
        """The user unblocks (restarts) the bot."""
        if user.id not in self._blocked:
            return
        self._blocked.discard(user.id)
        self._started.add(user.id)
        member = self._member_dict(self.bot_user, "member")
        self._queue_my_chat_member(user.id, user, "kicked", member)

    def add_bot_to_group(
        self, group: FakeChat, by_user: FakeUser, status: str = "member"
    ) -> list[JSONDict]:
        """``by_user`` adds the bot; returns the queued [my_chat_member, message] updates."""
        if status not in ("member", "administrator"):
            raise ValueError("status must be 'member' or 'administrator'")
        chat_id = self._live_group(group)
        self._bot_status[chat_id] = status
        self._members[chat_id].setdefault(by_user.id, "member")
        first = self._queue_my_chat_member(
            chat_id, by_user, "left", self._member_dict(self.bot_user, status)
        )
        message = self._store_message(
            chat_id, by_user.to_dict(), {"new_chat_members": [self.bot_user]}
        )
        return [first, self._queue_update("message", message)]

    def remove_bot_from_group(self, group: FakeChat, by_user: FakeUser) -> JSONDict:
        """``by_user`` removes the bot; later sends to the group answer 403."""
        chat_id = self._live_group(group)
        old = self._bot_status.get(chat_id, "member")
        chat = self._groups[chat_id]
        new = (
            self._member_dict(self.bot_user, "kicked")
            if chat.type == "supergroup"
            else self._member_dict(self.bot_user, "left")
        )
        self._bot_status[chat_id] = "kicked"
        return self._queue_my_chat_member(chat_id, by_user, old, new)

    def migrate_group(self, group: FakeChat, by_user: FakeUser | None = None) -> FakeChat:
        """Upgrade a basic group to a supergroup; returns the new chat."""
        old_id = self._live_group(group)
        old = self._groups[old_id]
        if old.type != "group":
            raise ValueError("only basic groups can be migrated")
        self._group_seq += 1
        new = FakeChat(-1_002_000_000_000 - self._group_seq, "supergroup", old.title)
        self._groups[new.id] = new
        self._members[new.id] = dict(self._members[old_id])
        self._bot_status[new.id] = self._bot_status.get(old_id, "member")
        sender = by_user.to_dict() if by_user is not None else None
        old_msg = self._store_message(old_id, sender, {"migrate_to_chat_id": new.id})
        self._migrated[old_id] = new.id
        self._queue_update("message", old_msg)
        new_msg = self._store_message(new.id, sender, {"migrate_from_chat_id": old_id})
        self._queue_update("message", new_msg)
        return new

    # ----------------------------------------------------------------- injecting updates
    def send_message(
        self,
        user: FakeUser,
        text: str,
        chat: FakeChat | int | None = None,
        reply_to: MessageRef | None = None,
        *,
        topic: int | None = None,
    ) -> JSONDict:
        """The user sends ``text`` (private chat if ``chat`` is None); returns the Update.

        ``topic``: the ``message_thread_id`` of a forum topic to write in (a reply goes to
        the replied message's topic anyway).

        In groups with privacy mode, messages the bot would not receive are stored but not
        queued: the returned update then has ``update_id == 0`` and a ``"_suppressed"`` key.
        """
        chat_id = self._sender_chat(user, chat)
        content: JSONDict = {"text": text}
        entities = self._command_entities(text)
        if entities:
            content["entities"] = entities
        replied = None
        if reply_to is not None:
            replied = self._reply_snapshot_for_injection(chat_id, reply_to)
            content["reply_to_message"] = replied
        self._place_in_topic(chat_id, content, topic, replied, injected=True)
        message = self._store_message(chat_id, user.to_dict(), content)
        return self._deliver_user_message(chat_id, message)

    def send_document(
        self,
        user: FakeUser,
        filename: str,
        content: bytes,
        caption: str | None = None,
        chat: FakeChat | int | None = None,
        mime_type: str | None = None,
        *,
        reply_to: MessageRef | None = None,
        file_size: int | None = None,
        topic: int | None = None,
    ) -> JSONDict:
        """The user sends a document (in a forum: in ``topic``, if given); the bytes are
        downloadable via getFile.

        ``file_size``: the size Telegram reports instead of the bytes' length (a file
        too big for bots, without holding it in memory).
        """
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._register_file(content, kind="document", file_name=filename, mime_type=mime)
        stored.declared_size = file_size
        return self._send_stored(user, stored, caption, chat, reply_to, topic=topic)

    def stored_document(
        self, filename: str, content: bytes, mime_type: str | None = None
    ) -> JSONDict:
        """A document Telegram keeps (as if sent in some chat earlier): its Document dict,
        with a file_id the bot can getFile and download."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._register_file(content, kind="document", file_name=filename, mime_type=mime)
        return stored.as_document()

    def send_photo(
        self,
        user: FakeUser,
        content: bytes,
        caption: str | None = None,
        chat: FakeChat | int | None = None,
        *,
        reply_to: MessageRef | None = None,
    ) -> JSONDict:
        """The user sends a photo (compressed by Telegram: no file name, JPEG)."""
        size = _image_size(content) or (1280, 960)
        stored = self._register_file(
            content, kind="photo", file_name=None, mime_type="image/jpeg", size=size
        )
        return self._send_stored(user, stored, caption, chat, reply_to)

    def send_album(
        self,
        user: FakeUser,
        photos: list[bytes],
        caption: str | None = None,
        chat: FakeChat | int | None = None,
        *,
        reply_to: MessageRef | None = None,
    ) -> list[JSONDict]:
        """The user sends several photos at once (an album): one message each, sharing a
        media_group_id; the caption rides on the first, as Telegram clients send it."""
        self._media_group_seq += 1
        group_id = str(13_000_000_000_000_000 + self._media_group_seq)
        updates = []
        for index, content in enumerate(photos):
            size = _image_size(content) or (1280, 960)
            stored = self._register_file(
                content, kind="photo", file_name=None, mime_type="image/jpeg", size=size
            )
            updates.append(
                self._send_stored(
                    user, stored, caption if index == 0 else None, chat, reply_to, group_id
                )
            )
        return updates

    def resend_file(
        self,
        user: FakeUser,
        update: JSONDict,
        caption: str | None = None,
        chat: FakeChat | int | None = None,
        *,
        reply_to: MessageRef | None = None,
    ) -> JSONDict:
        """The user sends again a file sent before (forwarded, or picked from the chat's
        media): Telegram gives it the same file_unique_id."""
        message = update["message"]
        if "photo" in message:
            file_id = message["photo"][-1]["file_id"]
        else:
            file_id = message["document"]["file_id"]
        return self._send_stored(user, self._files[file_id], caption, chat, reply_to)

    def _send_stored(
        self,
        user: FakeUser,
        stored: _StoredFile,
        caption: str | None,
        chat: FakeChat | int | None,
        reply_to: MessageRef | None,
        media_group_id: str | None = None,
        *,
        topic: int | None = None,
    ) -> JSONDict:
        chat_id = self._sender_chat(user, chat)
        body: JSONDict = (
            {"photo": stored.as_photo()}
            if stored.kind == "photo"
            else {"document": stored.as_document()}
        )
        if caption is not None:
            body["caption"] = caption
            entities = self._command_entities(caption)
            if entities:
                body["caption_entities"] = entities
        replied = None
        if reply_to is not None:
            replied = self._reply_snapshot_for_injection(chat_id, reply_to)
            body["reply_to_message"] = replied
        if media_group_id is not None:
            body["media_group_id"] = media_group_id
        self._place_in_topic(chat_id, body, topic, replied, injected=True)
        message = self._store_message(chat_id, user.to_dict(), body)
        return self._deliver_user_message(chat_id, message)

    def press_button(
        self, user: FakeUser, message: MessageRef, callback_data: str, *, force: bool = False
    ) -> JSONDict:
        """The user presses the inline button with ``callback_data`` on a bot ``message``.

        Unless ``force=True`` the message must still exist and carry that button.
        """
        message = _as_message_dict(message)
        chat_id = int(message["chat"]["id"])
        current = self._messages.get(chat_id, {}).get(int(message["message_id"]))
        if current is None and not force:
            raise AssertionError(
                f"message {message['message_id']} in chat {chat_id} does not exist (deleted?)"
            )
        shown = copy.deepcopy(current if current is not None else _public(message))
        buttons = [
            button.get("callback_data")
            for row in (shown.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        if callback_data not in buttons and not force:
            raise AssertionError(
                f"message {shown['message_id']} in chat {chat_id} has no button with "
                f"callback_data {callback_data!r}; buttons: {buttons!r}"
            )
        self._query_seq += 1
        query_id = str(4_300_000_000_000_000_000 + self._query_seq)
        self._callback_queries[query_id] = _CallbackQuery(query_id, chat_id, callback_data)
        query: JSONDict = {
            "id": query_id,
            "from": user.to_dict(),
            "message": shown,
            "chat_instance": str(abs(chat_id) * 31 + self.bot_id),
            "data": callback_data,
        }
        return self._queue_update("callback_query", query)

    def queue_update(self, update: JSONDict) -> JSONDict:
        """Queue an arbitrary update (``update_id`` is assigned); returns it."""
        kinds = [k for k in update if k != "update_id"]
        if len(kinds) != 1 or kinds[0] not in self.spec.update_types:
            raise ValueError(f"an update needs exactly one known update type, got {kinds}")
        return self._queue_update(kinds[0], copy.deepcopy(update[kinds[0]]))

    # ----------------------------------------------------------------- observing
    def messages_in(self, chat_id: ChatRef) -> list[JSONDict]:
        """Current state of the bot's messages in a chat (edits applied, deleted ones gone)."""
        cid = self._ref_id(chat_id)
        return [
            copy.deepcopy(msg)
            for _, msg in sorted(self._messages.get(cid, {}).items())
            if (msg.get("from") or {}).get("id") == self.bot_id
        ]

    def commands_for(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict] | None:
        """Commands set with setMyCommands for ``scope`` (default scope if None)."""
        return self.commands.get((self._scope_key(scope), language_code))

    async def wait_for_message(
        self,
        chat_id: ChatRef,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> JSONDict:
        """First bot message in ``chat_id`` created after this call matching ``predicate``.

        ``since`` is an index into :attr:`sent` to start from instead (e.g. ``0``).
        """
        cid = self._ref_id(chat_id)
        start = len(self.sent) if since is None else since

        def find() -> JSONDict | None:
            for msg in self.sent[start:]:
                if msg["chat"]["id"] == cid and (predicate is None or predicate(msg)):
                    return msg
            return None

        found = await self._wait(find, self._messages_signal, timeout)
        if found is None:
            raise AssertionError(self._message_timeout_report(cid, predicate, timeout, start))
        return found

    async def wait_for_call(
        self,
        method: str,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,
        *,
        since: int | None = None,
    ) -> JSONDict:
        """Params of the next recorded call of ``method`` (after this call, or ``since``)."""
        canonical = self.spec.canonical(method) or method
        start = len(self.calls) if since is None else since

        def find() -> JSONDict | None:
            for name, params, _status in self.calls[start:]:
                if name == canonical and (predicate is None or predicate(params)):
                    return params
            return None

        found = await self._wait(find, self._calls_signal, timeout)
        if found is None:
            recent = "\n".join(f"  {note}" for note in self._call_notes[-10:]) or "  (none)"
            raise AssertionError(
                f"no call of {canonical} matching {predicate!r} within {timeout}s "
                f"(since call index {start}).\nLast API calls:\n{recent}\n"
                f"Violations: {self.violations!r}"
            )
        return found

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error.

        With ``retry_after`` the answer is a 429 flood-control error carrying it.
        """
        canonical = self.spec.canonical(method)
        if canonical is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        if retry_after is not None:
            fault = _Fault(429, f"Too Many Requests: retry after {retry_after}", retry_after, times)
        else:
            fault = _Fault(status, description, None, times)
        self._faults.setdefault(canonical, []).append(fault)

    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by the bot."""
        return copy.deepcopy(self._updates)

    # ----------------------------------------------------------------- HTTP layer
    def fail_downloads(self, times: int, status: int = 502) -> None:
        """Answer the next ``times`` file downloads (GET /file/bot…) with ``status``, as
        Telegram's file servers do in an outage; ``fail_next("getFile")`` fails the API
        side."""
        self._download_faults = times
        self._download_fault_status = status

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        if self.download_delay:
            await asyncio.sleep(self.download_delay)
        if self._download_faults > 0:
            self._download_faults -= 1
            status = self._download_fault_status
            return web.json_response(ApiError(status, "Bad Gateway").body(), status=status)
        stored = self._files_by_path.get(path)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        self.downloads.append(path)
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        raw_method = request.match_info["method"]
        method = self.spec.canonical(raw_method)
        name = method or raw_method
        params: JSONDict = {}
        caller = request.match_info.get("caller")
        started = self.limiter.now()
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method is None:
                raise ApiError(404, "Not Found", violation=True)
            if method != raw_method:
                self._violation(
                    f"{raw_method}: method name case differs from the official {method!r}"
                )
            raw, files = await self._read_params(request)
            params = raw
            params = self._decode_params(method, raw, files)
            fault = self._take_fault(method)
            if fault is not None:
                raise fault
            call = _Call(method, params, files, caller)
            result: Any
            if method == "getUpdates":
                result = await self._get_updates(call)
            else:
                handler = self._handlers.get(method)
                result = handler(self, call) if handler is not None else True
            status, body = 200, {"ok": True, "result": result}
        except ApiError as err:
            status, body = err.status, err.body()
            if err.violation:
                self._violation(f"{name}: {err.description} (params: {_short(params)})")
        except Exception:  # a bug in the fake itself must not go unnoticed
            status = 500
            body = ApiError(500, "Internal Server Error").body()
            self._violation(
                f"{name}: the fake crashed (params: {_short(params)}):\n{traceback.format_exc()}"
            )
        self._record_call(name, params, status, body)
        if name == "getUpdates":
            self.polls.append(Poll(caller, started, self.limiter.now(), status))
        return web.json_response(
            body, status=status, dumps=functools.partial(json.dumps, ensure_ascii=False)
        )

    async def _read_params(self, request: web.Request) -> tuple[JSONDict, dict[str, _Upload]]:
        params: JSONDict = dict(request.query.items())
        files: dict[str, _Upload] = {}
        if not request.can_read_body:
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = json.loads(await request.read())
            except ValueError:
                raise _bad("can't parse JSON request body", violation=True) from None
            if not isinstance(body, dict):
                raise _bad("JSON request body must be an object", violation=True)
            params.update({k: v for k, v in body.items() if v is not None})
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = _Upload(value.filename, value.file.read(), value.content_type)
                else:
                    params[key] = value
        elif await request.read():
            raise _bad(f"unsupported Content-Type {ctype}", violation=True)
        return params, files

    def _decode_params(self, method: str, raw: JSONDict, files: dict[str, _Upload]) -> JSONDict:
        fields = self.spec.methods[method]
        decoded: JSONDict = {}
        for name, value in raw.items():
            spec = fields.get(name)
            if spec is None:
                # Real Telegram silently ignores unknown parameters. The fake refuses them so
                # that a typo in a parameter name fails the bot's tests instead of being lost.
                raise _bad(f"unknown parameter {name}", violation=True)
            decoded[name] = _decode_value(name, value, spec.types)
        for name, spec in fields.items():
            if name in files and name not in decoded and "InputFile" not in spec.types:
                raise _bad(f"parameter {name} can't be a file upload", violation=True)
            if spec.required and name not in decoded and name not in files:
                if name == "text":
                    raise _bad("message text is empty", violation=True)
                if name == "chat_id":
                    raise _bad("chat_id is empty", violation=True)
                raise _bad(f'parameter "{name}" is required', violation=True)
        return decoded

    def _take_fault(self, method: str) -> ApiError | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        parameters = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
        return ApiError(fault.status, fault.description, parameters=parameters)

    def _record_call(self, method: str, params: JSONDict, status: int, body: JSONDict) -> None:
        self.calls.append((method, params, status))
        if status == 429:
            self.stats["429"] += 1
            chat_id = params.get("chat_id")
            if isinstance(chat_id, int):
                self.stats_by_chat[chat_id]["429"] += 1
        outcome = "ok" if status == 200 else f"{status} {body.get('description')}"
        self._call_notes.append(f"{method}({_short(params, 160)}) -> {outcome}")
        self._calls_signal.notify()

    def _violation(self, text: str) -> None:
        self.violations.append(text)

    # ----------------------------------------------------------------- state helpers
    def _ref_id(self, ref: ChatRef) -> int:
        if isinstance(ref, FakeChat | FakeUser):
            return ref.id
        return int(ref)

    def _live_group(self, group: FakeChat | int) -> int:
        chat_id = self._ref_id(group)
        if chat_id not in self._groups:
            raise ValueError(f"unknown group {chat_id}")
        if chat_id in self._migrated:
            raise ValueError(
                f"group {chat_id} was migrated to {self._migrated[chat_id]}; use the new chat"
            )
        return chat_id

    def _sender_chat(self, user: FakeUser, chat: FakeChat | int | None) -> int:
        if user.id not in self._users:
            raise ValueError(f"unknown user {user!r}; create it with add_user()")
        if chat is None:
            if user.id in self._blocked:
                raise ValueError(f"{user.first_name} blocked the bot; call server.unblock(user)")
            self._started.add(user.id)
            return user.id
        chat_id = self._ref_id(chat)
        if chat_id == user.id:
            self._started.add(user.id)
            return chat_id
        chat_id = self._live_group(chat_id)
        if self._bot_status.get(chat_id) in ("left", "kicked"):
            raise ValueError(
                f"the bot is not in group {chat_id}; it would not receive this message"
            )
        if self._members[chat_id].get(user.id) in (None, "left"):
            self._members[chat_id][user.id] = "member"
        return chat_id

    def _chat_dict(self, chat_id: int) -> JSONDict:
        group = self._groups.get(chat_id)
        if group is not None:
            return group.to_dict()
        user = self._users[chat_id]
        data: JSONDict = {"id": user.id, "first_name": user.first_name}
        if user.last_name is not None:
            data["last_name"] = user.last_name
        if user.username is not None:
            data["username"] = user.username
        data["type"] = "private"
        return data

    def _store_message(self, chat_id: int, sender: JSONDict | None, content: JSONDict) -> JSONDict:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        message: JSONDict = {"message_id": message_id}
        if sender is not None:
            message["from"] = sender
        message["chat"] = self._chat_dict(chat_id)
        message["date"] = int(time.time())
        message.update(content)
        self._messages.setdefault(chat_id, {})[message_id] = message
        return message

    def _queue_update(self, kind: str, payload: JSONDict) -> JSONDict:
        self._update_seq += 1
        update = {"update_id": self._update_seq, kind: copy.deepcopy(payload)}
        self._updates.append(update)
        self._updates_signal.notify()
        return copy.deepcopy(update)

    def _queue_my_chat_member(
        self, chat_id: int, by_user: FakeUser, old_status: str, new_member: JSONDict
    ) -> JSONDict:
        payload = {
            "chat": self._chat_dict(chat_id),
            "from": by_user.to_dict(),
            "date": int(time.time()),
            "old_chat_member": self._member_dict(self.bot_user, old_status),
            "new_chat_member": new_member,
        }
        return self._queue_update("my_chat_member", payload)

    def _deliver_user_message(self, chat_id: int, message: JSONDict) -> JSONDict:
        reason = self._privacy_filter(chat_id, message)
        if reason is None:
            return self._queue_update("message", message)
        self.suppressed.append(_Suppressed(chat_id, copy.deepcopy(message), reason))
        return {"update_id": 0, "message": copy.deepcopy(message), "_suppressed": reason}

    def _privacy_filter(self, chat_id: int, message: JSONDict) -> str | None:
        """None if the bot receives the message, else why it does not (privacy mode)."""
        if chat_id not in self._groups or not self.privacy_mode:
            return None
        if self._bot_status.get(chat_id) == "administrator":
            return None
        text = message.get("text") or message.get("caption") or ""
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            target = command.partition("@")[2]
            if not target or target.lower() == self.bot_username.lower():
                return None
            return f"privacy mode: command addressed to @{target}"
        replied = message.get("reply_to_message") or {}
        # In a topic, a message that replies to nothing in particular still carries the
        # topic's creation message: that is not a reply addressed to the bot.
        explicit = "forum_topic_created" not in replied
        if explicit and (replied.get("from") or {}).get("id") == self.bot_id:
            return None
        return (
            "privacy mode: the bot only receives commands, replies to its messages and service "
            "messages in groups where it is not an administrator"
        )

    def _command_entities(self, text: str) -> list[JSONDict]:
        if not text.startswith("/"):
            return []
        first = text.split(maxsplit=1)[0]
        return [{"type": "bot_command", "offset": 0, "length": utf16_len(first)}]

    def _reply_snapshot_for_injection(self, chat_id: int, reply_to: MessageRef) -> JSONDict:
        reply_to = _as_message_dict(reply_to)
        if int(reply_to["chat"]["id"]) != chat_id:
            raise ValueError("reply_to must be a message of the same chat")
        stored = self._messages.get(chat_id, {}).get(int(reply_to["message_id"]))
        source = stored if stored is not None else _public(reply_to)
        snapshot = copy.deepcopy(source)
        snapshot.pop("reply_to_message", None)
        return snapshot

    # ------------------------------------------------------------- forum topics
    def _forum(self, group: FakeChat | int) -> int:
        chat_id = self._live_group(group)
        if not self._groups[chat_id].is_forum:
            raise ValueError(f"chat {chat_id} is not a forum; add_group(forum=True)")
        return chat_id

    def _open_topic(self, chat_id: int, sender: JSONDict, name: str, icon_color: int) -> JSONDict:
        """Store the topic's creation message; its id is the topic's message_thread_id."""
        created = {"name": name, "icon_color": icon_color}
        message = self._store_message(chat_id, sender, {"forum_topic_created": created})
        thread_id = int(message["message_id"])
        message.update(message_thread_id=thread_id, is_topic_message=True)
        self._topics[chat_id][thread_id] = {"message_thread_id": thread_id, **created}
        return copy.deepcopy(message)

    def _close_topic(self, chat_id: int, thread_id: int) -> None:
        del self._topics[chat_id][thread_id]
        messages = self._messages.get(chat_id, {})
        for message_id in [
            mid for mid, m in messages.items() if m.get("message_thread_id") == thread_id
        ]:
            del messages[message_id]
        self._messages_signal.notify()

    def _place_in_topic(
        self,
        chat_id: int,
        content: JSONDict,
        thread_id: int | None,
        replied: JSONDict | None,
        *,
        injected: bool = False,
    ) -> None:
        """Put a new message into its topic, as Telegram does: the one named, else the
        replied message's; none (the General topic) when neither is. Raises 400 "message
        thread not found" for a thread that is not a live topic of the chat (a ValueError
        for a message the test injects: that is a mistake of the test)."""
        if replied is not None and replied.get("is_topic_message"):
            replied_thread = int(replied["message_thread_id"])
            if thread_id is None:
                thread_id = replied_thread
            elif thread_id != replied_thread:
                if injected:
                    raise ValueError("reply_to is in another topic than `topic`")
                raise _bad("message to be replied not found")
        if thread_id is None:
            return
        if int(thread_id) not in self._topics.get(chat_id, {}):
            if injected:
                raise ValueError(f"no live topic {thread_id} in chat {chat_id}")
            raise _bad(THREAD_NOT_FOUND)
        thread_id = int(thread_id)
        content["message_thread_id"] = thread_id
        content["is_topic_message"] = True
        if replied is None:
            root = self._messages.get(chat_id, {}).get(thread_id)
            if root is not None:
                snapshot = copy.deepcopy(root)
                snapshot.pop("reply_to_message", None)
                content["reply_to_message"] = snapshot

    def _member_dict(self, user: JSONDict, status: str) -> JSONDict:
        member: JSONDict = {"status": status, "user": user}
        if status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _scope_key(self, scope: JSONDict | None) -> str:
        normalized: JSONDict = dict(scope) if scope else {"type": "default"}
        for key in ("chat_id", "user_id"):
            value = normalized.get(key)
            if isinstance(value, str) and _INT_RE.fullmatch(value):
                normalized[key] = int(value)
        return json.dumps(normalized, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def _register_file(
        self,
        content: bytes,
        *,
        kind: str,
        file_name: str | None,
        mime_type: str | None,
        size: tuple[int, int] = (0, 0),
    ) -> _StoredFile:
        self._file_seq += 1
        n = self._file_seq
        prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}.get(
            kind, "BAACAgIAAxkBAAI"
        )
        if kind == "photo":
            path = f"photos/file_{n}.jpg"
        else:
            suffix = Path(file_name).suffix if file_name else ""
            path = f"{kind}s/file_{n}{suffix}"
        stored = _StoredFile(
            file_id=f"{prefix}{n:06d}Fake{self.bot_id}",
            file_unique_id=f"AgAD{n:06d}",
            file_path=path,
            content=content,
            file_name=file_name,
            mime_type=mime_type,
            kind=kind,
            width=size[0],
            height=size[1],
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    async def _wait(
        self, find: Callable[[], JSONDict | None], signal: _Signal, seconds: float
    ) -> JSONDict | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            found = find()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await signal.wait(remaining)

    def _message_timeout_report(
        self, chat_id: int, predicate: MessagePredicate | None, timeout: float, start: int
    ) -> str:
        lines = [
            f"no bot message in chat {chat_id} matching {predicate!r} within {timeout}s "
            f"(looking at sent[{start}:], {len(self.sent) - start} new message(s) in all chats)."
        ]
        history = sorted(self._messages.get(chat_id, {}).items())[-6:]
        lines.append(f"Last messages in chat {chat_id}:")
        for message_id, msg in history:
            who = "bot" if (msg.get("from") or {}).get("id") == self.bot_id else "user"
            body = msg.get("text", msg.get("caption", ""))
            extra = " [+keyboard]" if msg.get("reply_markup") else ""
            lines.append(f"  #{message_id} {who}: {_short(body, 200)}{extra}")
        if not history:
            lines.append("  (none)")
        related = [note for note in self._call_notes if f"'chat_id': {chat_id}" in note][-6:]
        lines.append("API calls for this chat:")
        lines.extend(f"  {note}" for note in related or ["(none)"])
        dropped = [s for s in self.suppressed if s.chat_id == chat_id]
        if dropped:
            lines.append(
                f"{len(dropped)} message(s) in this chat never reached the bot "
                f"({dropped[-1].reason})"
            )
        if self._updates:
            lines.append(
                f"{len(self._updates)} update(s) still queued, not confirmed by the bot "
                "(is it polling?)"
            )
        if self.violations:
            lines.append(f"Violations: {self.violations!r}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- validation helpers
    def _resolve_chat(self, value: Any, *, write: bool = True) -> int:
        if isinstance(value, str):
            if not _INT_RE.fullmatch(value):
                raise _bad("chat not found")
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad("chat not found")
        if value in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                parameters={"migrate_to_chat_id": self._migrated[value]},
            )
        group = self._groups.get(value)
        if group is not None:
            status = self._bot_status.get(value, "member")
            if status == "kicked":
                raise ApiError(403, f"Forbidden: bot was kicked from the {group.type} chat")
            if status == "left":
                raise ApiError(403, f"Forbidden: bot is not a member of the {group.type} chat")
            return value
        if value in self._users:
            if write and value in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if write and value not in self._started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            return value
        if value == self.bot_id:
            raise ApiError(403, "Forbidden: bot can't send messages to bots")
        raise _bad("chat not found")

    def _format_text(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        caption: bool,
    ) -> tuple[str, list[JSONDict]]:
        """Apply parse_mode and Telegram's emptiness/length rules (lengths in UTF-16)."""
        if text is None:
            if caption:
                return "", []
            raise _bad("message text is empty", violation=True)
        if parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                try:
                    plain, parsed = parse_html_entities(text)
                except HtmlParseError as err:
                    raise _bad(f"can't parse entities: {err}", violation=True) from None
            elif mode in ("markdownv2", "markdown"):
                # MarkdownV2/Markdown are accepted without validation: the text is stored
                # verbatim (markup characters included) and no entities are produced.
                plain, parsed = text, []
            else:
                raise _bad("unsupported parse_mode", violation=True)
        else:
            plain = text
            parsed = self._check_entities(entities)
        plain, parsed = _strip_text(plain, parsed)
        if not plain and not caption:
            raise _bad("message text is empty", violation=True)
        limit = CAPTION_LIMIT if caption else TEXT_LIMIT
        if utf16_len(plain) > limit:
            what = "message caption is too long" if caption else "message is too long"
            raise _bad(what, violation=True)
        return plain, parsed

    def _check_entities(self, entities: Any) -> list[JSONDict]:
        if entities is None:
            return []
        if not isinstance(entities, list) or not all(
            isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in entities
        ):
            raise _bad("can't parse entities JSON object", violation=True)
        return copy.deepcopy(entities)

    def _check_markup(self, markup: Any, *, inline_only: bool = False) -> JSONDict | None:
        """Validate reply_markup; return what the Message object carries (inline only)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object", violation=True)
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse inline keyboard markup JSON object", violation=True)
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
            if not any(rows):
                return None
            return copy.deepcopy({"inline_keyboard": rows})
        if inline_only:
            raise _bad("inline keyboard expected", violation=True)
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse keyboard markup JSON object", violation=True)
            for row in rows:
                for button in row:
                    label = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(label, str) or not label.strip():
                        raise _bad("keyboard button text must be non-empty", violation=True)
            return None
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return None
        raise _bad("can't parse reply keyboard markup JSON object", violation=True)

    def _check_mini_app_url(self, url: str) -> None:
        # Telegram opens only https Mini Apps; its test environment (the sandbox) http too.
        schemes = ("https://", "http://") if self.mini_apps_over_http else ("https://",)
        if not url.startswith(schemes):
            raise _bad("BUTTON_URL_INVALID", violation=True)

    def _check_inline_button(self, button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad("can't parse inline keyboard button: object expected", violation=True)
        unknown = set(button) - self.spec.inline_button_fields
        if unknown:
            raise _bad(
                f"can't parse inline keyboard button: unknown field {sorted(unknown)[0]}",
                violation=True,
            )
        text = button.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("can't parse inline keyboard button: Text must be non-empty", violation=True)
        actions = [
            key
            for key in button
            if key not in ("text", "icon_custom_emoji_id", "style") and button[key] is not None
        ]
        if not actions:
            raise _bad("text buttons are unallowed in the inline keyboard", violation=True)
        if len(actions) > 1:
            raise _bad(
                "can't parse inline keyboard button: exactly one of the optional fields "
                f"must be used, got {sorted(actions)}",
                violation=True,
            )
        if "web_app" in button:
            self._check_mini_app_url(str((button["web_app"] or {}).get("url") or ""))
        if "callback_data" in button:
            data = button["callback_data"]
            if (
                not isinstance(data, str)
                or not data
                or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT
            ):
                raise _bad("BUTTON_DATA_INVALID", violation=True)
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
                raise _bad("BUTTON_URL_INVALID", violation=True)

    def _reply_to(self, chat_id: int, reply_parameters: Any) -> JSONDict | None:
        if reply_parameters is None:
            return None
        if not isinstance(reply_parameters, dict) or "message_id" not in reply_parameters:
            raise _bad("can't parse reply parameters JSON object", violation=True)
        source_chat = chat_id
        if reply_parameters.get("chat_id") is not None:
            source_chat = self._resolve_chat(reply_parameters["chat_id"], write=False)
        stored = self._messages.get(source_chat, {}).get(int(reply_parameters["message_id"]))
        if stored is None:
            if reply_parameters.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        snapshot = copy.deepcopy(stored)
        snapshot.pop("reply_to_message", None)
        return snapshot

    def _rate_limit(self, chat_id: int) -> None:
        retry_after = self.limiter.acquire(chat_id, private=chat_id > 0)
        if retry_after is not None:
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                parameters={"retry_after": retry_after},
            )

    def _bot_message(
        self,
        call: _Call,
        chat_id: int,
        content: JSONDict,
        *,
        markup: JSONDict | None = None,
        reply: JSONDict | None = None,
    ) -> JSONDict:
        """Store a message the bot created and record it in :attr:`sent`."""
        if reply is not None:
            content["reply_to_message"] = reply
        if markup is not None:
            content["reply_markup"] = markup
        message = self._store_message(chat_id, self.bot_user, content)
        record = copy.deepcopy(message)
        record["_method"] = call.method
        record["_params"] = copy.deepcopy(call.params)
        record["_files"] = {k: (f.filename, f.content) for k, f in call.files.items()}
        record["_caller"] = call.caller
        record["_at"] = self.limiter.now()  # when flood control counted it
        self.sent.append(record)
        self.stats["sent"] += 1
        self.stats_by_chat[chat_id]["sent"] += 1
        self._messages_signal.notify()
        return copy.deepcopy(message)

    def _input_file(self, call: _Call, field_name: str, kind: str) -> _StoredFile:
        upload = call.files.get(field_name)
        value = call.params.get(field_name)
        return self._resolve_media(call, upload, value, kind, field_name)

    def _resolve_media(
        self, call: _Call, upload: _Upload | None, value: Any, kind: str, field_name: str
    ) -> _StoredFile:
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = call.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad(f"file {value} not found in the request", violation=True)
        if upload is not None:
            size = (0, 0)
            if kind == "photo":
                dimensions = _image_size(upload.content)
                if dimensions is None:
                    raise _bad("IMAGE_PROCESS_FAILED", violation=True)
                size = dimensions
            mime = upload.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.filename)[0] or mime
            return self._register_file(
                upload.content, kind=kind, file_name=upload.filename, mime_type=mime, size=size
            )
        if isinstance(value, str) and value:
            existing = self._files.get(value)
            if existing is not None:
                return existing
            if value.startswith(("http://", "https://")):
                # The fake cannot download URLs; it pretends the URL held an empty file.
                name = Path(urlsplit(value).path).name or None
                mime = mimetypes.guess_type(name or "")[0]
                size = (320, 320) if kind == "photo" else (0, 0)
                return self._register_file(
                    b"", kind=kind, file_name=name, mime_type=mime, size=size
                )
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {field_name} in the request", violation=True)

    def _editable(self, call: _Call) -> tuple[int, JSONDict] | None:
        """(chat_id, stored message) addressed by an edit call, None for inline messages."""
        p = call.params
        if p.get("inline_message_id") is not None:
            return None
        if p.get("chat_id") is None:
            raise _bad("chat_id is empty", violation=True)
        if p.get("message_id") is None:
            raise _bad("message identifier is not specified", violation=True)
        chat_id = self._resolve_chat(p["chat_id"])
        stored = self._messages.get(chat_id, {}).get(int(p["message_id"]))
        if stored is None:
            raise _bad("message to edit not found", violation=True)
        if (stored.get("from") or {}).get("id") != self.bot_id:
            raise _bad("message can't be edited", violation=True)
        return chat_id, stored

    def _apply_edit(self, stored: JSONDict, changes: dict[str, Any]) -> JSONDict:
        """Apply ``changes`` (None removes a key) unless nothing changes."""
        if all(stored.get(key) == value for key, value in changes.items()):
            raise ApiError(400, NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = value
        stored["edit_date"] = int(time.time())
        self._messages_signal.notify()
        return copy.deepcopy(stored)

    # ----------------------------------------------------------------- method handlers
    def _m_get_me(self, call: _Call) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: _Call) -> list[JSONDict]:
        p = call.params
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        allowed = p.get("allowed_updates")
        if allowed is not None:
            unknown = set(allowed) - self.spec.update_types
            if unknown:
                raise _bad(
                    f"unknown update types in allowed_updates: {sorted(unknown)}", violation=True
                )
            self._allowed_updates = (
                frozenset(allowed) if allowed else self.spec.update_types - _NOT_DEFAULT_UPDATES
            )
        offset = p.get("offset")
        if offset:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(0.0, float(p.get("timeout") or 0))
        me = object()
        self._poller = me
        self._updates_signal.notify()  # an older long poll is terminated with 409 Conflict
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._poller is not me:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            self._updates = [
                u for u in self._updates if self._update_kind(u) in self._allowed_updates
            ]
            if self._updates or self._closing:
                return copy.deepcopy(self._updates[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._updates_signal.wait(remaining)

    @staticmethod
    def _update_kind(update: JSONDict) -> str:
        return next(key for key in update if key != "update_id")

    def _m_set_webhook(self, call: _Call) -> bool:
        url = call.params.get("url", "")
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        if not url:
            self.webhook = None
            return True
        if not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {k: v for k, v in call.params.items() if k != "drop_pending_updates"}
        self._updates_signal.notify()
        return True

    def _m_delete_webhook(self, call: _Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    def _m_get_webhook_info(self, call: _Call) -> JSONDict:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["url"] = self.webhook["url"]
            for key in ("max_connections", "allowed_updates", "ip_address"):
                if key in self.webhook:
                    info[key] = self.webhook[key]
        return info

    def _m_send_message(self, call: _Call) -> JSONDict:
        p = call.params
        chat_id = self._resolve_chat(p["chat_id"])
        text, entities = self._format_text(
            p.get("text"), p.get("parse_mode"), p.get("entities"), caption=False
        )
        markup = self._check_markup(p.get("reply_markup"))
        reply = self._reply_to(chat_id, p.get("reply_parameters"))
        content: JSONDict = {"text": text}
        self._place_in_topic(chat_id, content, p.get("message_thread_id"), reply)
        self._rate_limit(chat_id)
        if entities:
            content["entities"] = entities
        if p.get("link_preview_options") is not None:
            content["link_preview_options"] = p["link_preview_options"]
        return self._bot_message(call, chat_id, content, markup=markup, reply=reply)

    def _send_file(self, call: _Call, kind: str) -> JSONDict:
        p = call.params
        chat_id = self._resolve_chat(p["chat_id"])
        caption, caption_entities = self._format_text(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        markup = self._check_markup(p.get("reply_markup"))
        reply = self._reply_to(chat_id, p.get("reply_parameters"))
        stored = self._input_file(call, kind, kind)
        content: JSONDict = (
            {"photo": stored.as_photo()} if kind == "photo" else {kind: stored.as_document()}
        )
        self._place_in_topic(chat_id, content, p.get("message_thread_id"), reply)
        self._rate_limit(chat_id)
        if caption:
            content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
        return self._bot_message(call, chat_id, content, markup=markup, reply=reply)

    def _m_send_document(self, call: _Call) -> JSONDict:
        return self._send_file(call, "document")

    def _m_send_photo(self, call: _Call) -> JSONDict:
        return self._send_file(call, "photo")

    def _m_send_media_group(self, call: _Call) -> list[JSONDict]:
        p = call.params
        chat_id = self._resolve_chat(p["chat_id"])
        media = p["media"]
        if not 2 <= len(media) <= 10:
            raise _bad("wrong number of media in the album: 2-10 expected", violation=True)
        reply = self._reply_to(chat_id, p.get("reply_parameters"))
        prepared: list[JSONDict] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in (
                "photo",
                "document",
                "video",
                "audio",
            ):
                raise _bad("can't parse InputMedia JSON object", violation=True)
            kind = item["type"]
            caption, entities = self._format_text(
                item.get("caption"),
                item.get("parse_mode"),
                item.get("caption_entities"),
                caption=True,
            )
            stored = self._resolve_media(call, None, item.get("media"), kind, "media")
            if kind == "photo":
                content: JSONDict = {"photo": stored.as_photo()}
            elif kind == "document":
                content = {"document": stored.as_document()}
            else:
                body = stored.as_document()
                body["duration"] = 0
                if kind == "video":
                    body.update(width=0, height=0)
                content = {kind: body}
            if caption:
                content["caption"] = caption
                if entities:
                    content["caption_entities"] = entities
            prepared.append(content)
        placed: JSONDict = {}
        self._place_in_topic(chat_id, placed, p.get("message_thread_id"), reply)
        self._rate_limit(chat_id)
        self._media_group_seq += 1
        group_id = str(13_000_000_000_000_000 + self._media_group_seq)
        results = []
        for index, content in enumerate(prepared):
            content["media_group_id"] = group_id
            content.update(copy.deepcopy(placed))
            results.append(
                self._bot_message(call, chat_id, content, reply=reply if index == 0 else None)
            )
        return results

    def _source_message(self, call: _Call, missing: str) -> JSONDict:
        from_chat = self._resolve_chat(call.params["from_chat_id"], write=False)
        stored = self._messages.get(from_chat, {}).get(int(call.params["message_id"]))
        if stored is None:
            raise _bad(missing)
        if not any(key in stored for key in ("text", *_MEDIA_KEYS)):
            raise _bad("message can't be copied")
        return stored

    def _m_copy_message(self, call: _Call) -> JSONDict:
        p = call.params
        chat_id = self._resolve_chat(p["chat_id"])
        source = self._source_message(call, "message to copy not found")
        content = {k: copy.deepcopy(source[k]) for k in _COPYABLE_KEYS if k in source}
        if "caption" in p:
            caption, entities = self._format_text(
                p["caption"], p.get("parse_mode"), p.get("caption_entities"), caption=True
            )
            content.pop("caption", None)
            content.pop("caption_entities", None)
            if caption:
                content["caption"] = caption
                if entities:
                    content["caption_entities"] = entities
        markup = self._check_markup(p.get("reply_markup"))
        reply = self._reply_to(chat_id, p.get("reply_parameters"))
        self._place_in_topic(chat_id, content, p.get("message_thread_id"), reply)
        self._rate_limit(chat_id)
        message = self._bot_message(call, chat_id, content, markup=markup, reply=reply)
        return {"message_id": message["message_id"]}

    def _m_forward_message(self, call: _Call) -> JSONDict:
        chat_id = self._resolve_chat(call.params["chat_id"])
        source = self._source_message(call, "message to forward not found")
        content = {k: copy.deepcopy(source[k]) for k in _COPYABLE_KEYS if k in source}
        origin: JSONDict = {"type": "user", "date": source["date"]}
        if source.get("from") is not None:
            origin["sender_user"] = copy.deepcopy(source["from"])
        else:
            origin = {"type": "hidden_user", "date": source["date"], "sender_user_name": "?"}
        content["forward_origin"] = origin
        self._place_in_topic(chat_id, content, call.params.get("message_thread_id"), None)
        self._rate_limit(chat_id)
        return self._bot_message(call, chat_id, content)

    def _m_edit_message_text(self, call: _Call) -> JSONDict | bool:
        p = call.params
        target = self._editable(call)
        text, entities = self._format_text(
            p.get("text"), p.get("parse_mode"), p.get("entities"), caption=False
        )
        markup = self._check_markup(p.get("reply_markup"), inline_only=True)
        if target is None:
            return True
        _chat_id, stored = target
        if "text" not in stored:
            raise _bad("there is no text in the message to edit", violation=True)
        # Like Telegram: omitting reply_markup removes the message's inline keyboard.
        return self._apply_edit(
            stored, {"text": text, "entities": entities or None, "reply_markup": markup}
        )

    def _m_edit_message_caption(self, call: _Call) -> JSONDict | bool:
        p = call.params
        target = self._editable(call)
        caption, entities = self._format_text(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        markup = self._check_markup(p.get("reply_markup"), inline_only=True)
        if target is None:
            return True
        _chat_id, stored = target
        if not any(key in stored for key in _MEDIA_KEYS):
            raise _bad("there is no caption in the message to edit", violation=True)
        return self._apply_edit(
            stored,
            {
                "caption": caption or None,
                "caption_entities": entities or None,
                "reply_markup": markup,
            },
        )

    def _m_edit_message_reply_markup(self, call: _Call) -> JSONDict | bool:
        target = self._editable(call)
        markup = self._check_markup(call.params.get("reply_markup"), inline_only=True)
        if target is None:
            return True
        _chat_id, stored = target
        return self._apply_edit(stored, {"reply_markup": markup})

    def _delete_one(self, chat_id: int, message_id: int) -> bool:
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None:
            return False
        from_bot = (stored.get("from") or {}).get("id") == self.bot_id
        bot_is_admin = self._bot_status.get(chat_id) == "administrator"
        if chat_id in self._groups and not from_bot and not bot_is_admin:
            raise _bad("message can't be deleted")
        del self._messages[chat_id][message_id]
        self._messages_signal.notify()
        return True

    def _m_delete_message(self, call: _Call) -> bool:
        chat_id = self._resolve_chat(call.params["chat_id"])
        if not self._delete_one(chat_id, int(call.params["message_id"])):
            raise _bad("message to delete not found")
        return True

    def _m_delete_messages(self, call: _Call) -> bool:
        chat_id = self._resolve_chat(call.params["chat_id"])
        ids = call.params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise _bad("too many messages to delete: 1-100 expected", violation=True)
        for message_id in ids:
            self._delete_one(chat_id, int(message_id))
        return True

    def _m_answer_callback_query(self, call: _Call) -> bool:
        p = call.params
        query_id = str(p["callback_query_id"])
        query = self._callback_queries.get(query_id)
        if query is None or query.answered:
            # unknown id or answered twice: both are bugs of the bot
            raise ApiError(400, QUERY_INVALID, violation=True)
        text = p.get("text")
        if text is not None and len(text) > CALLBACK_ANSWER_LIMIT:
            raise _bad("MESSAGE_TOO_LONG", violation=True)
        query.answered = True
        self.callback_answers[query_id] = copy.deepcopy(p)
        return True

    def _m_send_chat_action(self, call: _Call) -> bool:
        self._resolve_chat(call.params["chat_id"])
        if call.params["action"] not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request", violation=True)
        return True

    def _m_get_file(self, call: _Call) -> JSONDict:
        stored = self._files.get(call.params["file_id"])
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        return stored.as_file()

    def _full_chat(self, chat_id: int) -> JSONDict:
        data = self._chat_dict(chat_id)
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types=dict(_ALL_PERMISSIONS_GIFTS),
        )
        return data

    def _m_get_chat(self, call: _Call) -> JSONDict:
        return self._full_chat(self._resolve_chat(call.params["chat_id"], write=False))

    def _member_status(self, chat_id: int, user_id: int) -> str:
        if user_id == self.bot_id:
            return "member" if chat_id > 0 else self._bot_status.get(chat_id, "member")
        if chat_id > 0:
            return "member" if user_id == chat_id else "left"
        return self._members.get(chat_id, {}).get(user_id, "left")

    def _m_get_chat_member(self, call: _Call) -> JSONDict:
        chat_id = self._resolve_chat(call.params["chat_id"], write=False)
        user_id = int(call.params["user_id"])
        if user_id == self.bot_id:
            user = self.bot_user
        elif user_id in self._users:
            user = self._users[user_id].to_dict()
        else:
            raise _bad("user not found")
        if chat_id > 0 and user_id not in (chat_id, self.bot_id):
            raise _bad("user not found")
        return self._member_dict(user, self._member_status(chat_id, user_id))

    def _m_get_chat_administrators(self, call: _Call) -> list[JSONDict]:
        chat_id = self._resolve_chat(call.params["chat_id"], write=False)
        if chat_id > 0:
            raise _bad("there are no administrators in the private chat")
        admins = [
            self._member_dict(self._users[user_id].to_dict(), status)
            for user_id, status in self._members[chat_id].items()
            if status in ("creator", "administrator")
        ]
        if self._bot_status.get(chat_id) == "administrator":
            admins.append(self._member_dict(self.bot_user, "administrator"))
        return admins

    def _m_get_chat_member_count(self, call: _Call) -> int:
        chat_id = self._resolve_chat(call.params["chat_id"], write=False)
        if chat_id > 0:
            return 2
        present = [s for s in self._members[chat_id].values() if s not in ("left", "kicked")]
        return len(present) + 1

    def _m_leave_chat(self, call: _Call) -> bool:
        chat_id = self._resolve_chat(call.params["chat_id"], write=False)
        if chat_id > 0:
            raise _bad("chat member status can't be changed in private chats")
        old = self._bot_status.get(chat_id, "member")
        self._bot_status[chat_id] = "left"
        payload = {
            "chat": self._chat_dict(chat_id),
            "from": self.bot_user,
            "date": int(time.time()),
            "old_chat_member": self._member_dict(self.bot_user, old),
            "new_chat_member": self._member_dict(self.bot_user, "left"),
        }
        self._queue_update("my_chat_member", payload)
        return True

    def _command_scope(self, scope: Any) -> str:
        if scope is None:
            return self._scope_key(None)
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise _bad("can't parse BotCommandScope JSON object", violation=True)
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            if "chat_id" not in scope:
                raise _bad("chat_id is empty", violation=True)
            self._resolve_chat(scope["chat_id"], write=False)
        if scope["type"] == "chat_member" and "user_id" not in scope:
            raise _bad("user_id is empty", violation=True)
        return self._scope_key(scope)

    def _language(self, call: _Call) -> str:
        language = call.params.get("language_code") or ""
        if language and not _LANG_RE.fullmatch(language):
            raise _bad("invalid language code specified", violation=True)
        return language

    def _m_set_my_commands(self, call: _Call) -> bool:
        commands = call.params["commands"]
        key = (self._command_scope(call.params.get("scope")), self._language(call))
        if len(commands) > 100:
            raise _bad("too many commands specified", violation=True)
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict) or set(command) != {"command", "description"}:
                raise _bad("can't parse BotCommand JSON object", violation=True)
            if not isinstance(command["command"], str) or not _COMMAND_RE.fullmatch(
                command["command"]
            ):
                raise _bad("BOT_COMMAND_INVALID", violation=True)
            description = command["description"]
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID", violation=True)
            cleaned.append({"command": command["command"], "description": description})
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    def _m_get_my_commands(self, call: _Call) -> list[JSONDict]:
        key = (self._command_scope(call.params.get("scope")), self._language(call))
        return copy.deepcopy(self.commands.get(key, []))

    def _m_delete_my_commands(self, call: _Call) -> bool:
        key = (self._command_scope(call.params.get("scope")), self._language(call))
        self.commands.pop(key, None)
        return True

    def _m_set_chat_menu_button(self, call: _Call) -> bool:
        chat_id = call.params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id, write=False)
            if chat_id < 0:
                raise _bad("menu button can be set only in private chats", violation=True)
        button = call.params.get("menu_button") or {"type": "default"}
        if button.get("type") not in ("commands", "web_app", "default"):
            raise _bad("can't parse MenuButton JSON object", violation=True)
        if button["type"] == "web_app":
            if not button.get("text"):
                raise _bad("can't parse MenuButton JSON object", violation=True)
            self._check_mini_app_url(str((button.get("web_app") or {}).get("url") or ""))
        self.menu_buttons[chat_id] = copy.deepcopy(button)
        return True

    def _m_get_chat_menu_button(self, call: _Call) -> JSONDict:
        chat_id = call.params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id, write=False)
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        return copy.deepcopy(button) if button else {"type": "commands"}

    def _set_bot_text(self, call: _Call, store: dict[str, str], key: str, limit: int) -> bool:
        value = call.params.get(key) or ""
        language = self._language(call)
        if len(value) > limit:
            raise _bad(f"{key.replace('_', ' ')} is too long", violation=True)
        if value:
            store[language] = value
        else:
            store.pop(language, None)
        return True

    def _m_set_my_description(self, call: _Call) -> bool:
        return self._set_bot_text(call, self.descriptions, "description", 512)

    def _m_set_my_short_description(self, call: _Call) -> bool:
        return self._set_bot_text(call, self.short_descriptions, "short_description", 120)

    def _m_set_my_name(self, call: _Call) -> bool:
        return self._set_bot_text(call, self.names, "name", 64)

    def _m_get_my_description(self, call: _Call) -> JSONDict:
        return {"description": self.descriptions.get(self._language(call), "")}

    def _m_get_my_short_description(self, call: _Call) -> JSONDict:
        return {"short_description": self.short_descriptions.get(self._language(call), "")}

    def _m_get_my_name(self, call: _Call) -> JSONDict:
        return {"name": self.names.get(self._language(call), self.bot_first_name)}

    def _forum_for_bot(self, call: _Call, right: str) -> int:
        chat_id = self._resolve_chat(call.params["chat_id"])
        group = self._groups.get(chat_id)
        if group is None or not group.is_forum:
            raise _bad("the chat is not a forum")
        if self._bot_status.get(chat_id) != "administrator":
            raise _bad(f"not enough rights to {right} a topic")
        return chat_id

    def _m_create_forum_topic(self, call: _Call) -> JSONDict:
        p = call.params
        chat_id = self._forum_for_bot(call, "create")
        name = p["name"]
        if not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG", violation=True)
        color = p.get("icon_color", 0x6FB9F0)
        if color not in TOPIC_ICON_COLORS:
            raise _bad("TOPIC_ICON_COLOR_INVALID", violation=True)
        message = self._open_topic(chat_id, self.bot_user, name, color)
        self._messages_signal.notify()
        return copy.deepcopy(self._topics[chat_id][message["message_id"]])

    def _m_delete_forum_topic(self, call: _Call) -> bool:
        chat_id = self._forum_for_bot(call, "delete")
        thread_id = int(call.params["message_thread_id"])
        if thread_id not in self._topics[chat_id]:
            raise _bad(THREAD_NOT_FOUND)
        self._close_topic(chat_id, thread_id)
        return True

    def _m_true(self, call: _Call) -> bool:
        return True

    _handlers: ClassVar[dict[str, Callable[[FakeBotApi, _Call], Any]]] = {
        "getMe": _m_get_me,
        "setWebhook": _m_set_webhook,
        "deleteWebhook": _m_delete_webhook,
        "getWebhookInfo": _m_get_webhook_info,
        "close": _m_true,
        "logOut": _m_true,
        "sendMessage": _m_send_message,
        "sendDocument": _m_send_document,
        "sendPhoto": _m_send_photo,
        "sendMediaGroup": _m_send_media_group,
        "copyMessage": _m_copy_message,
        "forwardMessage": _m_forward_message,
        "editMessageText": _m_edit_message_text,
        "editMessageCaption": _m_edit_message_caption,
        "editMessageReplyMarkup": _m_edit_message_reply_markup,
        "deleteMessage": _m_delete_message,
        "deleteMessages": _m_delete_messages,
        "answerCallbackQuery": _m_answer_callback_query,
        "sendChatAction": _m_send_chat_action,
        "getFile": _m_get_file,
        "getChat": _m_get_chat,
        "getChatMember": _m_get_chat_member,
        "getChatAdministrators": _m_get_chat_administrators,
        "getChatMemberCount": _m_get_chat_member_count,
        "leaveChat": _m_leave_chat,
        "setMyCommands": _m_set_my_commands,
        "getMyCommands": _m_get_my_commands,
        "deleteMyCommands": _m_delete_my_commands,
        "setChatMenuButton": _m_set_chat_menu_button,
        "getChatMenuButton": _m_get_chat_menu_button,
        "setMyDescription": _m_set_my_description,
        "setMyShortDescription": _m_set_my_short_description,
        "setMyName": _m_set_my_name,
        "getMyDescription": _m_get_my_description,
        "getMyShortDescription": _m_get_my_short_description,
        "getMyName": _m_get_my_name,
        "createForumTopic": _m_create_forum_topic,
        "deleteForumTopic": _m_delete_forum_topic,
    }
