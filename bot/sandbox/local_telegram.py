"""The local Bot API server as the sandbox runs it: on the sandbox's clock, telling the
world of every message, edit, deletion and callback answer, and kept in the data folder
so that chats, messages and files are there again after a restart.

The server itself (bot/sandbox/telegram) stays what the tests drive; this subclass only
adds what a place people come back to needs.
"""

from __future__ import annotations

import copy
import json
import logging
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bot.sandbox.clock import MovableClock
from bot.sandbox.telegram import FakeBotApi, FakeChat, FakeUser, RateLimits
from bot.sandbox.telegram.server import JSONDict, _Call, _image_size, _public, _StoredFile
from bot.services.desk import sign_init_data

log = logging.getLogger(__name__)


# Where a stored message keeps the ForceReply it was sent with (private: "_" keys are
# never shown to the bot, but they are saved with the message, so a restart keeps it).
_FORCE_REPLY = "_force_reply"


def _force_reply(markup: Any) -> JSONDict | None:
    """The ForceReply of a send's `reply_markup` parameter (JSON text or object), if any."""
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return None
    if isinstance(markup, dict) and markup.get("force_reply") is True:
        return markup
    return None


def _view(message: JSONDict) -> JSONDict:
    """A message as the web chat sees it: the Bot API's Message, plus the ForceReply the
    bot sent it with. Telegram's Message has no place for that markup, but its apps act on
    it (they open the reply box); the page needs it to do the same."""
    view = _public(message)
    markup = message.get(_FORCE_REPLY)
    if isinstance(markup, dict):
        view["reply_markup"] = markup
    return view


# (kind, chat_id, payload): "message", "edit", "delete" and "answer" (then chat_id is
# the id of the person who pressed, and payload holds the query id and the answer).
Listener = Callable[[str, int, JSONDict], None]

SANDBOX_TOKEN = "7000000001:sandbox-local-telegram-no-network"  # noqa: S105 - not a secret
SANDBOX_USERNAME = "dieuphoi_sandbox_bot"
SANDBOX_BOT_NAME = "Điều phối"
_STATE_VERSION = 1
# The server's record of API calls, kept to this many (the tests keep them all).
_KEEP_CALLS = 1000


# The colours Telegram's light theme gives a Mini App (tgWebAppThemeParams).
MINI_APP_THEME = {
    "bg_color": "#ffffff",
    "secondary_bg_color": "#f1f1f1",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
}


class LocalTelegram(FakeBotApi):
    def __init__(self, clock: MovableClock, state_file: Path | None = None) -> None:
        super().__init__(
            token=SANDBOX_TOKEN,
            bot_username=SANDBOX_USERNAME,
            bot_first_name=SANDBOX_BOT_NAME,
            limits=RateLimits(),
            now=clock.monotonic,
        )
        self.clock = clock
        self.state_file = state_file
        self.mini_apps_over_http = True  # the sandbox's desk is on http://127.0.0.1
        self.listeners: list[Listener] = []
        # Who pressed which button (the query id): their answer is theirs alone.
        self.query_users: dict[str, int] = {}
        self.extra: JSONDict = {}  # the sandbox's own notes (its people), saved alongside
        self.changes = 0  # grows with every change worth saving
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # ------------------------------------------------------------------ telling the world
    def _tell(self, kind: str, chat_id: int, payload: JSONDict) -> None:
        self.changes += 1
        for listener in list(self.listeners):
            try:
                listener(kind, chat_id, payload)
            except Exception:  # one broken page must not break the bot's sends
                log.exception("sandbox listener failed")

    def _store_message(self, chat_id: int, sender: JSONDict | None, content: JSONDict) -> JSONDict:
        message = super()._store_message(chat_id, sender, content)
        message["date"] = int(self.clock.wall())
        self._tell("message", chat_id, copy.deepcopy(_view(message)))
        return message

    def _bot_message(
        self,
        call: _Call,
        chat_id: int,
        content: JSONDict,
        *,
        markup: JSONDict | None = None,
        reply: JSONDict | None = None,
    ) -> JSONDict:
        # The server keeps no markup for a ForceReply (Telegram's Message has no field for
        # it): the stored message keeps it aside, before the page is told of it.
        asked = _force_reply(call.params.get("reply_markup"))
        if asked is not None:
            content = {**content, _FORCE_REPLY: asked}
        message = super()._bot_message(call, chat_id, content, markup=markup, reply=reply)
        return _public(message)  # what the bot gets back is the Bot API's Message only

    def _apply_edit(self, stored: JSONDict, changes: dict[str, Any]) -> JSONDict:
        edited = super()._apply_edit(stored, changes)
        stored["edit_date"] = edited["edit_date"] = int(self.clock.wall())
        self._tell("edit", int(stored["chat"]["id"]), copy.deepcopy(_view(edited)))
        return edited

    def _delete_one(self, chat_id: int, message_id: int) -> bool:
        deleted = super()._delete_one(chat_id, message_id)
        if deleted:
            self._tell("delete", chat_id, {"message_id": message_id})
        return deleted

    def _record_call(self, method: str, params: JSONDict, status: int, body: JSONDict) -> None:
        super()._record_call(method, params, status, body)
        if len(self.calls) > _KEEP_CALLS * 2:
            # A sandbox runs for days and polls all the while: keep the recent calls only.
            del self.calls[:-_KEEP_CALLS], self._call_notes[:-_KEEP_CALLS]
            del self.polls[:-_KEEP_CALLS]
        if method == "answerCallbackQuery" and status == 200:
            query_id = str(params.get("callback_query_id"))
            user_id = self.query_users.pop(query_id, None)
            if user_id is not None:
                answer = {
                    "query_id": query_id,
                    "text": params.get("text"),
                    "show_alert": bool(params.get("show_alert")),
                }
                self._tell("answer", user_id, answer)
        elif method in ("setMyCommands", "deleteMyCommands") and status == 200:
            self.changes += 1

    def press(self, user: FakeUser, chat_id: int, message_id: int, data: str) -> str:
        """The person presses a button of a message shown to them; returns the query id."""
        stored = self._messages.get(chat_id, {}).get(message_id)
        if stored is None:
            raise KeyError(message_id)
        update = self.press_button(user, stored, data)
        query_id = str(update["callback_query"]["id"])
        self.query_users[query_id] = user.id
        return query_id

    def open_mini_app(self, user: FakeUser, chat_id: int, message_id: int, url: str) -> str:
        """The person presses a message's Mini App (web_app) button: the address Telegram
        opens, its launch parameters in the fragment — initData signed with the bot's
        token as Telegram signs it (the desk checks it as it would Telegram's)."""
        stored = self._messages.get(chat_id, {}).get(message_id)
        offered = [
            (button.get("web_app") or {}).get("url")
            for row in ((stored or {}).get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        if url not in offered:
            raise KeyError(url)
        self._query_seq += 1
        fields = {
            "query_id": f"AAQ{self._query_seq:012d}",
            "user": json.dumps(
                {
                    key: value
                    for key, value in user.to_dict().items()
                    if key in ("id", "first_name", "last_name", "username", "language_code")
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            "auth_date": str(int(self.clock.now().timestamp())),
        }
        launch = urlencode(
            {
                "tgWebAppData": sign_init_data(fields, self.token),
                "tgWebAppVersion": "8.0",
                "tgWebAppPlatform": "web",
                "tgWebAppThemeParams": json.dumps(MINI_APP_THEME, separators=(",", ":")),
            }
        )
        return f"{url}#{launch}"

    def send_file(
        self,
        user: FakeUser,
        chat: FakeChat | None,
        file_name: str,
        content: bytes,
        caption: str | None,
        reply_to: JSONDict | None,
        *,
        photo: bool,
    ) -> JSONDict:
        """The person sends a document, or a photo (`photo`: a JPEG or PNG sent as one),
        optionally as a reply; returns the Update (see `send_message`)."""
        chat_id = self._sender_chat(user, chat)
        size = _image_size(content) if photo else None
        if size is not None:
            stored = self._register_file(
                content, kind="photo", file_name=None, mime_type="image/jpeg", size=size
            )
            body: JSONDict = {"photo": stored.as_photo()}
        else:
            mime = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
            stored = self._register_file(
                content, kind="document", file_name=file_name, mime_type=mime
            )
            body = {"document": stored.as_document()}
        if caption:
            body["caption"] = caption
            entities = self._command_entities(caption)
            if entities:
                body["caption_entities"] = entities
        if reply_to is not None:
            body["reply_to_message"] = self._reply_snapshot_for_injection(chat_id, reply_to)
        message = self._store_message(chat_id, user.to_dict(), body)
        return self._deliver_user_message(chat_id, message)

    def _violation(self, text: str) -> None:
        # The bot broke the Bot API's contract: the tests fail on it; the sandbox says so.
        super()._violation(text)
        log.warning("Bot API contract violation: %s", text)

    # ------------------------------------------------------------------ what the world reads
    def user(self, user_id: int) -> FakeUser | None:
        return self._users.get(user_id)

    def group(self, chat_id: int) -> FakeChat | None:
        return self._groups.get(chat_id)

    def groups_of(self, user_id: int) -> list[FakeChat]:
        return [
            self._groups[chat_id]
            for chat_id, members in self._members.items()
            if members.get(user_id) in ("creator", "administrator", "member")
            and chat_id not in self._migrated
        ]

    def members_of(self, chat_id: int) -> frozenset[int]:
        if chat_id > 0:
            return frozenset({chat_id})
        return frozenset(
            user_id
            for user_id, status in self._members.get(chat_id, {}).items()
            if status in ("creator", "administrator", "member")
        )

    def history(
        self, chat_id: int, before: int | None = None, limit: int | None = None
    ) -> tuple[list[JSONDict], bool]:
        """The chat's messages older than `before` (all: None), oldest first, the newest
        `limit` of them as Telegram shows them, and whether older ones remain. Only those
        are copied: a chat of thousands of messages is read a page at a time."""
        stored = self._messages.get(chat_id, {})
        ids = sorted(i for i in stored if before is None or i < before)
        page = ids if limit is None else ids[-limit:] if limit > 0 else []
        return [copy.deepcopy(_view(stored[i])) for i in page], len(page) < len(ids)

    def unread(self, chat_id: int, after: int, reader: int) -> int:
        """Messages after `after` that `reader` did not write."""
        return sum(
            1
            for message_id, message in self._messages.get(chat_id, {}).items()
            if message_id > after and (message.get("from") or {}).get("id") != reader
        )

    def last(self, chat_id: int) -> JSONDict | None:
        stored = self._messages.get(chat_id, {})
        return copy.deepcopy(_view(stored[max(stored)])) if stored else None

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        message = self._messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(_view(message)) if message is not None else None

    def stored_file(self, file_id: str) -> _StoredFile | None:
        return self._files.get(file_id)

    def join(self, group: FakeChat, user: FakeUser, status: str = "member") -> None:
        self.set_chat_member_status(group, user, status)
        self.changes += 1

    # ------------------------------------------------------------------ kept on disk
    def save(self) -> None:
        """Write the world to the state file (atomically: a crash leaves the old one)."""
        if self.state_file is None:
            return
        files_dir = self.state_file.with_name("files")
        files_dir.mkdir(exist_ok=True)
        files = []
        for stored in self._files.values():
            blob = files_dir / stored.file_unique_id
            if not blob.exists():
                blob.write_bytes(stored.content)
            files.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_path": stored.file_path,
                    "file_name": stored.file_name,
                    "mime_type": stored.mime_type,
                    "kind": stored.kind,
                    "width": stored.width,
                    "height": stored.height,
                }
            )
        state = {
            "version": _STATE_VERSION,
            "users": [u.__dict__ for u in self._users.values()],
            "groups": [g.__dict__ for g in self._groups.values()],
            "members": {
                str(k): {str(u): s for u, s in v.items()} for k, v in self._members.items()
            },
            "bot_status": {str(k): v for k, v in self._bot_status.items()},
            "migrated": {str(k): v for k, v in self._migrated.items()},
            "started": sorted(self._started),
            "blocked": sorted(self._blocked),
            "messages": {
                str(chat_id): list(messages.values())
                for chat_id, messages in self._messages.items()
            },
            "next_message_id": {str(k): v for k, v in self._next_message_id.items()},
            "files": files,
            "updates": self._updates,
            "commands": [[scope, lang, cmds] for (scope, lang), cmds in self.commands.items()],
            "seq": {
                "user": self._user_seq,
                "group": self._group_seq,
                "update": self._update_seq,
                "query": self._query_seq,
                "file": self._file_seq,
                "media_group": self._media_group_seq,
            },
            "extra": self.extra,
        }
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False), "utf-8")
        temporary.replace(self.state_file)

    def _load(self, state_file: Path) -> None:
        state = json.loads(state_file.read_text("utf-8"))
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"{state_file} was written by another version of the sandbox")
        self._users = {u["id"]: FakeUser(**u) for u in state["users"]}
        self._groups = {g["id"]: FakeChat(**g) for g in state["groups"]}
        self._members = {
            int(k): {int(u): s for u, s in v.items()} for k, v in state["members"].items()
        }
        self._bot_status = {int(k): v for k, v in state["bot_status"].items()}
        self._migrated = {int(k): v for k, v in state["migrated"].items()}
        self._started = set(state["started"])
        self._blocked = set(state["blocked"])
        self._messages = {
            int(chat_id): {int(m["message_id"]): m for m in messages}
            for chat_id, messages in state["messages"].items()
        }
        self._next_message_id = {int(k): v for k, v in state["next_message_id"].items()}
        files_dir = state_file.with_name("files")
        for row in state["files"]:
            content = (files_dir / row["file_unique_id"]).read_bytes()
            stored = _StoredFile(content=content, **row)
            self._files[stored.file_id] = stored
            self._files_by_path[stored.file_path] = stored
        self._updates = state["updates"]
        self.commands = {(scope, lang): cmds for scope, lang, cmds in state["commands"]}
        seq = state["seq"]
        self._user_seq, self._group_seq = seq["user"], seq["group"]
        self._update_seq, self._query_seq = seq["update"], seq["query"]
        self._file_seq, self._media_group_seq = seq["file"], seq["media_group"]
        self.extra = state.get("extra", {})
