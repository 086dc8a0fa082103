"""A member's desk, /my: their agency's open tasks, each with a form for an answer, a note
and the report file — the chat's buttons, note replies and documents, easier on a phone
for long notes. The same services and checks as the chat; nothing half-written."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.models import ReportFile, ReportStatus, StatusReport
from tests.desk import NOTE, Browser, desk_settings, init_data
from tests.people import registered

PDF = b"%PDF-1.4 bao cao quy IV\n" + b"x" * 4000


@pytest.fixture
def settings(api, database_url, tmp_path) -> Settings:
    return desk_settings(api, database_url).model_copy(update={"files_dir": tmp_path / "files"})


@pytest.fixture
async def member(bot, admin) -> AsyncIterator[Browser]:
    """An, of BTC, signed in; task #1 for BTC and HN, task #2 for HN only."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await bot.say(admin, "/newtask DBSH BTC,HN 31/12/2026 | Báo cáo quý IV")
    await bot.say(admin, "/newtask DBSH HN 31/12/2026 | Việc riêng của Hà Nội")
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
    assert status == 200
    yield one
    await one.close()


def _form(token: str, **fields: object) -> aiohttp.FormData:
    # Names as a browser sends them: UTF-8 as typed, not percent-encoded.
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("csrf", token)
    for name, value in fields.items():
        if isinstance(value, tuple):
            file_name, content, content_type = value
            form.add_field(name, content, filename=file_name, content_type=content_type)
        else:
            form.add_field(name, str(value))
    return form


async def _reports(bot) -> list[StatusReport]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(StatusReport).order_by(StatusReport.id))).all())


async def _files(bot) -> list[ReportFile]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(ReportFile).order_by(ReportFile.id))).all())


async def test_my_page_offers_each_task_of_the_agency_a_labelled_form(bot, member):
    status, page, _ = await member.get("/my")
    assert status == 200
    assert 'action="/my/tasks/1/report"' in page and 'enctype="multipart/form-data"' in page
    assert "/my/tasks/2/report" not in page  # Hà Nội's own task
    for field in ("note-1", "file-1", "document-1"):
        assert f'<label for="{field}">' in page and f'id="{field}"' in page
    for label in ("✅ Hoàn thành", "🟢 Đúng tiến độ", "🟠 Có nguy cơ chậm", "🔴 Vướng mắc"):
        assert label in page


async def test_an_answer_with_a_long_note_is_recorded_as_a_button_and_a_reply_would(bot, member):
    token = await member.csrf_of("/my")
    note = "Đang tổng hợp số liệu của 12 đơn vị trực thuộc; " * 12 + NOTE
    status, _, response = await member.post(
        "/my/tasks/1/report", data=_form(token, status="at_risk", note=note)
    )
    assert status == 303 and response.headers["Location"] == "/my?saved=1#task-1"
    [report] = await _reports(bot)
    assert report.status == ReportStatus.AT_RISK and report.task_id == 1
    assert report.note == note.strip()
    page = (await member.get("/my?saved=1"))[1]
    assert "Đã ghi nhận" in page
    # The note on the task's page, shown as written, never as markup.
    page = (await member.get("/tasks/1"))[1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page


async def test_a_note_alone_goes_on_the_latest_answer_and_needs_one(bot, member):
    token = await member.csrf_of("/my")
    status, page, _ = await member.post("/my/tasks/1/report", data=_form(token, note="Ghi chú"))
    assert status == 400 and "chọn câu trả lời trước" in page
    assert "Ghi chú</textarea>" in page  # kept as typed
    assert await _reports(bot) == []
    await member.post("/my/tasks/1/report", data=_form(token, status="on_track"))
    status, _, _ = await member.post("/my/tasks/1/report", data=_form(token, note="Bổ sung"))
    assert status == 303
    [report] = await _reports(bot)
    assert (report.status, report.note) == (ReportStatus.ON_TRACK, "Bổ sung")


async def test_a_report_file_is_kept_and_the_secretariat_gets_it_with_files(bot, admin, member):
    token = await member.csrf_of("/my")
    fields = _form(
        token,
        status="done",
        document="Số 123/BC-BTC ngày 10/12/2026",
        file=("Báo cáo quý IV.pdf", PDF, "application/pdf"),
    )
    status, _, _ = await member.post("/my/tasks/1/report", data=fields)
    assert status == 303
    [row] = await _files(bot)
    assert (row.task_id, row.doc_number, row.file_name) == (1, "123/BC-BTC", "Báo cáo quý IV.pdf")
    assert row.doc_date is not None and row.doc_date.isoformat() == "2026-12-10"
    assert row.download_due_at is None and row.downloaded_at is not None
    assert (bot.settings.files_dir / row.stored_path).read_bytes() == PDF
    [report] = await _reports(bot)
    assert report.status == ReportStatus.DONE
    # The same file again: recorded once.
    again = _form(token, file=("copy.pdf", PDF, "application/pdf"))
    assert (await member.post("/my/tasks/1/report", data=again))[0] == 303
    assert len(await _files(bot)) == 1
    # /files in the chat sends it from FILES_DIR (Telegram has no copy of it).
    since = len(bot.api.sent)
    bot.api.send_message(admin, "/files 1")
    await bot.settle()
    [sent] = [m for m in bot.api.sent[since:] if m["_method"] == "sendDocument"]
    assert sent["chat"]["id"] == admin.id
    assert sent["_files"]["document"] == ("Báo cáo quý IV.pdf", PDF)
    assert "123/BC-BTC" in sent["caption"] and "Nguyễn Văn An" in sent["caption"]


async def test_a_refused_file_writes_nothing_and_keeps_what_was_typed(bot, member):
    token = await member.csrf_of("/my")
    fields = _form(
        token,
        status="at_risk",
        note="Ghi chú <b>giữ lại</b>",
        file=("setup.exe", b"MZ" + b"\0" * 100, "application/x-msdownload"),
    )
    status, page, _ = await member.post("/my/tasks/1/report", data=fields)
    assert status == 400
    assert "không nhận chương trình" in page.lower() or "chương trình" in page
    assert "Ghi chú &lt;b&gt;giữ lại&lt;/b&gt;</textarea>" in page
    assert 'value="at_risk" checked' in page
    assert "chọn lại tệp" in page
    assert await _reports(bot) == [] and await _files(bot) == []
    assert list(bot.settings.files_dir.rglob("*.*")) == []


async def test_bad_forms_are_refused_with_a_reason(bot, member):
    token = await member.csrf_of("/my")
    cases = [
        ({}, "Xin chọn một câu trả lời"),
        ({"status": "finished"}, "một trong bốn"),
        ({"status": "done", "note": "x" * 1001}, "1001"),
        ({"document": "Số 1/BC ngày 10/12/2026"}, "kèm tệp"),
        ({"file": ("empty.pdf", b"", "application/pdf")}, "rỗng"),
    ]
    for fields, reason in cases:
        status, page, _ = await member.post("/my/tasks/1/report", data=_form(token, **fields))
        assert status == 400, fields
        assert reason in page, (fields, reason)
    assert await _reports(bot) == [] and await _files(bot) == []


async def test_a_file_over_the_limit_is_refused_before_it_is_read_whole(bot, member):
    token = await member.csrf_of("/my")
    big = _form(
        token, status="done", file=("big.pdf", b"0" * (21 * 1024 * 1024), "application/pdf")
    )
    status, page, _ = await member.post("/my/tasks/1/report", data=big)
    assert status == 413
    assert "20 MB" in page
    assert await _reports(bot) == [] and await _files(bot) == []


async def test_another_agency_s_task_is_not_found_and_a_form_needs_its_token(bot, member):
    token = await member.csrf_of("/my")
    status, _, _ = await member.post("/my/tasks/2/report", data=_form(token, status="done"))
    assert status == 404
    status, _, _ = await member.post("/my/tasks/99/report", data=_form(token, status="done"))
    assert status == 404
    status, _, _ = await member.post("/my/tasks/1/report", data=_form("0" * 64, status="done"))
    assert status == 403
    assert await _reports(bot) == []


async def test_an_answer_after_the_agency_reported_done_is_refused_with_the_reason(bot, member):
    token = await member.csrf_of("/my")
    assert (await member.post("/my/tasks/1/report", data=_form(token, status="done")))[0] == 303
    late = _form(token, status="at_risk", file=("v2.pdf", PDF, "application/pdf"))
    status, page, _ = await member.post("/my/tasks/1/report", data=late)
    # Done: no longer among the agency's open tasks on /my; the refusal says why, and the
    # file sent with the refused answer was neither recorded nor kept.
    assert status == 403 and "đã báo cáo hoàn thành nhiệm vụ này" in page
    assert 'action="/my/tasks/1/report"' not in (await member.get("/my"))[1]
    assert len(await _reports(bot)) == 1
    assert await _files(bot) == [] and not bot.settings.files_dir.exists()
