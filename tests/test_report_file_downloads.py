"""Received report files are downloaded into FILES_DIR through a durable queue (SPEC §6):
named by SHA-256, checksum recorded, retried after a Telegram outage or a bad folder
(the admins told once), and none lost when the bot is killed in the middle."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.db import transaction
from bot.models import Outbox, ReportFile
from bot.services import report_files
from bot.services.people import TelegramIdentity, identify
from bot.services.report_files import Caption, Incoming
from jobs.downloads import Downloader
from tests.harness import deps_of_app
from tests.people import registered
from tests.processes import Process, until

PDF = b"%PDF-1.4 bao cao quy IV cua Bo Tai chinh"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The usual test settings (tests/conftest.py), with FILES_DIR in this test's folder."""
    return settings.model_copy(update={"files_dir": tmp_path / "files"})


def _downloader(bot) -> Downloader:
    return Downloader(deps_of_app(bot.app), bot.app.bot)


async def _drain(bot, downloader: Downloader) -> None:
    """Run download passes until none is due now (what the loop does, without its sleeps)."""
    for _ in range(50):
        if await downloader.run_pass() > 0:
            return
    raise AssertionError("the download queue kept finding due files")


async def _files(bot) -> list[ReportFile]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(ReportFile).order_by(ReportFile.id))).all())


async def _submitted(bot, admin, content=PDF, name="bao-cao.pdf"):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC,HN Q4/2026 | Báo cáo quý IV")
    bot.api.send_document(an, name, content, caption="/submit 1 Số 5/BC-BTC")
    await bot.settle()
    return an


async def test_a_received_file_is_kept_under_its_sha256(bot, admin, settings):
    await _submitted(bot, admin)
    await _drain(bot, _downloader(bot))
    [row] = await _files(bot)
    digest = hashlib.sha256(PDF).hexdigest()
    assert row.sha256 == digest and row.downloaded_at is not None
    assert row.stored_path == f"{digest[:2]}/{digest}.pdf"
    on_disk = settings.files_dir / row.stored_path
    assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == row.sha256
    assert row.download_due_at is None and row.download_error is None
    # No temporary file is left behind.
    assert [p.name for p in on_disk.parent.iterdir()] == [on_disk.name]


async def test_a_telegram_outage_delays_the_download_then_it_completes(bot, admin, settings):
    await _submitted(bot, admin)
    downloader = _downloader(bot)
    bot.api.fail_next("getFile", 500, "Internal Server Error")
    bot.api.fail_downloads(2, status=502)
    for _ in range(3):  # getFile fails, then the file server twice
        await _drain(bot, downloader)
        [row] = await _files(bot)
        assert row.downloaded_at is None and row.download_error
        assert bot.api.token not in row.download_error  # the token is never kept
        bot.clock.advance(timedelta(hours=1))
    await _drain(bot, downloader)
    [row] = await _files(bot)
    assert row.downloaded_at is not None and row.download_attempts == 4
    assert (settings.files_dir / row.stored_path).read_bytes() == PDF


async def test_retries_back_off(bot, admin, settings):
    await _submitted(bot, admin)
    downloader = _downloader(bot)
    bot.api.fail_downloads(10, status=502)
    await _drain(bot, downloader)
    [first] = await _files(bot)
    waited = first.download_due_at - bot.clock.now()
    bot.clock.advance(waited)
    await _drain(bot, downloader)
    [second] = await _files(bot)
    assert second.download_due_at - bot.clock.now() > waited  # waits longer each time
    assert second.download_attempts == 2


async def test_an_unwritable_folder_tells_the_admins_once_then_recovers(
    bot, admin, settings, caplog
):
    # Where FILES_DIR should be, a file: no folder can be made there (as for root too,
    # whom permissions would not stop).
    settings.files_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.files_dir.write_bytes(b"not a folder")
    await _submitted(bot, admin)
    downloader = _downloader(bot)
    with caplog.at_level(logging.ERROR):
        for _ in range(3):  # three failed tries: one message to the admins
            await _drain(bot, downloader)
            bot.clock.advance(timedelta(hours=1))
    assert "FILES_DIR" in caplog.text
    since = len(bot.api.sent)
    await bot.deliver()
    told = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    assert len(told) == 1 and "FILES_DIR" in told[0]["text"]
    async with bot.sessions() as session:
        kinds = (await session.scalars(select(Outbox.kind))).all()
    assert kinds.count("files_storage") == 1
    [row] = await _files(bot)
    assert row.downloaded_at is None and row.download_attempts == 3

    settings.files_dir.unlink()  # fixed
    await _drain(bot, downloader)
    [row] = await _files(bot)
    assert row.downloaded_at is not None
    assert (settings.files_dir / row.stored_path).read_bytes() == PDF


async def test_a_file_telegram_refuses_for_good_is_given_up_with_its_reason(bot, admin):
    await _submitted(bot, admin)
    bot.api.fail_next("getFile", 400, "Bad Request: invalid file_id")
    await _drain(bot, _downloader(bot))
    [row] = await _files(bot)
    assert row.downloaded_at is None and row.download_due_at is None
    assert "invalid file_id" in row.download_error.casefold()


async def test_two_files_with_the_same_content_are_one_file_on_disk(bot, admin, settings):
    an = await _submitted(bot, admin)
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo khác")
    bot.api.send_document(an, "ban-sao.pdf", PDF, caption="/submit 2")
    await bot.settle()
    await _drain(bot, _downloader(bot))
    first, second = await _files(bot)
    assert first.sha256 == second.sha256 and first.stored_path == second.stored_path
    assert first.downloaded_at is not None and second.downloaded_at is not None


async def test_kill_9_during_the_downloads_loses_none(bot, api, admin, cli_environment, tmp_path):
    """The real `dieuphoi run`, killed while it downloads twenty reports, then started again."""
    count = 20
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC 31/12/2099 | Báo cáo quý IV")
    contents = [f"%PDF-1.4 bao cao so {i}".encode() for i in range(count)]
    # Recorded as /submit records them (twenty answers in one chat would take 20 s).
    async with transaction(bot.sessions) as session:
        who = await identify(session, TelegramIdentity(an.id), "vi")
        for i, content in enumerate(contents):
            document = api.stored_document(f"bc-{i}.pdf", content)
            incoming = Incoming(
                "document",
                document["file_id"],
                document["file_unique_id"],
                document["file_name"],
                document["mime_type"],
                document["file_size"],
            )
            today = deps_of_app(bot.app).timing.today(bot.clock.now())
            await report_files.submit(
                session, bot.clock.now(), who, incoming, 1, Caption(), today
            )
    assert len(await _files(bot)) == count
    await bot.stop()  # the real process takes over

    files_dir = tmp_path / "files"
    env = dict(cli_environment, FILES_DIR=str(files_dir), OUTBOX_LEASE_SECONDS="2")
    api.download_delay = 0.2

    def kept() -> int:
        return len(api.downloads)

    first = await Process.start("first", api, env, tmp_path)
    try:
        await until(lambda: kept() >= 3, timeout=60)
    finally:
        await first.kill()
    assert kept() < count, "every file was downloaded before the kill: nothing tested"

    api.download_delay = 0.0
    second = await Process.start("second", api, env, tmp_path)

    async def all_kept() -> bool:
        return all(row.downloaded_at is not None for row in await _files(bot))

    try:
        await until(all_kept, timeout=60, every=0.2)
    finally:
        code = await second.stop()
    assert code == 0, second.log
    rows = await _files(bot)
    assert sorted(r.sha256 for r in rows) == sorted(hashlib.sha256(c).hexdigest() for c in contents)
    for row in rows:
        assert hashlib.sha256((files_dir / row.stored_path).read_bytes()).hexdigest() == row.sha256
