"""Hostile or broken roster files (issue 9, point 9): each is refused with a clear message
in the admin's language within 5 s, nothing is imported, and everyone else is served as
usual meanwhile. The same files through `dieuphoi members import`: exit 1, one line."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.i18n import use_locale
from bot.models import Member
from bot.services import roster
from bot.services.errors import BadInputError
from tests.cli import run_cli
from tests.people import registered
from tests.rosters import (
    csv_bytes,
    person,
    sheet_data,
    xlsx_bytes,
    xlsx_with_sheet,
)

NOT_XLSX = "Tệp không phải là bảng tính XLSX hợp lệ"
TOO_MUCH = "Bảng tính chứa quá nhiều dữ liệu so với một danh sách thành viên"


def declared_everywhere() -> bytes:
    """Two good rows in a sheet that claims to fill A1:XFD1048576 (16,384 columns by a
    million rows), with one empty cell in the last row. Read without bounds, openpyxl
    makes every row up to there, each 16,384 cells wide."""
    rows = [person(name="Nguyễn Văn An"), person(name="Trần Thị Bình", agency="HN")]

    def sheet(xml: bytes) -> list[bytes]:
        xml = xml.replace(b'<dimension ref="A1:I3" />', b'<dimension ref="A1:XFD1048576"/>')
        head, rows, tail = sheet_data(xml)
        return [head, rows, b'<row r="1048576"><c r="XFD1048576" s="0"/></row>', tail]

    data = xlsx_with_sheet(rows, sheet)
    assert b"XFD1048576" in _sheet_xml(data)
    return data


def zip_bomb() -> bytes:
    """A roster whose sheet inflates to 200 MB of whitespace: 200 KB as a file."""

    def sheet(xml: bytes) -> object:
        head, rows, tail = sheet_data(xml)
        yield head + rows
        spaces = b" " * (1 << 20)
        for _ in range(200):
            yield spaces
        yield tail

    return xlsx_with_sheet([person()], sheet)  # type: ignore[arg-type]


def million_empty_cells() -> bytes:
    """4 MB of `<c/>` in one row (9 KB zipped): openpyxl would spend seconds on them."""

    def sheet(xml: bytes) -> list[bytes]:
        head, rows, tail = sheet_data(xml)
        return [head, rows, b'<row r="3">', b"<c/>" * 1_600_000, b"</row>", tail]

    return xlsx_with_sheet([person()], sheet)


def malformed_xml() -> bytes:
    """The sheet's XML cut off in the middle of a row."""
    return xlsx_with_sheet([person()], lambda xml: [xml[: xml.index(b"</row>") + 20]])


def entity_bomb() -> bytes:
    """'Billion laughs': nested XML entities that expand to gigabytes."""
    entities = b'<!ENTITY a0 "laughlaughlaughlaugh">' + b"".join(
        b'<!ENTITY a%d "%s">' % (i, b"&a%d;" % (i - 1) * 10) for i in range(1, 10)
    )

    def sheet(xml: bytes) -> list[bytes]:
        head, rows, tail = sheet_data(xml)
        doctype = b"<!DOCTYPE worksheet [" + entities + b"]>"
        cell = b'<row r="3"><c r="A3" t="inlineStr"><is><t>&a9;</t></is></c></row>'
        return [doctype, head, rows, cell, tail]

    return xlsx_with_sheet([person()], sheet)


def one_megabyte_field() -> bytes:
    return csv_bytes([person(name="Nguyễn Văn An"), person(name="x" * 1_000_000)])


def _sheet_xml(data: bytes) -> bytes:
    import io
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


REFUSED = [
    ("zip-bomb.xlsx", zip_bomb, TOO_MUCH),
    ("cells.xlsx", million_empty_cells, TOO_MUCH),
    ("malformed.xlsx", malformed_xml, NOT_XLSX),
    ("laughs.xlsx", entity_bomb, NOT_XLSX),
    (
        "field.csv",
        one_megabyte_field,
        "Dòng 3: có ô dài hơn 1.000 ký tự, hoặc có dấu ngoặc kép chưa được đóng.",
    ),
]
REFUSED_IDS = ["zip-bomb", "million-cells", "malformed-xml", "entity-bomb", "1mb-csv-field"]


async def _members(bot) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Member)))


async def _send_while_someone_asks_for_help(bot, admin, other, filename, content):
    """The admin sends the file; at once another member sends /help. Returns the admin's
    answer, and how long each of them waited."""
    since = len(bot.api.sent)
    sent_at = time.monotonic()
    bot.api.send_document(admin, filename, content, caption="/import")
    bot.api.send_message(other, "/help")
    helped = await bot.api.wait_for_message(other.id, since=since, timeout=5)
    help_wait = time.monotonic() - sent_at
    answer = await bot.api.wait_for_message(admin.id, since=since, timeout=5)
    answer_wait = time.monotonic() - sent_at
    assert "/whoami" in helped["text"]
    return answer["text"], answer_wait, help_wait


@pytest.mark.parametrize(("filename", "build", "refusal"), REFUSED, ids=REFUSED_IDS)
async def test_a_hostile_file_is_refused_quickly_while_others_are_served(
    bot, admin, filename, build, refusal
):
    other = await registered(bot, "Lê Văn Khác", "DBSH", "BXD")
    content = build()
    before = await _members(bot)
    answer, answer_wait, help_wait = await _send_while_someone_asks_for_help(
        bot, admin, other, filename, content
    )
    assert help_wait < 1
    assert answer_wait < 5
    assert refusal in answer
    assert "t.me/" not in answer
    assert await _members(bot) == before


async def test_a_declared_sheet_of_sixteen_thousand_columns_is_read_as_the_rows_it_has(bot, admin):
    """Read naively, this file took 15-20 s with every other user waiting; its rows are
    fine, so it is imported."""
    other = await registered(bot, "Lê Văn Khác", "DBSH", "BXD")
    answer, answer_wait, help_wait = await _send_while_someone_asks_for_help(
        bot, admin, other, "dimension.xlsx", declared_everywhere()
    )
    assert help_wait < 1
    assert answer_wait < 5
    assert "Thành viên mới: 2" in answer and answer.count("t.me/dieuphoi_test_bot?start=") == 2


async def test_a_refusal_is_in_the_admins_language(bot, admin):
    await bot.say(admin, "/lang en")
    since = len(bot.api.sent)
    bot.api.send_document(admin, "zip-bomb.xlsx", zip_bomb(), caption="/import")
    answer = await bot.api.wait_for_message(admin.id, since=since, timeout=5)
    assert answer["text"].startswith(
        "The spreadsheet holds far more data than a roster (at most 10,000 rows of 50 columns)."
    )


@pytest.mark.parametrize(("filename", "build", "refusal"), REFUSED, ids=REFUSED_IDS)
async def test_the_command_line_refuses_the_same_files_in_one_line(
    cli_environment, tmp_path, seeded, filename, build, refusal
):
    path = tmp_path / filename
    path.write_bytes(build())
    result = await run_cli("members", "import", str(path), env=cli_environment, cwd=tmp_path)
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: ") and refusal in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err  # no traceback
    async with seeded() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 0


# --- the limits, one by one (the reader alone) --------------------------------------------


def _refusal(name: str, data: bytes) -> str:
    with use_locale("en"), pytest.raises(BadInputError) as caught:
        roster.read_roster(name, data)
    with use_locale("en"):
        return caught.value.render()


def test_a_long_csv_cell_is_named_by_row_and_column():
    data = csv_bytes([person(), person(name="Trần Thị Bình", position="p" * 1_001)])
    assert _refusal("r.csv", data) == (
        "Row 3: the cell in column position is longer than 1,000 characters. Please check the file."
    )


def test_a_cell_of_a_thousand_characters_is_still_read():
    rows = roster.read_roster("r.csv", csv_bytes([person(agency_name="a" * 1_000)]))
    assert len(rows[0].agency_name) == 1_000


def test_a_long_xlsx_cell_is_named_by_row_and_column():
    data = xlsx_bytes([person(), person(name="n" * 5_000)])
    assert _refusal("r.xlsx", data).startswith(
        "Row 3: the cell in column full_name is longer than 1,000 characters."
    )


def test_a_header_wider_than_fifty_columns_is_refused():
    header = ["council", "full_name", "position", "agency", "role"]
    header += [f"extra{i}" for i in range(46)]  # 51 columns
    for name, data in (
        ("r.csv", csv_bytes([person()], header=header)),
        ("r.xlsx", xlsx_bytes([person()], header=header)),
    ):
        assert _refusal(name, data).startswith("The header row has more than 50 columns.")


def test_a_header_cell_far_to_the_right_counts_too():
    def sheet(xml: bytes) -> list[bytes]:
        far = b'<c r="XFD1" t="inlineStr"><is><t>note</t></is></c></row>'
        return [xml.replace(b"</row>", far, 1)]

    data = xlsx_with_sheet([person()], sheet)
    assert _refusal("r.xlsx", data).startswith("The header row has more than 50 columns.")


def test_cells_right_of_the_header_are_not_read():
    def sheet(xml: bytes) -> list[bytes]:
        head, rows, tail = sheet_data(xml)
        end = rows.rindex(b"</row>")  # of row 2, the member
        stray = b'<c r="ZZ2" t="inlineStr"><is><t>' + b"s" * 5_000 + b"</t></is></c>"
        return [head, rows[:end], stray, rows[end:], tail]

    data = xlsx_with_sheet([person()], sheet)
    assert b"ZZ2" in _sheet_xml(data)
    [row] = roster.read_roster("r.xlsx", data)
    assert row.full_name == "Nguyễn Văn An"


def test_a_cell_in_the_millionth_row_is_not_waited_for():
    def sheet(xml: bytes) -> list[bytes]:
        head, rows, tail = sheet_data(xml)
        far = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return [head, rows, far, tail]

    started = time.monotonic()
    rows = roster.read_roster("r.xlsx", xlsx_with_sheet([person()], sheet))
    assert [r.full_name for r in rows] == ["Nguyễn Văn An"]
    assert time.monotonic() - started < 2


def test_a_zip_that_lies_about_its_sizes_is_not_an_xlsx():
    """The ZIP directory says 1,000 bytes; the data inflates to 10 MB. zipfile stops at
    the declared size, and the CRC check fails."""
    import io
    import struct
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 10_000_000)
    raw = bytearray(buffer.getvalue())
    struct.pack_into("<I", raw, 22, 1_000)  # local header: uncompressed size
    struct.pack_into("<I", raw, raw.rfind(b"PK\x01\x02") + 24, 1_000)  # central directory
    assert _refusal("r.xlsx", bytes(raw)).startswith("The file is not a valid XLSX")


def test_a_full_ten_thousand_row_roster_is_within_every_limit():
    rows = [person(name=f"Người Thứ {i}", phone="0912 345 678") for i in range(10_000)]
    data = xlsx_bytes(rows)
    started = time.monotonic()
    assert len(roster.read_roster("r.xlsx", data)) == 10_000
    assert time.monotonic() - started < 5
    too_many = [*rows, person(name="Người Thừa")]
    assert _refusal("r.csv", csv_bytes(too_many)).startswith(
        "The roster has more than 10,000 rows."
    )
