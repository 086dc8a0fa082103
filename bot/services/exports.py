"""Exports for the secretariat: tasks and status reports as XLSX or CSV, meetings as iCalendar.

Plain functions, no Telegram: `/export` and `dieuphoi export` both call `export()`. The
spreadsheets are meant to be filed and printed by a secretariat officer, so their titles,
headers and status words are in Vietnamese whatever the reader's language, dates are real
dates (dd/mm/yyyy) and times are local (the councils' time zone). The layout (title, STT,
printing) is bot/services/sheets.py; a meeting's attendance list is attendance_export.py.

The CSV is for Excel under Vietnamese regional settings: UTF-8 with a BOM and ";"
between values (docs/exports.md says why and how it was checked).
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formats import (
    format_cut_off,
    format_document,
    format_period,
    numeric_day,
    numeric_moment,
)
from bot.i18n import Msg, msg, use_locale
from bot.models import Council, Meeting, ReportFile, ReportStatus, StatusReport, Task
from bot.services import audit, completion
from bot.services.errors import BadInputError
from bot.services.groups import council_by_code
from bot.services.people import Requester
from bot.services.permissions import require_admin
from bot.services.sheets import ROW_NUMBER, Column, Title, fill_sheet
from bot.worktime import WorkCalendar

TASKS_SHEET = "Nhiệm vụ"
REPORTS_SHEET = "Báo cáo"
NO_REPORT = "Chưa báo cáo"
STATUS_WORDS = {
    ReportStatus.DONE: "Hoàn thành",
    ReportStatus.ON_TRACK: "Đúng tiến độ",
    ReportStatus.AT_RISK: "Có nguy cơ chậm",
    ReportStatus.BLOCKED: "Vướng mắc",
}
# Excel under Vietnamese regional settings splits a CSV at ";" (the list separator of a
# locale whose decimal separator is ","); see docs/exports.md.
CSV_DELIMITER = ";"
TASKS_HEADING = "TÌNH HÌNH THỰC HIỆN NHIỆM VỤ CỦA {scope}"
REPORTS_HEADING = "CÁC BÁO CÁO TIẾN ĐỘ THỰC HIỆN NHIỆM VỤ CỦA {scope}"
EVERY_COUNCIL = "CÁC HỘI ĐỒNG ĐIỀU PHỐI VÙNG"
AS_OF = "(Tính đến ngày {day})"
MEETING_DURATION = timedelta(hours=2)
PRODID = "-//dieuphoi//Hội đồng điều phối vùng//VI"


class ExportFormat(enum.StrEnum):
    XLSX = "xlsx"
    CSV = "csv"
    ICS = "ics"
    ZIP = "zip"  # the council's report files (bot/services/file_archive.py), CLI only


class ExportWhat(enum.StrEnum):
    """`dieuphoi export --what`: the councils' tasks, or one meeting's attendance list."""

    TASKS = "tasks"
    ATTENDANCE = "attendance"


@dataclass(frozen=True)
class ExportRow:
    """One task × one assigned agency, with that agency's latest report.

    Datetimes are local wall-clock time in the councils' time zone, without tzinfo
    (Excel has no time zones).
    """

    council: str  # the council's name
    task_id: int
    title: str
    ref: str | None  # the document that assigned the task
    period: str | None
    due_on: date
    agency_code: str
    agency_name: str
    status: str
    days_overdue: int | None  # None when not overdue
    completion: str  # hoàn thành đúng hạn, … (SPEC §8)
    reported_at: datetime | None
    reported_by: str | None
    note: str | None
    done_at: datetime | None
    # The agency's latest report file (SPEC §6): its official number and date, its name.
    file_number: str | None = None
    file_date: date | None = None
    file_name: str | None = None

    def values(self) -> list[object]:
        # The columns, in field order (the *_COLUMNS headers follow the same order).
        return [getattr(self, f.name) for f in fields(self)]


TASK_COLUMNS = (
    Column("Hội đồng", 24, wrap=True),
    Column("Mã nhiệm vụ", 8),
    Column("Nhiệm vụ", 50, wrap=True),
    Column("Văn bản giao nhiệm vụ", 24, wrap=True),
    Column("Kỳ báo cáo", 10),
    Column("Hạn hoàn thành", 14),
    Column("Mã cơ quan", 8),
    Column("Cơ quan", 32, wrap=True),
    Column("Tình trạng", 18),
    Column("Số ngày quá hạn", 10),
    Column("Kết quả", 18, wrap=True),
    Column("Thời điểm báo cáo", 18),
    Column("Người báo cáo", 24, wrap=True),
    Column("Ghi chú", 50, wrap=True),
    Column("Ngày hoàn thành", 18),
    Column("Số văn bản báo cáo", 18, wrap=True),
    Column("Ngày văn bản", 14),
    Column("Tệp báo cáo", 30, wrap=True),
)


@dataclass(frozen=True)
class ReportRow:
    """One status report (every one, not only the latest), local time without tzinfo."""

    council: str
    task_id: int
    title: str
    agency_code: str
    agency_name: str
    status: str
    reported_at: datetime
    reported_by: str
    note: str | None

    def values(self) -> list[object]:
        # The columns, in field order (the *_COLUMNS headers follow the same order).
        return [getattr(self, f.name) for f in fields(self)]


REPORT_COLUMNS = (
    Column("Hội đồng", 24, wrap=True),
    Column("Mã nhiệm vụ", 12),
    Column("Nhiệm vụ", 50, wrap=True),
    Column("Mã cơ quan", 12),
    Column("Cơ quan", 32, wrap=True),
    Column("Tình trạng", 18),
    Column("Thời điểm báo cáo", 18),
    Column("Người báo cáo", 24, wrap=True),
    Column("Ghi chú", 60, wrap=True),
)


def _period_shown(task: Task) -> str | None:
    """'quý IV/2026 (số liệu từ 15/09 đến 14/12/2026)' for a report on a period, else the
    period the deadline was written as."""
    if task.report_period:
        period, cut = (
            format_period(task.report_period, "vi"),
            format_cut_off(task.report_period, "vi"),
        )
        return f"{period} ({cut})"
    return task.period and format_period(task.period, "vi")


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


def status_word(status: ReportStatus | None) -> str:
    return STATUS_WORDS[status] if status is not None else NO_REPORT


def days_overdue(last_day: date, done_on: date | None, today: date) -> int | None:
    """Days past the deadline's last day (a deadline on a day off runs to the next
    working day: WorkCalendar.deadline_end): until it was done, or until today."""
    until = done_on if done_on is not None else today
    late = (until - last_day).days
    return late if late > 0 else None


# --- reading ------------------------------------------------------------------------------


async def _tasks(session: AsyncSession, council_ids: Sequence[int]) -> list[Task]:
    """The councils' tasks that were not cancelled, by council, deadline and id."""
    if not council_ids:
        return []
    return list(
        (
            await session.scalars(
                select(Task)
                .where(Task.council_id.in_(council_ids), Task.cancelled_at.is_(None))
                .order_by(Task.council_id, Task.due_on, Task.id)
            )
        ).all()
    )


async def _reports(session: AsyncSession, task_ids: Sequence[int]) -> list[StatusReport]:
    if not task_ids:
        return []
    return list(
        (
            await session.scalars(
                select(StatusReport)
                .where(StatusReport.task_id.in_(task_ids))
                .order_by(StatusReport.created_at, StatusReport.id)
            )
        ).all()
    )


async def _latest_files(
    session: AsyncSession, task_ids: Sequence[int]
) -> dict[tuple[int, int], ReportFile]:
    """Each (task, agency)'s latest report file; of an album, its captioned page."""
    if not task_ids:
        return {}
    rows = await session.scalars(
        select(ReportFile)
        .where(ReportFile.task_id.in_(task_ids))
        .order_by(ReportFile.received_at, ReportFile.id)
    )
    latest: dict[tuple[int, int], ReportFile] = {}
    for row in rows:
        assert row.task_id is not None
        key = (row.task_id, row.agency_id)
        earlier = latest.get(key)
        same_album = (
            earlier is not None
            and row.media_group_id is not None
            and earlier.media_group_id == row.media_group_id
        )
        if not (same_album and earlier is not None and earlier.doc_number is not None):
            latest[key] = row  # oldest first: the last one wins
    return latest


def file_label(row: ReportFile) -> str:
    """A report file's name; a photo has none: 'anh-12.jpg' (its id)."""
    return row.file_name or f"anh-{row.id}.jpg"


async def task_rows(
    session: AsyncSession, council_ids: Sequence[int], calendar: WorkCalendar, now: datetime
) -> list[ExportRow]:
    """One row per task × assigned agency, with the agency's latest status report; days
    overdue and the completion class as of `now`."""
    tz = calendar.tz
    today = now.astimezone(tz).date()
    tasks = await _tasks(session, council_ids)
    latest: dict[tuple[int, int], StatusReport] = {}
    for each in await _reports(session, [t.id for t in tasks]):
        latest[(each.task_id, each.agency_id)] = each  # oldest first: the last one wins
    files = await _latest_files(session, [t.id for t in tasks])
    rows = []
    for task in tasks:
        for part in task.assignments:
            report = latest.get((task.id, part.agency_id))
            status = ReportStatus.DONE if part.done_at is not None else None
            if status is None and report is not None:
                status = report.status
            done_at = _local(part.done_at, tz)
            file = files.get((task.id, part.agency_id))
            rows.append(
                ExportRow(
                    council=task.council.name_vi,
                    task_id=task.id,
                    title=task.title,
                    period=_period_shown(task),
                    due_on=task.due_on,
                    ref=task.ref and format_document(task.ref, "vi"),
                    agency_code=part.agency.code,
                    agency_name=part.agency.name_vi,
                    status=status_word(status),
                    days_overdue=days_overdue(
                        calendar.deadline_end(task.due_on),
                        done_at.date() if done_at else None,
                        today,
                    ),
                    completion=completion.classify_part(task, part, now, calendar).label(),
                    reported_at=_local(report.created_at, tz) if report else None,
                    reported_by=report.member.full_name if report else None,
                    note=report.note if report else None,
                    done_at=done_at,
                    file_number=file.doc_number if file else None,
                    file_date=file.doc_date if file else None,
                    file_name=file_label(file) if file else None,
                )
            )
    return rows


async def report_rows(
    session: AsyncSession, council_ids: Sequence[int], tz: ZoneInfo
) -> list[ReportRow]:
    """Every status report on the councils' (not cancelled) tasks, oldest first."""
    tasks = {t.id: t for t in await _tasks(session, council_ids)}
    rows = []
    for report in await _reports(session, list(tasks)):
        task = tasks[report.task_id]
        rows.append(
            ReportRow(
                council=task.council.name_vi,
                task_id=task.id,
                title=task.title,
                agency_code=report.agency.code,
                agency_name=report.agency.name_vi,
                status=status_word(report.status),
                reported_at=report.created_at.astimezone(tz).replace(tzinfo=None),
                reported_by=report.member.full_name,
                note=report.note,
            )
        )
    return rows


# --- XLSX -----------------------------------------------------------------------------------


def to_xlsx(
    rows: Sequence[ExportRow],
    reports: Sequence[ReportRow] = (),
    *,
    today: date,
    scope: str = EVERY_COUNCIL,
) -> bytes:
    """The workbook: sheet "Nhiệm vụ" (one row per task × agency) and sheet "Báo cáo"
    (every status report with its note), each under its title: "TÌNH HÌNH THỰC HIỆN
    NHIỆM VỤ CỦA <scope>" and "(Tính đến ngày dd/mm/yyyy)"."""
    as_of = AS_OF.format(day=numeric_day(today))
    heading = TASKS_HEADING.format(scope=scope.upper())
    workbook = Workbook()
    tasks_sheet = workbook.active
    assert tasks_sheet is not None
    tasks_sheet.title = TASKS_SHEET
    fill_sheet(tasks_sheet, Title([heading, as_of]), TASK_COLUMNS, [r.values() for r in rows])
    reports_sheet = workbook.create_sheet(REPORTS_SHEET)
    reports_title = Title([REPORTS_HEADING.format(scope=scope.upper()), as_of])
    fill_sheet(reports_sheet, reports_title, REPORT_COLUMNS, [r.values() for r in reports])
    workbook.properties.title = heading
    workbook.properties.creator = "dieuphoi"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV ------------------------------------------------------------------------------------

# A cell starting with one of these is a formula to Excel (CSV injection): keep it text.
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return numeric_moment(value)
    if isinstance(value, date):
        return numeric_day(value)
    if isinstance(value, str):
        return "'" + value if _FORMULA_START.match(value) else value
    return str(value)


def to_csv(rows: Sequence[ExportRow]) -> bytes:
    """The first sheet's table as CSV, without the title (a CSV is one table): UTF-8 with
    a BOM (so Excel reads the diacritics), ";" between values, CRLF. No "sep=;" line:
    with it Excel ignores the BOM and garbles every diacritic."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER)
    writer.writerow([ROW_NUMBER, *(c.header for c in TASK_COLUMNS)])
    for number, row in enumerate(rows, start=1):
        writer.writerow([number, *(_csv_value(v) for v in row.values())])
    return buffer.getvalue().encode("utf-8-sig")


# --- iCalendar ------------------------------------------------------------------------------


async def meetings_ics(
    session: AsyncSession,
    council_ids: Sequence[int],
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    name: str = "Hội đồng điều phối vùng",
) -> bytes:
    """The councils' meetings (past and future, cancelled ones too) as one VCALENDAR."""
    return to_ics(await _meetings(session, council_ids), tz, now=now, name=name)


def to_ics(
    meetings: Sequence[Meeting],
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    name: str = "Hội đồng điều phối vùng",
) -> bytes:
    """Times are UTC ("Z"), which every client shows in the reader's zone. A UID is stable
    (`meeting-5@dieuphoi`) and SEQUENCE follows the meeting's revision, so importing a newer
    file updates a moved or cancelled meeting instead of adding a copy."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", tz.key)
    for meeting in meetings:
        changed = max(meeting.planned_at, meeting.cancelled_at or meeting.planned_at)
        event = Event()
        event.add("uid", f"meeting-{meeting.id}@dieuphoi")
        event.add("dtstamp", stamp)
        event.add("created", meeting.created_at.astimezone(UTC))
        event.add("last-modified", changed.astimezone(UTC))
        event.add("sequence", meeting.revision - 1)
        event.add("dtstart", meeting.starts_at.astimezone(UTC))
        event.add("duration", MEETING_DURATION)
        event.add("summary", meeting.title)
        if meeting.place:
            event.add("location", meeting.place)
        event.add("description", meeting.council.name_vi)
        event.add("categories", [meeting.council.code])
        event.add("status", "CANCELLED" if meeting.cancelled_at is not None else "CONFIRMED")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


async def _meetings(session: AsyncSession, council_ids: Sequence[int]) -> list[Meeting]:
    if not council_ids:
        return []
    return list(
        (
            await session.scalars(
                select(Meeting)
                .where(Meeting.council_id.in_(council_ids))
                .order_by(Meeting.starts_at, Meeting.id)
            )
        ).all()
    )


# --- one export, for the chat and the command line --------------------------------------------


def export_usage() -> Msg:
    return msg(
        "Usage: /export [COUNCIL] — tasks and reports; without a council, every council.\n"
        "/export MEETING_ID — a meeting's attendance list (the id is shown by /meetings).\n"
        "Example: /export DBSH or /export 5"
    )


def meeting_id_of(args: Sequence[str]) -> int | None:
    """The meeting named by `/export 5` (or `#5`), whose attendance list is asked for;
    None when the arguments name councils (council codes are never only digits)."""
    if len(args) != 1:
        return None
    text = args[0].removeprefix("#")
    return int(text) if text.isdigit() and len(text) <= 9 else None


@dataclass(frozen=True)
class ExportFile:
    councils: list[Council]
    format: ExportFormat
    content: bytes
    count: int  # task rows (task × agency), or meetings for iCalendar
    reports: int  # status reports (XLSX only)
    every_council: bool

    def file_name(self, today: date) -> str:
        """`dieuphoi-DBSH-2026-11-23.xlsx`, or `dieuphoi-2026-11-23.xlsx` for every council."""
        scope = "" if self.every_council else f"{self.councils[0].code}-"
        return f"dieuphoi-{scope}{today.isoformat()}.{self.format.value}"

    @property
    def scope(self) -> str:
        """The council's name, or the codes of every council exported."""
        if not self.every_council:
            return self.councils[0].name_vi
        return ", ".join(c.code for c in self.councils)


async def export_councils(
    session: AsyncSession, who: Requester | None, codes: Sequence[str]
) -> tuple[list[Council], bool]:
    """The councils to export (admins only; `None` is the command line), and whether
    that is every council."""
    require_admin(who)
    if len(codes) > 1:
        raise BadInputError(msg("Name at most one council."), export_usage())
    if codes:
        return [await council_by_code(session, codes[0])], False
    return list((await session.scalars(select(Council).order_by(Council.id))).all()), True


async def export(
    session: AsyncSession,
    who: Requester | None,
    codes: Sequence[str],
    fmt: ExportFormat,
    calendar: WorkCalendar,
    now: datetime,
) -> ExportFile:
    """Check the requester, then build the file (the caller writes or sends it); the
    export is recorded in the audit log."""
    councils, every = await export_councils(session, who, codes)
    with use_locale("vi"):  # the file is in Vietnamese, whoever asks
        found = await _build(session, councils, every, fmt, calendar, now)
    audit.record(
        session,
        now,
        audit.CLI_ACTOR if who is None else audit.telegram_actor(who.telegram_user_id),
        "export",
        format=fmt.value,
        councils=[c.code for c in councils],
        rows=found.count,
        reports=found.reports,
    )
    return found


async def _build(
    session: AsyncSession,
    councils: list[Council],
    every: bool,
    fmt: ExportFormat,
    calendar: WorkCalendar,
    now: datetime,
) -> ExportFile:
    tz = calendar.tz
    ids = [c.id for c in councils]
    scope = EVERY_COUNCIL if every else councils[0].name_vi
    today = now.astimezone(tz).date()
    if fmt == ExportFormat.ICS:
        meetings = await _meetings(session, ids)
        calendar_scope = "tất cả hội đồng" if every else councils[0].name_vi
        content = to_ics(meetings, tz, now=now, name=f"Lịch họp — {calendar_scope}")
        return ExportFile(councils, fmt, content, len(meetings), 0, every)
    rows = await task_rows(session, ids, calendar, now)
    if fmt == ExportFormat.CSV:
        return ExportFile(councils, fmt, to_csv(rows), len(rows), 0, every)
    reports = await report_rows(session, ids, tz)
    content = to_xlsx(rows, reports, scope=scope, today=today)
    return ExportFile(councils, fmt, content, len(rows), len(reports), every)
