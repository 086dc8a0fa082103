"""Periods as officials write them, through /newtask: every accepted form, shown in the
reader's words; every misspelled form gets the usage in the reader's language."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bot.models import Task
from tests.chat import local
from tests.test_chat_tasks import walk

ACCEPTED = [
    # typed, stored label, last day, how a Vietnamese reader sees it
    ("quý IV năm 2026", "Q4/2026", date(2026, 12, 31), "quý IV/2026"),
    ("quý IV/2026", "Q4/2026", date(2026, 12, 31), "quý IV/2026"),
    ("Q4/2026", "Q4/2026", date(2026, 12, 31), "quý IV/2026"),
    ("6 tháng đầu năm 2027", "H1/2027", date(2027, 6, 30), "6 tháng đầu năm 2027"),
    ("H1/2027", "H1/2027", date(2027, 6, 30), "6 tháng đầu năm 2027"),
    ("6 tháng cuối năm 2026", "H2/2026", date(2026, 12, 31), "6 tháng cuối năm 2026"),
    ("9 tháng năm 2027", "9M/2027", date(2027, 9, 30), "9 tháng năm 2027"),
    ("năm 2027", "2027", date(2027, 12, 31), "năm 2027"),
    ("2027", "2027", date(2027, 12, 31), "năm 2027"),
    ("tháng 12/2026", "M12/2026", date(2026, 12, 31), "tháng 12/2026"),
    ("ngày 31/12/2026", None, date(2026, 12, 31), "thứ Năm, ngày 31/12/2026"),
    ("31.12.2026", None, date(2026, 12, 31), "thứ Năm, ngày 31/12/2026"),
    ("31/12/2026", None, date(2026, 12, 31), "thứ Năm, ngày 31/12/2026"),
    ("2026-12-31", None, date(2026, 12, 31), "thứ Năm, ngày 31/12/2026"),
]


async def test_every_period_form_is_accepted_and_shown_as_officials_write_it(bot, admin):
    for typed, _label, _day, shown in ACCEPTED:
        created = await bot.say(admin, f"/newtask DBSH BTC {typed} | Báo cáo")
        assert "Hạn: " + shown in created["text"], (typed, created["text"])
    async with bot.sessions() as session:
        tasks = (await session.scalars(select(Task).order_by(Task.id))).all()
    assert [(t.period, t.due_on) for t in tasks] == [(a[1], a[2]) for a in ACCEPTED]
    listing = await bot.say(admin, "/tasks DBSH")
    assert "Q4/2026" not in listing["text"] and "quý IV/2026" in listing["text"]


async def test_an_english_reader_sees_english_periods(bot, admin):
    await bot.say(admin, "/lang en")
    shown = {
        "quý IV/2026": "Q4 2026 · Thursday 31 December 2026",
        "6 tháng đầu năm 2027": "H1 2027",
        "9 tháng năm 2027": "first 9 months of 2027",
        "năm 2027": "Due: 2027 ·",
        "tháng 12/2026": "December 2026",
    }
    for typed, expected in shown.items():
        created = await bot.say(admin, f"/newtask DBSH BTC {typed} | Report")
        assert expected in created["text"], (typed, created["text"])


MISSPELLED = [
    "quý V/2026",
    "6 tháng giữa năm 2026",
    "tháng 13/2026",
    "32/12/2026",
    "9 tháng 2026x",
    "31.12/2026",
    "quý IV năm",
]


async def test_misspelled_periods_get_the_usage_in_vietnamese_and_change_nothing(bot, admin):
    for typed in MISSPELLED:
        answer = await bot.say(admin, f"/newtask DBSH BTC {typed} | Báo cáo")
        text = answer["text"]
        assert f"“{typed}” không phải là hạn hợp lệ" in text, text
        assert "Cú pháp: /newtask MÃ_HỘI_ĐỒNG MÃ_CƠ_QUAN" in text
        assert "Ví dụ: /newtask DBSH BTC,HN 18/12/2026 |" in text
    await bot.say(admin, "/lang en")
    answer = await bot.say(admin, "/newtask DBSH BTC 6 tháng giữa năm 2026 | Report")
    assert "is not a valid deadline" in answer["text"]
    assert "Example: /newtask DBSH" in answer["text"]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Task)) == 0


async def test_a_monthly_report_comes_back_every_month(bot, admin):
    created = await bot.say(admin, "/newtask DBSH BTC tháng 12/2026 | Báo cáo tháng | every=month")
    assert "tháng 12/2026" in created["text"]
    await walk(bot, local(2027, 1, 2, 9, 0))
    async with bot.sessions() as session:
        tasks = (await session.scalars(select(Task).order_by(Task.id))).all()
    assert [(t.period, t.due_on, t.recurrence) for t in tasks] == [
        ("M12/2026", date(2026, 12, 31), "month"),
        ("M1/2027", date(2027, 1, 31), "month"),
    ]
