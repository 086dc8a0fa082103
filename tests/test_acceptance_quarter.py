"""A quarter read as the standing agency reads it (issue 10's check, as a test).

From Monday 15/12/2025 to the end of March 2026 — across the 2026 New Year swap (Friday
02/01 off, Saturday 10/01 worked) and Tết Bính Ngọ — a council with officials of three
agencies (one reads English, one never answers), a linked group, deadlines on holidays,
on the make-up Saturday, on a weekend and as periods, a report on a period, a meeting,
an announcement and the weekly digests. Then the export. Everything the bot sent is read
and counted:

- every task reminder or nudge that went out on a day off, outside office hours, or (a
  reminder) after its deadline's last day;
- every date or duration not written as officials write them (SPEC §8);
- every Vietnamese text that leaves the register of the rest (English words, "bạn").

The goal for each count is zero; a failure lists what was found, with the text.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot import callbacks
from bot.app import timing_from
from bot.callbacks import AnnouncementPress, BroadcastAction, BroadcastPress, TaskPress, TaskStatus
from bot.clock import FrozenClock
from bot.models import Outbox, OutboxState, Task
from tests.chat import HANOI, linked_group, local, press
from tests.people import enrol, registered
from tests.rosters import person
from tests.test_chat_tasks import walk

TASKS = [
    # The New Year day off of the swap: ends with Monday 05/01.
    "/newtask DBSH BTC,HN 02/01/2026 | Báo cáo kết quả thực hiện Quy hoạch vùng năm 2025"
    " | ref=6411/VPCP-KTTH ngày 19/8/2023",
    # The make-up Saturday is a working day: due that day, reminded that morning.
    "/newtask DBSH BTC,BXD 10/01/2026 | Góp ý dự thảo Kế hoạch hành động năm 2026",
    # A month written as a period; 31/01 is a Saturday, so the deadline runs to Monday.
    "/newtask DBSH HN tháng 01/2026 | Cập nhật danh mục dự án liên vùng",
    # In the middle of Tết.
    "/newtask DBSH BTC,HN,BXD 20/02/2026 | Báo cáo tình hình giải ngân vốn đầu tư công",
    # A quarterly report with its period and send deadline.
    "/newtask DBSH BTC,HN 18/03/2026 | Báo cáo quý | every=quarter | period=quý I/2026",
]
ANNOUNCEMENT = (
    "Kính gửi các thành viên Hội đồng: lịch họp quý I/2026 đã được gửi qua hộp thư công vụ."
)
NEW_YEAR_TASK = "Quy hoạch vùng năm 2025"


@pytest.fixture
def clock() -> FrozenClock:
    # Monday 15 December 2025, 09:00 in Hanoi.
    return FrozenClock(local(2025, 12, 15, 9, 0))


# --- what officials do not write ---------------------------------------------------------

_VI_DATE_FAULTS = {
    "a capital “Thứ” inside a sentence": re.compile(r"(?<!^)(?<!\n)Thứ (Hai|Ba|Tư|Năm|Sáu|Bảy)"),
    "“Chủ Nhật” (write “Chủ nhật”)": re.compile(r"Chủ Nhật"),
    "a CLDR date (“3 tháng 12, 2026”)": re.compile(r"\d{1,2} tháng \d{1,2},? \d{4}"),
    "“lúc” before a time (CLDR)": re.compile(r"\blúc \d"),
    "hours as “tiếng”": re.compile(r"\d+ tiếng"),
    "a period as Q4/2026 or H1/2026": re.compile(r"\b[QH]\d/\d{4}\b"),
    "an ISO date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "a day or month not written with two digits": re.compile(
        r"(?<![\d/])(\d/\d{1,2}/\d{4}|\d{1,2}/\d/\d{4})\b"
    ),
    "an English month": re.compile(
        r"\b(January|February|March|April|May|June|July|August|September|October|November"
        r"|December)\b"
    ),
}
_VI_REGISTER_FAULTS = {
    "“bạn” (write “Quý vị”)": re.compile(r"\b[Bb]ạn\b"),
    "English words": re.compile(
        r"\b(the|and|of|your|you|please|task|tasks|deadline|digest|report|reports|meeting|"
        r"overdue|due|done|admin|agency|status|none)\b",
        re.IGNORECASE,
    ),
}
_EN_FAULTS = {
    "a Vietnamese date": re.compile(r"\bngày \d{2}/\d{2}/\d{4}|\bthứ (Hai|Ba|Tư|Năm|Sáu|Bảy)\b"),
    "Vietnamese template words": re.compile(
        r"Quý vị|Đề nghị|Vui lòng|còn \d+ ngày|quá hạn|Cơ quan thường trực"
    ),
}
# What users typed (titles, the announcement) and commands are not the bot's wording.
_DATA = [line.split(" | ")[1] for line in TASKS] + [ANNOUNCEMENT]
_COMMAND = re.compile(r"(?<!\w)/[a-z_]+")


def _wording(text: str) -> str:
    for typed in _DATA:
        text = text.replace(typed, " ")
    return _COMMAND.sub(" ", text)


def _faults(text: str, rules: dict[str, re.Pattern[str]]) -> list[str]:
    return [f"{what}: {m.group(0)!r}" for what, rule in rules.items() for m in rule.finditer(text)]


def _text_of(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


def _everything_said(bot) -> list[tuple[str, int | None, str]]:
    """(what, chat id, text) of every message, caption, edit and callback answer the bot
    sent, and of each language's command menu."""
    said: list[tuple[str, int | None, str]] = [
        ("message", m["chat"]["id"], _text_of(m)) for m in bot.api.sent if _text_of(m)
    ]
    said += [
        ("edit", int(params["chat_id"]), str(params["text"]))
        for method, params, _ in bot.api.calls
        if method == "editMessageText" and "chat_id" in params
    ]
    said += [
        ("button answer", None, str(a["text"])) for a in bot.api.callback_answers.values()
        if a.get("text")
    ]
    for (scope, language), commands in bot.api.commands.items():
        # A chat's own menu is in that person's language (Emma's: English).
        chat = json.loads(scope).get("chat_id") if scope else None
        where = f"menu {language or 'vi'}" if chat is None else "chat menu"
        said += [(where, chat, c["description"]) for c in commands]
    return said


# --- the quarter -------------------------------------------------------------------------


async def _a_quarter(bot, admin) -> tuple[list[tuple[datetime, dict[str, Any]]], dict[str, int]]:
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC", position="Vụ trưởng")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN", position="Phó Giám đốc Sở")
    emma = await registered(
        bot, "Lê Thu Hà", "DBSH", "BXD", language_code="en", position="Chuyên viên", language="en"
    )
    # Never pressed Start: reminded by a mention in the group.
    await enrol(bot, person("DBSH", "Phạm Văn Dũng", "HN", position="Chuyên viên"))
    group = await linked_group(bot, admin)
    for line in TASKS:
        created = await bot.say(admin, line)
        assert "#" in created["text"], created["text"]
    meeting = await bot.say(admin, "/newmeeting DBSH 2026-01-08 09:00 | Họp Hội đồng quý I")
    assert "#1" in meeting["text"]
    log: list[tuple[datetime, dict[str, Any]]] = []

    # An reports BTC's part of the New Year task done on Wednesday 31/12, with a note.
    log += await walk(bot, local(2025, 12, 31, 10, 0))
    [card] = [m for m in await bot.say_all(an, "/status") if NEW_YEAR_TASK in _text_of(m)]
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    question = await bot.api.wait_for_message(an.id, since=since)
    await bot.say(an, "Đã gửi văn bản qua hệ thống quản lý văn bản điều hành.", reply_to=question)
    # Bình: at risk, on Tuesday 06/01 (the deadline ended on Monday 05/01).
    log += await walk(bot, local(2026, 1, 6, 10, 0))
    [card] = [m for m in await bot.say_all(binh, "/status") if NEW_YEAR_TASK in _text_of(m)]
    await press(bot, binh, card, callbacks.encode(TaskPress(1, TaskStatus.AT_RISK)))
    # An announcement before Tết, confirmed by An.
    log += await walk(bot, local(2026, 2, 10, 9, 0))
    preview = await bot.say(admin, f"/announce DBSH\n{ANNOUNCEMENT}")
    since = len(bot.api.sent)
    await press(bot, admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND)))
    await bot.deliver()
    [copy] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    await press(bot, an, copy, callbacks.encode(AnnouncementPress(1)))
    log += await walk(bot, local(2026, 3, 31, 18, 0))

    # The admin asks for the export and the lists at the end of the quarter.
    for command in ("/tasks DBSH", "/meetings DBSH", "/export DBSH"):
        answers = await bot.say_all(admin, command)
        log += [(bot.clock.now(), m) for m in answers]
    for user in (an, emma):
        answers = await bot.say_all(user, "/tasks")
        log += [(bot.clock.now(), m) for m in answers]
    chats = {"an": an.id, "binh": binh.id, "emma": emma.id, "group": group.id, "admin": admin.id}
    return log, chats


async def test_a_quarter_across_new_year_and_tet_reads_as_a_careful_colleague_wrote_it(
    bot, admin
):
    log, chats = await _a_quarter(bot, admin)
    timing = timing_from(bot.settings)
    calendar = timing.calendar

    # 1. Reminders and nudges: working days, office hours, reminders before the end.
    async with bot.sessions() as session:
        rows = (
            await session.scalars(
                select(Outbox).where(
                    Outbox.kind.in_(("task_reminder", "task_nudge")),
                    Outbox.state == OutboxState.SENT,
                )
            )
        ).all()
        due_of = {t.id: t.due_on for t in (await session.scalars(select(Task))).all()}
    late: list[str] = []
    per_day: Counter[tuple[object, int, date]] = Counter()
    for row in rows:
        assert row.sent_at is not None
        sent = row.sent_at.astimezone(HANOI)
        task_id = int(row.payload["task_id"])
        recipient = row.member_id or row.group_id
        per_day[(recipient, task_id, sent.date())] += 1
        if not calendar.is_working_day(sent.date()) or not 8 <= sent.hour < 17:
            late.append(f"{row.kind} #{task_id} on a day off or out of hours: {sent:%d/%m %H:%M}")
        last_day = calendar.deadline_end(due_of[task_id])
        if row.kind == "task_reminder" and sent.date() > last_day:
            late.append(f"reminder #{task_id} after its deadline {last_day}: {sent:%d/%m %H:%M}")
    assert late == []
    assert [key for key, n in per_day.items() if n > 1] == []  # several on one day: one
    # The quarter was not empty: every task was reminded, and the silent HN was nudged.
    assert {int(r.payload["task_id"]) for r in rows} >= {1, 2, 3, 4, 5}
    assert any(r.kind == "task_nudge" for r in rows)
    # The Tết deadline's reminders came before the break: Friday 13/02 at the latest.
    tet = [r.sent_at.astimezone(HANOI).date() for r in rows if r.payload["task_id"] == 4]
    assert max(d for d in tet if d < date(2026, 2, 24)) == date(2026, 2, 13)

    # 2 and 3. Every text the bot sent — messages, captions, edits, button answers and
    # the command menus — read in its reader's language.
    faults: list[str] = []
    read = Counter[str]()
    for where, chat, text in _everything_said(bot):
        if chat == chats["emma"] or where == "menu en":
            read["en"] += 1
            found = _faults(_wording(text), _EN_FAULTS)
        else:
            read["vi"] += 1
            found = _faults(text, _VI_DATE_FAULTS) + _faults(_wording(text), _VI_REGISTER_FAULTS)
        faults += [f"{where} to {chat}: {f}\n    {text[:300]!r}" for f in found]
    assert faults == [], "\n".join(faults)
    assert read["vi"] > 100 and read["en"] > 20, read
    digests = [m for _, m in log if _text_of(m).startswith("📊")]
    assert len(digests) >= 14  # every week of the quarter, whatever the holidays
    # The digest of Monday 16/02 (Tết) went out on the first working day after it.
    digest_days = sorted({moment.astimezone(HANOI).date() for moment, m in log if m in digests})
    assert date(2026, 2, 16) not in digest_days and date(2026, 2, 23) in digest_days

    # The export: every text cell in the same style, dates as dates.
    [export] = [m for _, m in log if "document" in m and m["chat"]["id"] == chats["admin"]]
    book = load_workbook(io.BytesIO(export["_files"]["document"][1]))
    cells: list[str] = []
    dated = 0
    for sheet in book.worksheets:
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                if isinstance(cell.value, str):
                    cells += [
                        f"{sheet.title}!{cell.coordinate}: {f}"
                        for f in _faults(cell.value, _VI_DATE_FAULTS)
                        + _faults(_wording(cell.value), _VI_REGISTER_FAULTS)
                    ]
                elif isinstance(cell.value, datetime | date):
                    dated += 1
                    assert cell.number_format.startswith("dd/mm/yyyy"), cell.coordinate
    assert cells == [], "\n".join(cells)
    assert dated > 10


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("Thứ Năm, 3 tháng 12, 2026 lúc 08:30", "a CLDR date"),
        ("Hạn: Thứ Năm, ngày 03/12/2026", "a capital “Thứ” inside a sentence"),
        ("📅 Nhắc lịch họp (còn 2 tiếng)", "hours as “tiếng”"),
        ("ngày 31/12/2026, Chủ Nhật", "“Chủ Nhật”"),
        ("Hạn: Q4/2026", "a period as Q4/2026"),
        ("Hạn: 2026-12-31", "an ISO date"),
        ("Văn bản ngày 19/8/2023", "a day or month not written with two digits"),
        ("Hạn: 3 December 2026", "an English month"),
    ],
)
def test_the_reading_rules_catch_what_officials_do_not_write(text, fault):
    assert any(f.startswith(fault) for f in _faults(text, _VI_DATE_FAULTS)), text


def test_the_register_rules_catch_english_and_the_familiar_you():
    assert _faults("Cảm ơn bạn đã báo cáo", _VI_REGISTER_FAULTS)
    assert _faults("Đề nghị Quý vị chọn task", _VI_REGISTER_FAULTS)
    assert _faults(_wording("Please answer /status"), _VI_REGISTER_FAULTS)
    assert _faults("Due: ngày 03/12/2026", _EN_FAULTS) and _faults("Quý vị", _EN_FAULTS)
    # What officials write passes, and typed titles and commands are not the bot's words.
    good = "⏳ Hạn: thứ Sáu, ngày 02/01/2026 (còn 17 ngày) · 08:30, thứ Năm, ngày 08/01/2026"
    assert _faults(good, _VI_DATE_FAULTS) == []
    assert _faults(_wording("Gửi /status và /tasks"), _VI_REGISTER_FAULTS) == []
