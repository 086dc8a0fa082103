"""The roster template (SPEC §1 `members template`, §3 `/import` without a file): an XLSX
a secretariat officer fills in and sends back.

Sheet "Danh sách": the header in Vietnamese (what the officer's colleagues expect to see)
and two example rows to overwrite. Sheet "Hướng dẫn": each column, whether it is needed,
and what it takes, in the reader's language. The headers come from roster_columns, so the
template always reads back with the importer.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.i18n import _
from bot.models import Role
from bot.services.roster_columns import (
    COLUMNS,
    REQUIRED_COLUMNS,
    VIETNAMESE_COLUMNS,
    VIETNAMESE_ROLES,
)

FILE_NAME = "mau-danh-sach-thanh-vien.xlsx"
ROSTER_SHEET = "Danh sách"
GUIDE_SHEET = "Hướng dẫn"
# SPEC §2: the six regional councils.
COUNCIL_CODES = ("TDMNPB", "DBSH", "BTBDHMT", "TN", "DNB", "DBSCL")

# Two rows as a secretariat would write them: a deputy minister sitting on the council,
# and the contact person a province names. Overwritten by the officer.
EXAMPLE_ROWS = (
    {
        "council": "DBSH",
        "full_name": "Nguyễn Văn An",
        "position": "Thứ trưởng Bộ Tài chính",
        "agency": "BTC",
        "agency_name": "",
        "role": VIETNAMESE_ROLES[Role.MEMBER][0],
        "language": "vi",
        "phone": "0912 345 678",
        "email": "nguyenvanan@mof.gov.vn",
    },
    {
        "council": "DBSH",
        "full_name": "Trần Thị Bình",
        "position": "Chánh Văn phòng UBND Thành phố",
        "agency": "HN",
        "agency_name": "",
        "role": VIETNAMESE_ROLES[Role.CONTACT][0],
        "language": "vi",
        "phone": "0987 654 321",
        "email": "",
    },
)
WIDTHS = {
    "council": 10,
    "full_name": 24,
    "position": 34,
    "agency": 10,
    "agency_name": 28,
    "role": 26,
    "language": 10,
    "phone": 16,
    "email": 30,
}


def _explanations() -> dict[str, str]:
    """What each column takes, in the reader's language (called at use time)."""
    roles = "; ".join(" / ".join((*VIETNAMESE_ROLES[role], role.value)) for role in Role)
    return {
        "council": _("The council's code: {codes}.").format(codes=", ".join(COUNCIL_CODES)),
        "full_name": _("Full name with diacritics, as in official documents."),
        "position": _("Position, e.g. Thứ trưởng, Phó Chủ tịch UBND tỉnh (may be left empty)."),
        "agency": _("The agency's code, e.g. BTC (Ministry of Finance), HN (Hà Nội)."),
        "agency_name": _("Only for an agency the bot does not know yet: its full name."),
        "role": _("One of: {roles}. Empty means a member.").format(roles=roles),
        "language": _("vi or en: the language of the bot's messages (empty: Vietnamese)."),
        "phone": _("Optional."),
        "email": _("Optional."),
    }


def roster_template() -> bytes:
    """The template as XLSX bytes."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = ROSTER_SHEET
    sheet.append([VIETNAMESE_COLUMNS[c] for c in COLUMNS])
    for example in EXAMPLE_ROWS:
        sheet.append([example[c] for c in COLUMNS])
    explanations = _explanations()
    bold = Font(bold=True)
    shade = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = WIDTHS[column]
        header = sheet.cell(row=1, column=index)
        header.font, header.fill = bold, shade
        header.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        # The note shows when the officer points at the header.
        header.comment = Comment(explanations[column], "dieuphoi", width=300, height=120)
        for row in range(2, 2 + len(EXAMPLE_ROWS)):
            # Codes and phone numbers are text: Excel would drop a phone's leading 0.
            sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    _add_guide(workbook, explanations)
    workbook.properties.title = ROSTER_SHEET
    workbook.properties.creator = "dieuphoi"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _add_guide(workbook: Workbook, explanations: dict[str, str]) -> None:
    guide = workbook.create_sheet(GUIDE_SHEET)
    guide.append([_("Column"), _("Name in English"), _("Required"), _("What to write")])
    for column in COLUMNS:
        required = _("yes") if column in REQUIRED_COLUMNS else _("no")
        guide.append([VIETNAMESE_COLUMNS[column], column, required, explanations[column]])
    guide.append([])
    guide.append(
        [
            _(
                "The columns may come in any order and may be named in Vietnamese or in "
                "English. Send the filled-in file to the bot with the caption /import."
            )
        ]
    )
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (16, 16, 10, 80), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2, max_col=4):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    note = guide.max_row
    guide.merge_cells(f"A{note}:D{note}")
    guide.row_dimensions[note].height = 32
