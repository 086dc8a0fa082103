"""Reports are documents (issue 11's check, as a test).

Twenty agencies of a council get a quarterly report task. Their officials send the report
file as a reply to the reminder or with `/submit`; one file is too large, one is an
executable, one is sent twice, one agency sends a corrected version, one sends nothing;
the only official of another agency is away and her stand-in (same agency, another
council) sends it. Then: `/files` shows exactly the latest file of each agency that sent
one and names those that did not; the ZIP export holds each received file once with an
index that matches; the digest lands in the council's forum topic, lists the files, shows
the absence and does not count as silent an agency that sent its report.

(A kill -9 during the downloads is the real process's test:
tests/test_report_file_downloads.py::test_kill_9_during_the_downloads_loses_none.)
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.models import Agency, ReportFile
from bot.services.file_archive import INDEX_NAME
from jobs.downloads import Downloader
from tests.chat import local, press
from tests.cli import run_cli
from tests.harness import deps_of_app
from tests.people import registered
from tests.test_chat_tasks import walk

AGENCIES = [
    ("BQP", "Nguyễn Văn An"), ("BCA", "Trần Thị Bình"), ("BNG", "Lê Văn Cường"),
    ("BNV", "Phạm Thị Dung"), ("BTP", "Hoàng Văn Em"), ("BTC", "Vũ Thị Giang"),
    ("BCT", "Đặng Văn Hải"), ("BNNMT", "Bùi Thị Hoa"), ("BXD", "Đỗ Văn Khánh"),
    ("BVHTTDL", "Hồ Thị Lan"), ("BKHCN", "Ngô Văn Minh"), ("BGDDT", "Dương Thị Ngọc"),
    ("BYT", "Lý Thị Oanh"), ("HN", "Mai Văn Phúc"), ("HP", "Trịnh Thị Quyên"),
    ("BN", "Đinh Văn Sơn"), ("HY", "Lâm Thị Tâm"), ("NB", "Phan Văn Tuấn"),
    ("QNI", "Tạ Thị Uyên"), ("VPCP", "Châu Văn Vinh"),
]  # fmt: skip
BY_REPLY = range(0, 8)  # reply to the reminder with the file
BY_SUBMIT = range(8, 15)  # caption /submit 1 (BYT, 12: her stand-in does it)
TOO_LARGE, EXECUTABLE, TWICE, CORRECTED, NOTHING = 15, 16, 17, 18, 19
AWAY = 12
TITLE = "Báo cáo tình hình thực hiện Kế hoạch vùng quý IV/2026"
T14 = local(2026, 12, 4, 8, 0)


@pytest.fixture
def settings(settings, tmp_path: Path):
    return settings.model_copy(update={"files_dir": tmp_path / "files"})


def _pdf(code: str, version: int = 1) -> bytes:
    return f"%PDF-1.7 bao cao quy IV/2026 cua {code}, ban {version}".encode()


async def _download_all(bot) -> None:
    downloader = Downloader(deps_of_app(bot.app), bot.app.bot)
    for _ in range(100):
        if await downloader.run_pass() > 0:
            return
    raise AssertionError("downloads still due after 100 passes")


async def _send(bot, user, name, content, caption=None, **kwargs) -> list[dict]:
    since = len(bot.api.sent)
    bot.api.send_document(user, name, content, caption=caption, **kwargs)
    await bot.settle()
    return [m for m in bot.api.sent[since:] if m["chat"]["id"] == user.id]


async def test_twenty_agencies_report_and_the_secretariat_files_them(
    bot, admin, settings, cli_environment, tmp_path
):
    officials = [await registered(bot, name, "DBSH", code) for code, name in AGENCIES]
    stand_in = await registered(bot, "Kiều Thị Xuân", "TN", "BYT")
    forum = bot.api.add_group("Diễn đàn Hội đồng điều phối vùng", forum=True)
    bot.api.add_bot_to_group(forum, admin)
    await bot.settle()
    topic = bot.api.create_topic(forum, admin, "Hội đồng vùng Đồng bằng sông Hồng")
    await bot.settle()
    linked = await bot.say(admin, "/link DBSH", chat=forum, topic=topic)
    assert linked.get("message_thread_id") == topic
    codes = ",".join(code for code, _ in AGENCIES)
    created = await bot.say(
        admin, f"/newtask DBSH {codes} 18/12/2026 | {TITLE} | every=quarter | period=quý IV/2026"
    )
    assert "#1" in created["text"]
    away = officials[AWAY]
    answer = await bot.say(away, "/away 01/12/2026 31/12/2026")
    [stand_in_button] = [
        b["callback_data"]
        for row in answer["reply_markup"]["inline_keyboard"]
        for b in row
        if "Kiều Thị Xuân" in b["text"]
    ]
    await press(bot, away, answer, stand_in_button)

    # The weeks go by (the Monday digest of 30/11 among them) to the first reminder.
    log = await walk(bot, T14)
    reminders = {
        m["chat"]["id"]: m
        for _, m in log
        if TITLE in m.get("text", "") and m["chat"]["type"] == "private"
    }
    assert away.id not in reminders and stand_in.id in reminders
    assert set(reminders) == {o.id for i, o in enumerate(officials) if i != AWAY} | {stand_in.id}

    # The files.
    for i in BY_REPLY:
        code = AGENCIES[i][0]
        [receipt] = await _send(
            bot, officials[i], f"bc-{code}.pdf", _pdf(code),
            caption=f"Số {i + 1}/BC-{code} ngày 10/12/2026", reply_to=reminders[officials[i].id],
        )  # fmt: skip
        assert "📎" in receipt["text"] and f"{i + 1}/BC-{code}" in receipt["text"]
    for i in BY_SUBMIT:
        code = AGENCIES[i][0]
        sender = stand_in if i == AWAY else officials[i]
        [receipt] = await _send(
            bot, sender, f"bc-{code}.pdf", _pdf(code),
            caption=f"/submit 1 Số {i + 1}/BC-{code} ngày 11/12/2026",
        )  # fmt: skip
        assert "📎" in receipt["text"], receipt["text"]
    [refused] = await _send(
        bot, officials[TOO_LARGE], "bc-scan.pdf", b"%PDF scan", caption="/submit 1",
        file_size=25 * 1024 * 1024,
    )  # fmt: skip
    assert "20 MB" in refused["text"]
    [refused] = await _send(bot, officials[EXECUTABLE], "baocao.exe", b"MZ", caption="/submit 1")
    assert "Không tiếp nhận tệp chương trình" in refused["text"]
    code = AGENCIES[TWICE][0]
    update = bot.api.send_document(
        officials[TWICE], f"bc-{code}.pdf", _pdf(code), caption="/submit 1"
    )
    await bot.settle()
    since = len(bot.api.sent)
    bot.api.resend_file(officials[TWICE], update, "/submit 1")  # the same file_unique_id
    await bot.settle()
    [duplicate] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == officials[TWICE].id]
    assert "đã được nhận" in duplicate["text"]
    code = AGENCIES[CORRECTED][0]
    await _send(bot, officials[CORRECTED], f"bc-{code}.pdf", _pdf(code, 1), caption="/submit 1")
    bot.clock.set(bot.clock.now() + timedelta(hours=1))  # the corrected version comes later
    await _send(
        bot, officials[CORRECTED], f"bc-{code}-sua.pdf", _pdf(code, 2), caption="/submit 1"
    )
    await _download_all(bot)

    async with bot.sessions() as session:
        rows = (await session.scalars(select(ReportFile).where(ReportFile.task_id == 1))).all()
    received = list(rows)
    assert len(received) == len(BY_REPLY) + len(BY_SUBMIT) + 3  # TWICE once, CORRECTED twice
    assert all(r.sha256 and r.downloaded_at for r in received)
    on_disk = {r.sha256: (settings.files_dir / r.stored_path).read_bytes() for r in received}
    assert all(hashlib.sha256(c).hexdigest() == sha for sha, c in on_disk.items())

    # /files: the latest file of each agency that sent one, then who sent nothing.
    since = len(bot.api.sent)
    bot.api.send_message(admin, "/files 1")
    await bot.settle(timeout=60)  # one message a second in a chat, as Telegram allows
    shown = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    documents = [m for m in shown if "document" in m]
    senders = set(BY_REPLY) | set(BY_SUBMIT) | {TWICE, CORRECTED}
    assert len(documents) == len(senders)
    names = sorted(m["document"]["file_name"] for m in documents)
    expected = sorted(
        f"bc-{AGENCIES[i][0]}-sua.pdf" if i == CORRECTED else f"bc-{AGENCIES[i][0]}.pdf"
        for i in senders
    )
    assert names == expected
    [missing] = [m for m in shown if "Chưa nhận được tệp báo cáo của" in m.get("text", "")]
    named = await _addressees(bot)
    for i in (TOO_LARGE, EXECUTABLE, NOTHING):
        assert named[AGENCIES[i][0]] in missing["text"], (AGENCIES[i], missing["text"])
    assert sum(named[AGENCIES[i][0]] in missing["text"] for i in senders) == 0

    # The ZIP: every received file once, the index matching.
    out = tmp_path / "dbsh.zip"
    environment = dict(cli_environment, FILES_DIR=str(settings.files_dir))
    result = await run_cli(
        "export", "--council", "DBSH", "--format", "zip", "-o", str(out),
        env=environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    with zipfile.ZipFile(out) as archive:
        files = [n for n in archive.namelist() if n != INDEX_NAME]
        assert len(files) == len(senders) + 1  # the corrected agency's first version too
        assert len({hashlib.sha256(archive.read(n)).digest() for n in files}) == len(files)
        sheet = load_workbook(io.BytesIO(archive.read(INDEX_NAME))).active
        table = [[c.value for c in row] for row in sheet.iter_rows()]
        header_at = next(i for i, row in enumerate(table) if "SHA-256" in row)
        header, index = table[header_at], table[header_at + 1 :]
        index = [row for row in index if any(row)]
        in_zip, sha = header.index("Tên tệp trong ZIP"), header.index("SHA-256")
        assert sorted(row[in_zip] for row in index) == sorted(files)
        for row in index:
            assert hashlib.sha256(archive.read(row[in_zip])).hexdigest() == row[sha]

    # The digest in the forum topic: the files, the absence, and no silent agency that
    # sent its report.
    since = len(bot.api.sent)
    await bot.say_all(admin, "/digest DBSH")
    await bot.deliver()
    posted = [
        m for m in bot.api.sent[since:]
        if m["chat"]["id"] == forum.id and m.get("text", "").startswith("📊")
    ]  # fmt: skip
    assert posted and all(m.get("message_thread_id") == topic for m in posted)
    text = "\n".join(m["text"] for m in posted)
    assert "📎" in text and "1/BC-BQP" in text and "13/BC-BYT" in text
    assert "vắng đến ngày 31/12/2026, Kiều Thị Xuân thay" in text
    silent = text.split("🔕")[1].split("\n\n")[0] if "🔕" in text else ""
    for i in senders:
        assert f"• {named[AGENCIES[i][0]]}:" not in silent, (AGENCIES[i], silent)
    assert f"• {named[AGENCIES[NOTHING][0]]}:" in silent



async def _addressees(bot) -> dict[str, str]:
    """How the bot names each agency to the secretariat ("UBND thành phố Hà Nội")."""
    async with bot.sessions() as session:
        return {a.code: a.addressee("vi") for a in (await session.scalars(select(Agency))).all()}
