"""`dieuphoi export --format zip`: every received report file of a council in one ZIP,
read from FILES_DIR, with an index sheet (SPEC §1).

Each file is named `TASKID_AGENCY_NUMBER.ext` ("12_BTC_123-BC-BTC.pdf"): ASCII letters,
digits, "-" and "_" only (a "/" of the official number becomes "-", diacritics are
dropped), so that every archiver on every system opens it; two that would clash get
"_2", "_3". A file recorded but missing on disk (or whose content no longer matches its
SHA-256) is listed in the index as such, and the archive is still written.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.file_store import extension_for
from bot.formats import numeric_day
from bot.i18n import msg
from bot.models import Council, ReportFile, Task
from bot.services.errors import NotFoundError
from bot.services.groups import council_by_code
from bot.services.people import Requester
from bot.services.permissions import require_admin
from bot.services.sheets import Column, Title, fill_sheet

INDEX_NAME = "danh-muc-bao-cao.xlsx"
INDEX_SHEET = "Danh mục"
INDEX_HEADING = "DANH MỤC BÁO CÁO ĐÃ NHẬN CỦA {scope}"
AS_OF = "(Tính đến ngày {day})"
IN_ZIP = "Có trong tệp ZIP"
MISSING = "Thiếu trong thư mục lưu trữ"
NOT_DOWNLOADED = "Chưa tải về"
CHANGED = "Nội dung không khớp SHA-256"
INDEX_COLUMNS = (
    Column("Mã nhiệm vụ", 8),
    Column("Nhiệm vụ", 40, wrap=True),
    Column("Mã cơ quan", 8),
    Column("Cơ quan", 28, wrap=True),
    Column("Số văn bản", 18, wrap=True),
    Column("Ngày văn bản", 14),
    Column("Người gửi", 22, wrap=True),
    Column("Thời điểm nhận", 18),
    Column("Tên tệp gốc", 24, wrap=True),
    Column("Tên tệp trong ZIP", 30, wrap=True),
    Column("SHA-256", 66),
    Column("Tình trạng", 18, wrap=True),
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Entry:
    """One received file: where it is on disk, and its line in the index."""

    task_id: int
    title: str
    agency_code: str
    agency_name: str
    number: str | None
    issued_on: date | None
    sender: str
    received_at: datetime  # local wall-clock time, no tzinfo (Excel has no time zones)
    original_name: str
    sha256: str | None
    source: Path | None  # None: not downloaded yet
    name: str = ""  # in the ZIP
    state: str = ""


@dataclass(frozen=True)
class Archive:
    council: Council
    written: int
    missing: int


def ascii_name(text: str) -> str:
    """'Số 12/BC-UBND (bản ký)' -> 'So-12-BC-UBND-ban-ky': safe in any archive and system."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = plain.replace("/", "-").replace("\\", "-")
    return _UNSAFE.sub("-", plain).strip("-._") or "x"


def zip_name(task_id: int, agency: str, number: str | None, extension: str, row_id: int) -> str:
    """`TASKID_AGENCY_NUMBER.ext`; a file without a number is named by its row ("tep-7")."""
    stem = f"{task_id}_{ascii_name(agency)}_{ascii_name(number) if number else f'tep-{row_id}'}"
    return stem[:150] + extension


def _deduplicate(entries: list[Entry]) -> None:
    taken: set[str] = set()
    for entry in entries:
        name = entry.name
        path = PurePosixPath(name)
        counter = 2
        while name.casefold() in taken:
            name = f"{path.stem}_{counter}{path.suffix}"
            counter += 1
        taken.add(name.casefold())
        entry.name = name


async def plan_archive(
    session: AsyncSession, who: Requester | None, code: str, files_dir: Path, tz: ZoneInfo
) -> tuple[Council, list[Entry]]:
    """The council's received files, oldest first, each with its name in the ZIP."""
    require_admin(who)
    council = await council_by_code(session, code)
    rows = (
        await session.execute(
            select(ReportFile, Task)
            .join(Task, Task.id == ReportFile.task_id)
            .where(Task.council_id == council.id, Task.cancelled_at.is_(None))
            .order_by(Task.id, ReportFile.received_at, ReportFile.id)
        )
    ).all()
    entries = []
    for row, task in rows:
        extension = extension_for(row.file_name, row.kind)
        entries.append(
            Entry(
                task_id=task.id,
                title=task.title,
                agency_code=row.agency.code,
                agency_name=row.agency.name_vi,
                number=row.doc_number,
                issued_on=row.doc_date,
                sender=row.member.full_name,
                received_at=row.received_at.astimezone(tz).replace(tzinfo=None),
                original_name=row.file_name or f"anh-{row.id}.jpg",
                sha256=row.sha256,
                source=files_dir / row.stored_path if row.stored_path else None,
                name=zip_name(task.id, row.agency.code, row.doc_number, extension, row.id),
            )
        )
    _deduplicate(entries)
    return council, entries


def nothing_to_archive(council: Council, files_dir: Path) -> NotFoundError:
    return NotFoundError(
        msg(
            "There are no received report files of {council} in {files_dir}: nothing to "
            "put in the ZIP.",
            council=council.code,
            files_dir=str(files_dir),
        )
    )


def write_archive(
    council: Council,
    entries: list[Entry],
    output: Path,
    today: date,
    files_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> Archive:
    """Write the ZIP (through a temporary file: a failure leaves nothing half-written).
    Raises NotFoundError when not one file of the council is on disk."""
    if not any(e.source is not None and e.source.is_file() for e in entries):
        raise nothing_to_archive(council, files_dir)
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=".zip-", suffix=".part")
    os.close(handle)
    written = 0
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for done, entry in enumerate(entries, start=1):
                entry.state = _add(archive, entry)
                written += entry.state == IN_ZIP
                if progress is not None:
                    progress(done, len(entries))
            archive.writestr(INDEX_NAME, index_xlsx(council, entries, today))
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Archive(council, written, len(entries) - written)


def _add(archive: zipfile.ZipFile, entry: Entry) -> str:
    if entry.source is None:
        return NOT_DOWNLOADED
    try:
        data = entry.source.read_bytes()
    except OSError:
        return MISSING
    if entry.sha256 is not None and hashlib.sha256(data).hexdigest() != entry.sha256:
        return CHANGED
    archive.writestr(entry.name, data)
    return IN_ZIP


def index_xlsx(council: Council, entries: list[Entry], today: date) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = INDEX_SHEET
    heading = INDEX_HEADING.format(scope=council.name_vi.upper())
    rows = [
        [
            e.task_id,
            e.title,
            e.agency_code,
            e.agency_name,
            e.number,
            e.issued_on,
            e.sender,
            e.received_at,
            e.original_name,
            e.name if e.state == IN_ZIP else None,
            e.sha256,
            e.state,
        ]
        for e in entries
    ]
    fill_sheet(sheet, Title([heading, AS_OF.format(day=numeric_day(today))]), INDEX_COLUMNS, rows)
    workbook.properties.title = heading
    workbook.properties.creator = "dieuphoi"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
