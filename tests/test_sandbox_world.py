"""The sandbox's world (bot/sandbox/world_impl.py) with the real bot in-process over real
HTTP, on the local Bot API server, as the web chat will drive it: a person answers a
reminder with a button and a note, a day's jump brings the nudge, the secretariat posts
the digest to the group, sends an announcement and reads its summary, a roster is
uploaded; events arrive and the guided path's steps are checked off from what happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.db import transaction
from bot.models import Outbox, OutboxState
from bot.sandbox.clock import MovableClock
from bot.sandbox.run import Sandbox
from bot.sandbox.world import Event, Person, SandboxRefusal
from bot.sandbox.world_impl import LiveWorld
from tests.chat import local
from tests.rosters import csv_bytes, person

# A Tuesday, 10:00 in Hanoi: the reminders of a task due on Friday go out at once; the
# report that was due on Monday gets its first nudge on Wednesday morning.
START = local(2026, 12, 1, 10, 0)

Message = dict[str, Any]


@pytest.fixture
async def sandbox(tmp_path) -> AsyncIterator[Sandbox]:
    box = Sandbox(tmp_path / "data", clock=MovableClock(start=START))
    await box.start()
    try:
        yield box
    finally:
        await box.stop()


@pytest.fixture
def world(sandbox: Sandbox) -> LiveWorld:
    assert sandbox.world is not None
    return sandbox.world


class Events:
    """Every event from a moment on, collected in the background."""

    def __init__(self, world: LiveWorld) -> None:
        self.seen: list[Event] = []
        self._task = asyncio.create_task(self._collect(world))

    async def _collect(self, world: LiveWorld) -> None:
        async for event in world.events():
            self.seen.append(event)

    async def wait(self, found: Callable[[Event], bool], timeout: float = 30.0) -> Event:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.seen:
                    if found(event):
                        return event
                await asyncio.sleep(0.02)

    def close(self) -> None:
        self._task.cancel()


@pytest.fixture
async def events(world: LiveWorld) -> AsyncIterator[Events]:
    collected = Events(world)
    await asyncio.sleep(0)  # subscribed before the test acts
    yield collected
    collected.close()


async def _someone(world: LiveWorld, name: str) -> Person:
    return next(p for p in await world.people() if p.name == name)


async def _history(world: LiveWorld, user_id: int, chat_id: int) -> list[Message]:
    messages, _more = await world.messages(user_id, chat_id, None, 500)
    return messages


def _text(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


def _buttons(message: Message) -> list[dict[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button for row in rows for button in row]


async def _bot_says(
    world: LiveWorld, events: Events, chat_id: int, found: Callable[[Message], bool]
) -> Message:
    bot_id = (await world.bot_user())["id"]
    event = await events.wait(
        lambda e: (
            e.kind == "message"
            and e.chat_id == chat_id
            and e.payload["from"]["id"] == bot_id
            and found(e.payload)
        )
    )
    message: Message = event.payload
    return message


async def _steps_done(world: LiveWorld, user_id: int) -> set[str]:
    return {step.id for step in await world.steps(user_id) if step.done}


async def test_the_seeded_world(world: LiveWorld):
    people = await world.people()
    assert len(people) == 13
    [officer] = [p for p in people if p.is_admin]
    assert officer.name == "Đỗ Thị Phương Thảo" and officer.registered
    officials = [p for p in people if not p.is_admin]
    assert {p.agency for p in officials} >= {"Bộ Tài chính", "Thành phố Hà Nội"}
    assert [p.name for p in officials if not p.registered] == ["Vũ Thị Hồng Nhung"]
    chats = await world.chats_of(officer.id)
    assert chats[0].id == officer.id and chats[0].type == "private"
    assert [c.title for c in chats[1:]] == [
        "HĐĐP vùng Đồng bằng sông Hồng",
        "HĐĐP vùng Đồng bằng sông Cửu Long",
    ]
    hung = await _someone(world, "Nguyễn Văn Hùng")
    [private, group] = await world.chats_of(hung.id)
    assert group.title == "HĐĐP vùng Đồng bằng sông Hồng"
    # The official who never pressed Start: the bot may not write to her first, so her
    # reminder went to her council's group, naming her (the group fallback).
    nhung = await _someone(world, "Vũ Thị Hồng Nhung")
    assert (await world.chats_of(nhung.id))[1].id == group.id
    [fallback] = [m for m in await _history(world, hung.id, group.id) if "Quỹ" in _text(m)]
    assert _text(fallback).startswith("Vũ Thị Hồng Nhung")
    assert any(
        (e.get("user") or {}).get("id") == nhung.id or str(nhung.id) in e.get("url", "")
        for e in fallback.get("entities", [])
    )
    assert await _history(world, nhung.id, nhung.id) == []
    # Today's reminder is there already, unread, with its buttons.
    assert private.unread >= 2
    history = await _history(world, hung.id, hung.id)
    [reminder] = [m for m in history if "Quỹ phát triển hạ tầng vùng" in _text(m)]
    assert _buttons(reminder)
    await world.mark_read(hung.id, hung.id, history[-1]["message_id"])
    assert (await world.chats_of(hung.id))[0].unread == 0
    await world.mark_unread(hung.id, hung.id, reminder["message_id"])
    assert (await world.chats_of(hung.id))[0].unread >= 1
    # The officer is not in the other council's group of Hùng's: nor is Hùng in hers.
    other = chats[2].id
    with pytest.raises(SandboxRefusal) as refused:
        await world.messages(hung.id, other, None, 10)
    assert refused.value.status == 403
    # Older messages come a page at a time.
    page, more = await world.messages(hung.id, hung.id, history[-1]["message_id"], 1)
    assert [m["message_id"] for m in page] == [history[-2]["message_id"]] and more


async def test_an_official_answers_a_reminder_with_a_button_and_a_note(
    world: LiveWorld, events: Events
):
    hung = await _someone(world, "Nguyễn Văn Hùng")
    assert await _steps_done(world, hung.id) == set()
    history = await _history(world, hung.id, hung.id)
    [reminder] = [m for m in history if "Quỹ phát triển hạ tầng vùng" in _text(m)]
    button = _buttons(reminder)[0]
    answer = await world.press(hung.id, hung.id, reminder["message_id"], button["callback_data"])
    assert answer is not None and answer["text"].startswith("Đã ghi nhận")
    assert await events.wait(lambda e: e.kind == "answer" and e.user_id == hung.id)
    question = await _bot_says(world, events, hung.id, lambda m: "ghi chú" in _text(m))
    # The question's ForceReply comes with it, pushed and read back, so the page can open
    # the reply box as Telegram's apps do.
    assert question["reply_markup"]["force_reply"] is True
    [kept] = [
        m for m in await _history(world, hung.id, hung.id)
        if m["message_id"] == question["message_id"]
    ]  # fmt: skip
    assert kept["reply_markup"] == question["reply_markup"]
    mine = await world.send_text(
        hung.id, hung.id, "Đã gửi dự thảo, chờ ý kiến Vụ Pháp chế.", question["message_id"]
    )
    assert mine["from"]["id"] == hung.id
    assert mine["reply_to_message"]["message_id"] == question["message_id"]
    await _bot_says(world, events, hung.id, lambda m: m["message_id"] > mine["message_id"])
    steps = await events.wait(
        lambda e: (
            e.kind == "steps"
            and e.user_id == hung.id
            and {s["id"] for s in e.payload if s["done"]} == {"answer-reminder", "add-note"}
        )
    )
    assert [s["id"] for s in steps.payload] == [
        "answer-reminder", "add-note", "create-task", "post-digest", "announce", "summary",
    ]  # fmt: skip
    assert await _steps_done(world, hung.id) == {"answer-reminder", "add-note"}
    [first, *_rest] = await world.steps(hung.id)
    assert first.title == "Với vai trò thành viên: trả lời lời nhắc"
    # A button pressed on a message that has none: refused as Telegram would not send it.
    with pytest.raises(SandboxRefusal):
        await world.press(hung.id, hung.id, mine["message_id"], button["callback_data"])


async def test_a_day_jump_brings_the_nudge(world: LiveWorld, events: Events):
    hung = await _someone(world, "Nguyễn Văn Hùng")
    before = await world.clock(hung.id)
    assert before.utc == START.isoformat(timespec="seconds")[:16] + before.utc[16:]
    assert before.next_due is not None
    assert "01/12/2026" in before.local or "1/12/2026" in before.local
    seen = len(await _history(world, hung.id, hung.id))
    after = await world.move_clock("day", hung.id)
    assert after.utc.startswith("2026-12-02T03:00")
    assert await events.wait(lambda e: e.kind == "clock" and e.payload == after.__dict__)
    # Sent before move_clock returned: no waiting here.
    new = (await _history(world, hung.id, hung.id))[seen:]
    nudges = [m for m in new if "57/NQ-CP" in _text(m)]
    assert nudges, [_text(m)[:80] for m in new]
    assert nudges[0]["date"] >= int(START.timestamp()) + 86_400 - 7_200


async def test_next_scheduled_message_moves_to_the_next_due_row(world: LiveWorld):
    officer = next(p for p in await world.people() if p.is_admin)
    now = await world.clock(officer.id)
    assert now.next_due is not None
    moved = await world.move_clock("next", officer.id)
    assert moved.utc >= now.next_due
    later = await world.move_clock("hour", officer.id)
    assert later.utc > moved.utc


async def test_the_secretariat_posts_the_digest_creates_a_task_and_announces(
    world: LiveWorld, events: Events
):
    officer = next(p for p in await world.people() if p.is_admin)
    group = (await world.chats_of(officer.id))[1]
    await world.send_text(officer.id, group.id, "/digest", None)
    digest = await _bot_says(world, events, group.id, lambda m: "photo" in m or "Quỹ" in _text(m))
    assert digest["chat"]["id"] == group.id
    await world.send_text(
        officer.id, officer.id,
        "/newtask DBSH BTC 18/12/2026 | Báo cáo tiến độ thực hiện quy hoạch vùng",
        None,
    )  # fmt: skip
    await _bot_says(world, events, officer.id, lambda m: "#" in _text(m))
    await world.send_text(
        officer.id, officer.id, "/announce DBSH\nKính gửi các thành viên Hội đồng.", None
    )
    preview = await _bot_says(world, events, officer.id, lambda m: bool(_buttons(m)))
    send = next(b for b in _buttons(preview) if "📣" in b["text"])
    assert await world.press(officer.id, officer.id, preview["message_id"], send["callback_data"])
    hung = await _someone(world, "Nguyễn Văn Hùng")
    await _bot_says(world, events, hung.id, lambda m: "Kính gửi các thành viên" in _text(m))
    # The preview becomes the progress of the sending, edited in place.
    edited = await events.wait(
        lambda e: (
            e.kind == "edit"
            and e.chat_id == officer.id
            and e.payload["message_id"] == preview["message_id"]
        )
    )
    assert edited.members == frozenset({officer.id}) and "edit_date" in edited.payload
    done: set[str] = set()
    for _ in range(10):  # the summary comes once the copies are out and the wait is over
        await world.move_clock("hour", officer.id)
        done = await _steps_done(world, officer.id)
        if "summary" in done:
            break
    assert {"create-task", "post-digest", "announce", "summary"} <= done


async def test_commands_and_what_telegram_would_refuse(world: LiveWorld):
    officer = next(p for p in await world.people() if p.is_admin)
    hung = await _someone(world, "Nguyễn Văn Hùng")
    mai = await _someone(world, "Bùi Thị Mai")  # Telegram in English
    admin_menu = {c["command"] for c in await world.commands_for(officer.id, officer.id)}
    member_menu = {c["command"] for c in await world.commands_for(hung.id, hung.id)}
    assert "newtask" in admin_menu and "newtask" not in member_menu
    english = await world.commands_for(mai.id, mai.id)
    vietnamese = await world.commands_for(hung.id, hung.id)
    assert [c["command"] for c in english] == [c["command"] for c in vietnamese]
    assert english != vietnamese  # the descriptions in each person's language
    group = (await world.chats_of(hung.id))[1]
    assert await world.commands_for(hung.id, group.id)

    with pytest.raises(SandboxRefusal) as too_long:
        await world.send_text(hung.id, hung.id, "a" * 4097, None)
    assert too_long.value.status == 400
    assert str(too_long.value) == "Tin nhắn quá dài: Telegram chỉ nhận tối đa 4.096 ký tự."
    with pytest.raises(SandboxRefusal) as in_english:
        await world.send_text(mai.id, mai.id, "a" * 4097, None)
    assert (
        str(in_english.value) == "The message is too long: Telegram takes at most 4,096 characters."
    )
    with pytest.raises(SandboxRefusal):
        await world.send_text(hung.id, hung.id, "   ", None)
    with pytest.raises(SandboxRefusal) as too_large:
        await world.send_file(hung.id, hung.id, "big.pdf", b"x" * (20 * 1024 * 1024 + 1), "", None)
    assert too_large.value.status == 413
    other = (await world.chats_of(officer.id))[2]
    with pytest.raises(SandboxRefusal) as outside:
        await world.send_text(hung.id, other.id, "xin chào", None)
    assert outside.value.status == 403
    with pytest.raises(SandboxRefusal) as nobody:
        await world.chats_of(1)
    assert nobody.value.status == 404
    assert len(await world.messages(hung.id, hung.id, None, 1000)) == 2


async def test_the_secretariat_uploads_a_roster(world: LiveWorld, events: Events):
    officer = next(p for p in await world.people() if p.is_admin)
    roster = csv_bytes([person("DBSH", "Đinh Công Minh", "HY", position="Giám đốc Sở Xây dựng")])
    sent = await world.send_file(officer.id, officer.id, "danh-sach.csv", roster, "/import", None)
    assert sent["document"]["file_name"] == "danh-sach.csv"
    name, mime, content = await world.file(sent["document"]["file_id"])
    assert (name, content) == ("danh-sach.csv", roster) and mime == "text/csv"
    report = await _bot_says(world, events, officer.id, lambda m: "Đinh Công Minh" in _text(m))
    assert "t.me/" in _text(report) or "start=" in _text(report)
    with pytest.raises(SandboxRefusal) as missing:
        await world.file("no-such-file")
    assert missing.value.status == 404
    # A picture sent as a photo, in reply to the bot's report; a long caption is refused.
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big") * 2
    photo = await world.send_file(
        officer.id, officer.id, "anh.png", png, "", report["message_id"], as_photo=True
    )
    assert photo["photo"][-1]["width"] == 640 and "document" not in photo
    assert photo["reply_to_message"]["message_id"] == report["message_id"]
    assert (await world.file(photo["photo"][-1]["file_id"]))[2] == png
    with pytest.raises(SandboxRefusal) as long_caption:
        await world.send_file(officer.id, officer.id, "a.txt", b"x", "c" * 1025, None)
    assert str(long_caption.value).startswith("Chú thích quá dài")


async def test_a_restart_keeps_the_chats_and_the_moved_clock(tmp_path):
    data = tmp_path / "data"
    first = Sandbox(data)
    world = await first.start()
    try:
        hung = await _someone(world, "Nguyễn Văn Hùng")
        moved = await world.move_clock("day", hung.id)
        people = await world.people()
        history = await _history(world, hung.id, hung.id)
        await world.mark_read(hung.id, hung.id, history[-1]["message_id"])
    finally:
        await first.stop()
    again = Sandbox(data)
    world = await again.start()
    try:
        assert await world.people() == people  # not seeded a second time
        assert await _history(world, hung.id, hung.id) == history
        assert (await world.chats_of(hung.id))[0].unread == 0
        assert (await world.clock(hung.id)).utc >= moved.utc
        # The same people still talk to the bot, which knows them.
        events = Events(world)
        await asyncio.sleep(0)
        await world.send_text(hung.id, hung.id, "/whoami", None)
        answer = await _bot_says(world, events, hung.id, lambda m: "Nguyễn Văn Hùng" in _text(m))
        events.close()
        assert answer["date"] >= int(datetime.fromisoformat(moved.utc).timestamp())
    finally:
        await again.stop()


def test_the_clock_only_moves_forward_and_is_kept(tmp_path):
    kept = tmp_path / "clock.json"
    clock = MovableClock(kept)
    real = datetime.now(UTC)
    clock.advance(timedelta(days=2))
    assert clock.now() - real >= timedelta(days=2)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    assert clock.advance_to(real) >= real + timedelta(days=2)  # the past: no move
    assert MovableClock(kept).offset == clock.offset
    assert abs(clock.wall() - clock.now().timestamp()) < 1


async def test_a_chat_of_two_thousand_messages_is_read_a_page_at_a_time(world: LiveWorld):
    hung = await _someone(world, "Nguyễn Văn Hùng")
    group = (await world.chats_of(hung.id))[1]
    for n in range(2000):  # plain talk: the bot (privacy mode) does not even receive it
        await world.send_text(hung.id, group.id, f"Tin nhắn số {n}", None)
    started = time.monotonic()
    page, more = await world.messages(hung.id, group.id, None, 50)
    assert more and [_text(m) for m in page[-2:]] == ["Tin nhắn số 1998", "Tin nhắn số 1999"]
    seen = len(page)
    while more:
        page, more = await world.messages(hung.id, group.id, page[0]["message_id"], 50)
        seen += len(page)
    assert seen >= 2000
    summary = (await world.chats_of(hung.id))[1]
    assert summary.last is not None and _text(summary.last) == "Tin nhắn số 1999"
    assert time.monotonic() - started < 5


async def test_a_jump_does_not_send_twice_what_the_sending_loop_holds(
    sandbox: Sandbox, world: LiveWorld
):
    """A row the bot's sending loop has claimed and is sending (paced behind the message
    before it, say) when the clock jumps an hour: its claim, made at the old time, must not
    look abandoned after the jump (the outbox lease is 60 s), or it is sent a second time."""
    deps = world.deps
    async with transaction(deps.sessions()) as session:
        row = await session.scalar(
            select(Outbox)
            .where(Outbox.state == OutboxState.PENDING)
            .order_by(Outbox.due_at)
            .limit(1)
        )
        assert row is not None
        held = row.id
        row.due_at = sandbox.clock.now()
        row.state = OutboxState.SENDING
        row.claimed_by = deps.presence.name
        row.claimed_at = sandbox.clock.now()
    officer = next(p for p in await world.people() if p.is_admin)
    moving = asyncio.create_task(world.move_clock("hour", officer.id))
    try:
        await asyncio.sleep(1.0)  # the jump is made; the delivery waits for the held row
        async with transaction(deps.sessions()) as session:
            state = await session.scalar(select(Outbox.state).where(Outbox.id == held))
        assert state == OutboxState.SENDING  # not claimed again, not sent by the jump
        # The loop's send ends (as it would, once paced): the delivery then finishes.
        async with transaction(deps.sessions()) as session:
            await session.execute(
                update(Outbox).where(Outbox.id == held).values(state=OutboxState.SENT)
            )
        await asyncio.wait_for(moving, 30)
    finally:
        moving.cancel()


async def test_the_desk_button_opens_the_desk_signed_in_as_telegram_would(
    sandbox: Sandbox, world: LiveWorld, events: Events
):
    import aiohttp

    officer = next(p for p in await world.people() if p.is_admin)
    await world.send_text(officer.id, officer.id, "/desk", None)
    answer = await _bot_says(world, events, officer.id, lambda m: "/auth/link/" in _text(m))
    [button] = _buttons(answer)
    desk_url = sandbox.application.bot_data["deps"].settings.web_url  # type: ignore[union-attr]
    assert desk_url.startswith("http://127.0.0.1:")
    assert button["web_app"]["url"] == f"{desk_url}/"
    opened = await world.open_mini_app(officer.id, officer.id, answer["message_id"], f"{desk_url}/")
    address, _, launch = opened.partition("#")
    assert address == f"{desk_url}/"
    from urllib.parse import parse_qs

    init_data = parse_qs(launch)["tgWebAppData"][0]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{desk_url}/auth/telegram", json={"initData": init_data}) as signed:
            assert signed.status == 200 and (await signed.json())["redirect"] == "/"
        async with http.get(f"{desk_url}/") as overview:
            assert overview.status == 200
            assert "Tổng quan" in await overview.text()
        # Changed by a byte, it signs nobody in.
        forged = init_data.replace("auth_date=", "auth_date=1")
        async with http.post(f"{desk_url}/auth/telegram", json={"initData": forged}) as refused:
            assert refused.status == 401
    # Only a button the message offers is opened.
    with pytest.raises(SandboxRefusal):
        await world.open_mini_app(
            officer.id, officer.id, answer["message_id"], "https://evil.example/"
        )
