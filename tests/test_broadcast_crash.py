"""kill -9 in the middle of a broadcast, then start again (issue 5; SPEC §6, docs/outbox.md).

The real `dieuphoi run` process, on the real clock, against the fake Bot API server with
Telegram's limits: an admin sends /announce and presses 📣 through the fake, the process
is killed with SIGKILL when about half of the copies are out, and a new one is started.
62 copies take about two seconds at 30 a second: the overall limit binds, not the
per-chat ones.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter

from sqlalchemy import select

from bot.models import Announcement, AnnouncementState, Outbox, OutboxState
from bot.services.broadcasts import subject
from jobs.sender import MAX_IN_FLIGHT
from tests.chat import linked_group
from tests.cli import start_cli
from tests.people import registered

MEMBERS = 60
TEXT = "Họp khẩn <quý IV> & tài liệu 📎"
PROGRESS = re.compile(r"Thông báo #1: đã gửi \d+/\d+")
SUMMARY = "Thông báo #1 đã gửi xong"


async def _wait_for(predicate, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_kill_9_mid_broadcast_then_restart_delivers_the_rest_once(
    bot, api, admin, cli_environment, tmp_path
):
    councils = ("DBSH", "TN")
    users = [
        await registered(bot, f"Thành viên {i:02d}", councils[i % 2], "BTC") for i in range(MEMBERS)
    ]
    groups = [await linked_group(bot, admin, code) for code in councils]
    await bot.stop()  # the real process takes over
    everyone = {u.id for u in users} | {g.id for g in groups}
    # The outbox lease stays at its default (60 s): the rows the dead process had claimed
    # must come back through the heartbeat (bot/instances.py), within seconds.
    env = cli_environment

    process = await start_cli("run", env=env, cwd=tmp_path)
    since, since_calls = len(api.sent), len(api.calls)

    def copies() -> Counter:
        return Counter(
            m["chat"]["id"]
            for m in api.sent[since:]
            if "Họp khẩn <quý IV> & tài liệu 📎" in m.get("text", "")
            and m["chat"]["id"] != admin.id
        )

    def to_admin(pattern) -> list[dict]:
        return [
            m
            for m in api.sent[since:]
            if m["chat"]["id"] == admin.id and re.search(pattern, m.get("text", ""))
        ]

    try:
        api.send_message(admin, f"/announce all\n{TEXT}")
        preview = await api.wait_for_message(admin.id, since=since, timeout=30)
        assert f"{MEMBERS} thành viên" in preview["text"] and "2 nhóm" in preview["text"]
        [send] = [
            b["callback_data"]
            for row in preview["reply_markup"]["inline_keyboard"]
            for b in row
            if "📣" in b["text"]
        ]
        api.press_button(admin, preview, send)
        await _wait_for(lambda: len(copies()) >= len(everyone) // 2)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    at_kill = len(copies())
    assert at_kill < len(everyone), "the broadcast finished before the kill: nothing tested"

    process = await start_cli("run", env=env, cwd=tmp_path)
    try:
        # Well before the lease would end: released by the heartbeat, not by the lease.
        await _wait_for(lambda: len(copies()) == len(everyone), timeout=30)
        await _wait_for(lambda: to_admin(SUMMARY), timeout=30)
        await asyncio.sleep(1.5)  # a repeat of anything would show up now
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)

    got = copies()
    assert set(got) == everyone  # nobody missing, nobody else
    # At least once: only the copies in flight at the kill (Telegram answered, the row not
    # yet recorded) may have gone out twice, and the sender has at most MAX_IN_FLIGHT.
    twice = {chat: n for chat, n in got.items() if n > 1}
    assert len(twice) <= MAX_IN_FLIGHT and set(twice.values()) <= {2}, twice
    assert sum(got.values()) == len(everyone) + len(twice)
    # The restarted process paces from scratch; Telegram's limits were kept all along.
    assert [c for c in api.calls[since_calls:] if c[2] == 429] == []

    [progress] = to_admin(PROGRESS)  # one progress message, edited, never sent twice
    [summary] = to_admin(SUMMARY)
    assert f"Đã gửi tới: {len(everyone)}" in summary["text"]
    assert "Không gửi được: 0" in summary["text"]
    [shown] = [m for m in api.messages_in(admin.id) if m["message_id"] == progress["message_id"]]
    assert f"đã gửi {len(everyone)}/{len(everyone)} · 0 lỗi" in shown["text"]
    async with bot.sessions() as session:
        # Only the announcement's rows: on the real clock a linked group may also be due
        # a weekly digest (this test once failed on a Tuesday for that reason).
        states = Counter(
            (await session.scalars(select(Outbox.state).where(Outbox.subject == subject(1)))).all()
        )
        announcement = await session.get(Announcement, 1)
    assert states == Counter({OutboxState.SENT: len(everyone)})
    assert announcement is not None and announcement.state == AnnouncementState.DONE
