"""A report's period is not its deadline: /newtask … | period=PERIOD shows the period
with its data cut-off and the send deadline apart (Decree 09/2019/NĐ-CP, art. 12)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.models import Task
from tests.chat import linked_group, local
from tests.test_chat_tasks import walk

QUARTERLY = "/newtask DBSH BTC 18/12/2026 | Báo cáo quý | every=quarter | period=quý IV/2026"


async def test_a_report_shows_its_period_cut_off_and_send_deadline(bot, admin):
    created = await bot.say(admin, QUARTERLY)
    text = created["text"]
    assert "🗂 Kỳ báo cáo: quý IV/2026 (số liệu từ 15/09 đến 14/12/2026)" in text
    assert "⏳ Hạn gửi báo cáo: thứ Sáu, ngày 18/12/2026 (còn 25 ngày)" in text
    async with bot.sessions() as session:
        task = await session.scalar(select(Task))
    assert task is not None
    assert (task.report_period, task.period, task.due_on) == ("Q4/2026", None, date(2026, 12, 18))
    await bot.say(admin, "/lang en")
    listing = await bot.say(admin, "/tasks DBSH")
    assert "🗂 Reporting period: Q4 2026 (data from 15/09 to 14/12/2026)" in listing["text"]
    assert "⏳ Send by: Friday 18 December 2026" in listing["text"]


async def test_a_recurring_report_keeps_its_distance_from_the_cut_off(bot, admin):
    await bot.say(admin, QUARTERLY)
    await walk(bot, local(2026, 12, 19, 9, 0))
    async with bot.sessions() as session:
        tasks = (await session.scalars(select(Task).order_by(Task.id))).all()
    assert [(t.report_period, t.due_on) for t in tasks] == [
        ("Q4/2026", date(2026, 12, 18)),
        ("Q1/2027", date(2027, 3, 18)),  # 4 days after 14/03, as 18/12 is after 14/12
    ]


async def test_only_a_period_still_means_its_last_day(bot, admin):
    created = await bot.say(admin, "/newtask DBSH BTC quý IV/2026 | Báo cáo quý")
    assert "⏳ Hạn: quý IV/2026 · thứ Năm, ngày 31/12/2026" in created["text"]
    assert "Kỳ báo cáo" not in created["text"]


async def test_a_deadline_before_the_cut_off_or_a_bad_period_is_refused(bot, admin):
    early = await bot.say(admin, "/newtask DBSH BTC 10/12/2026 | Báo cáo quý | period=Q4/2026")
    assert (
        "Hạn gửi báo cáo 10/12/2026 sớm hơn ngày chốt số liệu của kỳ báo cáo (14/12/2026)"
        in (early["text"])
    )
    assert "Ví dụ: /newtask DBSH" in early["text"]
    for period in ("quý V/2026", "31/12/2026", "6 tháng giữa năm 2026", ""):
        answer = await bot.say(admin, f"/newtask DBSH BTC 18/12/2026 | Báo cáo | period={period}")
        assert f"“period={period}” không phải là kỳ báo cáo hợp lệ" in answer["text"]
        assert "Cú pháp: /newtask" in answer["text"]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Task)) == 0


async def test_the_export_names_the_period_with_its_cut_off_and_cites_the_document(bot, admin):
    await bot.say(admin, QUARTERLY + " | ref=6411/VPCP-KTTH ngày 19/8/2023")
    answer = await bot.say(admin, "/export DBSH")
    assert "tính đến ngày 23/11/2026" in answer["caption"]
    _name, content = answer["_files"]["document"]
    sheet = load_workbook(io.BytesIO(content)).active
    # The title, the "as of" line, a blank row, then the table (bot/services/sheets.py).
    header, row = [[c.value for c in r] for r in sheet.iter_rows(min_row=4)]
    assert row[header.index("Kỳ báo cáo")] == "quý IV/2026 (số liệu từ 15/09 đến 14/12/2026)"
    assert row[header.index("Văn bản giao nhiệm vụ")] == (
        "Công văn số 6411/VPCP-KTTH ngày 19/08/2023 của Văn phòng Chính phủ"
    )
    due = sheet.cell(row=5, column=header.index("Hạn hoàn thành") + 1)
    assert due.number_format == "dd/mm/yyyy"


async def test_the_digest_shows_what_a_report_covers_and_when_it_is_due(bot, admin):
    """A report due in the next 14 days is listed with its period and data cut-off and
    its send deadline; a deadline written as a period shows that period before its day."""
    group = await linked_group(bot, admin)
    await bot.say(admin, QUARTERLY)
    await bot.say(admin, "/newtask DBSH HN tháng 12/2026 | Báo cáo tháng")
    await bot.advance_to(local(2026, 12, 7, 9, 0))
    since = len(bot.api.sent)
    await bot.say_all(admin, "/digest DBSH")
    await bot.deliver()
    [text] = [
        m["text"]
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == group.id and m.get("text", "").startswith("📊")
    ]
    assert (
        "#1 Báo cáo quý (kỳ báo cáo quý IV/2026, số liệu từ 15/09 đến 14/12/2026)"
        " — hạn gửi thứ Sáu, ngày 18/12/2026 (còn 11 ngày)"
    ) in text
    assert "#2 Báo cáo tháng — tháng 12/2026 · thứ Năm, ngày 31/12/2026" not in text  # > 14 days
    await bot.advance_to(local(2026, 12, 21, 9, 0))
    since = len(bot.api.sent)
    await bot.say_all(admin, "/digest DBSH")
    await bot.deliver()
    [text] = [
        m["text"]
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == group.id and m.get("text", "").startswith("📊")
    ]
    # Overdue since 18/12: the heading still says what the report covers; the agency is
    # named as a letter to it would name it.
    assert "#1 Báo cáo quý (kỳ báo cáo quý IV/2026, số liệu từ 15/09 đến 14/12/2026)\n" in text
    assert "• Bộ Tài chính: quá hạn 3 ngày" in text
    assert "#2 Báo cáo tháng — tháng 12/2026 · thứ Năm, ngày 31/12/2026 (còn 10 ngày)" in text
