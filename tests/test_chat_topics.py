"""Forum groups: /link and /unlink inside a topic, and everything the bot posts for a
council going to that council's topic (SPEC §3 /link, §6 Topics); a deleted topic falls
back to the group's General topic once and the admins are told."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import callbacks
from bot.callbacks import BroadcastAction, BroadcastPress, MeetingPress, Rsvp
from bot.db import transaction
from bot.models import WHOLE_CHAT, GroupChat
from bot.services import admins
from tests.chat import local, press
from tests.fakebotapi import FakeChat, FakeUser
from tests.harness import BotHarness
from tests.people import registered

MONDAY_DIGEST = local(2026, 11, 30, 8, 30)


async def _forum(bot: BotHarness, admin: FakeUser) -> FakeChat:
    forum = bot.api.add_group("Diễn đàn các Hội đồng điều phối vùng", forum=True)
    bot.api.add_bot_to_group(forum, admin)
    await bot.settle()
    return forum


async def _topic(bot: BotHarness, forum: FakeChat, by: FakeUser, name: str) -> int:
    thread = bot.api.create_topic(forum, by, name)
    await bot.settle()
    return thread


async def _link_in_topic(
    bot: BotHarness, admin: FakeUser, forum: FakeChat, code: str
) -> tuple[int, dict]:
    thread = await _topic(bot, forum, admin, f"Hội đồng {code}")
    answer = await bot.say(admin, f"/link {code}", chat=forum, topic=thread)
    return thread, answer


async def _pause(bot: BotHarness) -> None:
    """A minute passes: the group's pace (5 messages in 15 s) lets the bot answer at once."""
    bot.clock.set(bot.clock.now() + timedelta(minutes=1))


async def _links(bot: BotHarness) -> dict[tuple[int, int], str]:
    async with bot.sessions() as session:
        groups = (await session.scalars(select(GroupChat))).all()
        return {(g.chat_id, g.thread_id): g.council.code for g in groups}


def _digests(bot: BotHarness, chat_id: int, since: int) -> list[dict]:
    """The digest posts (text and chart) in a chat."""
    return [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == chat_id and ("photo" in m or m.get("text", "").startswith("📊"))
    ]


async def test_link_inside_a_topic_links_that_topic_and_unlink_there_unlinks_only_it(bot, admin):
    forum = await _forum(bot, admin)
    dbsh, answer = await _link_in_topic(bot, admin, forum, "DBSH")
    # The answer stays in the topic, quoting the command.
    assert answer["message_thread_id"] == dbsh and answer["is_topic_message"]
    assert "Đồng bằng sông Hồng" in answer["text"] and "chủ đề này" in answer["text"]
    tn, _answer = await _link_in_topic(bot, admin, forum, "TN")
    assert await _links(bot) == {(forum.id, dbsh): "DBSH", (forum.id, tn): "TN"}

    await _pause(bot)
    again = await bot.say(admin, "/link DBSH", chat=forum, topic=dbsh)
    assert again["message_thread_id"] == dbsh and "đã được liên kết" in again["text"]

    unlinked = await bot.say(admin, "/unlink", chat=forum, topic=dbsh)
    assert unlinked["message_thread_id"] == dbsh
    assert "Đồng bằng sông Hồng" in unlinked["text"] and "Tây Nguyên" not in unlinked["text"]
    assert await _links(bot) == {(forum.id, tn): "TN"}
    nothing = await bot.say(admin, "/unlink", chat=forum, topic=dbsh)
    assert nothing["message_thread_id"] == dbsh and "Chủ đề này" in nothing["text"]
    # In General, nothing is linked: the topic's link is not unlinked from there.
    general = await bot.say(admin, "/unlink", chat=forum)
    assert "message_thread_id" not in general
    assert await _links(bot) == {(forum.id, tn): "TN"}


async def test_link_in_a_topic_by_a_non_admin_is_refused_in_the_topic(bot, admin):
    member = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    forum = await _forum(bot, admin)
    thread = await _topic(bot, forum, member, "Hội đồng ĐBSH")
    refused = await bot.say(member, "/link DBSH", chat=forum, topic=thread)
    assert refused["message_thread_id"] == thread
    assert "cán bộ Cơ quan thường trực" in refused["text"]
    assert await _links(bot) == {}
    # Nor may they unlink a topic an admin linked.
    await bot.say(admin, "/link DBSH", chat=forum, topic=thread)
    refused = await bot.say(member, "/unlink", chat=forum, topic=thread)
    assert refused["message_thread_id"] == thread
    assert await _links(bot) == {(forum.id, thread): "DBSH"}


async def test_two_councils_in_one_forum_group_each_digest_lands_in_its_own_topic(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Lê Văn Cường", "TN", "DLK")
    forum = await _forum(bot, admin)
    dbsh, _ = await _link_in_topic(bot, admin, forum, "DBSH")
    tn, _ = await _link_in_topic(bot, admin, forum, "TN")
    await bot.say(admin, "/newtask DBSH BTC 2026-12-10 | Báo cáo quy hoạch vùng Đồng bằng")
    await bot.say(admin, "/newtask TN DLK 2026-12-10 | Báo cáo cà phê Tây Nguyên")

    since = len(bot.api.sent)
    await bot.advance_to(MONDAY_DIGEST)
    posted = _digests(bot, forum.id, since)
    by_topic = {m.get("message_thread_id") for m in posted}
    assert by_topic == {dbsh, tn}  # nothing in General
    [dbsh_text] = [m["text"] for m in posted if "text" in m and m["message_thread_id"] == dbsh]
    [tn_text] = [m["text"] for m in posted if "text" in m and m["message_thread_id"] == tn]
    assert "quy hoạch vùng Đồng bằng" in dbsh_text and "cà phê" not in dbsh_text
    assert "cà phê Tây Nguyên" in tn_text and "quy hoạch" not in tn_text
    # Each chart with its own digest.
    assert {m["message_thread_id"] for m in posted if "photo" in m} == {dbsh, tn}


async def test_commands_in_a_topic_answer_about_that_topics_council(bot, admin):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    forum = await _forum(bot, admin)
    dbsh, _ = await _link_in_topic(bot, admin, forum, "DBSH")
    tn, _ = await _link_in_topic(bot, admin, forum, "TN")
    await bot.say(admin, "/newtask DBSH BTC 2026-12-10 | Báo cáo quy hoạch vùng Đồng bằng")
    listing = await bot.say(admin, "/tasks", chat=forum, topic=dbsh)
    assert listing["message_thread_id"] == dbsh and "quy hoạch vùng" in listing["text"]
    empty = await bot.say(admin, "/tasks", chat=forum, topic=tn)
    assert empty["message_thread_id"] == tn and "quy hoạch vùng" not in empty["text"]
    await _pause(bot)
    # /digest in a topic: every answer stays in the topic, the post goes to it too.
    since = len(bot.api.sent)
    answers = await bot.say_all(admin, "/digest", chat=forum, topic=dbsh)
    assert answers and {m.get("message_thread_id") for m in answers} == {dbsh}
    await bot.deliver()
    assert {m.get("message_thread_id") for m in _digests(bot, forum.id, since)} == {dbsh}


async def test_group_reminders_mentions_and_announcements_go_to_the_topic(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    blocked = await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    bot.api.block(blocked)
    await bot.settle()
    forum = await _forum(bot, admin)
    dbsh, _ = await _link_in_topic(bot, admin, forum, "DBSH")
    await _link_in_topic(bot, admin, forum, "TN")

    # A meeting: the group's reminder lands in the topic.
    await bot.say(admin, "/newmeeting DBSH 2026-12-03 09:00 | Góp ý quy hoạch vùng")
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 11, 26, 9, 0))  # 7 days before
    in_forum = [m for m in bot.api.sent[since:] if m["chat"]["id"] == forum.id]
    reminders = [m for m in in_forum if "Góp ý quy hoạch vùng" in m.get("text", "")]
    # The group's reminder, and the mention of the member who blocked the bot.
    assert len(reminders) == 2
    assert {m["message_thread_id"] for m in reminders} == {dbsh}
    assert any(
        e.get("type") == "text_mention" or e.get("type") == "text_link"
        for m in reminders
        for e in m.get("entities", [])
    )

    # A press of 👤 on the group's reminder: the question, and the answer to the reply,
    # stay in the topic.
    [group_reminder] = [m for m in reminders if not m["text"].startswith("Trần Thị Bình")]
    since = len(bot.api.sent)
    await press(bot, an, group_reminder, callbacks.encode(MeetingPress(1, Rsvp.DELEGATE)))
    [question] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == forum.id]
    assert question["message_thread_id"] == dbsh
    recorded = await bot.say(an, "Trần Văn Cường, Phó Giám đốc Sở", chat=forum, reply_to=question)
    assert recorded["message_thread_id"] == dbsh and "Trần Văn Cường" in recorded["text"]

    # An announcement's copy to the group lands in the topic too.
    preview = await bot.say(admin, "/announce DBSH\nHọp tổng kết quý IV")
    since = len(bot.api.sent)
    await press(bot, admin, preview, callbacks.encode(BroadcastPress(1, BroadcastAction.SEND)))
    await bot.deliver()
    [copy] = [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == forum.id and "Họp tổng kết quý IV" in m.get("text", "")
    ]
    assert copy["message_thread_id"] == dbsh
    assert any(
        m["chat"]["id"] == an.id and "Họp tổng kết quý IV" in m.get("text", "")
        for m in bot.api.sent[since:]
    )


async def test_linking_a_council_in_another_topic_moves_its_link(bot, admin):
    forum = await _forum(bot, admin)
    first, _ = await _link_in_topic(bot, admin, forum, "DBSH")
    second = await _topic(bot, forum, admin, "Hội đồng ĐBSH (mới)")
    await _pause(bot)
    moved = await bot.say(admin, "/link DBSH", chat=forum, topic=second)
    assert moved["message_thread_id"] == second and "vị trí khác" in moved["text"]
    assert await _links(bot) == {(forum.id, second): "DBSH"}
    # Another council in the same topic takes its place there.
    replaced = await bot.say(admin, "/link TN", chat=forum, topic=second)
    assert "Đã hủy liên kết chủ đề này với Hội đồng điều phối vùng Đồng bằng" in replaced["text"]
    assert await _links(bot) == {(forum.id, second): "TN"}
    # In General of the same forum: the whole group's place, no thread id.
    general = await bot.say(admin, "/link DBSH", chat=forum)
    assert "message_thread_id" not in general
    assert await _links(bot) == {(forum.id, second): "TN", (forum.id, WHOLE_CHAT): "DBSH"}
    assert first not in {thread for _chat, thread in await _links(bot)}


async def test_a_deleted_topic_falls_back_to_general_once_and_the_admins_are_told(bot, admin):
    english = bot.api.add_user(first_name="Secretary", language_code="en")
    async with transaction(bot.sessions) as session:
        await admins.add_admin(session, bot.clock.now(), english.id, "Secretary", "test")
    await bot.say(english, "/lang en")
    await bot.say(admin, "/help")  # the admin's private chat is open
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    forum = await _forum(bot, admin)
    dbsh, _ = await _link_in_topic(bot, admin, forum, "DBSH")
    tn, _ = await _link_in_topic(bot, admin, forum, "TN")
    await bot.say(admin, "/newtask DBSH BTC 2026-12-10 | Báo cáo quy hoạch vùng Đồng bằng")
    bot.api.delete_topic(forum, dbsh)

    since, calls = len(bot.api.sent), len(bot.api.calls)
    await bot.advance_to(MONDAY_DIGEST)
    posted = _digests(bot, forum.id, since)
    # DBSH's digest: once, in General (no thread id); TN's still in its topic.
    dbsh_posts = [m for m in posted if "quy hoạch vùng" in m.get("text", "")]
    assert len(dbsh_posts) == 1 and "message_thread_id" not in dbsh_posts[0]
    assert {m.get("message_thread_id") for m in posted} == {None, tn}
    refused = [
        params
        for method, params, status in bot.api.calls[calls:]
        if status == 400 and params.get("message_thread_id") == dbsh
    ]
    assert len(refused) == 1  # one try into the deleted topic, then General

    async with bot.sessions() as session:
        link = await session.scalar(select(GroupChat).where(GroupChat.thread_id == dbsh))
        assert link is not None and link.topic_lost_at is not None
    notices = {
        user.id: [
            m
            for m in bot.api.sent[since:]
            if m["chat"]["id"] == user.id and "/link DBSH" in m.get("text", "")
        ]
        for user in (admin, english)
    }
    assert len(notices[admin.id]) == 1 and len(notices[english.id]) == 1
    assert "Diễn đàn các Hội đồng điều phối vùng" in notices[admin.id][0]["text"]
    assert "chủ đề" in notices[admin.id][0]["text"].lower()
    assert "deleted" in notices[english.id][0]["text"]

    # The next post goes to General straight away, and nobody is told again.
    since, calls = len(bot.api.sent), len(bot.api.calls)
    await bot.advance_to(local(2026, 12, 7, 8, 30))
    dbsh_posts = [m for m in _digests(bot, forum.id, since) if "quy hoạch" in m.get("text", "")]
    assert len(dbsh_posts) == 1 and "message_thread_id" not in dbsh_posts[0]
    assert not [c for c in bot.api.calls[calls:] if c[2] == 400]
    assert not [m for m in bot.api.sent[since:] if m["chat"]["id"] in (admin.id, english.id)]

    # Linked again in a new topic, the council's posts go there.
    new, _ = await _link_in_topic(bot, admin, forum, "DBSH")
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 14, 8, 30))
    dbsh_posts = [m for m in _digests(bot, forum.id, since) if "quy hoạch" in m.get("text", "")]
    assert [m.get("message_thread_id") for m in dbsh_posts] == [new]


async def test_a_plain_groups_link_stays_the_whole_group(bot, admin):
    group = bot.api.add_group("HĐĐP vùng ĐBSH")
    bot.api.add_bot_to_group(group, admin)
    await bot.settle()
    await bot.say(admin, "/link DBSH", chat=group)
    assert await _links(bot) == {(group.id, WHOLE_CHAT): "DBSH"}
    since = len(bot.api.sent)
    await bot.say_all(admin, "/digest DBSH")
    await bot.deliver()
    posted = _digests(bot, group.id, since)
    assert posted and all("message_thread_id" not in m for m in posted)


async def test_two_deleted_topics_both_fall_back_to_general_and_unlink_there_ends_both(bot, admin):
    await bot.say(admin, "/help")  # the admin's private chat is open
    forum = await _forum(bot, admin)
    dbsh, _ = await _link_in_topic(bot, admin, forum, "DBSH")
    tn, _ = await _link_in_topic(bot, admin, forum, "TN")
    bot.api.delete_topic(forum, dbsh)
    bot.api.delete_topic(forum, tn)
    await bot.say_all(admin, "/digest DBSH")
    await bot.say_all(admin, "/digest TN")
    await _pause(bot)
    since = len(bot.api.sent)
    await bot.deliver()
    posted = [m for m in _digests(bot, forum.id, since) if "text" in m]
    assert len(posted) == 2 and all("message_thread_id" not in m for m in posted)
    notices = [
        m for m in bot.api.sent[since:] if m["chat"]["id"] == admin.id and "/link" in m["text"]
    ]
    assert len(notices) == 2  # one per topic
    async with bot.sessions() as session:
        lost = (await session.scalars(select(GroupChat))).all()
        assert {(g.thread_id, g.topic_lost_at is not None) for g in lost} == {
            (dbsh, True),
            (tn, True),
        }

    await _pause(bot)
    answer = await bot.say(admin, "/unlink", chat=forum)
    assert "Đồng bằng sông Hồng" in answer["text"] and "Tây Nguyên" in answer["text"]
    assert await _links(bot) == {}
