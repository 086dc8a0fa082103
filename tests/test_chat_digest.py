"""Council digests: on demand with /digest, every Monday 08:30 through the outbox, once
per period, with the chart when there is data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot import callbacks
from bot.callbacks import MeetingPress, Rsvp, TaskPress, TaskStatus
from bot.db import transaction
from bot.models import Digest, Outbox, OutboxState
from bot.services import tasks
from tests.chat import linked_group, local, press
from tests.fakebotapi import ApiError, FakeBotApi
from tests.harness import deps_of_app
from tests.people import registered


def _in(bot, chat_id, since):
    """The digest messages (text and chart) sent to a chat; reminders left aside."""
    return [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == chat_id and ("photo" in m or m.get("text", "").startswith("📊"))
    ]


async def test_a_report_and_its_note_reach_the_next_digest_in_the_group(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    group = await linked_group(bot, admin)
    await bot.say(admin, "/newtask DBSH BTC,HN 2026-12-01 | Báo cáo <giữa kỳ> & kiến nghị")
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng")
    listing = await bot.say_all(an, "/status")
    [card] = [m for m in listing if m.get("reply_markup")]
    since = len(bot.api.sent)
    await press(bot, an, card, callbacks.encode(TaskPress(1, TaskStatus.AT_RISK)))
    question = await bot.api.wait_for_message(an.id, since=since)
    await bot.say(an, "Chờ số liệu của <Sở Tài chính>", reply_to=question)
    meetings = await bot.say_all(an, "/meetings")
    [invitation] = [m for m in meetings if m.get("reply_markup")]
    await press(bot, an, invitation, callbacks.encode(MeetingPress(1, Rsvp.ATTEND)))

    # Monday 30 November, 08:30: the weekly digest goes to the group.
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 11, 30, 8, 29))
    assert _in(bot, group.id, since) == []
    await bot.advance_to(local(2026, 11, 30, 8, 30))
    posted = _in(bot, group.id, since)
    text = posted[0]["text"]
    assert "Báo cáo <giữa kỳ> & kiến nghị" in text
    assert "BTC 🟠" in text and "Chờ số liệu của <Sở Tài chính>" in text
    # Has not answered the reminder: named as a letter to it would name it.
    assert "• UBND thành phố Hà Nội: #1" in text
    assert "Góp ý quy hoạch vùng" in text and "✅ 1" in text
    assert any("photo" in m for m in posted)  # the chart

    # The same period is never posted twice, even if planned again.
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 11, 30, 9, 0))
    assert _in(bot, group.id, since) == []
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Digest)) == 1


async def test_digest_on_demand_shows_the_admin_and_posts_once(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin)
    await bot.say(admin, "/newtask DBSH BTC 2026-12-01 | Rà soát dự án")
    replies = await bot.say_all(admin, "/digest DBSH")
    assert "Rà soát dự án" in replies[0]["text"]
    assert any("photo" in m for m in replies)
    await bot.say_all(admin, "/digest DBSH")  # the same minute: one post
    since = 0
    await bot.deliver()
    posts = [m for m in _in(bot, group.id, since) if "Rà soát dự án" in m.get("text", "")]
    assert len(posts) == 1


async def test_a_council_with_no_data_gets_a_friendly_digest_without_chart(bot, admin):
    await bot.say(admin, "/lang en")
    replies = await bot.say_all(admin, "/digest TN")
    assert "Nothing to report" in replies[0]["text"]
    assert not any("photo" in m for m in replies)
    assert "no linked group" in replies[-1]["text"]


async def test_digest_is_for_admins_and_the_schedule_can_change(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    refused = await bot.say(member, "/digest DBSH")
    assert "cán bộ Cơ quan thường trực" in refused["text"]
    group = await linked_group(bot, admin)
    await bot.say(admin, "/newtask DBSH BTC 2026-12-01 | Rà soát dự án")
    changed = await bot.say(admin, "/digestat DBSH fri 16:00")
    assert "16:00 thứ Sáu hằng tuần (giờ Việt Nam)" in changed["text"]
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 11, 27, 16, 0))  # Friday
    assert any("Rà soát dự án" in m.get("text", "") for m in _in(bot, group.id, since))
    bad = await bot.say(admin, "/digestat DBSH someday 16:00")
    assert "Ví dụ: /digestat DBSH t6 16:00" in bad["text"]


async def test_a_long_digest_interrupted_by_a_429_goes_on_without_repeating_a_part(
    bot, admin, monkeypatch
):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin)
    for number in range(30):  # more than fits in one message
        await _task(bot, f"Nhiệm vụ số {number:02d}: " + "rà soát, tổng hợp và báo cáo " * 5)
    real = FakeBotApi._handlers["sendMessage"]
    to_group = 0

    def second_part_refused(api, call):
        nonlocal to_group
        if call.params.get("chat_id") == group.id:
            to_group += 1
            if to_group == 2:  # Telegram's flood control, on the second part
                raise ApiError(
                    429, "Too Many Requests: retry after 5", parameters={"retry_after": 5}
                )
        return real(api, call)

    monkeypatch.setitem(FakeBotApi._handlers, "sendMessage", second_part_refused)
    since = len(bot.api.sent)
    await bot.say_all(admin, "/digest DBSH")
    await bot.deliver()

    def posted() -> list[dict]:
        return [m for m in bot.api.sent[since:] if m["chat"]["id"] == group.id]

    assert len(posted()) == 1  # the first part; the second waits
    await bot.advance_to(bot.clock.now() + timedelta(seconds=6))

    posted = posted()
    texts = [m["text"] for m in posted if "text" in m]
    assert len(texts) >= 2 and len(set(texts)) == len(texts)  # every part once
    assert sum("photo" in m for m in posted) == 1
    shown = "\n".join(texts)
    assert all(f"Nhiệm vụ số {n:02d}" in shown for n in range(30))
    async with bot.sessions() as session:
        [row] = (await session.scalars(select(Outbox).where(Outbox.kind == "digest"))).all()
    assert (row.state, row.message_id) == (OutboxState.SENT, posted[0]["message_id"])


async def _task(bot, title: str) -> None:
    async with transaction(bot.sessions) as session:
        await tasks.create_task(
            session,
            bot.clock.now(),
            None,
            deps_of_app(bot.app).timing,
            f"DBSH BTC 2026-12-01 | {title}",
            "test",
        )
