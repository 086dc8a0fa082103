"""A meeting's attendance list, "DANH SÁCH ĐĂNG KÝ DỰ HỌP" (SPEC §1 `export --what
attendance --meeting ID`, §3 `/export MEETING_ID`), read back as the secretariat files it."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot import callbacks
from bot.callbacks import MeetingPress, Rsvp
from tests.chat import press
from tests.cli import run_cli
from tests.people import registered

HEADERS = [
    "STT",
    "Họ và tên",
    "Chức vụ",
    "Cơ quan",
    "Vai trò",
    "Đăng ký",
    "Người dự thay (họ tên, chức vụ)",
]
TITLE = "Góp ý quy hoạch vùng <Đồng bằng> & kế hoạch 2027"
DELEGATE = "Lê Thị Hoa, Phó Vụ trưởng Vụ Đầu tư"


def _rows(sheet):
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


async def _answered(bot, admin):
    """Meeting #1 of DBSH: An attends, Bình sends a delegate, Cường (the chair) has not
    answered yet; Dũng sits in TN and is not on the list."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC", position="Thứ trưởng")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN", position="Phó Chủ tịch UBND")
    await registered(bot, "Lê Văn Cường", "DBSH", "VPCP", position="Phó Thủ tướng", role="chair")
    await registered(bot, "Phạm Văn Dũng", "TN", "DLK")
    await bot.say(admin, f"/newmeeting DBSH 2026-12-03 09:00 | {TITLE} | Phòng họp số 1")
    for person, choice in ((an, Rsvp.ATTEND), (binh, Rsvp.DELEGATE)):
        [card] = [r for r in await bot.say_all(person, "/meetings") if r.get("reply_markup")]
        since = len(bot.api.sent)
        await press(bot, person, card, callbacks.encode(MeetingPress(1, choice)))
    question = await bot.api.wait_for_message(binh.id, since=since)
    await bot.say(binh, DELEGATE, reply_to=question)


async def test_an_admin_gets_the_attendance_list_of_a_meeting(bot, admin):
    await _answered(bot, admin)
    answer = await bot.say(admin, "/export 1")
    assert answer["_method"] == "sendDocument"
    assert answer["caption"].startswith("📋 Danh sách đăng ký dự họp của cuộc họp #1")
    assert TITLE in answer["caption"]  # escaped: the fake Bot API parses the HTML
    name, content = answer["_files"]["document"]
    assert name == "dang-ky-du-hop-1.xlsx"

    sheet = load_workbook(io.BytesIO(content))["Đăng ký dự họp"]
    rows = _rows(sheet)
    titles = [row[0] for row in rows[:6]]
    assert titles[:3] == [
        "DANH SÁCH ĐĂNG KÝ DỰ HỌP",
        TITLE,
        "Hội đồng điều phối vùng Đồng bằng sông Hồng",
    ]
    assert titles[3].startswith("Thời gian: ") and "09:00" in titles[3] and "2026" in titles[3]
    assert titles[4] == "Địa điểm: Phòng họp số 1"
    assert titles[5] == "(Tổng hợp đến ngày 23/11/2026)"
    assert sheet["A1"].font.b and "A1:G1" in {str(r) for r in sheet.merged_cells.ranges}
    header_row = 8
    assert rows[header_row - 1] == HEADERS
    table = rows[header_row : header_row + 3]
    # The chair first, then members: ministries before provinces.
    chair = "Lê Văn Cường", "Phó Thủ tướng", "Văn phòng Chính phủ", "Chủ tịch", "Chưa trả lời"
    assert table == [
        [1, *chair, None],
        [2, "Nguyễn Văn An", "Thứ trưởng", "Bộ Tài chính", "Ủy viên", "Dự họp", None],
        [3, "Trần Thị Bình", "Phó Chủ tịch UBND", "Thành phố Hà Nội", "Ủy viên",
         "Cử người dự thay", DELEGATE],
    ]  # fmt: skip
    assert "Phạm Văn Dũng" not in str(rows)
    summary = rows[header_row + 4][1]
    assert summary == "Tổng số: 3; dự họp: 1; vắng: 0; cử người dự thay: 1; chưa trả lời: 1."
    assert sheet.print_title_rows == "$8:$8"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1


async def test_attendance_is_refused_to_members_and_for_unknown_meetings(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Họp quý IV")
    refused = await bot.say(member, "/export 1")
    assert "document" not in refused and "cán bộ Cơ quan thường trực" in refused["text"]
    unknown = await bot.say(admin, "/export 99")
    assert unknown["text"] == "Không có cuộc họp #99."
    usage = await bot.say(admin, "/export 1 2")
    assert (
        "/export MÃ_CUỘC_HỌP" in usage["text"]
        and "Ví dụ: /export DBSH hoặc /export 5" in usage["text"]
    )
    hashed = await bot.say(admin, "/export #1")
    assert hashed["document"]["file_name"] == "dang-ky-du-hop-1.xlsx"


async def test_cli_writes_the_attendance_list_and_refuses_what_does_not_fit(
    bot, admin, cli_environment, tmp_path
):
    await _answered(bot, admin)
    env = cli_environment
    target = tmp_path / "dang-ky.xlsx"
    result = await run_cli("export", "--council", "dbsh", "--what", "attendance", "--meeting",
                           "1", "-o", str(target), env=env, cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.err
    assert str(target) in result.out and "(3 người)" in result.out
    sheet = load_workbook(target)["Đăng ký dự họp"]
    assert sheet["A1"].value == "DANH SÁCH ĐĂNG KÝ DỰ HỌP"
    assert [c.value for c in sheet[8]] == HEADERS

    refusals = {
        "no meeting": ("--what", "attendance", "-o", str(tmp_path / "a.xlsx")),
        "csv": ("--what", "attendance", "--meeting", "1", "-o", str(tmp_path / "a.csv")),
        "other council": (
            "--council",
            "TN",
            "--what",
            "attendance",
            "--meeting",
            "1",
            "-o",
            str(tmp_path / "a.xlsx"),
        ),
        "unknown meeting": (
            "--what",
            "attendance",
            "--meeting",
            "7",
            "-o",
            str(tmp_path / "a.xlsx"),
        ),
        "meeting for tasks": ("--meeting", "1", "-o", str(tmp_path / "a.xlsx")),
    }
    errors = {}
    for case, arguments in refusals.items():
        refused = await run_cli("export", *arguments, env=env, cwd=tmp_path)
        assert refused.code != 0 and refused.out == "", case
        errors[case] = refused.err.strip()
    assert "--meeting" in errors["no meeting"]
    assert "XLSX" in errors["csv"]
    assert errors["other council"] == "error: Cuộc họp #1 không phải là cuộc họp của Hội đồng TN."
    assert errors["unknown meeting"] == "error: Không có cuộc họp #7."
    assert "--what attendance" in errors["meeting for tasks"]
    assert not (tmp_path / "a.xlsx").exists() and not (tmp_path / "a.csv").exists()
