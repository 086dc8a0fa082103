"""Exports (SPEC §1 `dieuphoi export`, §3 `/export`): the XLSX an admin gets in chat, the
CSV and the iCalendar file of the command line."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from bot import callbacks
from bot.callbacks import TaskPress, TaskStatus
from bot.services.exports import ExportRow, to_csv, to_xlsx
from tests.chat import HANOI
from tests.cli import run_cli
from tests.people import registered

REMINDER_DAY = datetime(2026, 12, 17, 8, 0, tzinfo=HANOI).astimezone(UTC)  # T-14d
TITLE = "Báo cáo <quy hoạch> & kế hoạch vùng Đồng bằng sông Hồng"
NOTE = "Đã trình <UBND> & chờ ý kiến — “Sở Tài chính” 👍"
HEADERS = [
    "Hội đồng",
    "Mã nhiệm vụ",
    "Nhiệm vụ",
    "Kỳ",
    "Hạn hoàn thành",
    "Văn bản giao",
    "Mã cơ quan",
    "Cơ quan",
    "Tình trạng",
    "Thời điểm báo cáo",
    "Người báo cáo",
    "Ghi chú",
    "Ngày hoàn thành",
]


async def _reported(bot, admin):
    """Task #1 for BTC and HN; An (BTC) presses ✅ on the reminder and adds a note."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    created = await bot.say(admin, f"/newtask DBSH BTC,HN Q4/2026 | {TITLE} | ref=6411/VPCP-KTTH")
    assert "#1" in created["text"]
    since = len(bot.api.sent)
    await bot.advance_to(REMINDER_DAY)
    [reminder] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    since = len(bot.api.sent)
    bot.api.press_button(an, reminder, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    question = await bot.api.wait_for_message(an.id, since=since)
    await bot.say(an, NOTE, reply_to=question)
    return an


def _documents(bot, chat_id, since):
    return [m for m in bot.api.sent[since:] if m["chat"]["id"] == chat_id and "document" in m]


def _sheet_rows(sheet):
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


async def test_an_admin_gets_an_xlsx_with_what_members_reported(bot, admin):
    await _reported(bot, admin)
    answer = await bot.say(admin, "/export DBSH")
    assert answer["_method"] == "sendDocument"
    assert answer["document"]["file_name"] == "dieuphoi-DBSH-2026-12-17.xlsx"
    assert "Đồng bằng sông Hồng" in answer["caption"]
    name, content = answer["_files"]["document"]
    assert name == "dieuphoi-DBSH-2026-12-17.xlsx"

    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Nhiệm vụ", "Báo cáo"]
    sheet = book["Nhiệm vụ"]
    header, btc, hn = _sheet_rows(sheet)
    assert header == HEADERS
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:M3"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1

    done_at = datetime(2026, 12, 17, 8, 0)  # local time, as the officer reads it
    assert btc == [
        "DBSH",
        1,
        TITLE,
        "quý IV/2026",
        datetime(2026, 12, 31),
        "Công văn số 6411/VPCP-KTTH của Văn phòng Chính phủ",
        "BTC",
        "Bộ Tài chính",
        "Hoàn thành",
        done_at,
        "Nguyễn Văn An",
        NOTE,
        done_at,
    ]
    assert hn[6:] == ["HN", "Thành phố Hà Nội", "Chưa báo cáo", None, None, None, None]
    due = sheet["E2"]
    assert due.is_date and due.number_format == "dd/mm/yyyy"
    assert sheet["J2"].is_date and sheet["J2"].number_format == "dd/mm/yyyy hh:mm"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ACEL"}
    assert widths["A"] < widths["C"] and 10 <= widths["E"] <= 20 and widths["L"] > 30

    header, *reports = _sheet_rows(book["Báo cáo"])
    assert header[-1] == "Ghi chú"
    assert reports == [
        ["DBSH", 1, TITLE, "BTC", "Bộ Tài chính", "Hoàn thành", done_at, "Nguyễn Văn An", NOTE]
    ]


async def test_without_a_council_every_council_is_exported(bot, admin):
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Nhiệm vụ vùng Đồng bằng sông Hồng")
    await bot.say(admin, "/newtask TN BXD Q4/2026 | Nhiệm vụ vùng Tây Nguyên")
    await bot.say(admin, "/canceltask 2")
    await bot.say(admin, "/newtask DNB BCT 2027 | Nhiệm vụ vùng Đông Nam Bộ")
    answer = await bot.say(admin, "/export")
    assert answer["document"]["file_name"] == "dieuphoi-2026-11-23.xlsx"
    book = load_workbook(io.BytesIO(answer["_files"]["document"][1]))
    rows = _sheet_rows(book["Nhiệm vụ"])[1:]
    # The cancelled task is left out; the others come by council.
    assert [(r[0], r[1], r[7], r[8]) for r in rows] == [
        ("DBSH", 1, "Bộ Tài chính", "Chưa báo cáo"),
        ("DNB", 3, "Bộ Công Thương", "Chưa báo cáo"),
    ]


async def test_a_member_is_refused_and_an_unknown_council_named(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo quý")
    since = len(bot.api.sent)
    refused = await bot.say(member, "/export DBSH")
    assert "quản trị" in refused["text"]
    assert "/export" not in refused["text"]  # a refusal, not the usage
    unknown = await bot.say(admin, "/export XYZ")
    assert "XYZ" in unknown["text"] and "DBSH" in unknown["text"]
    usage = await bot.say(admin, "/export DBSH TN")
    assert "/export DBSH" in usage["text"]
    group = bot.api.add_group()
    before = len(bot.api.sent)
    bot.api.add_bot_to_group(group, admin)
    await bot.api.wait_for_message(group.id, since=before)  # the greeting
    in_group = await bot.say(admin, "/export DBSH", chat=group)
    assert "document" not in in_group and "/export" in in_group["text"]
    await bot.settle()
    assert _documents(bot, member.id, since) == [] and _documents(bot, admin.id, since) == []
    assert _documents(bot, group.id, since) == []


async def test_nothing_to_export_is_said_not_sent(bot, admin):
    since = len(bot.api.sent)
    answer = await bot.say(admin, "/export DBSH")
    assert "document" not in answer and answer["text"]
    assert _documents(bot, admin.id, since) == []


def _row(**changes) -> ExportRow:
    values = dict(
        council="DBSH",
        task_id=7,
        title="Rà soát <dự án> & “kế hoạch”",
        period=None,
        due_on=date(2027, 3, 31),
        ref=None,
        agency_code="HN",
        agency_name="Thành phố Hà Nội",
        status="Vướng mắc",
        reported_at=datetime(2027, 1, 5, 14, 30),
        reported_by="Trần Thị Bình",
        note="=1+2, @chờ\tvốn\x07",
        done_at=None,
    )
    values.update(changes)
    return ExportRow(**values)


def test_formulas_and_control_characters_stay_harmless_text():
    book = load_workbook(io.BytesIO(to_xlsx([_row()])))
    note = book["Nhiệm vụ"]["L2"]
    assert note.data_type == "s" and note.value == "=1+2, @chờ\tvốn"
    [_header, row] = list(csv.reader(io.StringIO(to_csv([_row()]).decode("utf-8-sig"))))
    assert row[11] == "'=1+2, @chờ\tvốn\x07"


async def test_cli_writes_xlsx_csv_and_ics(bot, admin, cli_environment, tmp_path):
    await _reported(bot, admin)
    await bot.say(admin, f"/newmeeting DBSH 2027-01-08 09:00 | {TITLE} | Phòng họp <A> & B")
    await bot.say(admin, "/newmeeting DBSH 2027-01-15 14:30 | Họp bị hủy")
    await bot.say(admin, "/cancelmeeting 2")
    await bot.say(admin, "/newmeeting TN 2027-01-20 09:00 | Họp Tây Nguyên")
    env = cli_environment

    xlsx = tmp_path / "out.xlsx"
    result = await run_cli("export", "--council", "dbsh", "--format", "xlsx", "-o", str(xlsx),
                           env=env, cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.err
    assert str(xlsx) in result.out and len(result.out.splitlines()) == 1
    sheet = load_workbook(xlsx)["Nhiệm vụ"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet["C2"].value == TITLE and sheet["L2"].value == NOTE
    assert sheet["E2"].value == datetime(2026, 12, 31) and sheet["E2"].is_date

    table = tmp_path / "tasks.csv"
    result = await run_cli("export", "--council", "DBSH", "-o", str(table), env=env, cwd=tmp_path)
    assert result.code == 0, result.err
    raw = table.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, btc, hn = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header == HEADERS
    assert btc[2] == TITLE and btc[4] == "31/12/2026" and btc[8] == "Hoàn thành"
    assert btc[9] == "17/12/2026 08:00" and btc[11] == NOTE
    assert hn[8] == "Chưa báo cáo" and hn[9] == ""

    ics = tmp_path / "meetings.ics"
    result = await run_cli("export", "--council", "DBSH", "--format", "ics", "-o", str(ics),
                           env=env, cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.err
    calendar = Calendar.from_ical(ics.read_bytes())
    assert "dieuphoi" in str(calendar["PRODID"])
    first, cancelled = calendar.walk("VEVENT")  # the TN meeting is not in DBSH's file
    assert str(first["UID"]) == "meeting-1@dieuphoi"
    assert first.decoded("DTSTART") == datetime(2027, 1, 8, 2, 0, tzinfo=UTC)  # 09:00 Hanoi
    assert str(first["SUMMARY"]) == TITLE
    assert str(first["LOCATION"]) == "Phòng họp <A> & B"
    assert "Đồng bằng sông Hồng" in str(first["DESCRIPTION"])
    assert first.decoded("DURATION").total_seconds() == 2 * 3600
    assert str(cancelled["STATUS"]) == "CANCELLED" and str(first["STATUS"]) == "CONFIRMED"

    everything = tmp_path / "all.ics"
    result = await run_cli("export", "-o", str(everything), env=env, cwd=tmp_path)
    assert result.code == 0, result.err
    assert len(Calendar.from_ical(everything.read_bytes()).walk("VEVENT")) == 3


@pytest.fixture
def env_only(cli_environment, seeded):
    """The command line on a seeded database, without the bot running."""
    return cli_environment


async def test_cli_refuses_an_unknown_council_and_writes_nothing(env_only, tmp_path):
    target = tmp_path / "out.xlsx"
    result = await run_cli("export", "--council", "XYZ", "-o", str(target),
                           env=env_only, cwd=tmp_path)  # fmt: skip
    assert result.code == 1
    assert result.err.startswith("error: ") and "XYZ" in result.err
    assert result.out == "" and not target.exists()
