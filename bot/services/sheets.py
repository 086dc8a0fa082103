"""Spreadsheets a secretariat files and prints: one layout for every table the bot writes
(tasks, status reports, attendance lists).

A sheet reads like an official table: the title in capitals and the "as of" line above
it, centred across the table; an STT (row number) column first; the column header bold,
repeated at the top of every printed page; A4 landscape, every column on the page width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

XLSX_DATE = "dd/mm/yyyy"
XLSX_MOMENT = "dd/mm/yyyy hh:mm"
ROW_NUMBER = "STT"
FOOTER = "Trang &P / &N"  # "Page 3 / 7"


@dataclass(frozen=True)
class Column:
    header: str
    width_cap: int = 30
    wrap: bool = False  # long free text: capped width, wrapped


@dataclass(frozen=True)
class Title:
    """The lines above the table: the first bold, in capitals as official tables are."""

    lines: Sequence[str]


def clean(value: str) -> str:
    # Characters XML 1.0 cannot carry (control characters) would make openpyxl refuse the row.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _display_length(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


def fill_sheet(
    sheet: Worksheet,
    title: Title,
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    *,
    after: Sequence[str] = (),
) -> int:
    """Write the title, the header and the rows, numbered in an STT column; `after` are
    lines below the table (a summary). Returns the header's row number."""
    every = [Column(ROW_NUMBER, 5), *columns]
    last = get_column_letter(len(every))
    for number, line in enumerate(title.lines, start=1):
        sheet.cell(row=number, column=1, value=clean(line))
        sheet.merge_cells(f"A{number}:{last}{number}")
        cell = sheet.cell(row=number, column=1)
        # The heading bold; "(Tính đến ngày …)" in italics, as official tables print it.
        as_of = number > 1 and line.startswith("(")
        cell.font = Font(bold=number == 1, italic=as_of, size=13 if number == 1 else 12)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.row_dimensions[number].height = 20 if number > 1 else 36
    header_row = len(title.lines) + 2  # one blank row between title and table
    _write_header(sheet, header_row, every)
    widths = [_display_length(c.header) for c in every]
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for offset, values in enumerate(rows, start=1):
        row_number = header_row + offset
        for index, (column, value) in enumerate(zip(every, [offset, *values], strict=True)):
            cell = sheet.cell(row=row_number, column=index + 1)
            if isinstance(value, str):
                cell.value = clean(value)
                cell.data_type = "s"  # a note starting with "=" is text, not a formula
            else:
                cell.value = value
            if isinstance(value, datetime):
                cell.number_format = XLSX_MOMENT
            elif isinstance(value, date):
                cell.number_format = XLSX_DATE
            cell.alignment = Alignment(
                vertical="top", wrap_text=column.wrap, horizontal="center" if index == 0 else None
            )
            cell.border = border
            widths[index] = max(widths[index], _display_length(value))
    for index, column in enumerate(every):
        letter = get_column_letter(index + 1)
        sheet.column_dimensions[letter].width = min(max(widths[index], 6), column.width_cap) + 2
    below = header_row + len(rows) + 2
    for number, line in enumerate(after, start=below):
        sheet.cell(row=number, column=2, value=clean(line))
    sheet.freeze_panes = f"A{header_row + 1}"
    sheet.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(rows), 1)}"
    _print_setup(sheet, header_row)
    return header_row


def _write_header(sheet: Worksheet, row: int, columns: Sequence[Column]) -> None:
    shade = PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin")
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=row, column=index, value=column.header)
        cell.font = Font(bold=True)
        cell.fill = shade
        cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _print_setup(sheet: Worksheet, header_row: int) -> None:
    """A4 landscape, every column on one page width, the column header on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as the rows need
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.center.text = FOOTER
