"""`dieuphoi export --council CODE --format zip -o FILE.zip` (SPEC §1): every received
report file of the council, read from FILES_DIR, named TASKID_AGENCY_NUMBER.ext, with an
index sheet; a missing file is listed, not a crash; nothing to put in it is an error."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import progress_bar
from bot.services.file_archive import INDEX_NAME, ascii_name, zip_name
from jobs.downloads import Downloader
from tests.cli import run_cli
from tests.harness import deps_of_app
from tests.people import registered

HEADER_ROW = 4


@pytest.fixture
def settings(settings, tmp_path: Path):
    """The usual test settings (tests/conftest.py), with FILES_DIR in this test's folder."""
    return settings.model_copy(update={"files_dir": tmp_path / "files"})


@pytest.fixture
def environment(cli_environment, settings):
    return dict(cli_environment, FILES_DIR=str(settings.files_dir))


async def _download_all(bot) -> None:
    downloader = Downloader(deps_of_app(bot.app), bot.app.bot)
    for _ in range(100):
        if await downloader.run_pass() > 0:
            return


async def _received(bot, admin):
    """Task #1 for BTC, HN and BCT: BTC sends twice (same number: the names clash), HN a
    photo with an official number full of unsafe characters, BCT nothing."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await bot.say(admin, "/newtask DBSH BTC,HN,BCT Q4/2026 | Báo cáo quý IV")
    bot.api.send_document(an, "bao cáo.pdf", b"%PDF one", caption="/submit 1 Số 12/BC-BTC")
    await bot.settle()
    bot.clock.advance(timedelta(minutes=1))
    bot.api.send_document(an, "sửa.pdf", b"%PDF two", caption="/submit 1 Số 12/BC-BTC")
    await bot.settle()
    bot.api.send_photo(binh, b"\xff\xd8 jpeg", caption="/submit 1 Số 7/BC-ĐTXD ngày 1/12/2026")
    await bot.settle()
    await _download_all(bot)


def _index(archive: zipfile.ZipFile) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(archive.read(INDEX_NAME))).active
    return [[c.value for c in row] for row in sheet.iter_rows(min_row=HEADER_ROW)]


async def test_the_zip_holds_each_file_once_with_a_matching_index(
    bot, admin, environment, tmp_path
):
    await _received(bot, admin)
    out = tmp_path / "dbsh.zip"
    result = await run_cli(
        "export", "--council", "DBSH", "--format", "zip", "-o", str(out),
        env=environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert str(out) in result.out
    assert "\r" not in result.err  # not a terminal: no progress bar
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            [INDEX_NAME, "1_BTC_12-BC-BTC.pdf", "1_BTC_12-BC-BTC_2.pdf", "1_HN_7-BC-DTXD.jpg"]
        )
        assert archive.read("1_BTC_12-BC-BTC.pdf") == b"%PDF one"
        assert archive.read("1_BTC_12-BC-BTC_2.pdf") == b"%PDF two"
        header, *rows = _index(archive)
        assert header[0] == "STT" and "SHA-256" in header and "Tên tệp trong ZIP" in header
        in_zip = header.index("Tên tệp trong ZIP")
        sha = header.index("SHA-256")
        assert len(rows) == 3
        for row in rows:
            content = archive.read(row[in_zip])
            assert hashlib.sha256(content).hexdigest() == row[sha]
        assert [r[header.index("Số văn bản")] for r in rows] == [
            "12/BC-BTC",
            "12/BC-BTC",
            "7/BC-ĐTXD",
        ]
        assert [r[header.index("Người gửi")] for r in rows][2] == "Trần Thị Bình"


async def test_a_file_missing_on_disk_is_listed_as_missing(
    bot, admin, environment, settings, tmp_path
):
    await _received(bot, admin)
    [lost] = [p for p in settings.files_dir.rglob("*.pdf") if p.read_bytes() == b"%PDF two"]
    lost.unlink()
    out = tmp_path / "dbsh.zip"
    result = await run_cli(
        "export", "--council", "DBSH", "--format", "zip", "-o", str(out),
        env=environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    with zipfile.ZipFile(out) as archive:
        assert "1_BTC_12-BC-BTC_2.pdf" not in archive.namelist()
        header, *rows = _index(archive)
        states = [r[header.index("Tình trạng")] for r in rows]
        assert states == ["Có trong tệp ZIP", "Thiếu trong thư mục lưu trữ", "Có trong tệp ZIP"]
        assert rows[1][header.index("Tên tệp trong ZIP")] is None


async def test_nothing_received_is_a_clear_error_and_no_file(bot, admin, environment, tmp_path):
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo quý IV")
    out = tmp_path / "empty.zip"
    result = await run_cli(
        "export", "--council", "DBSH", "--format", "zip", "-o", str(out),
        env=environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 1
    assert "DBSH" in result.err and "ZIP" in result.err
    assert not out.exists()


async def test_files_recorded_but_not_on_disk_are_an_error_too(bot, admin, environment, tmp_path):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo quý IV")
    bot.api.send_document(an, "bc.pdf", b"%PDF", caption="/submit 1")
    await bot.settle()  # recorded, never downloaded: FILES_DIR holds nothing
    out = tmp_path / "empty.zip"
    result = await run_cli(
        "export", "--council", "DBSH", "--format", "zip", "-o", str(out),
        env=environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 1 and "ZIP" in result.err
    assert not out.exists() and list(tmp_path.glob(".zip-*")) == []


def test_names_are_safe_in_any_archive():
    assert ascii_name("Số 12/BC-UBND (bản ký)") == "So-12-BC-UBND-ban-ky"
    assert ascii_name("../../etc/passwd") == "etc-passwd"
    assert zip_name(12, "BTC", "123/BC-BTC", ".pdf", 5) == "12_BTC_123-BC-BTC.pdf"
    assert zip_name(12, "HN", None, ".jpg", 5) == "12_HN_tep-5.jpg"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_on_a_terminal_only():
    assert progress_bar(io.StringIO()) is None
    screen = _Terminal()
    show = progress_bar(screen, width=10)
    assert show is not None
    show(1, 2)
    show(2, 2)
    assert screen.getvalue() == "\r[#####.....] 1/2\r[##########] 2/2\n"
