"""In a group chat, /tasks, /meetings and /digest show only the council the group is linked
to, whoever asks (SPEC §2: only members see council data; a group may hold people of
other councils and people on no roster)."""

from __future__ import annotations

from datetime import timedelta

from tests.chat import linked_group
from tests.people import enrol, registered
from tests.rosters import person

DBSH_TASK = "Việc của vùng Đồng bằng sông Hồng"
TN_TASK = "Việc của vùng Tây Nguyên"
DBSH_MEETING = "Họp vùng Đồng bằng sông Hồng"
TN_MEETING = "Họp vùng Tây Nguyên"
OTHER_COUNCIL = "Nhóm này được liên kết với Hội đồng DBSH: tại đây chỉ hiển thị dữ liệu"
NOT_LINKED = "Nhóm này chưa được liên kết với Hội đồng nào"


async def _two_councils(bot, admin):
    """An, a member of DBSH and TN; a task and a meeting in each council."""
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await enrol(bot, person("TN", "Nguyễn Văn An", "BTC"))
    await bot.say(admin, f"/newtask DBSH BTC 2026-12-01 | {DBSH_TASK}")
    await bot.say(admin, f"/newtask TN BTC 2026-12-01 | {TN_TASK}")
    await bot.say(admin, f"/newmeeting DBSH 2026-12-03 09:00 | {DBSH_MEETING}")
    await bot.say(admin, f"/newmeeting TN 2026-12-04 09:00 | {TN_MEETING}")
    return an


async def _text(bot, user, command, chat=None) -> str:
    """Everything the bot answers in the chat. Before each command in a group, a minute
    passes: Telegram allows a bot 20 messages a minute in a group, and the bot keeps to it."""
    if chat is not None:
        bot.clock.advance(timedelta(minutes=1))
    return "\n".join(m.get("text", "") for m in await bot.say_all(user, command, chat))


async def test_tasks_and_meetings_in_a_linked_group_show_only_its_council(bot, admin):
    an = await _two_councils(bot, admin)
    group = await linked_group(bot, admin, "DBSH")

    for who in (an, admin):
        for command in ("/tasks", "/tasks DBSH", "/tasks dbsh"):
            text = await _text(bot, who, command, group)
            assert DBSH_TASK in text and TN_TASK not in text, (who, command, text)
        for command in ("/meetings", "/meetings DBSH"):
            text = await _text(bot, who, command, group)
            assert DBSH_MEETING in text and TN_MEETING not in text, (who, command, text)
        for command in ("/tasks TN", "/meetings TN"):
            text = await _text(bot, who, command, group)
            assert OTHER_COUNCIL in text and "TN" in text, (who, command, text)
            assert TN_TASK not in text and TN_MEETING not in text
            assert DBSH_TASK not in text and DBSH_MEETING not in text
        unknown = await _text(bot, who, "/tasks XYZ", group)
        assert "XYZ" in unknown and DBSH_TASK not in unknown

    # In a private chat nothing changes: both of An's councils, every council for the admin.
    for who in (an, admin):
        text = await _text(bot, who, "/tasks")
        assert DBSH_TASK in text and TN_TASK in text
        text = await _text(bot, who, "/meetings")
        assert DBSH_MEETING in text and TN_MEETING in text
    assert TN_TASK in await _text(bot, an, "/tasks TN")


async def test_a_member_of_another_council_sees_nothing_of_the_groups_council(bot, admin):
    await _two_councils(bot, admin)
    cuong = await registered(bot, "Lê Văn Cường", "TN", "DLK")
    group = await linked_group(bot, admin, "DBSH")
    for command in ("/tasks", "/meetings"):
        text = await _text(bot, cuong, command, group)
        assert "Quý vị không phải là thành viên của Hội đồng DBSH" in text, (command, text)
        assert DBSH_TASK not in text and DBSH_MEETING not in text
    # Not even the council he is a member of: it is not this group's.
    text = await _text(bot, cuong, "/tasks TN", group)
    assert OTHER_COUNCIL in text and TN_TASK not in text


async def test_an_unlinked_group_shows_no_council_and_says_how_to_link_it(bot, admin):
    an = await _two_councils(bot, admin)
    # Tuesday 24/11/2026 is a holiday (Ngày Văn hóa Việt Nam), so the 7-day reminder of
    # the tasks goes out at once, in private; it is sent before the group appears.
    await bot.deliver()
    group = bot.api.add_group("Nhóm chưa liên kết")
    bot.api.add_bot_to_group(group, admin)
    await bot.settle()
    since = len(bot.api.sent)
    for who in (an, admin):
        for command in ("/tasks", "/tasks DBSH", "/meetings", "/meetings TN"):
            text = await _text(bot, who, command, group)
            assert NOT_LINKED in text and "/link DBSH" in text, (who, command, text)
    text = await _text(bot, admin, "/digest", group)
    assert NOT_LINKED in text
    await bot.deliver()
    everything = "\n".join(m.get("text", "") for m in bot.api.sent[since:])
    for title in (DBSH_TASK, TN_TASK, DBSH_MEETING, TN_MEETING):
        assert title not in everything


def _digests(bot, chat_id, since):
    return [
        m
        for m in bot.api.sent[since:]
        if m["chat"]["id"] == chat_id and m.get("text", "").startswith("📊")
    ]


async def test_digest_in_a_linked_group_posts_only_its_council_there(bot, admin):
    an = await _two_councils(bot, admin)
    group = await linked_group(bot, admin, "DBSH")
    tn_group = await linked_group(bot, admin, "TN")
    since = len(bot.api.sent)

    refused = await _text(bot, admin, "/digest TN", group)
    assert OTHER_COUNCIL in refused
    member = await _text(bot, an, "/digest", group)
    assert "cán bộ Cơ quan thường trực" in member
    answer = await _text(bot, admin, "/digest", group)
    assert answer == "Đã gửi vào 1 nhóm được liên kết của Hội đồng."
    await bot.deliver()

    [posted] = _digests(bot, group.id, since)
    assert "Đồng bằng sông Hồng" in posted["text"]
    assert DBSH_TASK in posted["text"] and DBSH_MEETING in posted["text"]
    assert TN_TASK not in posted["text"] and TN_MEETING not in posted["text"]
    assert _digests(bot, tn_group.id, since) == []
    assert _digests(bot, admin.id, since) == _digests(bot, an.id, since) == []

    # In a private chat the admin still gets every council that has a group: two digests
    # and their charts, one message a second in a chat as Telegram allows.
    before = len(bot.api.sent)
    bot.api.send_message(admin, "/digest")
    await bot.settle(timeout=30)
    replies = [m for m in bot.api.sent[before:] if m["chat"]["id"] == admin.id]
    shown = "\n".join(m.get("text", "") for m in replies)
    assert DBSH_TASK in shown and TN_TASK in shown
