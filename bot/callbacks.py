"""Inline-button data: defined and parsed here, and nowhere else.

Telegram gives a button at most 64 bytes of `callback_data`, and anyone can forge it,
so the data carries only ids and a choice, never rights: whoever presses is checked
on the server at the moment of the press. Every value starts with a format version
("1"), so buttons on old messages can be recognised after the format changes.

    1:t:42:d   task 42, status "done"      (✅ 🟢 🟠 🔴 → d g a b)
    1:m:7:y    meeting 7, answer "attend"  (✅ ❌ 👤 → y n p)
    1:a:9:ok   announcement 9, "received"  (👍)
    1:b:9:s    announcement 9 previewed: send (📣) or cancel (✖️) → s x
    1:w:3:15   absence 3: member 15 stands in ("n": nobody)
    1:f:5:42   report file 5 (sent with no context) is for task 42
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

VERSION = "1"
MAX_BYTES = 64


class TaskStatus(enum.StrEnum):
    DONE = "d"
    ON_TRACK = "g"
    AT_RISK = "a"
    BLOCKED = "b"

    @property
    def emoji(self) -> str:
        return _TASK_EMOJI[self]


_TASK_EMOJI = {
    TaskStatus.DONE: "✅",
    TaskStatus.ON_TRACK: "🟢",
    TaskStatus.AT_RISK: "🟠",
    TaskStatus.BLOCKED: "🔴",
}


class Rsvp(enum.StrEnum):
    ATTEND = "y"
    ABSENT = "n"
    DELEGATE = "p"

    @property
    def emoji(self) -> str:
        return _RSVP_EMOJI[self]


_RSVP_EMOJI = {Rsvp.ATTEND: "✅", Rsvp.ABSENT: "❌", Rsvp.DELEGATE: "👤"}


@dataclass(frozen=True)
class TaskPress:
    task_id: int
    status: TaskStatus


@dataclass(frozen=True)
class MeetingPress:
    meeting_id: int
    answer: Rsvp


@dataclass(frozen=True)
class AnnouncementPress:
    announcement_id: int


class BroadcastAction(enum.StrEnum):
    SEND = "s"
    CANCEL = "x"


@dataclass(frozen=True)
class BroadcastPress:
    announcement_id: int
    action: BroadcastAction


@dataclass(frozen=True)
class StandInPress:
    absence_id: int
    stand_in_id: int | None  # None: nobody stands in


NOBODY = "n"


@dataclass(frozen=True)
class FilePress:
    """The task a report file sent with no context is for (bot/services/report_files.py)."""

    file_id: int
    task_id: int


Press = (
    TaskPress | MeetingPress | AnnouncementPress | BroadcastPress | StandInPress | FilePress
)


def encode(press: Press) -> str:
    match press:
        case TaskPress(task_id, status):
            data = f"{VERSION}:t:{task_id}:{status.value}"
        case MeetingPress(meeting_id, answer):
            data = f"{VERSION}:m:{meeting_id}:{answer.value}"
        case AnnouncementPress(announcement_id):
            data = f"{VERSION}:a:{announcement_id}:ok"
        case BroadcastPress(announcement_id, action):
            data = f"{VERSION}:b:{announcement_id}:{action.value}"
        case StandInPress(absence_id, stand_in_id):
            choice = NOBODY if stand_in_id is None else str(stand_in_id)
            data = f"{VERSION}:w:{absence_id}:{choice}"
        case FilePress(file_id, task_id):
            data = f"{VERSION}:f:{file_id}:{task_id}"
    if len(data.encode()) > MAX_BYTES:  # ids are database integers: cannot happen in practice
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> Press | None:
    """The press a button's data stands for, or None for garbage or an old format."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != VERSION or not _is_id(parts[2]):
        return None
    _, kind, raw_id, choice = parts
    item_id = int(raw_id)
    try:
        if kind == "t":
            return TaskPress(item_id, TaskStatus(choice))
        if kind == "m":
            return MeetingPress(item_id, Rsvp(choice))
        if kind == "b":
            return BroadcastPress(item_id, BroadcastAction(choice))
    except ValueError:
        return None
    if kind == "a" and choice == "ok":
        return AnnouncementPress(item_id)
    if kind == "w" and (choice == NOBODY or _is_id(choice)):
        return StandInPress(item_id, None if choice == NOBODY else int(choice))
    if kind == "f" and _is_id(choice):
        return FilePress(item_id, int(choice))
    return None


def _is_id(text: str) -> bool:
    # ASCII digits only (str.isdigit accepts other scripts), no leading zeros, sane size.
    return text.isascii() and text.isdigit() and len(text) <= 18 and text == str(int(text))
