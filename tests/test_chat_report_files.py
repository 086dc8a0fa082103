"""Report files sent in chat (SPEC §3 /submit, §6 "Report files"): as a reply to the
reminder or the note question, with /submit TASK_ID, or with no context (buttons); and
every refusal, each leaving nothing recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bot import callbacks
from bot.callbacks import FilePress, TaskPress, TaskStatus
from bot.models import ReportFile, TaskAgency
from tests.chat import HANOI, press
from tests.people import registered

REMINDER_DAY = datetime(2026, 12, 17, 8, 0, tzinfo=HANOI).astimezone(UTC)  # T-14d
PDF = b"%PDF-1.4 bao cao quy IV"
# A 1x1 PNG: a photo of a signed page, as far as the fake is concerned.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


async def _task(bot, admin, agencies="BTC,HN", title="Báo cáo thực hiện quy hoạch vùng"):
    await bot.say(admin, f"/newtask DBSH {agencies} Q4/2026 | {title}")


async def _files(bot) -> list[ReportFile]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(ReportFile).order_by(ReportFile.id))).all())


async def _send(bot, user, filename="bao-cao.pdf", content=PDF, caption=None, **kwargs):
    """The user sends a document; returns the bot's messages in that chat."""
    since = len(bot.api.sent)
    bot.api.send_document(user, filename, content, caption=caption, **kwargs)
    await bot.settle()
    return [m for m in bot.api.sent[since:] if m["chat"]["id"] == user.id]


async def test_submit_with_caption_records_number_date_and_note(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    [answer] = await _send(
        bot, an, caption="/submit 1 Số 123/BC-BTC ngày 10/12/2026, kèm phụ lục số liệu"
    )
    text = answer["text"]
    assert "#1" in text and "Báo cáo thực hiện quy hoạch vùng" in text
    assert "123/BC-BTC" in text and "10/12/2026" in text
    assert "kèm phụ lục số liệu" in text and "bao-cao.pdf" in text and "Bộ Tài chính" in text
    # The ✅ of the task's status buttons, to close the agency's part.
    buttons = [b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [callbacks.encode(TaskPress(1, TaskStatus.DONE))]
    [row] = await _files(bot)
    assert (row.task_id, row.doc_number, row.doc_date) == (1, "123/BC-BTC", date(2026, 12, 10))
    assert row.note == "kèm phụ lục số liệu"
    assert (row.file_name, row.mime_type, row.file_size) == ("bao-cao.pdf", "application/pdf", 23)
    assert row.download_due_at is not None and row.downloaded_at is None

    await press(bot, an, answer, buttons[0])
    async with bot.sessions() as session:
        part = await session.scalar(select(TaskAgency).where(TaskAgency.agency_id == row.agency_id))
    assert part.done_at is not None


async def test_a_file_replying_to_the_reminder_is_filed_on_its_task(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    since = len(bot.api.sent)
    await bot.advance_to(REMINDER_DAY)
    [reminder] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    [answer] = await _send(bot, an, "bc.docx", b"PK docx", caption=None, reply_to=reminder)
    assert "#1" in answer["text"]
    [row] = await _files(bot)
    assert row.task_id == 1 and row.note is None and row.doc_number is None


async def test_a_photo_replying_to_the_note_question_is_filed_on_its_task(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    await _task(bot, admin, title="Nhiệm vụ khác")
    since = len(bot.api.sent)
    await bot.advance_to(REMINDER_DAY)
    reminder = next(m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id)
    since = len(bot.api.sent)
    await press(bot, an, reminder, callbacks.encode(TaskPress(1, TaskStatus.ON_TRACK)))
    question = await bot.api.wait_for_message(an.id, since=since)
    since = len(bot.api.sent)
    bot.api.send_photo(an, PNG, caption="Số 45/BC-BTC ngày 12/12/2026", reply_to=question)
    answer = await bot.api.wait_for_message(an.id, since=since)
    assert "#1" in answer["text"] and "45/BC-BTC" in answer["text"]
    [row] = await _files(bot)
    assert (row.task_id, row.kind, row.mime_type) == (1, "photo", "image/jpeg")


async def test_a_file_with_no_context_offers_the_agency_open_tasks(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin, "BTC", "Báo cáo quý IV")
    await _task(bot, admin, "HN", "Không phải của Bộ Tài chính")
    await _task(bot, admin, "BTC,HN", "Báo cáo 6 tháng")
    [question] = await _send(bot, an, caption="Số 7/BC-BTC ngày 01/12/2026")
    choices = [
        b["callback_data"] for row in question["reply_markup"]["inline_keyboard"] for b in row
    ]
    [held] = await _files(bot)
    assert held.task_id is None and held.download_due_at is None  # not filed yet
    assert choices == [callbacks.encode(FilePress(held.id, t)) for t in (1, 3)]
    for data in choices:
        assert len(data.encode()) <= 64

    # Somebody else pressing (a forged press) changes nothing.
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "BTC")
    refused = await press(bot, binh, question, choices[1])
    assert refused["show_alert"] is True
    # A forged choice of a task of another agency is refused on the server.
    forged = await press(bot, an, question, callbacks.encode(FilePress(held.id, 2)))
    assert forged["show_alert"] is True
    assert (await _files(bot))[0].task_id is None

    since = len(bot.api.sent)
    answer = await press(bot, an, question, choices[1])
    assert "#3" in answer["text"]
    receipt = await bot.api.wait_for_message(
        an.id, lambda m: "7/BC-BTC" in m.get("text", ""), since=since
    )
    assert "#3" in receipt["text"]
    [row] = await _files(bot)
    assert row.task_id == 3 and row.doc_number == "7/BC-BTC" and row.download_due_at is not None


async def test_the_same_file_twice_is_recorded_once(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    since = len(bot.api.sent)
    first = bot.api.send_document(an, "bc.pdf", PDF, caption="/submit 1")
    await bot.settle()
    bot.api.resend_file(an, first, caption="/submit 1")
    await bot.settle()
    answers = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    assert len(answers) == 2
    assert "đã được nhận" in answers[1]["text"]
    assert len(await _files(bot)) == 1
    # With no context either: said at once, no buttons, nothing held.
    [again] = await _send_again(bot, an, first)
    assert "đã được nhận" in again["text"] and "reply_markup" not in again
    assert len(await _files(bot)) == 1


async def _send_again(bot, user, update):
    since = len(bot.api.sent)
    bot.api.resend_file(user, update)
    await bot.settle()
    return [m for m in bot.api.sent[since:] if m["chat"]["id"] == user.id]


async def test_several_files_are_kept_in_order(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    await _send(bot, an, "v1.pdf", b"%PDF v1", caption="/submit 1 Số 1/BC-BTC")
    bot.clock.advance(timedelta(minutes=5))
    await _send(bot, an, "v2.pdf", b"%PDF v2", caption="/submit 1 Số 2/BC-BTC")
    assert [r.file_name for r in await _files(bot)] == ["v1.pdf", "v2.pdf"]


async def test_a_file_over_twenty_megabytes_is_refused_before_anything(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    [answer] = await _send(bot, an, "lon.pdf", PDF, caption="/submit 1", file_size=25 * 1024 * 1024)
    assert "20 MB" in answer["text"] and "nén" in answer["text"]
    assert await _files(bot) == []


async def test_programs_and_scripts_are_refused_by_name_and_by_type(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    for name, mime in (
        ("setup.exe", None),
        ("run.bat", None),
        ("app.js", None),
        ("app.apk", None),
        ("cai-dat.msi", None),
        ("x.ps1", None),
        ("bao-cao.pdf", "application/x-msdownload"),  # a program that calls itself a PDF
    ):
        [answer] = await _send(bot, an, name, b"MZ", caption="/submit 1", mime_type=mime)
        assert "chương trình" in answer["text"], name
    [other] = await _send(bot, an, "notes.txt", b"text", caption="/submit 1")
    assert "PDF" in other["text"]
    assert await _files(bot) == []


async def test_tasks_not_open_to_the_agency_are_refused(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin, "HN", "Của Hà Nội")
    await _task(bot, admin, "BTC", "Sẽ bị hủy")
    await bot.say(admin, "/canceltask 2")
    [other] = await _send(bot, an, caption="/submit 1")
    assert "không được giao cho Quý cơ quan" in other["text"]
    [cancelled] = await _send(bot, an, caption="/submit 2")
    assert "#2" in cancelled["text"]
    [unknown] = await _send(bot, an, caption="/submit 99")
    assert "#99" in unknown["text"]
    assert await _files(bot) == []


async def test_a_closed_task_takes_no_more_files(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin, "BTC")
    since = len(bot.api.sent)
    await bot.advance_to(REMINDER_DAY)
    reminder = next(m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id)
    await press(bot, an, reminder, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    [answer] = await _send(bot, an, caption="/submit 1")
    assert "#1" in answer["text"] and "/submit" not in answer["text"]
    assert await _files(bot) == []


async def test_submit_with_a_wrong_id_answers_with_the_usage(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    for caption in ("/submit", "/submit abc", "/submit -1", "/submit #1"):
        [answer] = await _send(bot, an, caption=caption)
        assert "/submit 12 Số 123/BC-UBND ngày 10/12/2026" in answer["text"], caption
    assert await _files(bot) == []


async def test_a_number_that_cannot_be_read_is_kept_as_the_note(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    caption = "Số 12 ngày 45/13/2026 <gửi kèm>"
    [answer] = await _send(bot, an, caption=f"/submit 1 {caption}")
    assert "Số 12 ngày 45/13/2026 &lt;gửi kèm&gt;" in answer["text"] or caption in answer["text"]
    [row] = await _files(bot)
    assert (row.doc_number, row.doc_date, row.note) == (None, None, caption)


async def test_a_file_sent_in_a_group_is_not_taken(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    group = bot.api.add_group("HĐĐP vùng ĐBSH")
    bot.api.add_bot_to_group(group, admin)
    await bot.settle()
    since = len(bot.api.sent)
    bot.api.send_document(an, "bc.pdf", PDF, caption="/submit 1", chat=group)
    await bot.settle()
    assert [m for m in bot.api.sent[since:] if m["chat"]["id"] == group.id] == []
    assert await _files(bot) == []


async def test_someone_not_registered_is_refused(bot, admin):
    await _task(bot, admin)
    stranger = bot.api.add_user(first_name="Lạ")
    for caption in ("/submit 1", None):
        [answer] = await _send(bot, stranger, caption=caption)
        assert "đăng ký" in answer["text"] and str(stranger.id) in answer["text"]
    assert await _files(bot) == []


async def test_an_admin_roster_captioned_import_is_still_a_roster(bot, admin):
    from tests.rosters import csv_bytes, person

    answers = await _send(bot, admin, "roster.csv", csv_bytes([person()]), caption="/import")
    assert "t.me/dieuphoi_test_bot?start=" in answers[0]["text"]
    [hint] = await _send(bot, admin, "roster.csv", csv_bytes([person()]))
    assert "/import" in hint["text"]
    assert await _files(bot) == []


# --- /files (admins) -----------------------------------------------------------------------


async def test_files_sends_each_agency_latest_file_by_its_id_then_who_sent_none(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await _task(bot, admin, "BTC,HN,BCT")
    await _send(bot, an, "v1.pdf", b"%PDF v1", caption="/submit 1 Số 1/BC-BTC")
    bot.clock.advance(timedelta(minutes=5))
    await _send(bot, an, "v2.pdf", b"%PDF v2", caption="/submit 1 Số 2/BC-BTC ngày 11/12/2026")
    bot.api.send_photo(binh, PNG, caption="/submit 1 Số 9/BC-UBND ngày 12/12/2026")
    await bot.settle()
    rows = await _files(bot)
    since_calls = len(bot.api.calls)
    since = len(bot.api.sent)
    bot.api.send_message(admin, "/files 1")
    await bot.settle()
    answers = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    assert len(answers) == 3
    document, photo, summary = answers
    # Sent again by file_id: no upload.
    sent = [
        p for name, p, _s in bot.api.calls[since_calls:] if name in ("sendDocument", "sendPhoto")
    ]
    assert [p.get("document") or p.get("photo") for p in sent] == [
        rows[1].telegram_file_id,
        rows[2].telegram_file_id,
    ]
    assert document["document"]["file_name"] == "v2.pdf"
    assert "Bộ Tài chính" in document["caption"] and "2/BC-BTC" in document["caption"]
    assert "11/12/2026" in document["caption"] and "Nguyễn Văn An" in document["caption"]
    assert "UBND thành phố Hà Nội" in photo["caption"] and "9/BC-UBND" in photo["caption"]
    assert "Trần Thị Bình" in photo["caption"]
    assert "Bộ Công Thương" in summary["text"]
    assert "Bộ Tài chính" not in summary["text"]


async def test_files_is_for_admins_and_wants_a_task_id(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    refused = await bot.say(an, "/files 1")
    assert "Chỉ cán bộ" in refused["text"]
    for text in ("/files", "/files abc", "/files 1 2"):
        usage = await bot.say(admin, text)
        assert "/files 12" in usage["text"], text
    missing = await bot.say(admin, "/files 99")
    assert "#99" in missing["text"] and "/files 12" in missing["text"]


# --- photos of signed pages, sent together ---------------------------------------------------


async def test_an_album_captioned_submit_files_every_page_with_one_answer(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    since = len(bot.api.sent)
    bot.api.send_album(an, [PNG, PNG + b"2", PNG + b"3"], caption="/submit 1 Số 8/BC-BTC")
    await bot.settle()
    answers = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    assert len(answers) == 1 and "8/BC-BTC" in answers[0]["text"]
    rows = await _files(bot)
    assert [r.task_id for r in rows] == [1, 1, 1]
    assert len({r.media_group_id for r in rows}) == 1

    since = len(bot.api.sent)
    bot.api.send_message(admin, "/files 1")
    await bot.settle()
    pages = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id and "photo" in m]
    assert len(pages) == 3
    assert "8/BC-BTC" in pages[0]["caption"] and "caption" not in pages[1]


async def test_an_album_with_no_context_asks_once_and_the_choice_files_every_page(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await _task(bot, admin)
    since = len(bot.api.sent)
    bot.api.send_album(an, [PNG, PNG + b"2"])
    await bot.settle()
    [question] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    [data] = [
        b["callback_data"] for row in question["reply_markup"]["inline_keyboard"] for b in row
    ]
    await press(bot, an, question, data)
    rows = await _files(bot)
    assert [r.task_id for r in rows] == [1, 1]
    assert all(r.download_due_at is not None for r in rows)


# --- the digest ------------------------------------------------------------------------------


async def test_the_digest_lists_the_report_files_since_the_previous_one(bot, admin):
    from tests.chat import linked_group, local

    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    group = await linked_group(bot, admin)
    await _task(bot, admin)
    await _send(bot, an, "bc.pdf", PDF, caption="/submit 1 Số 123/BC-BTC ngày 10/12/2026")
    bot.api.send_album(binh, [PNG, PNG + b"2"], caption="/submit 1")
    await bot.settle()

    def digest_text(since):
        return "\n".join(
            m.get("text", "")
            for m in bot.api.sent[since:]
            if m["chat"]["id"] == group.id and m.get("text", "").startswith("📊")
        )

    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 11, 30, 8, 30))
    text = digest_text(since)
    assert "Tệp báo cáo nhận được từ bản tổng hợp trước" in text
    assert "BTC #1" in text and "123/BC-BTC" in text and "10/12/2026" in text
    assert "HN #1 — 2 ảnh chụp (Trần Thị Bình)" in text

    # The next week's digest lists only what came since.
    bot.clock.advance(timedelta(hours=1))
    await _send(bot, an, "bc2.pdf", b"%PDF v2", caption="/submit 1 Số 124/BC-BTC")
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 7, 8, 30))
    text = digest_text(since)
    assert "124/BC-BTC" in text and "123/BC-BTC" not in text and "HN #1" not in text
