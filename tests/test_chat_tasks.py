"""Tasks end to end: /newtask, reminders before the deadline in working time, nudges
after it, the escalation to the admins, recurring tasks, /tasks, /canceltask."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from bot import callbacks
from bot.models import Outbox, Task
from bot.outbox import store
from tests.chat import local
from tests.people import registered

REPORT = "/newtask DBSH BTC,HN Q4/2026 | Báo cáo thực hiện quy hoạch vùng | ref=6411/VPCP-KTTH"


async def walk(bot, until: datetime) -> list[tuple[datetime, dict]]:
    """Move the frozen clock to `until`, stopping at every moment something is due and
    at least every 6 hours (the planner looks one day ahead); returns what was sent, with
    the clock's time when it went out."""
    log = []
    while bot.clock.now() < until:
        async with bot.sessions() as session:
            due = await store.next_due_at(session)
        now = bot.clock.now()
        candidates = [until, now + timedelta(hours=6)]
        if due is not None and due > now:
            candidates.append(due)
        target = min(candidates)
        before = len(bot.api.sent)
        await bot.advance_to(target)
        log += [(target, message) for message in bot.api.sent[before:]]
    return log


def _sent_to(log, chat_id):
    return [(moment, m) for moment, m in log if m["chat"]["id"] == chat_id]


async def test_reminders_nudges_and_escalation_through_a_quarter(bot, admin):
    # Now: Monday 23 November 2026, 09:00 in Hanoi.
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    elsewhere = await registered(bot, "Lê Văn Cường", "TN", "BTC")  # BTC, another council
    await bot.say(admin, "/start")
    created = await bot.say(admin, REPORT + " | every=quarter")
    assert "#1" in created["text"]
    assert "quý IV/2026" in created["text"]  # typed Q4/2026, shown as officials write it
    assert "thứ Năm, ngày 31/12/2026" in created["text"]

    log = await walk(bot, local(2027, 1, 25, 12, 0))

    calendar = bot.app.bot_data["deps"].timing.calendar
    expected = [
        local(2026, 12, 17, 8, 0),  # T-14d
        local(2026, 12, 24, 8, 0),  # T-7d
        local(2026, 12, 28, 8, 0),  # T-3d
        local(2026, 12, 30, 8, 0),  # T-1d
        local(2026, 12, 31, 8, 0),  # due day
        # Nudges every 2 working days after the due day; 1 January is a holiday.
        local(2027, 1, 5, 8, 0),
        local(2027, 1, 7, 8, 0),
        local(2027, 1, 11, 8, 0),
        local(2027, 1, 13, 8, 0),
        local(2027, 1, 15, 8, 0),
    ]
    for user in (an, binh):
        got = _sent_to(log, user.id)
        assert [moment for moment, _ in got] == expected
        for moment, message in got:
            assert calendar.next_working_moment(moment) == moment  # working time
            assert "Báo cáo thực hiện quy hoạch vùng" in message["text"]
            keyboard = message["reply_markup"]["inline_keyboard"]
            data = [callbacks.decode(b["callback_data"]) for row in keyboard for b in row]
            assert data == [callbacks.TaskPress(1, s) for s in callbacks.TaskStatus]
        assert "còn 14 ngày" in got[0][1]["text"]
        assert "thứ Năm, ngày 31/12/2026" in got[0][1]["text"]
    assert _sent_to(log, elsewhere.id) == []

    # After five nudges the admins are told, once, which agencies are overdue: addressed
    # to the standing agency, the provinces named by their People's Committee.
    [(moment, escalation)] = _sent_to(log, admin.id)
    assert moment == local(2027, 1, 19, 8, 0)
    assert escalation["text"].startswith("🚨 Kính gửi Cơ quan thường trực Hội đồng:")
    assert "• Bộ Tài chính" in escalation["text"]
    assert "• UBND thành phố Hà Nội" in escalation["text"]

    # The quarterly task started its next quarter once, when Q4 fell due.
    async with bot.sessions() as session:
        tasks = (await session.scalars(select(Task).order_by(Task.id))).all()
    assert [(t.id, t.period, t.due_on, t.previous_id) for t in tasks] == [
        (1, "Q4/2026", date(2026, 12, 31), None),
        (2, "Q1/2027", date(2027, 3, 31), 1),
    ]


async def test_a_late_start_sends_a_missed_reminder_once_in_working_hours(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, REPORT)
    # The bot was down from before the 14-day reminder until Saturday evening, 19 Dec.
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 19, 20, 0))
    assert [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id] == []
    # Monday morning it goes out, once.
    await bot.advance_to(local(2026, 12, 21, 8, 0))
    await bot.advance_to(local(2026, 12, 21, 9, 0))
    got = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    assert len(got) == 1 and "còn 10 ngày" in got[0]["text"]


async def test_tasks_lists_open_tasks_and_cancel_withdraws_reminders(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, REPORT)
    await bot.say(admin, "/newtask DBSH BCT 31/12/2026 | Rà soát <dự án> & kế hoạch")
    listing = await bot.say(an, "/tasks")
    assert "#1" in listing["text"] and "#2" in listing["text"]
    assert "BTC —" in listing["text"] and "Rà soát <dự án> & kế hoạch" in listing["text"]

    cancelled = await bot.say(admin, "/canceltask 1")
    assert "#1" in cancelled["text"]
    async with bot.sessions() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.state == "pending", Outbox.subject == "task:1")
        )
    assert pending == 0
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 31, 9, 0))
    assert [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id] == []
    listing = await bot.say(an, "/tasks")
    assert "#1" not in listing["text"] and "#2" in listing["text"]


async def test_bad_task_commands_get_usage_and_create_nothing(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/lang en")
    cases = {
        "/newtask DBSH BTC 2026-11-01 | Đã qua": "in the past",
        "/newtask DBSH BTC 31/02/2027 | Ngày sai": "31/02/2027",
        "/newtask DBSH BTC Q5/2027 | Quý sai": "Q5/2027",
        "/newtask XYZ BTC Q1/2027 | Hội đồng lạ": "Unknown council XYZ",
        "/newtask DBSH BTC,ABC Q1/2027 | Cơ quan lạ": "ABC",
        "/newtask DBSH BTC Q1/2027 | " + "x" * 301: "301 characters",
        "/newtask DBSH BTC Q1/2027 Thiếu dấu": "|",
        "/newtask DBSH BTC Q1/2027 | Tiêu đề | every=week": "every=week",
        "/newtask": "|",
    }
    for command, reason in cases.items():
        answer = await bot.say(admin, command)
        assert reason in answer["text"], (command, answer["text"])
        assert "Example: /newtask DBSH" in answer["text"], command
    refused = await bot.say(member, "/newtask DBSH BTC Q1/2027 | Không có quyền")
    # A refusal, not a usage lesson: the member may not create tasks at all.
    assert "Chỉ cán bộ Cơ quan thường trực Hội đồng" in refused["text"]
    assert "Ví dụ" not in refused["text"]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Task)) == 0
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


async def test_vietnamese_quarter_and_year_deadlines(bot, admin):
    await bot.say(admin, "/newtask DBSH BTC quý IV/2026 | Báo cáo quý")
    await bot.say(admin, "/newtask DBSH BTC H1/2027 | Báo cáo 6 tháng")
    await bot.say(admin, "/newtask DBSH BTC 2027 | Báo cáo năm")
    async with bot.sessions() as session:
        tasks = (await session.scalars(select(Task).order_by(Task.id))).all()
    assert [(t.period, t.due_on) for t in tasks] == [
        ("Q4/2026", date(2026, 12, 31)),
        ("H1/2027", date(2027, 6, 30)),
        ("2027", date(2027, 12, 31)),
    ]


async def test_tasks_escalated_the_same_morning_come_in_one_message(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/start")
    await bot.say(admin, "/newtask DBSH BTC 2026-12-31 | Báo cáo thứ nhất")
    await bot.say(admin, "/newtask TN BTC,DLK 2026-12-31 | Báo cáo thứ hai")
    log = await walk(bot, local(2027, 1, 20, 12, 0))
    [(moment, escalation)] = _sent_to(log, admin.id)
    assert moment == local(2027, 1, 19, 8, 0)
    assert "Báo cáo thứ nhất" in escalation["text"] and "Báo cáo thứ hai" in escalation["text"]
    assert "UBND tỉnh Đắk Lắk" in escalation["text"]
