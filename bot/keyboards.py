"""The inline keyboards of SPEC §3, as plain values (labels in the current language).

Services and the outbox renderer build `Keyboard`s; the Telegram edge turns them
into InlineKeyboardMarkup with `to_markup`.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot import callbacks
from bot.callbacks import (
    AnnouncementPress,
    BroadcastAction,
    BroadcastPress,
    FilePress,
    MeetingPress,
    Rsvp,
    StandInPress,
    TaskPress,
    TaskStatus,
)
from bot.i18n import _


@dataclass(frozen=True)
class Button:
    label: str
    data: str


Keyboard = tuple[tuple[Button, ...], ...]


def task_word(status: TaskStatus) -> str:
    return {
        TaskStatus.DONE: _("Done"),
        TaskStatus.ON_TRACK: _("On track"),
        TaskStatus.AT_RISK: _("At risk"),
        TaskStatus.BLOCKED: _("Blocked"),
    }[status]


def rsvp_word(answer: Rsvp) -> str:
    return {
        Rsvp.ATTEND: _("Attend"),
        Rsvp.ABSENT: _("Absent"),
        Rsvp.DELEGATE: _("Delegate"),
    }[answer]


def task_status_keyboard(task_id: int) -> Keyboard:
    """✅ done · 🟢 on track / 🟠 at risk · 🔴 blocked, two to a row (phones are narrow)."""
    buttons = [
        Button(f"{s.emoji} {task_word(s)}", callbacks.encode(TaskPress(task_id, s)))
        for s in TaskStatus
    ]
    return (tuple(buttons[:2]), tuple(buttons[2:]))


def rsvp_keyboard(meeting_id: int) -> Keyboard:
    return (
        tuple(
            Button(f"{a.emoji} {rsvp_word(a)}", callbacks.encode(MeetingPress(meeting_id, a)))
            for a in Rsvp
        ),
    )


def broadcast_keyboard(announcement_id: int) -> Keyboard:
    """📣 send · ✖️ cancel, under the preview."""
    return (
        (
            Button(
                _("📣 Send"),
                callbacks.encode(BroadcastPress(announcement_id, BroadcastAction.SEND)),
            ),
            Button(
                _("✖️ Cancel"),
                callbacks.encode(BroadcastPress(announcement_id, BroadcastAction.CANCEL)),
            ),
        ),
    )


def received_keyboard(announcement_id: int) -> Keyboard:
    """👍 received, under each copy."""
    return ((Button(_("👍 Received"), callbacks.encode(AnnouncementPress(announcement_id))),),)


def stand_in_keyboard(absence_id: int, candidates: list[tuple[int, str]]) -> Keyboard:
    """One button per member who may stand in (id, full name), then "nobody"."""
    rows = [
        (Button(f"👤 {name}", callbacks.encode(StandInPress(absence_id, member_id))),)
        for member_id, name in candidates
    ]
    rows.append((Button(_("✖️ Nobody"), callbacks.encode(StandInPress(absence_id, None))),))
    return tuple(rows)


def done_keyboard(task_id: int) -> Keyboard:
    """✅ alone, under the receipt of a report file: the status button of the task."""
    status = TaskStatus.DONE
    return (
        (
            Button(
                f"{status.emoji} {task_word(status)}", callbacks.encode(TaskPress(task_id, status))
            ),
        ),
    )


# A button label is one line on a phone: a long title is cut.
CHOICE_TITLE = 40


def file_choice_keyboard(file_id: int, tasks: list[tuple[int, str]]) -> Keyboard:
    """One button per open task (id, title): the task a file sent with no context is for."""
    rows = []
    for task_id, title in tasks:
        short = title if len(title) <= CHOICE_TITLE else title[: CHOICE_TITLE - 1] + "…"
        rows.append(
            (Button(f"#{task_id} · {short}", callbacks.encode(FilePress(file_id, task_id))),)
        )
    return tuple(rows)


def to_markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in keyboard]
    )


def desk_markup(web_url: str, opens: bool) -> InlineKeyboardMarkup | None:
    """The button that opens the desk as a Mini App (`opens`: Telegram would open the
    address: https, or the sandbox). A desk on http://127.0.0.1 for local use gets no
    button, only the link."""
    if not opens:
        return None
    label = _("Open the desk")  # not inside the f-string: pybabel would not see it there
    button = InlineKeyboardButton(f"🗂 {label}", web_app=WebAppInfo(web_url + "/"))
    return InlineKeyboardMarkup([[button]])
