"""/import: a roster sent as a document by an admin (SPEC §3, §4)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.models import Member
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
