"""Announcements meeting bad input and Telegram's failures (issue 5; SPEC §3, §6): HTML
and emoji kept intact, 5xx retried with pauses then reported, a group migrated in the
middle of a broadcast."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from bot import callbacks
from bot.callbacks import BroadcastAction, BroadcastPress
from bot.db import transaction
from bot.models import (
    Announcement,
    AnnouncementState,
    GroupChat,
    Member,
    Outbox,
    OutboxState,
    TelegramUser,
)
from bot.services.broadcasts import FIRST_COPIES
from jobs.broadcasts import EDIT_EVERY
from jobs.sender import BACKOFF, MAX_ATTEMPTS
from tests.chat import linked_group
from tests.fakebotapi import utf16_len
from tests.people import registered
from tests.processes import registered_members

SEND = callbacks.encode(BroadcastPress(1, BroadcastAction.SEND))
TEXT = "Họp khẩn 9:00 & tài liệu"


async def _send(bot, admin, text, target="DBSH"):
    """/announce, then 📣; returns the index of the fake's messages from the press on."""
    preview = await bot.say(admin, f"/announce {target}\n{text}")
    since = len(bot.api.sent)
    bot.api.press_button(admin, preview, SEND)
    await bot.settle()  # the confirmation and the progress message are out
    return since


def _copies(bot, since, text):
    return Counter(m["chat"]["id"] for m in bot.api.sent[since:] if text in m.get("text", ""))


def _summary(bot, since, admin):
    summaries = [
        m["text"]
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == admin.id and "đã gửi xong" in m["text"]
    ]
    assert len(summaries) <= 1, summaries
    return summaries[0] if summaries else None


async def test_html_special_characters_and_emoji_arrive_as_typed(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    bob = await registered(bot, "Trần Thị Bình", "DBSH", "HN", language_code="en")
    await bot.say(bob, "/lang en")
    group = await linked_group(bot, admin, "DBSH")
    # What looks like markup is text; flags and skin tones are several code points (and
    # UTF-16 units, in which Telegram counts entity offsets).
    text = 'Họp <b>quý IV</b> & "tổng kết" 5 > 3 &amp; 🇻🇳 👍🏽 🎉\nDòng 2: <i>không nghiêng</i>'
    preview = await bot.say(admin, f"/announce DBSH\n{text}")
    assert text in preview["text"]
    since = len(bot.api.sent)
    bot.api.press_button(admin, preview, SEND)
    await bot.settle()
    await bot.deliver()

    assert _copies(bot, since, text) == Counter({an.id: 1, bob.id: 1, group.id: 1})
    for chat, heading in (
        (an.id, "📣 Thông báo của Cơ quan thường trực Hội đồng"),
        (bob.id, "📣 Announcement from the Council's standing agency"),
        (group.id, "📣 Thông báo của Cơ quan thường trực Hội đồng"),
    ):
        [copy] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == chat]
        assert copy["_params"]["parse_mode"] == "HTML"
        assert copy["text"] == f"{heading}\n\n{text}"
        # Only the bot's heading is bold: nothing the admin typed became formatting.
        assert copy["entities"] == [{"type": "bold", "offset": 0, "length": utf16_len(heading)}]
    summary = _summary(bot, since, admin)
    assert summary is not None and "Đã gửi tới: 3" in summary
    # The fake answered every call with HTML it could parse (checked at teardown too).
    assert bot.api.violations == []


async def test_5xx_on_some_copies_is_retried_after_a_pause_and_the_broadcast_completes(bot, admin):
    users = [await registered(bot, f"Thành viên {i}", "DBSH", "BTC") for i in range(4)]
    group = await linked_group(bot, admin, "DBSH")
    since = await _send(bot, admin, TEXT)
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway", times=2)

    first = await bot.deliver()
    assert (first.sent, first.failed) == (3, 0)
    assert sum(_copies(bot, since, TEXT).values()) == 3
    async with bot.sessions() as session:
        waiting = (
            await session.scalars(select(Outbox).where(Outbox.state == OutboxState.PENDING))
        ).all()
    # Not hammered: both wait the first pause of the backoff, counted as an attempt.
    assert len(waiting) == 2
    assert {row.due_at for row in waiting} == {bot.clock.now() + BACKOFF[0]}
    assert {row.attempts for row in waiting} == {1}
    assert all("Bad Gateway" in (row.last_error or "") for row in waiting)
    assert _summary(bot, since, admin) is None  # not finished yet

    await bot.advance_to(bot.clock.now() + BACKOFF[0])
    assert _copies(bot, since, TEXT) == Counter({u.id: 1 for u in users} | {group.id: 1})
    summary = _summary(bot, since, admin)
    assert summary is not None
    assert "Đã gửi tới: 5" in summary and "Không gửi được: 0" in summary
    async with bot.sessions() as session:
        # The copies (the summary is a row of its own, subject "announce:1:summary").
        rows = (await session.scalars(select(Outbox).where(Outbox.subject == "announce:1"))).all()
    assert Counter(row.state for row in rows) == Counter({OutboxState.SENT: 5})
    assert Counter(row.attempts for row in rows) == Counter({1: 3, 2: 2})


async def test_a_copy_failing_every_time_is_reported_failed_after_the_last_attempt(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    since = await _send(bot, admin, TEXT)
    bot.api.fail_next("sendMessage", status=500, times=MAX_ATTEMPTS)
    calls = len(bot.api.calls)
    await bot.deliver()
    for pause in BACKOFF:  # 5 s, 30 s, 2 min, 10 min: then no more attempts
        assert _summary(bot, since, admin) is None
        await bot.advance_to(bot.clock.now() + pause)

    assert _copies(bot, since, TEXT) == Counter()
    tries = [
        status
        for m, p, status in bot.api.calls[calls:]
        if m == "sendMessage" and p["chat_id"] == an.id
    ]
    assert tries == [500] * MAX_ATTEMPTS
    async with bot.sessions() as session:
        [row] = (await session.scalars(select(Outbox).where(Outbox.subject == "announce:1"))).all()
    assert (row.state, row.attempts) == (OutboxState.FAILED, MAX_ATTEMPTS)
    summary = _summary(bot, since, admin)
    assert summary is not None
    assert "Đã gửi tới: 0" in summary and "Không gửi được: 1" in summary
    assert "Không gửi được sau nhiều lần thử:\n• Nguyễn Văn An" in summary
    # Nothing is tried after the last attempt.
    calls = len(bot.api.calls)
    await bot.advance_to(bot.clock.now() + timedelta(hours=1))
    assert [c for c in bot.api.calls[calls:] if c[1].get("chat_id") == an.id] == []


async def test_a_group_migrated_during_the_broadcast_gets_its_copy_at_the_new_id(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin, "DBSH")
    since = await _send(bot, admin, TEXT)
    # Telegram also tells the bot by an update, which may come after the sender has tried
    # the old id: polling is held so that the sender meets the old id first.
    await bot.pause_polling()
    supergroup = bot.api.migrate_group(group, admin)
    calls = len(bot.api.calls)
    await bot.deliver()

    assert _copies(bot, since, TEXT) == Counter({an.id: 1, supergroup.id: 1})
    to_old = [
        c for c in bot.api.calls[calls:] if c[0] == "sendMessage" and c[1]["chat_id"] == group.id
    ]
    assert [status for _m, _p, status in to_old] == [400]  # tried once at the old id
    async with bot.sessions() as session:
        [linked] = (await session.scalars(select(GroupChat))).all()
        [row] = (await session.scalars(select(Outbox).where(Outbox.group_id.is_not(None)))).all()
    assert linked.chat_id == supergroup.id
    assert (row.state, row.chat_id) == (OutboxState.SENT, supergroup.id)
    summary = _summary(bot, since, admin)
    assert summary is not None and "Đã gửi tới: 2" in summary and "Không gửi được: 0" in summary

    # The migration's updates arrive late: nothing is sent again.
    await bot.resume_polling()
    await bot.settle()
    await bot.deliver()
    assert _copies(bot, since, TEXT) == Counter({an.id: 1, supergroup.id: 1})
    assert _summary(bot, since, admin) is not None  # still the one summary


async def test_a_429_waits_its_time_and_the_last_progress_edit_keeps_3_s_spacing(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    since = await _send(bot, admin, TEXT)
    [progress] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]

    def edits() -> list[str]:
        return [
            p["text"]
            for m, p, status in bot.api.calls
            if m == "editMessageText"
            and p["message_id"] == progress["message_id"]
            and status == 200
        ]

    bot.api.fail_next("sendMessage", retry_after=1)
    start = bot.clock.now()
    await bot.deliver()
    assert sum(_copies(bot, since, TEXT).values()) == 1
    assert len(edits()) == 1 and "1/2" in edits()[0]

    # The refused copy goes out after retry_after; the broadcast is done 1.5 s after the
    # last edit, but the final edit and the summary wait until 3 s have passed (SPEC §6).
    await bot.advance_to(start + timedelta(seconds=1.5))
    assert _copies(bot, since, TEXT) == Counter({an.id: 1, binh.id: 1})
    assert len(edits()) == 1 and _summary(bot, since, admin) is None
    await bot.advance_to(start + timedelta(seconds=3))
    assert len(edits()) == 2 and "2/2" in edits()[1]
    summary = _summary(bot, since, admin)
    assert summary is not None and "Đã gửi tới: 2" in summary


async def test_a_summary_naming_150_unreachable_members_arrives_whole_in_parts(bot, admin):
    users = await registered_members(
        bot, bot.api, 150, name="Nguyễn Thị Phương Thảo, Sở Kế hoạch {i:03d}"
    )
    # Each has blocked the bot since registering: no copy can reach them in private.
    async with transaction(bot.sessions) as session:
        await session.execute(
            update(TelegramUser)
            .where(TelegramUser.id.in_([u.id for u in users]))
            .values(private_chat_ok=False)
        )
    since = await _send(bot, admin, TEXT)
    await bot.deliver()
    # The copies are queued in chunks while the first go out, and the progress is shown
    # meanwhile; the summary follows its last edit, 3 s later.
    await bot.advance_to(bot.clock.now() + EDIT_EVERY)

    parts = [m["text"] for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id]
    start = next(i for i, text in enumerate(parts) if "đã gửi xong" in text)
    summary = "\n".join(parts[start:])
    assert len(parts) - start >= 2  # longer than one message: split, not cut
    assert all(len(part) <= 4096 for part in parts)
    assert "Không gửi được: 150" in summary
    async with bot.sessions() as session:
        names = (await session.scalars(select(Member.full_name))).all()
    assert all(f"• {name}" in summary for name in names)


async def test_the_first_copies_go_out_while_the_rest_are_queued(bot, admin):
    users = await registered_members(bot, bot.api, FIRST_COPIES + 90)
    since = await _send(bot, admin, TEXT)
    async with bot.sessions() as session:
        queued = (
            await session.scalars(select(Outbox.id).where(Outbox.subject == "announce:1"))
        ).all()
        announcement = await session.get(Announcement, 1)
    # 📣 wrote the first copies; the follower writes the rest, in chunks.
    assert len(queued) == FIRST_COPIES
    assert announcement.recipients == len(users) and announcement.queued_at is None
    await bot.deliver()
    await bot.advance_to(bot.clock.now() + EDIT_EVERY)

    assert _copies(bot, since, TEXT) == Counter({u.id: 1 for u in users})
    summary = _summary(bot, since, admin)
    assert summary is not None and f"Đã gửi tới: {len(users)}" in summary
    async with bot.sessions() as session:
        announcement = await session.get(Announcement, 1)
    assert announcement.queued_at is not None and announcement.state == AnnouncementState.DONE
