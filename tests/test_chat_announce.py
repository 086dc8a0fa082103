"""Announcements: preview, 📣 once, one copy per person, groups, 👍, summary (SPEC §3, §6)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from bot import callbacks
from bot.callbacks import AnnouncementPress, BroadcastAction, BroadcastPress
from bot.models import AnnouncementAck, Outbox
from tests.chat import linked_group, press
from tests.people import enrol, registered
from tests.rosters import person

TEXT = "Kính gửi các thành viên: họp <quý IV> & tổng kết 🎉"


def _copies(bot, since):
    return [m for m in bot.api.sent[since:] if "họp <quý IV> & tổng kết 🎉" in m.get("text", "")]


async def test_an_announcement_reaches_each_person_once_and_the_summary_names_the_blocked(
    bot, admin
):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    # The same person sits in two councils: one copy.
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    await enrol(bot, person("TN", "Trần Thị Bình", "HN"))
    cuong = await registered(bot, "Lê Văn Cường", "TN", "DLK")
    blocked = await registered(bot, "Phạm Thị Dung", "TN", "GL")
    bot.api.block(blocked)
    await bot.settle()
    dbsh, tn = await linked_group(bot, admin, "DBSH"), await linked_group(bot, admin, "TN")

    preview = await bot.say(admin, f"/announce all\n{TEXT}")
    assert TEXT in preview["text"]
    assert "tới 4 thành viên đã đăng ký" in preview["text"] and "và 2 nhóm" in preview["text"]
    since = len(bot.api.sent)
    send = callbacks.encode(BroadcastPress(1, BroadcastAction.SEND))
    await press(bot, admin, preview, send)
    again = await press(bot, admin, preview, send)  # a second press sends nothing more
    assert again["show_alert"] is True
    await bot.deliver()

    copies = _copies(bot, since)
    received = Counter(m["chat"]["id"] for m in copies)
    assert received == Counter({an.id: 1, binh.id: 1, cuong.id: 1, dbsh.id: 1, tn.id: 1})
    summary = [m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id][-1]["text"]
    assert "Phạm Thị Dung" in summary and "Đã gửi tới: 5" in summary

    # 👍 counted once per person.
    [copy] = [m for m in copies if m["chat"]["id"] == an.id]
    thanks = callbacks.encode(AnnouncementPress(1))
    await press(bot, an, copy, thanks)
    await press(bot, an, copy, thanks)
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AnnouncementAck)) == 1


async def test_cancel_then_send_sends_nothing(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    other_admin = admin  # the same rule holds for any admin
    preview = await bot.say(admin, f"/announce DBSH\n{TEXT}")
    since = len(bot.api.sent)
    cancel = callbacks.encode(BroadcastPress(1, BroadcastAction.CANCEL))
    await press(bot, admin, preview, cancel)
    refused = await press(
        bot, other_admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND))
    )
    assert refused["show_alert"] is True
    await bot.deliver()
    assert _copies(bot, since) == []
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


async def test_reply_announce_sends_the_admins_own_message(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/start")
    original = bot.api.send_message(admin, "Họp khẩn <lúc 14:00> & mang tài liệu")
    await bot.settle()
    preview = await bot.say(admin, "/announce DBSH", reply_to=original["message"])
    assert "Họp khẩn <lúc 14:00> & mang tài liệu" in preview["text"]
    since = len(bot.api.sent)
    await press(bot, admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND)))
    await bot.deliver()
    [copy] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    assert "Họp khẩn <lúc 14:00> & mang tài liệu" in copy["text"]


async def test_bad_announcements_are_refused_and_send_nothing(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await bot.say(admin, "/lang en")
    refused = await bot.say(member, f"/announce DBSH\n{TEXT}")
    assert "cán bộ Cơ quan thường trực" in refused["text"]
    unknown = await bot.say(admin, f"/announce XYZ\n{TEXT}")
    assert "Unknown council XYZ" in unknown["text"]
    empty = await bot.say(admin, "/announce DBSH")
    assert "no text" in empty["text"]
    long = await bot.say(admin, "/announce DBSH\n" + "x" * 5000)
    assert "5000" in long["text"] and "two announcements" in long["text"]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Outbox)) == 0


async def test_a_thumbs_up_on_the_group_copy_counts_only_from_a_recipient(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    cuong = await registered(bot, "Lê Văn Cường", "TN", "DLK")  # another council
    stranger = bot.api.add_user(first_name="Khách")  # on no roster
    group = await linked_group(bot, admin, "DBSH")
    preview = await bot.say(admin, f"/announce DBSH\n{TEXT}")
    since = len(bot.api.sent)
    await press(bot, admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND)))
    await bot.deliver()
    copies = {m["chat"]["id"]: m for m in _copies(bot, since)}
    assert set(copies) == {an.id, group.id}
    thanks = callbacks.encode(AnnouncementPress(1))

    for outsider in (stranger, cuong, admin):
        refused = await press(bot, outsider, copies[group.id], thanks)
        assert refused["show_alert"] is True
        assert refused["text"] == (
            "Xin cảm ơn, nhưng nút xác nhận này dành cho người nhận thông báo; "
            "không có gì được ghi nhận."
        )
    counted = await press(bot, an, copies[group.id], thanks)
    assert counted["text"] == "👍 Xin cảm ơn."
    again = await press(bot, an, copies[an.id], thanks)  # the private copy too: once
    assert again["text"] == "Đã được ghi nhận trước đó. Xin cảm ơn."
    async with bot.sessions() as session:
        acks = (await session.scalars(select(AnnouncementAck.telegram_user_id))).all()
    assert acks == [an.id]
