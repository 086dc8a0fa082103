"""The audit log is complete (issue 9): exports, on-demand digests, a cancelled
announcement, RSVP answers and delegates, status notes — who did it, and what."""

from __future__ import annotations

from sqlalchemy import select

from bot import callbacks
from bot.callbacks import BroadcastAction, BroadcastPress, MeetingPress, Rsvp, TaskPress, TaskStatus
from bot.models import Agency, AuditLog
from tests.chat import linked_group, press
from tests.cli import run_cli
from tests.people import registered


async def _logged(bot, action: str) -> list[tuple[str, dict]]:
    async with bot.sessions() as session:
        rows = (
            await session.scalars(
                select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
            )
        ).all()
    return [(row.actor, row.details) for row in rows]


async def test_exports_from_the_chat_and_the_command_line_are_logged(
    bot, admin, cli_environment, tmp_path
):
    await bot.say(admin, "/newtask DBSH BTC,HN Q4/2026 | Báo cáo quý IV")
    answer = await bot.say(admin, "/export DBSH")
    assert answer["_method"] == "sendDocument"
    table = tmp_path / "tasks.csv"
    result = await run_cli("export", "-o", str(table), env=cli_environment, cwd=tmp_path)
    assert result.code == 0, result.err
    # A file that cannot be written is not an export.
    missing = tmp_path / "no-such-folder" / "tasks.csv"
    result = await run_cli("export", "-o", str(missing), env=cli_environment, cwd=tmp_path)
    assert result.code != 0 and not missing.exists()

    assert await _logged(bot, "export") == [
        (
            f"tg:{admin.id}",
            {"format": "xlsx", "councils": ["DBSH"], "rows": 2, "reports": 0},
        ),
        (
            "cli",
            {
                "format": "csv",
                "councils": ["TDMNPB", "DBSH", "BTBDHMT", "TN", "DNB", "DBSCL"],
                "rows": 2,
                "reports": 0,
            },
        ),
    ]


async def test_an_on_demand_digest_is_logged_with_the_groups_it_went_to(bot, admin):
    group = await linked_group(bot, admin, "DBSH")
    await bot.say_all(admin, "/digest DBSH")
    await bot.say_all(admin, "/digest TN")
    logged = await _logged(bot, "digest.post")
    assert [(actor, d["council"], d["groups"], d["queued"]) for actor, d in logged] == [
        (f"tg:{admin.id}", "DBSH", [group.id], 1),
        (f"tg:{admin.id}", "TN", [], 0),
    ]
    assert logged[0][1]["period"] == "now:2026-11-23T09:00"


async def test_a_cancelled_announcement_is_logged(bot, admin):
    preview = await bot.say(admin, "/announce DBSH\nHọp khẩn lúc 14:00")
    cancel = callbacks.encode(BroadcastPress(1, BroadcastAction.CANCEL))
    await press(bot, admin, preview, cancel)
    await press(bot, admin, preview, cancel)  # refused: nothing more is logged
    assert await _logged(bot, "announcement.cancel") == [
        (f"tg:{admin.id}", {"announcement_id": 1, "target": "DBSH"})
    ]


async def test_rsvp_answers_when_they_change_and_delegates_are_logged(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng")
    [card] = [r for r in await bot.say_all(an, "/meetings") if r.get("reply_markup")]
    for answer in (Rsvp.ATTEND, Rsvp.ATTEND, Rsvp.ABSENT, Rsvp.DELEGATE):
        await press(bot, an, card, callbacks.encode(MeetingPress(1, answer)))
    [question] = [m for m in bot.api.sent if m["chat"]["id"] == an.id and "thay" in m["text"]]
    await bot.say(an, "Lê Thị Hoa, Phó Vụ trưởng", reply_to=question)
    await bot.say(an, "Trần Văn Bảo, Vụ trưởng", reply_to=question)

    actor = f"tg:{an.id}"
    rsvp = await _logged(bot, "meeting.rsvp")
    assert [(who, d["answer"], d["previous"]) for who, d in rsvp] == [
        (actor, "attend", None),  # the second ✅ changed nothing: not logged
        (actor, "absent", "attend"),
        (actor, "delegate", "absent"),
    ]
    assert all((d["meeting_id"], d["member_id"]) == (1, 1) for _, d in rsvp)
    assert await _logged(bot, "meeting.delegate") == [
        (
            actor,
            {
                "meeting_id": 1,
                "member_id": 1,
                "delegate": "Lê Thị Hoa, Phó Vụ trưởng",
                "previous": None,
            },
        ),
        (
            actor,
            {
                "meeting_id": 1,
                "member_id": 1,
                "delegate": "Trần Văn Bảo, Vụ trưởng",
                "previous": "Lê Thị Hoa, Phó Vụ trưởng",
            },
        ),
    ]


async def test_a_changed_note_keeps_the_earlier_text_in_the_log(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo quý IV")
    [card] = [r for r in await bot.say_all(an, "/status") if r.get("reply_markup")]
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(TaskPress(1, TaskStatus.AT_RISK)))
    question = await bot.api.wait_for_message(an.id, since=since)
    await bot.say(an, "Chờ số liệu của Sở Tài chính", reply_to=question)
    await bot.say(an, "Đã có số liệu, đang tổng hợp", reply_to=question)

    async with bot.sessions() as session:
        btc = await session.scalar(select(Agency.id).where(Agency.code == "BTC"))
    details = {"task_id": 1, "report_id": 1, "agency_id": btc}
    assert await _logged(bot, "task.note") == [
        (
            f"tg:{an.id}",
            details | {"note": "Chờ số liệu của Sở Tài chính", "previous": None},
        ),
        (
            f"tg:{an.id}",
            details
            | {"note": "Đã có số liệu, đang tổng hợp", "previous": "Chờ số liệu của Sở Tài chính"},
        ),
    ]
