"""Council group chats: joining, /link, /unlink, migration (SPEC §3)."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import AuditLog, GroupChat
from tests.people import registered


async def _links(bot) -> dict[int, str]:
    async with bot.sessions() as session:
        groups = (await session.scalars(select(GroupChat))).all()
        return {g.chat_id: g.council.code for g in groups}


async def _group_with_bot(bot, added_by):
    group = bot.api.add_group("HĐĐP vùng Đồng bằng sông Hồng")
    since = len(bot.api.sent)
    bot.api.add_bot_to_group(group, added_by)
    greeting = await bot.api.wait_for_message(group.id, since=since)
    return group, greeting


async def test_added_by_an_admin_the_bot_explains_link(bot, admin):
    _group, greeting = await _group_with_bot(bot, admin)
    assert "/link" in greeting["text"]
    assert "DBSH" in greeting["text"]


async def test_added_by_someone_else_the_bot_says_only_admins_can_link(bot):
    member = await registered(bot)
    _group, greeting = await _group_with_bot(bot, member)
    # Groups read the default language (vi); the refusal names the standing agency.
    text = greeting["text"].lower()
    assert "cán bộ cơ quan thường trực" in text
    assert "/link" in greeting["text"]


async def test_an_admin_links_a_group_and_a_member_is_refused(bot, admin):
    member = await registered(bot)
    group, _ = await _group_with_bot(bot, admin)

    refused = await bot.say(member, "/link DBSH", chat=group)
    assert await _links(bot) == {}
    assert refused["reply_to_message"]["message_id"]  # answers the command it refuses

    linked = await bot.say(admin, "/link DBSH", chat=group)
    assert "Đồng bằng sông Hồng" in linked["text"]
    assert await _links(bot) == {group.id: "DBSH"}

    again = await bot.say(admin, "/link dbsh", chat=group)
    assert "Đồng bằng sông Hồng" in again["text"]
    assert await _links(bot) == {group.id: "DBSH"}

    moved = await bot.say(admin, "/link DBSCL", chat=group)
    assert "Cửu Long" in moved["text"] and "Hồng" in moved["text"]
    assert await _links(bot) == {group.id: "DBSCL"}
    async with bot.sessions() as session:
        actions = (await session.scalars(select(AuditLog.action))).all()
    assert actions.count("group.link") == 2


async def test_link_with_an_unknown_council_or_no_argument(bot, admin):
    group, _ = await _group_with_bot(bot, admin)
    unknown = await bot.say(admin, "/link XYZ", chat=group)
    assert "XYZ" in unknown["text"] and "DBSH" in unknown["text"]
    usage = await bot.say(admin, "/link", chat=group)
    assert "/link DBSH" in usage["text"]
    assert await _links(bot) == {}


async def test_link_in_a_private_chat_points_to_the_group(bot, admin):
    answer = await bot.say(admin, "/link DBSH")
    assert "/link DBSH" in answer["text"]
    assert await _links(bot) == {}


async def test_unlink_by_admin_only(bot, admin):
    member = await registered(bot)
    group, _ = await _group_with_bot(bot, admin)
    await bot.say(admin, "/link TN", chat=group)
    await bot.say(member, "/unlink", chat=group)
    assert await _links(bot) == {group.id: "TN"}
    answer = await bot.say(admin, "/unlink", chat=group)
    assert "Tây Nguyên" in answer["text"]
    assert await _links(bot) == {}
    nothing = await bot.say(admin, "/unlink", chat=group)
    assert nothing["text"]  # says there was no link


async def test_a_migrated_group_keeps_its_link(bot, admin):
    group, _ = await _group_with_bot(bot, admin)
    await bot.say(admin, "/link DNB", chat=group)
    supergroup = bot.api.migrate_group(group, admin)
    await bot.settle()
    assert await _links(bot) == {supergroup.id: "DNB"}


async def test_removing_the_bot_unlinks_the_group(bot, admin):
    group, _ = await _group_with_bot(bot, admin)
    await bot.say(admin, "/link DBSH", chat=group)
    bot.api.remove_bot_from_group(group, admin)
    await bot.settle()
    assert await _links(bot) == {}


async def test_unknown_commands_in_groups_are_ignored_unless_addressed(bot, admin):
    group, _ = await _group_with_bot(bot, admin)
    await bot.silent(admin, "/weather", chat=group)
    hint = await bot.say(admin, "/weather@dieuphoi_test_bot", chat=group)
    assert "/help" in hint["text"]
