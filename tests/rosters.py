"""Roster files for tests, built in code so each test shows what it feeds in."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable

from openpyxl import Workbook

HEADER = [
    "council",
    "full_name",
    "position",
    "agency",
    "agency_name",
    "role",
    "language",
    "phone",
    "email",
]


def csv_bytes(rows: list[list[str]], header: list[str] | None = None, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[list[object]], header: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def person(
    council: str = "DBSH",
    name: str = "Nguyễn Văn An",
    agency: str = "BTC",
    role: str = "member",
    position: str = "Vụ trưởng",
    agency_name: str = "",
    language: str = "",
    phone: str = "",
    email: str = "",
) -> list[str]:
    return [council, name, position, agency, agency_name, role, language, phone, email]


def sixty_members() -> list[list[str]]:
    """60 people across three councils, as the acceptance check imports."""
    councils = ["DBSH", "DBSCL", "TN"]
    agencies = ["BTC", "BXD", "BCT", "HN", "CT", "DLK"]
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ"]
    given = [
        "Văn An",
        "Thị Bình",
        "Quốc Cường",
        "Thu Dung",
        "Minh Đức",
        "Ngọc Hà",
        "Hữu Khánh",
        "Thanh Lan",
        "Đức Minh",
        "Bảo Ngọc",
    ]
    rows = []
    for index in range(60):
        name = f"{family[index % 6]} {given[index // 6]}"
        rows.append(person(councils[index % 3], name, agencies[index % 6]))
    return rows


SHEET = "xl/worksheets/sheet1.xml"


def xlsx_with_sheet(rows: list[list[object]], sheet: Callable[[bytes], Iterable[bytes]]) -> bytes:
    """An XLSX roster (as `xlsx_bytes` writes it) whose first sheet's XML is replaced by
    the chunks `sheet` makes of the original: how hand-made or hostile files are built."""
    original = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in original.infolist():
            if entry.filename != SHEET:
                archive.writestr(entry.filename, original.read(entry.filename))
                continue
            # Streamed: a sheet of hundreds of MB is never held in memory whole.
            with archive.open(SHEET, "w") as stream:
                for chunk in sheet(original.read(SHEET)):
                    stream.write(chunk)
    return buffer.getvalue()


def sheet_data(xml: bytes) -> tuple[bytes, bytes, bytes]:
    """A sheet's XML cut around its rows: (up to <sheetData>, the rows, from </sheetData>)."""
    head, _, rest = xml.partition(b"<sheetData>")
    rows, _, tail = rest.partition(b"</sheetData>")
    return head + b"<sheetData>", rows, b"</sheetData>" + tail
