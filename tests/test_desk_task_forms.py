"""The desk's task forms (issue 13): create a task through the same service as /newtask,
with its reminders planned; the same form sent twice makes one task; errors shown next
to the form with the values kept; edit (a new deadline re-plans the reminders) and cancel
with a confirmation (its reminders withdrawn); members refused, everything audit-logged."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.models import AuditLog, Outbox, OutboxState, Task
from tests.desk import FORM_KEY, HOSTILE, Browser, council_at_work, desk_settings, init_data
from tests.people import registered


@pytest.fixture
def settings(api, database_url) -> Settings:
    return desk_settings(api, database_url)


@pytest.fixture
async def browser(bot, admin) -> AsyncIterator[Browser]:
    one = Browser(bot.settings.web_url)
    status, _ = await one.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    assert status == 200
    yield one
    await one.close()


async def _form(browser: Browser) -> dict[str, str]:
    status, page, _ = await browser.get("/tasks/new")
    assert status == 200, page
    [csrf] = re.findall(r'name="csrf" value="([0-9a-f]+)"', page)[-1:]
    [key] = FORM_KEY.findall(page)
    return {"csrf": csrf, "form_key": key}


def _fields(hidden: dict[str, str], **typed: str) -> list[tuple[str, str]]:
    values = {
        "council": "DBSH",
        "title": "Báo cáo tình hình thực hiện quy hoạch vùng",
        "deadline": "2026-12-18",
        "period": "",
        "report_period": "",
        "recurrence": "",
        "ref": "",
        **typed,
    }
    agencies = values.pop("agencies", "BTC,HN")
    return [
        *hidden.items(),
        *values.items(),
        *(("agencies", code) for code in agencies.split(",") if code),
    ]


async def _tasks(bot) -> list[Task]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(Task).order_by(Task.id))).all())


async def _outbox(bot, task_id: int) -> list[Outbox]:
    async with bot.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Outbox).where(Outbox.subject == f"task:{task_id}").order_by(Outbox.id)
                )
            ).all()
        )


async def _logged(bot, action: str) -> list[tuple[str, dict]]:
    async with bot.sessions() as session:
        rows = (await session.scalars(select(AuditLog).where(AuditLog.action == action))).all()
    return [(row.actor, row.details) for row in rows]


async def test_a_task_made_with_the_form_is_the_chat_s_task_with_its_reminders(
    bot, admin, browser
):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    hidden = await _form(browser)
    page = (await browser.get("/tasks/new"))[1]
    for name in ("council", "agencies", "title", "deadline", "period", "report-period"):
        assert f'<label for="t-{name}">' in page and f'id="t-{name}"' in page
    assert 'type="date"' in page and "multiple" in page
    status, _, response = await browser.post(
        "/tasks/new",
        data=_fields(
            hidden,
            recurrence="quarter",
            report_period="quý IV/2026",
            ref="6411/VPCP-KTTH ngày 19/8/2023",
        ),
    )
    assert status == 303
    assert response.headers["Location"] == "/tasks/1"
    [task] = await _tasks(bot)
    assert (task.council.code, task.due_on.isoformat(), task.report_period) == (
        "DBSH",
        "2026-12-18",
        "Q4/2026",
    )
    assert task.recurrence is not None and task.recurrence.value == "quarter"
    assert task.ref == "6411/VPCP-KTTH ngày 19/08/2023"
    assert [p.agency.code for p in task.assignments] == ["BTC", "HN"]
    # The same reminders /newtask plans: one per member per reminder day.
    rows = await _outbox(bot, 1)
    assert rows and {r.member_id for r in rows} == {1, 2}
    assert all(r.dedupe_key.startswith("task:1:agency:") for r in rows)
    page = (await browser.get("/tasks/1"))[1]
    reminders = page[page.index("<h2>Lời nhắc</h2>") :]
    assert "Nguyễn Văn An" in reminders and "Trần Thị Bình" in reminders
    assert "đã lên lịch" in reminders
    assert "quý IV/2026" in page and "6411/VPCP-KTTH" in page
    [(actor, details)] = await _logged(bot, "task.create")
    assert actor == f"tg:{admin.id}"
    assert details["agencies"] == ["BTC", "HN"] and details["council"] == "DBSH"


async def test_the_same_form_sent_twice_makes_one_task(bot, admin, browser):
    hidden = await _form(browser)
    first = await browser.post("/tasks/new", data=_fields(hidden))
    again = await browser.post("/tasks/new", data=_fields(hidden))  # double click, or back
    assert first[0] == again[0] == 303
    assert first[2].headers["Location"] == again[2].headers["Location"] == "/tasks/1"
    assert len(await _tasks(bot)) == 1
    assert len(await _logged(bot, "task.create")) == 1
    # A form shown again has a key of its own: a second task.
    other = await browser.post("/tasks/new", data=_fields(await _form(browser)))
    assert other[2].headers["Location"] == "/tasks/2"


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ({"deadline": "2026-11-01"}, "đã qua"),
        ({"deadline": "", "period": "quý V/2026"}, "quý V/2026"),
        ({"deadline": "2026-12-18", "period": "Q4/2026"}, "không đồng thời"),
        ({"deadline": "", "period": ""}, "hạn"),
        ({"title": "   "}, "Tiêu đề"),
        ({"agencies": ""}, "ít nhất một cơ quan"),
        ({"agencies": "BTC,XYZ"}, "XYZ"),
        ({"council": "ZZZ"}, "ZZZ"),
        ({"report_period": "Q1/2027"}, "14/03/2027"),
        ({"recurrence": "weekly"}, "weekly"),
        ({"ref": "<b>công văn</b>"}, "&lt;b&gt;công văn&lt;/b&gt;"),
    ],
)
async def test_a_bad_form_is_shown_again_with_its_error_and_the_values_typed(
    bot, admin, browser, typed, error
):
    hidden = await _form(browser)
    title = typed.get("title", HOSTILE)
    status, page, _ = await browser.post(
        "/tasks/new", data=_fields(hidden, **{"title": HOSTILE, **typed})
    )
    assert status == 400
    assert await _tasks(bot) == []
    alert = page[page.index('id="form-error"') :]
    alert = alert[: alert.index("</p>")]
    assert error in alert, alert
    assert "/newtask" not in alert  # the form's error, not the chat's usage
    if title.strip():
        # The title typed, kept and shown literally.
        assert 'value="Báo cáo &lt;b&gt;tháng&lt;/b&gt; &lt;script&gt;' in page
    assert "<script>alert" not in page
    assert f'name="form_key" value="{hidden["form_key"]}"' in page  # the same form
    if "deadline" not in typed:
        assert 'value="2026-12-18"' in page


async def test_a_form_without_its_csrf_token_is_refused(bot, admin, browser):
    hidden = await _form(browser)
    status, _, _ = await browser.post("/tasks/new", data=_fields({**hidden, "csrf": "0" * 64}))
    assert status == 403
    assert await _tasks(bot) == []


async def test_members_cannot_create_edit_or_cancel(bot, admin, browser):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC 31/12/2026 | Kế hoạch năm 2027")
    member = Browser(bot.settings.web_url)
    try:
        await member.sign_in_with_telegram(init_data(an, bot.api.token, bot.clock.now()))
        status, page, _ = await member.get("/tasks/new")
        assert status == 403 and "form_key" not in page
        status, page, _ = await member.get("/tasks/1")
        assert status == 200 and "/tasks/1/edit" not in page and "/cancel" not in page
        token = await member.csrf_of("/my")
        hidden = {"csrf": token, "form_key": "k" * 32}
        assert (await member.post("/tasks/new", data=_fields(hidden)))[0] == 403
        edit = {"csrf": token, "title": "Sửa", "deadline": "2027-01-15", "agencies": "BTC"}
        assert (await member.post("/tasks/1/edit", data=edit))[0] == 403
        assert (await member.get("/tasks/1/cancel"))[0] == 403
        assert (await member.post("/tasks/1/cancel", data={"csrf": token}))[0] == 403
    finally:
        await member.close()
    [task] = await _tasks(bot)
    assert task.title == "Kế hoạch năm 2027" and task.cancelled_at is None
    # An admin: a task that does not exist is not found.
    assert (await browser.get("/tasks/9/cancel"))[0] == 404
    token = await browser.csrf_of("/tasks/1")
    assert (await browser.post("/tasks/9/edit", data={**edit, "csrf": token}))[0] == 404


async def test_a_new_deadline_re_plans_the_reminders_and_is_logged(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await bot.say(admin, "/newtask DBSH BTC 18/12/2026 | Kế hoạch <b>năm</b> 2027")
    before = await _outbox(bot, 1)
    assert before and all(r.state == OutboxState.PENDING for r in before)
    token = await browser.csrf_of("/tasks/1")
    page = (await browser.get("/tasks/1"))[1]
    assert 'value="2026-12-18"' in page and 'value="Kế hoạch &lt;b&gt;năm&lt;/b&gt; 2027"' in page
    edit = [
        ("csrf", token),
        ("title", "Kế hoạch năm 2027 (sửa)"),
        ("deadline", "2027-01-15"),
        ("agencies", "BTC"),
        ("agencies", "HN"),
        ("ref", "6411/VPCP-KTTH"),
    ]
    status, _, response = await browser.post("/tasks/1/edit", data=edit)
    assert status == 303 and response.headers["Location"] == "/tasks/1"
    [task] = await _tasks(bot)
    assert task.title == "Kế hoạch năm 2027 (sửa)" and task.due_on.isoformat() == "2027-01-15"
    assert [p.agency.code for p in task.assignments] == ["BTC", "HN"]
    assert task.ref == "6411/VPCP-KTTH"
    rows = await _outbox(bot, 1)
    old = [r for r in rows if r.id in {b.id for b in before}]
    new = [r for r in rows if r.id not in {b.id for b in before}]
    assert all(r.state == OutboxState.CANCELLED for r in old)
    assert new and all(r.dedupe_key.startswith("task:1:r1:") for r in new)
    assert {r.member_id for r in new} == {1, 2}  # HN's member now reminded too
    # The reminders follow the new deadline (nudges come after it).
    last_old = max(r.due_at for r in old if r.kind == "task_reminder")
    last_new = max(r.due_at for r in new if r.kind == "task_reminder")
    assert last_old.date().isoformat() <= "2026-12-18" < last_new.date().isoformat() <= "2027-01-15"
    [(actor, details)] = await _logged(bot, "task.edit")
    assert actor == f"tg:{admin.id}"
    assert details["due_on"] == "2027-01-15" and details["agencies"] == ["BTC", "HN"]
    # The same values again: nothing to change, said next to the form.
    status, page, _ = await browser.post("/tasks/1/edit", data=edit)
    assert status == 400 and 'id="form-error"' in page
    # A bad deadline: the error, the values typed kept, nothing changed.
    bad = [(k, "2020-01-01" if k == "deadline" else v) for k, v in edit]
    status, page, _ = await browser.post("/tasks/1/edit", data=bad)
    assert status == 400 and "đã qua" in page and 'value="2020-01-01"' in page
    assert (await _tasks(bot))[0].due_on.isoformat() == "2027-01-15"
    # No agency left: refused.
    none = [(k, v) for k, v in edit if k != "agencies"]
    status, page, _ = await browser.post("/tasks/1/edit", data=none)
    assert status == 400 and "ít nhất một cơ quan" in page
    unknown = [*edit, ("agencies", "XYZ")]
    status, page, _ = await browser.post("/tasks/1/edit", data=unknown)
    assert status == 400 and "XYZ" in page[page.index('id="form-error"') :]
    assert [p.agency.code for p in (await _tasks(bot))[0].assignments] == ["BTC", "HN"]


async def test_cancelling_asks_first_then_withdraws_the_reminders(bot, admin, browser):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC 18/12/2026 | Kế hoạch năm 2027")
    page = (await browser.get("/tasks/1"))[1]
    assert 'href="/tasks/1/cancel"' in page
    status, page, _ = await browser.get("/tasks/1/cancel")  # the confirmation: nothing yet
    assert status == 200 and "Kế hoạch năm 2027" in page
    assert (await _tasks(bot))[0].cancelled_at is None
    token = await browser.csrf_of("/tasks/1/cancel")
    status, _, response = await browser.post("/tasks/1/cancel", data={"csrf": token})
    assert status == 303 and response.headers["Location"] == "/tasks/1"
    assert (await _tasks(bot))[0].cancelled_at is not None
    assert {r.state for r in await _outbox(bot, 1)} == {OutboxState.CANCELLED}
    assert await _logged(bot, "task.cancel") == [(f"tg:{admin.id}", {"task_id": 1})]
    page = (await browser.get("/tasks/1"))[1]
    assert "/tasks/1/edit" not in page  # a cancelled task is not edited
    # Twice: not found, and nothing more logged.
    assert (await browser.post("/tasks/1/cancel", data={"csrf": token}))[0] == 404
    assert len(await _logged(bot, "task.cancel")) == 1


async def test_the_same_form_sent_twice_at_once_makes_one_task(bot, admin, browser):
    hidden = await _form(browser)
    sent = await asyncio.gather(
        *(browser.post("/tasks/new", data=_fields(hidden)) for _ in range(3))
    )
    assert [status for status, _, _ in sent] == [303, 303, 303]
    assert {response.headers["Location"] for _, _, response in sent} == {"/tasks/1"}
    assert len(await _tasks(bot)) == 1
    assert len(await _logged(bot, "task.create")) == 1


async def test_removing_the_last_agency_not_done_makes_the_task_done(bot, admin):
    await council_at_work(bot, admin)  # #1: BTC done, HN not; its deadline now past
    browser = Browser(bot.settings.web_url)  # signed in now, three days on
    await browser.sign_in_with_telegram(init_data(admin, bot.api.token, bot.clock.now()))
    try:
        await _remove_hn(bot, browser)
    finally:
        await browser.close()


async def _remove_hn(bot, browser: Browser) -> None:
    page = (await browser.get("/tasks/1"))[1]
    token = await browser.csrf_of("/tasks/1")
    deadline = re.search(r'name="deadline" type="date" required value="([0-9-]+)"', page)
    assert deadline and deadline.group(1) == "2026-11-25"  # past, and kept as it was
    edit = {"csrf": token, "title": HOSTILE, "deadline": "2026-11-25", "agencies": "BTC"}
    status, page, _ = await browser.post("/tasks/1/edit", data=edit)
    assert status == 303, page
    task = (await _tasks(bot))[0]
    assert [p.agency.code for p in task.assignments] == ["BTC"]
    assert task.done_at is not None
    assert [r for r in await _outbox(bot, 1) if r.state == OutboxState.PENDING] == []
