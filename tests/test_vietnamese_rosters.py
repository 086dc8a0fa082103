"""Rosters in Vietnamese (SPEC §4): Vietnamese column names and role words, the role
"Phó Chủ tịch Thường trực", and the template (`members template`, `/import` alone)."""

from __future__ import annotations

import io
import unicodedata

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.db import transaction
from bot.i18n import use_locale
from bot.models import CouncilMembership, Member, Role
from bot.services import roster
from bot.services.errors import BadInputError
from bot.services.roster_template import roster_template
from tests.cli import run_cli
from tests.rosters import csv_bytes, xlsx_bytes

VIETNAMESE_HEADER = [
    "Hội đồng",
    "Họ và tên",
    "Chức vụ",
    "Cơ quan",
    "Tên cơ quan",
    "Vai trò",
    "Ngôn ngữ",
    "Điện thoại",
    "Email",
]


def _vi(council, name, agency, role, position="Thứ trưởng", agency_name=""):
    return [council, name, position, agency, agency_name, role, "vi", "", ""]


async def _import(sessions, clock, data: bytes, name: str = "danh-sach.xlsx"):
    rows = roster.read_roster(name, data)
    async with transaction(sessions) as session:
        return await roster.import_roster(session, clock.now(), rows, by=None)


async def _roles(sessions) -> dict[str, Role]:
    async with sessions() as session:
        seats = await session.execute(
            select(Member.full_name, CouncilMembership.role).join(
                CouncilMembership, CouncilMembership.member_id == Member.id
            )
        )
        return {name: role for name, role in seats.all()}


async def test_vietnamese_headers_and_role_words_import_every_role(seeded, clock):
    rows = [
        _vi("DBSH", "Trần Hồng Hà", "CP", "Chủ tịch", "Phó Thủ tướng", "Chính phủ"),
        _vi("DBSH", "Nguyễn Văn Thắng", "BTC", "Phó Chủ tịch Thường trực", "Bộ trưởng"),
        _vi("DBSH", "Trần Sỹ Thanh", "HN", "Phó Chủ tịch", "Chủ tịch UBND Thành phố"),
        _vi("DBSH", "Lê Văn An", "BXD", "Ủy viên"),
        _vi("DBSH", "Phạm Thị Bình", "BCT", "Uỷ viên"),  # the older tone-mark placement
        _vi("DBSH", "Đỗ Văn Cường", "BNNMT", "Đầu mối", "Chuyên viên", "Bộ NN và MT"),
        _vi("DBSH", "Hoàng Văn Dũng", "BYT", ""),  # empty: a member
    ]
    report = await _import(seeded, clock, xlsx_bytes(rows, header=VIETNAMESE_HEADER))
    assert report.errors == [] and len(report.new_members) == 7
    assert await _roles(seeded) == {
        "Trần Hồng Hà": Role.CHAIR,
        "Nguyễn Văn Thắng": Role.STANDING_VICE_CHAIR,
        "Trần Sỹ Thanh": Role.VICE_CHAIR,
        "Lê Văn An": Role.MEMBER,
        "Phạm Thị Bình": Role.MEMBER,
        "Đỗ Văn Cường": Role.CONTACT,
        "Hoàng Văn Dũng": Role.MEMBER,
    }


async def test_headers_as_excel_users_type_them_are_recognised(seeded, clock):
    # Upper case, stray spaces, a line break inside a cell, letters decomposed as a Mac
    # saves them, and an unknown "STT" column (ignored).
    header = [
        "STT",
        " HỘI ĐỒNG",
        "Họ và tên ",
        unicodedata.normalize("NFD", "Chức vụ"),
        "Cơ\nquan",
        "VAI TRÒ",
    ]
    row = ["1", "DBSH", "Nguyễn Văn An", "Vụ trưởng", "BTC", "phó chủ tịch thường trực"]
    data = csv_bytes([row], header=header, bom=True)
    report = await _import(seeded, clock, data, "danh-sach.csv")
    assert report.errors == [] and len(report.new_members) == 1
    assert await _roles(seeded) == {"Nguyễn Văn An": Role.STANDING_VICE_CHAIR}
    async with seeded() as session:
        assert (await session.scalar(select(Member.position))) == "Vụ trưởng"


async def test_vietnamese_and_english_names_of_different_columns_mix(seeded, clock):
    header = ["council", "Họ và tên", "position", "Cơ quan", "role", "Ngôn ngữ"]
    data = csv_bytes([["DBSH", "Nguyễn Văn An", "Vụ trưởng", "BTC", "chair", "en"]], header=header)
    report = await _import(seeded, clock, data, "r.csv")
    assert report.errors == [] and len(report.new_members) == 1
    async with seeded() as session:
        member = await session.scalar(select(Member))
        assert member is not None and member.language == "en"


def test_the_same_column_twice_is_refused_naming_both():
    header = ["Hội đồng", "Họ và tên", "Chức vụ", "Cơ quan", "Vai trò", "full_name"]
    data = csv_bytes([["DBSH", "Nguyễn Văn An", "", "BTC", "", "Nguyễn Văn Bình"]], header=header)
    with pytest.raises(BadInputError) as refused:
        roster.read_roster("r.csv", data)
    with use_locale("vi"):
        text = refused.value.render()
    assert text == (
        "Hai cột “Họ và tên” và “full_name” cùng là cột Họ và tên (full_name). "
        "Vui lòng chỉ giữ lại một cột."
    )
    header = ["council", "full_name", "position", "agency", "role", "COUNCIL"]
    twice = csv_bytes([["DBSH", "A", "", "BTC", "", "DBSH"]], header=header)
    with pytest.raises(BadInputError) as refused:
        roster.read_roster("r.csv", twice)
    with use_locale("en"):
        assert "“council” and “COUNCIL”" in refused.value.render()


def test_a_missing_column_is_named_in_both_languages():
    data = csv_bytes(
        [["DBSH", "Nguyễn Văn An", "BTC"]], header=["Hội đồng", "Ho va ten", "Cơ quan"]
    )
    with pytest.raises(BadInputError) as refused:
        roster.read_roster("r.csv", data)
    with use_locale("vi"):
        text = refused.value.render()
    # Diacritics are not guessed: "Ho va ten" is not a known column.
    assert "Họ và tên (full_name), Chức vụ (position), Vai trò (role)" in text.split(".")[0]


async def test_an_unknown_role_word_is_reported_with_its_row_and_the_accepted_words(seeded, clock):
    rows = [
        _vi("DBSH", "Nguyễn Văn An", "BTC", "Ủy viên"),
        _vi("DBSH", "Trần Thị Bình", "HN", "Thư ký"),
        _vi("DBSH", "Lê Văn Cường", "BXD", "Đầu mối"),
    ]
    report = await _import(seeded, clock, xlsx_bytes(rows, header=VIETNAMESE_HEADER))
    assert len(report.new_members) == 2
    [error] = report.errors
    assert error.number == 3
    with use_locale("vi"):
        assert error.reason.render() == (
            "vai trò Thư ký không hợp lệ (dùng một trong các giá trị: Chủ tịch, Phó Chủ tịch "
            "Thường trực, Phó Chủ tịch, Ủy viên, Đầu mối)"
        )
    with use_locale("en"):
        assert error.reason.render() == (
            "unknown role Thư ký (use one of chair, standing_vice_chair, vice_chair, member, "
            "contact)"
        )
    assert set(await _roles(seeded)) == {"Nguyễn Văn An", "Lê Văn Cường"}


async def test_the_template_has_vietnamese_headers_a_guide_and_reads_back(seeded, clock):
    content = roster_template()
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Danh sách", "Hướng dẫn"]
    sheet = book["Danh sách"]
    header, first, second = [[c.value for c in row] for row in sheet.iter_rows()]
    assert header == VIETNAMESE_HEADER
    assert first[:6] == ["DBSH", "Nguyễn Văn An", "Thứ trưởng Bộ Tài chính", "BTC", None, "Ủy viên"]
    assert second[1] == "Trần Thị Bình" and second[5] == "Đầu mối"
    assert first[7] == "0912 345 678" and sheet["H2"].number_format == "@"
    assert all(cell.font.b and cell.comment is not None for cell in sheet[1])
    assert sheet.column_dimensions["B"].width >= 20 and sheet.column_dimensions["C"].width >= 30
    guide = [[c.value for c in row] for row in book["Hướng dẫn"].iter_rows()]
    assert guide[0] == ["Cột", "Tên cột tiếng Anh", "Bắt buộc", "Cách ghi"]
    role_line = next(line for line in guide if line[0] == "Vai trò")
    assert role_line[1] == "role" and role_line[2] == "có"
    for word in ("Chủ tịch", "Phó Chủ tịch Thường trực", "Ủy viên", "Đầu mối", "contact"):
        assert word in role_line[3]
    # What the template shows is what the importer takes.
    report = await _import(seeded, clock, content, "mau.xlsx")
    assert report.errors == [] and len(report.new_members) == 2


async def test_cli_writes_the_template_and_imports_a_vietnamese_roster(
    cli_environment, seeded, tmp_path
):
    target = tmp_path / "mau.xlsx"
    result = await run_cli("members", "template", "-o", str(target),
                           env=cli_environment, cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.err
    assert str(target) in result.out and "mẫu" in result.out
    assert [c.value for c in load_workbook(target)["Danh sách"][1]] == VIETNAMESE_HEADER

    roster_file = tmp_path / "danh-sach.xlsx"
    roster_file.write_bytes(
        xlsx_bytes(
            [
                _vi("DBSH", "Nguyễn Văn Thắng", "BTC", "Phó Chủ tịch Thường trực"),
                _vi("DBSH", "Trần Thị Bình", "HN", "Giám đốc"),
            ],
            header=VIETNAMESE_HEADER,
        )
    )
    result = await run_cli("members", "import", str(roster_file), env=cli_environment, cwd=tmp_path)
    assert result.code == 1  # a row was refused
    assert "Nguyễn Văn Thắng" in result.out and "Trần Thị Bình" not in result.out
    assert "dòng 3" in result.err and "Giám đốc" in result.err and "Đầu mối" in result.err
    listed = await run_cli("members", "list", env=cli_environment, cwd=tmp_path)
    assert "DBSH:standing_vice_chair" in listed.out

    nowhere = await run_cli("members", "template", "-o", str(tmp_path / "no" / "such" / "x.xlsx"),
                            env=cli_environment, cwd=tmp_path)  # fmt: skip
    assert nowhere.code == 1 and nowhere.err.startswith("error: ")


async def test_import_without_a_file_sends_the_template(bot, admin):
    answer = await bot.say(admin, "/import")
    assert answer["_method"] == "sendDocument"
    name, content = answer["_files"]["document"]
    assert name.endswith(".xlsx")
    assert answer["caption"].startswith("📋 Mẫu danh sách thành viên")
    assert "/import" in answer["caption"]
    header = [c.value for c in load_workbook(io.BytesIO(content))["Danh sách"][1]]
    assert header == VIETNAMESE_HEADER


async def test_a_standing_vice_chair_sees_the_role_in_whoami(bot, admin):
    rows = [_vi("DBSH", "Nguyễn Văn Thắng", "BTC", "Phó Chủ tịch Thường trực", "Bộ trưởng")]
    since = len(bot.api.sent)
    bot.api.send_document(admin, "danh-sach.xlsx", xlsx_bytes(rows, header=VIETNAMESE_HEADER),
                          caption="/import")  # fmt: skip
    await bot.settle()
    [answer] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    token = answer["text"].rsplit("start=", 1)[1].split()[0]
    user = bot.api.add_user(first_name="Thắng", language_code="vi")
    await bot.say(user, f"/start {token}")
    card = (await bot.say(user, "/whoami"))["text"]
    assert "Đồng bằng sông Hồng (DBSH) — Phó Chủ tịch Thường trực" in card
    await bot.say(user, "/lang en")
    assert "(DBSH) — standing vice chair" in (await bot.say(user, "/whoami"))["text"]


async def test_in_chat_a_bad_role_word_and_a_doubled_column_are_explained(bot, admin):
    rows = [
        _vi("DBSH", "Nguyễn Văn An", "BTC", "Uỷ viên"),
        _vi("DBSH", "Trần Thị Bình", "HN", "Thư ký"),
    ]
    since = len(bot.api.sent)
    bot.api.send_document(admin, "danh-sach.xlsx", xlsx_bytes(rows, header=VIETNAMESE_HEADER),
                          caption="/import")  # fmt: skip
    await bot.settle()
    [answer] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    assert "Dòng 3: vai trò Thư ký không hợp lệ" in answer["text"]
    assert "Chủ tịch, Phó Chủ tịch Thường trực, Phó Chủ tịch, Ủy viên, Đầu mối" in answer["text"]
    assert answer["text"].count("start=") == 1  # An was imported all the same

    doubled = csv_bytes([["DBSH", "Lê Văn Cường", "", "BXD", "", "Lê Cường"]],
                        header=["Hội đồng", "Họ và tên", "Chức vụ", "Cơ quan", "Vai trò",
                                "full_name"])  # fmt: skip
    since = len(bot.api.sent)
    bot.api.send_document(admin, "danh-sach.csv", doubled, caption="/import")
    await bot.settle()
    [refusal] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    assert refusal["text"] == (
        "Hai cột “Họ và tên” và “full_name” cùng là cột Họ và tên (full_name). "
        "Vui lòng chỉ giữ lại một cột."
    )
    async with bot.sessions() as session:
        assert "Lê Văn Cường" not in (await session.scalars(select(Member.full_name))).all()
