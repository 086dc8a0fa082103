"""A group's language: set by an admin with /lang in the group, used for everything the
bot says there (answers, reminders, digests), whoever asks (SPEC §3, §7)."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import AuditLog, ChatLanguage
from tests.chat import linked_group
from tests.people import registered


async def _languages(bot) -> dict[int, str]:
    async with bot.sessions() as session:
        rows = (await session.scalars(select(ChatLanguage))).all()
        return {row.chat_id: row.language for row in rows}


async def test_an_admin_sets_the_groups_language_and_the_group_is_answered_in_it(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin)
    await bot.say(admin, "/newtask DBSH BTC 2026-12-20 | Rà soát dự án")

    # (A group takes five messages in 15 s: this test stays within them.)
    switched = await bot.say(admin, "/lang en", chat=group)
    assert switched["text"] == "This group will now be addressed in English."
    assert await _languages(bot) == {group.id: "en"}

    # A member who reads Vietnamese asks in the group: the group's language answers.
    after = await bot.say(an, "/tasks", chat=group)
    assert "Rà soát dự án" in after["text"] and "Due" in after["text"]
    assert "Hạn" not in after["text"]
    # ...while the member's own chat keeps their language.
    own = await bot.say(an, "/tasks")
    assert "Hạn" in own["text"]

    back = await bot.say(admin, "/lang vi", chat=group)
    assert back["text"] == "Từ nay, trong nhóm này, tôi sẽ trao đổi bằng tiếng Việt."
    async with bot.sessions() as session:
        changes = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "group.language"))
        ).all()
    assert [(c.details["language"], c.details["previous"]) for c in changes] == [
        ("en", None),
        ("vi", "en"),
    ]


async def test_the_digest_posted_in_the_group_uses_the_groups_language(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin)
    await bot.say(admin, "/newtask DBSH BTC 2026-12-01 | Rà soát dự án")
    await bot.say(admin, "/lang en", chat=group)

    # The admin reads Vietnamese in private; the post to the group is in English.
    shown = await bot.say_all(admin, "/digest DBSH")
    assert "Rà soát dự án" in shown[0]["text"]
    since = len(bot.api.sent)
    await bot.deliver()
    [post] = [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == group.id and "Rà soát dự án" in m.get("text", "")
    ]
    assert post["text"] != shown[0]["text"]
    assert "Due" in post["text"] or "due" in post["text"]


async def test_a_member_cannot_set_the_groups_language(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    group = await linked_group(bot, admin)
    refused = await bot.say(an, "/lang en", chat=group)
    assert "cán bộ Cơ quan thường trực" in refused["text"]
    assert await _languages(bot) == {}
    # Nothing changed for the member's own chat either.
    own = await bot.say(an, "/whoami")
    assert "ID Telegram" in own["text"]  # still in Vietnamese


async def test_an_unknown_language_in_a_group_is_refused_with_the_choices(bot, admin):
    group = await linked_group(bot, admin)
    refused = await bot.say(admin, "/lang fr", chat=group)
    assert "fr" in refused["text"] and "vi" in refused["text"] and "en" in refused["text"]
    usage = await bot.say(admin, "/lang", chat=group)
    assert "/lang en" in usage["text"]
    assert await _languages(bot) == {}


async def test_a_migrated_group_keeps_its_language(bot, admin):
    group = await linked_group(bot, admin)
    await bot.say(admin, "/lang en", chat=group)
    supergroup = bot.api.migrate_group(group, admin)
    await bot.settle()
    assert await _languages(bot) == {supergroup.id: "en"}
    answer = await bot.say(admin, "/tasks", chat=supergroup)
    assert "Hạn" not in answer["text"]
