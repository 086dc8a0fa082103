"""Exports (SPEC §1 `dieuphoi export`, §3 `/export`): the XLSX an admin gets in chat, the
CSV and the iCalendar file of the command line."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

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
    "STT",
    "Hội đồng",
    "Mã nhiệm vụ",
    "Nhiệm vụ",
    "Văn bản giao nhiệm vụ",
    "Kỳ báo cáo",
    "Hạn hoàn thành",
    "Mã cơ quan",
    "Cơ quan",
    "Tình trạng",
    "Số ngày quá hạn",
    "Kết quả",
    "Thời điểm báo cáo",
    "Người báo cáo",
    "Ghi chú",
    "Ngày hoàn thành",
    "Số văn bản báo cáo",
    "Ngày văn bản",
    "Tệp báo cáo",
]
DBSH = "Hội đồng điều phối vùng Đồng bằng sông Hồng"
HEADER_ROW = 4  # the title, the "as of" line, a blank row


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


def _table(sheet):
    """The header and the rows below it (the title rows above left out)."""
    return _sheet_rows(sheet)[HEADER_ROW - 1 :]


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
    assert sheet["A1"].value == (
        "TÌNH HÌNH THỰC HIỆN NHIỆM VỤ CỦA HỘI ĐỒNG ĐIỀU PHỐI VÙNG ĐỒNG BẰNG SÔNG HỒNG"
    )
    assert sheet["A2"].value == "(Tính đến ngày 17/12/2026)"
    assert {"A1:S1", "A2:S2"} <= {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["A1"].font.b and sheet["A2"].font.i
    header, btc, hn = _table(sheet)
    assert header == HEADERS
    assert all(cell.font.b for cell in sheet[HEADER_ROW])
    assert sheet.freeze_panes == "A5"
    assert sheet.auto_filter.ref == "A4:S6"

    done_at = datetime(2026, 12, 17, 8, 0)  # local time, as the officer reads it
    assert btc == [
        1,
        DBSH,
        1,
        TITLE,
        "Công văn số 6411/VPCP-KTTH của Văn phòng Chính phủ",
        "quý IV/2026",
        datetime(2026, 12, 31),
        "BTC",
        "Bộ Tài chính",
        "Hoàn thành",
        None,  # done before the deadline
        "hoàn thành đúng hạn",
        done_at,
        "Nguyễn Văn An",
        NOTE,
        done_at,
        None,  # no report file
        None,
        None,
    ]
    assert hn[0] == 2
    assert hn[7:] == [
        "HN",
        "Thành phố Hà Nội",
        "Chưa báo cáo",
        None,
        "đang thực hiện trong hạn",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    due = sheet["G5"]
    assert due.is_date and due.number_format == "dd/mm/yyyy"
    assert sheet["M5"].is_date and sheet["M5"].number_format == "dd/mm/yyyy hh:mm"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ADGO"}
    assert widths["A"] < widths["D"] and 10 <= widths["G"] <= 20 and widths["O"] > 30

    reports_sheet = book["Báo cáo"]
    assert reports_sheet["A1"].value.startswith("CÁC BÁO CÁO TIẾN ĐỘ")
    assert reports_sheet["A2"].value == "(Tính đến ngày 17/12/2026)"
    header, *reports = _table(reports_sheet)
    assert header[0] == "STT" and header[-1] == "Ghi chú"
    assert reports == [
        [1, DBSH, 1, TITLE, "BTC", "Bộ Tài chính", "Hoàn thành", done_at, "Nguyễn Văn An", NOTE]
    ]


async def test_the_xlsx_prints_on_a4_landscape_with_the_header_on_every_page(bot, admin):
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo quý")
    answer = await bot.say(admin, "/export DBSH")
    book = load_workbook(io.BytesIO(answer["_files"]["document"][1]))
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.paperSize == 9  # A4
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$4:$4"
        assert "&P" in sheet.oddFooter.center.text


async def test_days_overdue_count_until_done_or_until_today(bot, admin):
    """Due 30/11 (a Monday); today 03/12: BTC is 3 days overdue, HN did it on 01/12."""
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await bot.say(admin, "/newtask DBSH BTC,HN 2026-11-30 | Báo cáo tháng | ref=6411/VPCP-KTTH")
    await bot.advance_to(datetime(2026, 12, 1, 10, 0, tzinfo=HANOI).astimezone(UTC))
    [card] = [r for r in await bot.say_all(binh, "/status") if r.get("reply_markup")]
    bot.api.press_button(binh, card, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    await bot.settle()
    await bot.advance_to(datetime(2026, 12, 3, 10, 0, tzinfo=HANOI).astimezone(UTC))
    answer = await bot.say(admin, "/export DBSH")
    sheet = load_workbook(io.BytesIO(answer["_files"]["document"][1]))["Nhiệm vụ"]
    assert sheet["A2"].value == "(Tính đến ngày 03/12/2026)"
    _header, btc, hn = _table(sheet)
    assert (btc[8], btc[9], btc[10], btc[11]) == (
        "Bộ Tài chính",
        "Chưa báo cáo",
        3,
        "quá hạn chưa hoàn thành",
    )
    assert (hn[8], hn[9], hn[10], hn[11]) == (
        "Thành phố Hà Nội",
        "Hoàn thành",
        1,
        "hoàn thành quá hạn",
    )


async def test_a_deadline_on_a_day_off_is_overdue_only_after_the_next_working_day(bot, admin):
    """Due Saturday 05/12/2026: the deadline runs to the end of Monday 07/12 (Civil Code
    art. 148(5)); the export counts from there."""
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC 05/12/2026 | Báo cáo tuần")
    await bot.advance_to(datetime(2026, 12, 7, 16, 0, tzinfo=HANOI).astimezone(UTC))
    answer = await bot.say(admin, "/export DBSH")
    [btc] = _table(load_workbook(io.BytesIO(answer["_files"]["document"][1]))["Nhiệm vụ"])[1:]
    assert (btc[10], btc[11]) == (None, "đang thực hiện trong hạn")
    await bot.advance_to(datetime(2026, 12, 8, 9, 0, tzinfo=HANOI).astimezone(UTC))
    answer = await bot.say(admin, "/export DBSH")
    [btc] = _table(load_workbook(io.BytesIO(answer["_files"]["document"][1]))["Nhiệm vụ"])[1:]
    assert (btc[10], btc[11]) == (1, "quá hạn chưa hoàn thành")


async def test_without_a_council_every_council_is_exported(bot, admin):
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Nhiệm vụ vùng Đồng bằng sông Hồng")
    await bot.say(admin, "/newtask TN BXD Q4/2026 | Nhiệm vụ vùng Tây Nguyên")
    await bot.say(admin, "/canceltask 2")
    await bot.say(admin, "/newtask DNB BCT 2027 | Nhiệm vụ vùng Đông Nam Bộ")
    answer = await bot.say(admin, "/export")
    assert answer["document"]["file_name"] == "dieuphoi-2026-11-23.xlsx"
    book = load_workbook(io.BytesIO(answer["_files"]["document"][1]))
    sheet = book["Nhiệm vụ"]
    assert sheet["A1"].value == ("TÌNH HÌNH THỰC HIỆN NHIỆM VỤ CỦA CÁC HỘI ĐỒNG ĐIỀU PHỐI VÙNG")
    rows = _table(sheet)[1:]
    # The cancelled task is left out; the others come by council, numbered from 1.
    assert [(r[0], r[1], r[2], r[8], r[9]) for r in rows] == [
        (1, DBSH, 1, "Bộ Tài chính", "Chưa báo cáo"),
        (2, "Hội đồng điều phối vùng Đông Nam Bộ", 3, "Bộ Công Thương", "Chưa báo cáo"),
    ]


async def test_a_member_is_refused_and_an_unknown_council_named(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo quý")
    since = len(bot.api.sent)
    refused = await bot.say(member, "/export DBSH")
    assert "cán bộ Cơ quan thường trực" in refused["text"]
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
        council=DBSH,
        task_id=7,
        title="Rà soát <dự án> & “kế hoạch”",
        ref=None,
        period=None,
        due_on=date(2027, 3, 31),
        agency_code="HN",
        agency_name="Thành phố Hà Nội",
        status="Vướng mắc",
        days_overdue=None,
        completion="đang thực hiện trong hạn",
        reported_at=datetime(2027, 1, 5, 14, 30),
        reported_by="Trần Thị Bình",
        note="=1+2, @chờ\tvốn\x07",
        done_at=None,
    )
    values.update(changes)
    return ExportRow(**values)


def test_formulas_and_control_characters_stay_harmless_text():
    book = load_workbook(io.BytesIO(to_xlsx([_row()], today=date(2027, 1, 6))))
    note = book["Nhiệm vụ"]["O5"]
    assert note.data_type == "s" and note.value == "=1+2, @chờ\tvốn"
    text = to_csv([_row()]).decode("utf-8-sig")
    [_header, row] = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert row[14] == "'=1+2, @chờ\tvốn\x07"


def test_the_csv_opens_in_columns_in_excel_under_vietnamese_settings():
    """UTF-8 with a BOM, ";" between values (the list separator of vi-VN), no "sep=" line
    (which would make Excel ignore the BOM), CRLF; a ";" inside a value is quoted."""
    rows = [_row(), _row(task_id=8, title="Kế hoạch; dự toán", note=None, days_overdue=12)]
    raw = to_csv(rows)
    assert raw.startswith(b"\xef\xbb\xbfSTT;H\xe1\xbb\x99i \xc4\x91\xe1\xbb\x93ng;")
    assert b"sep=" not in raw and raw.count(b"\r\n") == 3
    header, first, second = list(
        csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";")
    )
    assert header == HEADERS
    assert first[:4] == ["1", DBSH, "7", "Rà soát <dự án> & “kế hoạch”"]
    assert second[:4] == ["2", DBSH, "8", "Kế hoạch; dự toán"]
    assert second[6] == "31/03/2027" and second[10] == "12" and first[10] == ""
    assert '"Kế hoạch; dự toán"' in raw.decode("utf-8-sig")


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
    assert [c.value for c in sheet[HEADER_ROW]] == HEADERS
    assert sheet["D5"].value == TITLE and sheet["O5"].value == NOTE
    assert sheet["G5"].value == datetime(2026, 12, 31) and sheet["G5"].is_date

    table = tmp_path / "tasks.csv"
    result = await run_cli("export", "--council", "DBSH", "-o", str(table), env=env, cwd=tmp_path)
    assert result.code == 0, result.err
    raw = table.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, btc, hn = list(
        csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";")
    )
    assert header == HEADERS
    assert btc[3] == TITLE and btc[6] == "31/12/2026" and btc[9] == "Hoàn thành"
    assert btc[11] == "hoàn thành đúng hạn"
    assert btc[12] == "17/12/2026 08:00" and btc[14] == NOTE
    assert hn[9] == "Chưa báo cáo" and hn[12] == ""

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


async def test_the_exports_show_each_agency_latest_report_file(
    bot, admin, cli_environment, tmp_path
):
    an = await _reported(bot, admin)
    bot.api.send_document(an, "v1.pdf", b"%PDF v1", caption="/submit 1 Số 1/BC-BTC")
    await bot.settle()
    bot.clock.advance(timedelta(minutes=5))
    bot.api.send_document(
        an, "bao-cao-quy-IV.pdf", b"%PDF v2", caption="/submit 1 Số 2/BC-BTC ngày 16/12/2026"
    )
    await bot.settle()
    answer = await bot.say(admin, "/export DBSH")
    _name, content = answer["_files"]["document"]
    _header, btc, hn = _table(load_workbook(io.BytesIO(content))["Nhiệm vụ"])
    assert btc[-3:] == ["2/BC-BTC", datetime(2026, 12, 16), "bao-cao-quy-IV.pdf"]
    assert hn[-3:] == [None, None, None]

    table = tmp_path / "tasks.csv"
    result = await run_cli("export", "--council", "DBSH", "-o", str(table), env=cli_environment,
                           cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.err
    _header, btc_csv, _hn = list(
        csv.reader(io.StringIO(table.read_bytes().decode("utf-8-sig"), newline=""), delimiter=";")
    )
    assert btc_csv[-3:] == ["2/BC-BTC", "16/12/2026", "bao-cao-quy-IV.pdf"]
