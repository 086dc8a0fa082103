"""A small in-memory `SandboxWorld` for testing the web chat on its own (no bot, no
database, no Bot API server): four people, their private chats with a scripted bot, a
council group, and a long archive group for paging.

The scripted bot answers like the real one where the page must cope with it: a reminder
with bold and a link, buttons answered with a toast or an alert, a ForceReply question, an
edit in place, a document and a photo, a message due at the next clock step.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import socket
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.formats import format_moment
from bot.sandbox.world import (
    ChatSummary,
    Clock,
    ClockStep,
    Event,
    JSONDict,
    Person,
    SandboxRefusal,
    Step,
)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
BOT: JSONDict = {"id": 7000, "is_bot": True, "first_name": "Điều phối", "username": "dieuphoi_bot"}
OFFICER = Person(1001, "Trần Thị Hồng", "Chuyên viên chính", "", True, "vi", True)
AN = Person(1002, "Nguyễn Văn An", "Vụ trưởng", "Bộ Tài chính", False, "vi", True)
CHAU = Person(1003, "Lê Minh Châu", "Phó Giám đốc Sở", "UBND tỉnh Bắc Ninh", False, "en", True)
DUNG = Person(1004, "Phạm Quốc Dũng", "Chánh Văn phòng", "UBND tỉnh Hưng Yên", False, "vi", False)
PEOPLE = [OFFICER, AN, CHAU, DUNG]
COUNCIL = -1001001
ARCHIVE = -1002002
START = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 08:30 in Hanoi, a Thursday
XLSX = b"PK\x03\x04 not really a workbook"
CHART_SIZE = (480, 270)


@functools.cache
def chart_png() -> bytes:
    """A small bar chart (reported in green over not yet in amber, per agency), drawn
    pixel by pixel so the stub needs no plotting library: the digest's picture."""
    width, height = CHART_SIZE
    bars = [(0.9, 0.1), (0.75, 0.2), (0.6, 0.3), (0.85, 0.05), (0.5, 0.4), (0.7, 0.15)]
    white, grid, green, amber = b"\xff\xff\xff", b"\xe6\xea\xee", b"\x4f\xae\x4e", b"\xf5\xa6\x23"
    base, top, left, slot = height - 30, 20, 40, (width - 60) // len(bars)
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # PNG filter: none
        for x in range(width):
            colour = grid if y >= top and (base - y) % 44 == 0 and x >= left else white
            index, within = divmod(x - left, slot)
            if 0 <= index < len(bars) and 12 <= within < slot - 12 and top <= y < base:
                done, pending = bars[index]
                level = (base - y) / (base - top)
                colour = green if level < done else amber if level < done + pending else colour
            row += colour
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


ALERT = "Chỉ Cơ quan thường trực mới có thể hủy nhiệm vụ này."
TOAST = "Đã ghi nhận: Đã hoàn thành"
BUSY = "Đã ghi nhận: Đang thực hiện"
QUESTION = "📝 Vui lòng trả lời tin nhắn này bằng nội dung ghi chú cho nhiệm vụ #7."
PLACEHOLDER = "Ghi chú cho nhiệm vụ #7"
NOTED = "📝 Đã ghi nhận ghi chú cho nhiệm vụ #7."
READ_ONLY = "Nhóm lưu trữ chỉ để đọc: Quý vị không gửi được tin nhắn vào đây."
DUE_TEXT = "📅 Nhắc lịch họp: Phiên họp thứ ba của Hội đồng"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def rich(*pieces: tuple[str, str | None] | tuple[str, str, str]) -> tuple[str, list[JSONDict]]:
    """Text and its entities from (piece, entity type[, url]) pieces, offsets in UTF-16."""
    text, entities = "", []
    for piece in pieces:
        part, kind = piece[0], piece[1]
        if kind is not None:
            entity: JSONDict = {"type": kind, "offset": utf16(text), "length": utf16(part)}
            if kind == "text_link":
                entity["url"] = piece[2]  # type: ignore[misc]
            entities.append(entity)
        text += part
    return text, entities


def _user(person: Person) -> JSONDict:
    first, _, last = person.name.rpartition(" ")
    return {"id": person.id, "is_bot": False, "first_name": last, "last_name": first,
            "language_code": person.language}  # fmt: skip


class FakeWorld:
    def __init__(self, archive: int = 2000) -> None:
        self.now = START
        self._people = {person.id: person for person in PEOPLE}
        self.started: set[int] = set()  # pressed Start here (Dũng had not)
        self._chats: dict[int, JSONDict] = {}
        self._members: dict[int, frozenset[int]] = {}
        self._messages: dict[int, list[JSONDict]] = {}
        self._read: dict[tuple[int, int], int] = {}
        self._files: dict[str, tuple[str, str, bytes]] = {}
        self._listeners: list[asyncio.Queue[Event | None]] = []
        self._done: set[tuple[int, str]] = set()
        self._due: list[tuple[datetime, int, str]] = [
            (START + timedelta(hours=5), COUNCIL, DUE_TEXT)
        ]
        self.sent: list[tuple[int, int, str]] = []
        for person in PEOPLE:
            self._open(person.id, {"id": person.id, "type": "private", "first_name": person.name})
            self._members[person.id] = frozenset({person.id})
        self._open(COUNCIL, {"id": COUNCIL, "type": "supergroup",
                             "title": "Hội đồng điều phối vùng Đồng bằng sông Hồng"})  # fmt: skip
        self._members[COUNCIL] = frozenset(person.id for person in PEOPLE)
        self._open(ARCHIVE, {"id": ARCHIVE, "type": "supergroup", "title": "Lưu trữ bản tin"})
        self._members[ARCHIVE] = frozenset({OFFICER.id, AN.id})
        self._seed(archive)

    # -- the world as the page sees it ------------------------------------------------

    async def people(self) -> list[Person]:
        return [replace(p, registered=True) if p.id in self.started else p for p in PEOPLE]

    async def bot_user(self) -> JSONDict:
        return dict(BOT)

    async def chats_of(self, user_id: int) -> list[ChatSummary]:
        ids = [user_id] + [c for c in (COUNCIL, ARCHIVE) if user_id in self._members[c]]
        summaries = []
        for chat_id in ids:
            chat, messages = self._chats[chat_id], self._messages[chat_id]
            read = self._read.get((user_id, chat_id), 0)
            unread = sum(
                1 for m in messages if m["message_id"] > read and m["from"]["id"] != user_id
            )
            summaries.append(
                ChatSummary(
                    chat_id,
                    chat["type"],
                    chat.get("title") or BOT["first_name"],
                    messages[-1] if messages else None,
                    unread,
                )
            )
        return summaries

    async def messages(
        self, user_id: int, chat_id: int, before: int | None, limit: int
    ) -> tuple[list[JSONDict], bool]:
        messages = self._in(user_id, chat_id)
        older = [m for m in messages if before is None or m["message_id"] < before]
        page = older[-limit:]
        return copy.deepcopy(page), len(older) > len(page)

    async def mark_read(self, user_id: int, chat_id: int, message_id: int) -> None:
        self._in(user_id, chat_id)
        key = (user_id, chat_id)
        self._read[key] = max(self._read.get(key, 0), message_id)

    async def commands_for(self, user_id: int, chat_id: int) -> list[JSONDict]:
        person = self._people[user_id]
        english = person.language == "en"
        commands = [
            {"command": "start", "description": "Start" if english else "Bắt đầu"},
            {"command": "tasks", "description": "My tasks" if english else "Nhiệm vụ của tôi"},
            {"command": "help", "description": "Help" if english else "Hướng dẫn sử dụng"},
        ]
        if person.is_admin:
            commands.append({"command": "digest", "description": "Bản tổng hợp của Hội đồng"})
            commands.append({"command": "announce", "description": "Gửi thông báo"})
        return commands

    async def send_text(
        self, user_id: int, chat_id: int, text: str, reply_to: int | None
    ) -> JSONDict:
        self._in(user_id, chat_id)
        if not text.strip():
            raise SandboxRefusal("Tin nhắn trống")
        if utf16(text) > 4096:
            raise SandboxRefusal("Tin nhắn quá dài")
        if chat_id == ARCHIVE:
            raise SandboxRefusal(READ_ONLY, status=403)
        self.sent.append((user_id, chat_id, text))
        if chat_id == user_id and text.startswith("/start"):
            self.started.add(user_id)
        message = self._post(chat_id, _user(self._people[user_id]), text, reply_to=reply_to)
        asyncio.get_running_loop().call_soon(self._answer, user_id, chat_id, message)
        return copy.deepcopy(message)

    async def send_file(
        self, user_id: int, chat_id: int, file_name: str, content: bytes, caption: str,
        reply_to: int | None,
    ) -> JSONDict:  # fmt: skip
        self._in(user_id, chat_id)
        file_id = self._store(file_name, "application/octet-stream", content)
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": file_name,
                    "file_size": len(content)}  # fmt: skip
        message = self._post(
            chat_id, _user(self._people[user_id]), None, reply_to=reply_to, caption=caption,
            document=document,
        )  # fmt: skip
        self.sent.append((user_id, chat_id, f"file:{file_name}:{len(content)}"))
        return copy.deepcopy(message)

    async def open_mini_app(self, user_id: int, chat_id: int, message_id: int, url: str) -> str:
        self._find(user_id, chat_id, message_id)
        return f"{url}#tgWebAppData=stub"

    async def press(
        self, user_id: int, chat_id: int, message_id: int, data: str
    ) -> JSONDict | None:
        message = self._find(user_id, chat_id, message_id)
        if data == "st:done:7":
            text, entities = message["text"].split("\n\n✅")[0], message["entities"]
            text += "\n\n✅ Đã báo cáo: Đã hoàn thành"
            message.update(text=text, entities=entities, edit_date=int(self.now.timestamp()))
            self._emit(Event("edit", copy.deepcopy(message), chat_id, None, self._members[chat_id]))
            self._check(user_id, "answer-reminder")
            return {"text": TOAST, "show_alert": False}
        if data == "note:7":
            question = self._post(
                chat_id, BOT, QUESTION, reply_to=message_id,
                reply_markup={"force_reply": True, "selective": True,
                              "input_field_placeholder": PLACEHOLDER},
            )  # fmt: skip
            self._question = question["message_id"]
            return {"text": None, "show_alert": False}
        if data == "st:busy:7":
            return {"text": BUSY, "show_alert": False}
        if data == "cancel:7":
            return {"text": ALERT, "show_alert": True}
        return None

    async def file(self, file_id: str) -> tuple[str, str, bytes]:
        if file_id not in self._files:
            raise SandboxRefusal("Không tìm thấy tệp", status=404)
        return self._files[file_id]

    async def clock(self, user_id: int) -> Clock:
        language = self._people[user_id].language
        due = min((when for when, _, _ in self._due), default=None)
        return Clock(self.now.isoformat(), format_moment(self.now, HANOI, language),
                     due.isoformat() if due else None)  # fmt: skip

    async def move_clock(self, step: ClockStep, user_id: int) -> Clock:
        if step == "hour":
            self.now += timedelta(hours=1)
        elif step == "day":
            self.now += timedelta(days=1)
        elif self._due:
            self.now = max(self.now, min(when for when, _, _ in self._due))
        for due in [d for d in self._due if d[0] <= self.now]:
            self._due.remove(due)
            text, entities = rich((due[2], "bold"), ("\n🕘 14:00 · Phòng họp số 2, Bộ KH&ĐT", None))
            self._post(due[1], BOT, text, entities=entities)
        clock = await self.clock(user_id)
        self._emit(Event("clock", asdict(clock)))
        return clock

    async def steps(self, user_id: int) -> list[Step]:
        english = self._people[user_id].language == "en"
        rows = [
            ("answer-reminder", "Trả lời một lời nhắc", "Answer a reminder",
             "Bấm “Đã hoàn thành” dưới lời nhắc việc.", "Press “Done” under the reminder."),
            ("add-note", "Thêm ghi chú", "Add a note",
             "Bấm “Thêm ghi chú”, rồi trả lời câu hỏi của bot.",
             "Press “Add a note”, then reply to the bot's question."),
            ("post-digest", "Xem bản tổng hợp", "See the digest",
             "Gửi /digest trong nhóm của Hội đồng.", "Send /digest in the council's group."),
        ]  # fmt: skip
        return [
            Step(
                sid,
                en if english else vi,
                hint_en if english else hint_vi,
                (user_id, sid) in self._done,
            )
            for sid, vi, en, hint_vi, hint_en in rows
        ]

    async def events(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._listeners.append(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
            raise ConnectionError("the world's event feed broke")
        finally:
            self._listeners.remove(queue)

    # -- for tests ---------------------------------------------------------------------

    def bot_says(self, chat_id: int, text: str | None, **fields: Any) -> JSONDict:
        return self._post(chat_id, BOT, text, **fields)

    def emit(self, event: Event) -> None:
        self._emit(event)

    def break_events(self) -> None:
        """Every reader of `events()` fails, as when the runtime's feed breaks."""
        for queue in self._listeners:
            queue.put_nowait(None)

    # -- inside ------------------------------------------------------------------------

    def _seed(self, archive: int) -> None:
        for person in PEOPLE:
            if not person.registered:
                continue
            text, entities = rich(("Kính chào ", None), (person.name, "bold"),
                                  ("! Tôi là trợ lý điều phối của Hội đồng 👋", None))  # fmt: skip
            self._post(person.id, BOT, text, entities=entities)
        text, entities = rich(
            ("📝 Nhắc việc: nhiệm vụ của Quý cơ quan sắp đến hạn.", "bold"),
            ("\n\n#7 ", None),
            ("Báo cáo tình hình thực hiện Nghị quyết 57/NQ-CP quý IV/2026", "italic"),
            ("\n⏳ Hạn gửi báo cáo: thứ Sáu, ngày 11/12/2026 (còn 8 ngày)\n📄 Văn bản: ", None),
            ("Công văn số 6411/VPCP-KTTH", "text_link", "https://vanban.chinhphu.vn/"),
            ("\nĐề nghị Quý cơ quan báo cáo tình hình thực hiện bằng các nút bên dưới.", None),
        )
        keyboard = {"inline_keyboard": [
            [{"text": "✅ Đã hoàn thành", "callback_data": "st:done:7"},
             {"text": "⏳ Đang thực hiện", "callback_data": "st:busy:7"}],
            [{"text": "📝 Thêm ghi chú", "callback_data": "note:7"},
             {"text": "❌ Hủy nhiệm vụ", "callback_data": "cancel:7"}],
            [{"text": "📄 Xem văn bản", "url": "https://vanban.chinhphu.vn/"}],
        ]}  # fmt: skip
        self.reminder = self._post(AN.id, BOT, text, entities=entities, reply_markup=keyboard)
        sheet = self._store("nhiem-vu-hoi-dong.xlsx", "application/vnd.ms-excel", XLSX)
        self._post(AN.id, BOT, None, caption="📊 Danh sách nhiệm vụ của Hội đồng", document={
            "file_id": sheet, "file_unique_id": sheet, "file_name": "nhiem-vu-hoi-dong.xlsx",
            "file_size": len(XLSX)})  # fmt: skip
        chart = self._store("chart.png", "image/png", chart_png())
        text, entities = rich(("Bản tổng hợp tuần", "bold"), (": 12/15 cơ quan đã báo cáo", None))
        self._post(COUNCIL, BOT, None, caption=text, caption_entities=entities, photo=[
            {"file_id": chart, "file_unique_id": chart, "width": CHART_SIZE[0],
             "height": CHART_SIZE[1]}])  # fmt: skip
        for n in range(1, archive + 1):
            text, entities = rich((f"Bản tin số {n}", "bold"), (" · mọi việc đúng hạn", None))
            self._post(ARCHIVE, BOT, text, entities=entities, quiet=True)

    def _open(self, chat_id: int, chat: JSONDict) -> None:
        self._chats[chat_id] = chat
        self._messages[chat_id] = []

    def _in(self, user_id: int, chat_id: int) -> list[JSONDict]:
        if user_id not in self._people:
            raise SandboxRefusal("Không có người này", status=404)
        if chat_id not in self._members or user_id not in self._members[chat_id]:
            raise SandboxRefusal("Quý vị không ở trong cuộc trò chuyện này", status=403)
        return self._messages[chat_id]

    def _find(self, user_id: int, chat_id: int, message_id: int) -> JSONDict:
        for message in self._in(user_id, chat_id):
            if message["message_id"] == message_id:
                return message
        raise SandboxRefusal("Không tìm thấy tin nhắn", status=404)

    def _store(self, name: str, mime: str, content: bytes) -> str:
        file_id = f"f{len(self._files) + 1}"
        self._files[file_id] = (name, mime, content)
        return file_id

    def _post(
        self, chat_id: int, sender: JSONDict, text: str | None, *, reply_to: int | None = None,
        quiet: bool = False, **fields: Any,
    ) -> JSONDict:  # fmt: skip
        messages = self._messages[chat_id]
        message: JSONDict = {
            "message_id": (messages[-1]["message_id"] + 1) if messages else 1,
            "date": int(self.now.timestamp()),
            "chat": dict(self._chats[chat_id]),
            "from": dict(sender),
        }
        if text is not None:
            message["text"] = text
        if reply_to is not None:
            original = next((m for m in messages if m["message_id"] == reply_to), None)
            if original is not None:
                message["reply_to_message"] = {k: v for k, v in original.items()
                                               if k != "reply_to_message"}  # fmt: skip
        message.update({k: v for k, v in fields.items() if v})
        messages.append(message)
        if not quiet:
            event = Event("message", copy.deepcopy(message), chat_id, None, self._members[chat_id])
            self._emit(event)
        return message

    def _answer(self, user_id: int, chat_id: int, message: JSONDict) -> None:
        """The scripted bot's answer to a person's text."""
        text = message["text"]
        replied = message.get("reply_to_message", {}).get("message_id")
        if replied is not None and replied == getattr(self, "_question", None):
            self._post(chat_id, BOT, NOTED, reply_to=message["message_id"])
            self._check(user_id, "add-note")
        elif text.startswith("/digest"):
            self._check(user_id, "post-digest")
            reply, entities = rich(("Bản tổng hợp", "bold"), (": 12/15 cơ quan đã báo cáo.", None))
            self._post(chat_id, BOT, reply, entities=entities)
        elif text.startswith("/"):
            reply, entities = rich(("Lệnh ", None), (text.split()[0], "code"),
                                   (" đã được nhận.", None))  # fmt: skip
            self._post(chat_id, BOT, reply, entities=entities)

    def _check(self, user_id: int, step: str) -> None:
        self._done.add((user_id, step))

        async def push() -> None:
            steps = [asdict(s) for s in await self.steps(user_id)]
            self._emit(Event("steps", steps, None, user_id))

        asyncio.get_running_loop().create_task(push())

    def _emit(self, event: Event) -> None:
        for queue in self._listeners:
            queue.put_nowait(event)


@contextlib.asynccontextmanager
async def serve(world: Any, *, tell_port: bool = True) -> AsyncIterator[str]:
    """The web chat for `world` on a free port of 127.0.0.1; yields its base URL.
    `tell_port` False: the app is not told its port and reads it from each request."""
    from aiohttp import web

    from bot.sandbox.web import make_web_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = make_web_app(world, port) if tell_port else make_web_app(world)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
