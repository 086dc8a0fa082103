"""/import: a roster sent as a document by an admin (SPEC §3, §4)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.models import AuditLog, Member
from tests.people import registered
from tests.rosters import csv_bytes, person, sixty_members, xlsx_bytes

LINK = re.compile(r"https://t\.me/dieuphoi_test_bot\?start=([A-Za-z0-9_-]+)")


async def _members(bot) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Member)))


async def _send(bot, user, filename, content, caption="/import"):
    since = len(bot.api.sent)
    bot.api.send_document(user, filename, content, caption=caption)
    await bot.settle()
    return "\n".join(m.get("text", "") for m in bot.api.sent[since:] if m["chat"]["id"] == user.id)


async def test_an_admin_imports_sixty_members_and_gets_their_links(bot, admin):
    answer = await _send(bot, admin, "danh-sach.csv", csv_bytes(sixty_members()))
    tokens = LINK.findall(answer)
    assert len(set(tokens)) == 60
    assert len(bot.api.downloads) == 1
    assert await _members(bot) == 60
    # The links work: the first new member registers with theirs.
    newcomer = bot.api.add_user(first_name="Mới")
    assert "Nguyễn Văn An" in (await bot.say(newcomer, f"/start {tokens[0]}"))["text"]


async def test_bad_rows_are_listed_with_their_numbers(bot, admin):
    rows = [person(name="Lê Văn Tốt"), person(council="ZZZ", name="Sai Hội Đồng"), person(name="")]
    answer = await _send(bot, admin, "roster.xlsx", xlsx_bytes(rows))
    assert len(LINK.findall(answer)) == 1
    assert "3" in answer and "ZZZ" in answer and "4" in answer
    assert await _members(bot) == 1


async def test_a_member_cannot_import(bot):
    member = await registered(bot)
    before = await _members(bot)
    answer = await _send(bot, member, "roster.csv", csv_bytes([person(name="Kẻ Lạ")]))
    assert answer and not LINK.search(answer)
    assert await _members(bot) == before
    assert bot.api.downloads == []  # refused before the file was even fetched


async def test_a_file_that_is_not_a_spreadsheet_changes_nothing(bot, admin):
    answer = await _send(bot, admin, "roster.xlsx", b"%PDF-1.4 definitely not a spreadsheet")
    assert "XLSX" in answer
    assert await _members(bot) == 0


async def test_a_document_without_the_caption_gets_a_hint(bot, admin):
    answer = await _send(bot, admin, "roster.csv", csv_bytes([person()]), caption=None)
    assert "/import" in answer
    assert await _members(bot) == 0


async def _group(bot, admin):
    group = bot.api.add_group("HĐĐP vùng ĐBSH")
    bot.api.add_bot_to_group(group, admin)
    await bot.settle()
    return group


async def test_a_roster_sent_in_a_group_is_refused_there_and_not_even_downloaded(bot, admin):
    group = await _group(bot, admin)
    since = len(bot.api.sent)
    bot.api.send_document(
        admin, "danh-sach.csv", csv_bytes(sixty_members()), caption="/import", chat=group
    )
    answer = await bot.api.wait_for_message(group.id, since=since)
    assert answer["text"] == (
        "Vui lòng gửi danh sách thành viên cho bot trong cuộc trò chuyện riêng, dưới dạng tệp "
        "kèm chú thích /import: câu trả lời có các đường dẫn mời cá nhân."
    )
    await bot.settle()
    assert bot.api.downloads == []
    assert await _members(bot) == 0
    assert not any(LINK.search(m.get("text", "")) for m in bot.api.sent[since:])

    bare = await bot.say(admin, "/import", chat=group)
    assert bare["text"] == answer["text"]


async def test_invite_in_chat_gives_fresh_links_to_admins_in_private_only(bot, admin):
    rows = [person(name="Nguyễn Văn An"), person(name="Trần Thị Bình", agency="HN")]
    imported = await _send(bot, admin, "danh-sach.csv", csv_bytes(rows))
    first_an, first_binh = LINK.findall(imported)
    member = await registered(bot, "Lê Văn Cường", "DBSH", "BXD")  # registered: no new link

    answer = (await bot.say(admin, "/invite dbsh"))["text"]
    fresh = LINK.findall(answer)
    assert len(fresh) == 2 and not {first_an, first_binh} & set(fresh)
    assert "1. Nguyễn Văn An — " in answer and "2. Trần Thị Bình — " in answer
    assert "Cường" not in answer
    assert answer.endswith("Đường dẫn mời trước đó không còn hiệu lực.")
    newcomer = bot.api.add_user(first_name="An")
    old = await bot.say(newcomer, f"/start {first_an}")
    assert old["text"].startswith("Đường dẫn mời này đã được thay bằng đường dẫn mới hơn.")
    assert "Nguyễn Văn An" in (await bot.say(newcomer, f"/start {fresh[0]}"))["text"]

    one = (await bot.say(admin, "/invite 2"))["text"]
    assert len(LINK.findall(one)) == 1 and "2. Trần Thị Bình — " in one

    group = await _group(bot, admin)
    in_group = await bot.say(admin, "/invite DBSH", chat=group)
    assert in_group["text"] == (
        "Vui lòng gửi /invite cho bot trong cuộc trò chuyện riêng: đường dẫn mời là thông tin cá "
        "nhân."
    )
    assert (await bot.say(member, "/invite DBSH"))["text"] == (
        "Chỉ cán bộ Cơ quan thường trực Hội đồng mới có thể thực hiện thao tác này."
    )
    usage = (await bot.say(admin, "/invite"))["text"]
    assert usage.startswith("Vui lòng ghi một mã thành viên hoặc một mã Hội đồng.")
    assert "Ví dụ: /invite 12 hoặc /invite DBSH" in usage
    everyone = (await bot.say(admin, "/invite TN"))["text"]
    assert everyone == "Tất cả thành viên TN đã đăng ký: không cần cấp đường dẫn mời."
    async with bot.sessions() as session:
        issued = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "invite.issue"))
        ).all()
    assert [(e.actor, e.details["member_id"]) for e in issued] == [
        (f"tg:{admin.id}", 1),
        (f"tg:{admin.id}", 2),
        (f"tg:{admin.id}", 2),
    ]


async def test_invite_and_import_are_in_the_admin_menu_and_help(bot, admin):
    await bot.say(admin, "/start")
    help_text = (await bot.say(admin, "/help"))["text"]
    assert "/invite MÃ_THÀNH_VIÊN|MÃ_HỘI_ĐỒNG — trong cuộc trò chuyện riêng" in help_text
    menu = bot.api.commands_for({"type": "chat", "chat_id": admin.id})
    assert {"command": "invite", "description": "Cấp lại đường dẫn mời"} in menu
