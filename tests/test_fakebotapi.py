"""Tests of the fake Telegram Bot API server (tests/fakebotapi) itself."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
import warnings
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakebotapi import (
    FakeBotApi,
    FakeUser,
    HtmlParseError,
    RateLimiter,
    RateLimits,
    parse_html,
    parse_html_entities,
    utf16_len,
)

NO_LIMITS = RateLimits(enabled=False)

# python-telegram-bot itself reads the deprecated int form of RetryAfter.retry_after
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=NO_LIMITS) as srv:
        yield srv


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(
        server.token, base_url=server.base_url, base_file_url=server.base_file_url
    ) as tg_bot:
        yield tg_bot


@pytest.fixture
def user(server: FakeBotApi) -> FakeUser:
    """A user who has started the bot (sent it /start in private)."""
    new_user = server.add_user("An", username="an_test")
    server.send_message(new_user, "/start")
    return new_user


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def api_url(server: FakeBotApi, method: str) -> str:
    return f"{server.base_url}{server.token}/{method}"


# --------------------------------------------------------------------------------------
# Basics, polling
# --------------------------------------------------------------------------------------
async def test_get_me(server: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == server.bot_id == 123456
    assert me.username == "dieuphoi_test_bot"
    assert me.is_bot
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    assert server.violations == []


async def test_get_updates_returns_promptly_when_update_injected(
    server: FakeBotApi, bot: Bot
) -> None:
    an = server.add_user("An")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5, read_timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    queued = server.send_message(an, "/link@dieuphoi_test_bot DBSH")
    updates = await poll
    assert time.monotonic() - started < 2
    assert [u.update_id for u in updates] == [queued["update_id"]]
    message = updates[0].message
    assert message is not None
    assert message.text == "/link@dieuphoi_test_bot DBSH"
    assert message.chat.id == an.id
    assert message.parse_entities() == {
        message.entities[0]: "/link@dieuphoi_test_bot",
    }
    # Unconfirmed updates are delivered again; an offset confirms them.
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [queued["update_id"]]
    assert await bot.get_updates(offset=queued["update_id"] + 1, timeout=0) == ()
    assert server.pending_updates() == []


async def test_get_updates_long_poll_times_out(server: FakeBotApi, bot: Bot) -> None:
    started = time.monotonic()
    updates = await bot.get_updates(timeout=1, read_timeout=5)
    elapsed = time.monotonic() - started
    assert updates == ()
    assert 0.9 <= elapsed < 3


async def test_a_second_concurrent_poller_ends_the_first_with_409_conflict(
    server: FakeBotApi,
) -> None:
    # Two clients of the same bot, told apart by their base URLs, as two processes are.
    async with (
        Bot(server.token, base_url=server.base_url_for("a")) as a,
        Bot(server.token, base_url=server.base_url_for("b")) as b,
    ):
        first = asyncio.create_task(a.get_updates(timeout=5, read_timeout=10))
        await asyncio.sleep(0.2)
        assert await b.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        # One after the other is fine.
        assert await a.get_updates(timeout=0) == ()
        an = server.add_user("An", started=True)
        await b.send_message(an.id, "xin chào")
    assert [(p.caller, p.status) for p in server.polls] == [("b", 200), ("a", 409), ("a", 200)]
    assert all(p.started <= p.ended for p in server.polls)
    assert [(m["_caller"], m["text"]) for m in server.sent] == [("b", "xin chào")]
    assert server.violations == []


async def test_get_updates_allowed_updates_filter(server: FakeBotApi, bot: Bot) -> None:
    an = server.add_user("An")
    server.send_message(an, "hello")
    server.block(an)  # queues my_chat_member
    updates = await bot.get_updates(timeout=0, allowed_updates=["my_chat_member"])
    assert len(updates) == 1
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "kicked"


# --------------------------------------------------------------------------------------
# Text, HTML, limits of content
# --------------------------------------------------------------------------------------
async def test_send_message_html_escaped_content(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    sent = await bot.send_message(user.id, "<b>Xin chào</b> &lt;b&gt; &amp; &#272;", "HTML")
    assert sent.text == "Xin chào <b> & Đ"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 8)]
    assert sent.from_user is not None and sent.from_user.id == server.bot_id
    record = server.sent[-1]
    assert record["_method"] == "sendMessage"
    assert record["_params"]["text"] == "<b>Xin chào</b> &lt;b&gt; &amp; &#272;"
    assert record["_params"]["chat_id"] == user.id
    assert server.messages_in(user.id)[-1]["text"] == "Xin chào <b> & Đ"
    assert server.violations == []


async def test_send_message_bad_html(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(user.id, "Điểm <b>cao", "HTML")
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "foo"'):
        await bot.send_message(user.id, "<foo>x</foo>", "HTML")
    assert len(server.violations) == 2
    assert "can't parse entities" in server.violations[0]
    server.violations.clear()


async def test_message_length_measured_after_parsing(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(user.id, "a" * 4097)
    assert len(server.violations) == 1
    server.violations.clear()
    ok = await bot.send_message(user.id, "a" * 4096)
    assert len(ok.text or "") == 4096
    amp = await bot.send_message(user.id, "&amp;" * 4096, parse_mode="HTML")
    assert amp.text == "&" * 4096
    # Length is counted in UTF-16 code units: 2049 emoji are 4098 units.
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(user.id, "😀" * 2049)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(user.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(user.id, b"x", filename="x.txt", caption="c" * 1025)
    server.violations.clear()


async def test_callback_data_limit_is_in_bytes(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="a" * 64)]])
    await bot.send_message(user.id, "ok", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("X", callback_data="a" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "x", reply_markup=too_long)
    # 33 Vietnamese "đ" are 33 characters but 66 UTF-8 bytes
    multibyte = InlineKeyboardMarkup([[InlineKeyboardButton("X", callback_data="đ" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(user.id, "x", reply_markup=multibyte)
    assert len(server.violations) == 2
    server.violations.clear()


# --------------------------------------------------------------------------------------
# Flood control and access errors
# --------------------------------------------------------------------------------------
async def test_rate_limit_private_chat_burst() -> None:
    async with FakeBotApi() as srv:
        an = srv.add_user("An")
        srv.send_message(an, "/start")
        async with Bot(srv.token, base_url=srv.base_url) as tg_bot:
            for i in range(3):
                await tg_bot.send_message(an.id, f"tin {i}")
            with pytest.raises(RetryAfter) as caught:
                await tg_bot.send_message(an.id, "one too many")
        assert retry_seconds(caught.value) == 1
        assert srv.stats["429"] == 1
        assert srv.stats["sent"] == 3
        assert srv.stats_by_chat[an.id]["429"] == 1
        assert srv.calls[-1][0] == "sendMessage" and srv.calls[-1][2] == 429
        assert srv.violations == []


def test_rate_limiter_with_fake_clock() -> None:
    clock = [1000.0]
    limiter = RateLimiter(RateLimits(group_per_minute=20, group_burst=5), now=lambda: clock[0])
    assert [limiter.acquire(-1, private=False) for _ in range(5)] == [None] * 5
    assert limiter.acquire(-1, private=False) == 3  # 20/min -> one token per 3 s
    assert limiter.acquire(-2, private=False) is None  # other chats are independent
    clock[0] += 3
    assert limiter.acquire(-1, private=False) is None
    assert limiter.acquire(-1, private=False) == 3
    global_only = RateLimiter(RateLimits(global_per_second=2, private_burst=10), lambda: 0.0)
    assert global_only.acquire(1, private=True) is None
    assert global_only.acquire(2, private=True) is None
    assert global_only.acquire(3, private=True) == 1


async def test_forbidden_blocked_and_never_started(server: FakeBotApi, bot: Bot) -> None:
    an = server.add_user("An")
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
        await bot.send_message(an.id, "xin chào")
    server.send_message(an, "/start")
    await bot.send_message(an.id, "xin chào")
    server.block(an)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(an.id, "còn đó không?")
    server.unblock(an)
    await bot.send_message(an.id, "chào lại")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(987654321, "ai đó")
    assert server.violations == []


async def test_migrated_group(server: FakeBotApi, bot: Bot) -> None:
    group = server.add_group("HĐĐP vùng ĐBSH")
    an = server.add_user("An")
    await bot.send_message(group.id, "trước khi nâng cấp")
    supergroup = server.migrate_group(group, by_user=an)
    assert supergroup.type == "supergroup"
    assert str(supergroup.id).startswith("-100")
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "sau khi nâng cấp")
    assert caught.value.new_chat_id == supergroup.id
    await bot.send_message(supergroup.id, "ở siêu nhóm")
    updates = await bot.get_updates(timeout=0)
    migrations = [u.message for u in updates if u.message is not None]
    assert migrations[0].migrate_to_chat_id == supergroup.id
    assert migrations[1].migrate_from_chat_id == group.id
    assert server.violations == []


async def test_group_membership_and_admins(server: FakeBotApi, bot: Bot) -> None:
    group = server.add_group("Nhóm thử", supergroup=True)
    an, binh = server.add_user("An"), server.add_user("Bình")
    updates = server.add_bot_to_group(group, an, status="administrator")
    assert updates[0]["my_chat_member"]["old_chat_member"]["status"] == "left"
    assert updates[1]["message"]["new_chat_members"][0]["id"] == server.bot_id
    server.set_chat_admin(group, an)
    assert (await bot.get_chat_member(group.id, an.id)).status == "administrator"
    server.send_message(binh, "xin chào", chat=group)
    assert (await bot.get_chat_member(group.id, binh.id)).status == "member"
    admins = await bot.get_chat_administrators(group.id)
    assert {a.user.id for a in admins} == {an.id, server.bot_id}
    chat = await bot.get_chat(group.id)
    assert chat.title == "Nhóm thử" and chat.type == "supergroup"
    server.remove_bot_from_group(group, an)
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the supergroup chat"):
        await bot.send_message(group.id, "còn ở đây không?")
    assert server.violations == []


async def test_privacy_mode_in_groups(server: FakeBotApi, bot: Bot) -> None:
    group = server.add_group()
    an = server.add_user("An")
    plain = server.send_message(an, "chỉ là tin nhắn thường", chat=group)
    assert plain["update_id"] == 0 and "_suppressed" in plain
    command = server.send_message(an, "/link@dieuphoi_test_bot DBSH", chat=group)
    other_bot = server.send_message(an, "/start@other_bot", chat=group)
    assert "_suppressed" in other_bot
    sent = await bot.send_message(group.id, "Trả lời tôi nhé")
    reply = server.send_message(an, "đây", chat=group, reply_to=sent)
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [command["update_id"], reply["update_id"]]
    assert updates[1].message is not None
    assert updates[1].message.reply_to_message is not None
    assert updates[1].message.reply_to_message.message_id == sent.message_id


# --------------------------------------------------------------------------------------
# Forum supergroups and their topics
# --------------------------------------------------------------------------------------
_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    + (64).to_bytes(4, "big")
    + (48).to_bytes(4, "big")
    + b"\x08\x02\x00\x00\x00"
)


async def test_a_forum_group_and_a_users_message_in_a_topic(server: FakeBotApi, bot: Bot) -> None:
    forum = server.add_group("Diễn đàn HĐĐP", forum=True)
    an = server.add_user("An")
    thread = server.create_topic(forum, an, "Vùng ĐBSH")
    assert server.forum_topics(forum) == {thread: "Vùng ĐBSH"}
    chat = await bot.get_chat(forum.id)
    assert chat.type == "supergroup" and chat.is_forum
    assert not (await bot.get_chat(server.add_group(supergroup=True).id)).is_forum

    in_topic = server.send_message(an, "/link DBSH", chat=forum, topic=thread)
    in_general = server.send_message(an, "/help", chat=forum)
    updates = await bot.get_updates(timeout=0)
    created, command, general = (u.message for u in updates)
    assert created is not None and created.forum_topic_created is not None
    assert created.message_id == created.message_thread_id == thread
    assert command is not None and command.is_topic_message
    assert command.message_thread_id == thread
    # Telegram's way: a message that replies to nothing carries the topic's first message.
    assert command.reply_to_message is not None
    assert command.reply_to_message.message_id == thread
    assert updates[1].update_id == in_topic["update_id"]
    assert general is not None and general.message_thread_id is None
    assert not general.is_topic_message and general.reply_to_message is None
    assert in_general["message"]["chat"]["is_forum"] is True
    assert server.violations == []


async def test_the_bot_writes_in_a_topic_and_replies_follow_the_topic(
    server: FakeBotApi, bot: Bot
) -> None:
    forum = server.add_group("Diễn đàn HĐĐP", forum=True)
    an = server.add_user("An")
    thread = server.create_topic(forum, an, "Vùng ĐBSH")
    other = server.create_topic(forum, an, "Vùng Tây Nguyên")
    sent = await bot.send_message(forum.id, "Bản tin tuần", message_thread_id=thread)
    assert sent.message_thread_id == thread and sent.is_topic_message
    photo = await bot.send_photo(forum.id, _PNG, message_thread_id=thread)
    assert photo.message_thread_id == thread
    document = await bot.send_document(forum.id, b"x", filename="a.txt", message_thread_id=other)
    assert document.message_thread_id == other
    copied = await bot.copy_message(forum.id, forum.id, sent.message_id, message_thread_id=other)
    assert server.messages_in(forum)[-1]["message_id"] == copied.message_id
    assert server.messages_in(forum)[-1]["message_thread_id"] == other
    album = await bot.send_media_group(
        forum.id,
        [InputMediaDocument(b"1", filename="a.txt"), InputMediaDocument(b"2", filename="b.txt")],
        message_thread_id=other,
    )
    assert {m.message_thread_id for m in album} == {other}
    # A reply lands in the replied message's topic without naming it.
    user_message = server.send_message(an, "câu hỏi", chat=forum, topic=thread)["message"]
    answer = await bot.send_message(
        forum.id, "trả lời", reply_parameters=ReplyParameters(user_message["message_id"])
    )
    assert answer.message_thread_id == thread
    # Edits keep the message where it is.
    edited = await bot.edit_message_text("Bản tin tuần (sửa)", forum.id, sent.message_id)
    assert isinstance(edited, Message) and edited.message_thread_id == thread
    general = await bot.send_message(forum.id, "Chung")
    assert general.message_thread_id is None and not general.is_topic_message
    assert server.violations == []


async def test_a_deleted_or_unknown_thread_is_not_found(server: FakeBotApi, bot: Bot) -> None:
    forum = server.add_group("Diễn đàn HĐĐP", forum=True)
    an = server.add_user("An")
    thread = server.create_topic(forum, an, "Vùng ĐBSH")
    sent = await bot.send_message(forum.id, "trước", message_thread_id=thread)
    server.delete_topic(forum, thread)
    assert server.forum_topics(forum) == {}
    assert server.messages_in(forum) == []  # the topic's messages went with it
    plain = server.add_group()
    for thread_id, chat_id in (
        (thread, forum.id),  # deleted
        (thread + 100, forum.id),  # never was
        (1, forum.id),  # General has no thread id to send to
        (thread, plain.id),  # a chat without topics
    ):
        with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
            await bot.send_message(chat_id, "x", message_thread_id=thread_id)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_document(forum.id, b"x", filename="a.txt", message_thread_id=thread)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("sửa", forum.id, sent.message_id)
    server.violations.clear()  # that edit is a violation by design; the rest are not
    await bot.send_message(forum.id, "vào General")
    assert server.violations == []


async def test_the_bot_creates_and_deletes_topics_as_an_admin(server: FakeBotApi, bot: Bot) -> None:
    forum = server.add_group("Diễn đàn HĐĐP", forum=True)
    an = server.add_user("An")
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.create_forum_topic(forum.id, "Vùng ĐBSH")
    server.add_bot_to_group(forum, an, status="administrator")
    topic = await bot.create_forum_topic(forum.id, "Vùng ĐBSH", icon_color=0xFFD67E)
    assert topic.name == "Vùng ĐBSH" and topic.icon_color == 0xFFD67E
    assert server.forum_topics(forum) == {topic.message_thread_id: "Vùng ĐBSH"}
    sent = await bot.send_message(forum.id, "Xin chào", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    assert await bot.delete_forum_topic(forum.id, topic.message_thread_id)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.delete_forum_topic(forum.id, topic.message_thread_id)
    with pytest.raises(BadRequest, match=r"(?i)not a forum"):
        await bot.create_forum_topic(server.add_group(supergroup=True).id, "Không được")
    assert server.violations == []
    with pytest.raises(BadRequest):
        await bot.create_forum_topic(forum.id, "Màu lạ", icon_color=0x123456)
    assert any("TOPIC_ICON_COLOR_INVALID" in v for v in server.violations)


async def test_privacy_mode_in_a_topic_the_bot_created(server: FakeBotApi, bot: Bot) -> None:
    """The topic's creation message every message in it carries is no reply to the bot."""
    forum = server.add_group("Diễn đàn HĐĐP", forum=True)
    an = server.add_user("An")
    server.add_bot_to_group(forum, an, status="administrator")
    topic = await bot.create_forum_topic(forum.id, "Vùng ĐBSH")
    # An admin bot sees everything; demoted to a plain member, it would not see this.
    server._bot_status[forum.id] = "member"
    chat = server.send_message(an, "trò chuyện", chat=forum, topic=topic.message_thread_id)
    assert "_suppressed" in chat
    assert server.violations == []


# --------------------------------------------------------------------------------------
# Contract violations through raw HTTP
# --------------------------------------------------------------------------------------
async def test_unknown_method_and_parameter_via_httpx(server: FakeBotApi) -> None:
    async with httpx.AsyncClient() as client:
        res = await client.post(api_url(server, "sendMesage"), data={"chat_id": "1"})
        assert res.status_code == 404
        assert res.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert any("sendMesage" in v for v in server.violations)
        server.violations.clear()

        res = await client.post(api_url(server, "getMe"), data={"parse_mod": "HTML"})
        assert res.status_code == 400
        assert res.json()["description"] == "Bad Request: unknown parameter parse_mod"
        assert len(server.violations) == 1 and "parse_mod" in server.violations[0]
        server.violations.clear()

        res = await client.post(api_url(server, "sendMessage"), json={"chat_id": 5})
        assert res.status_code == 400
        assert res.json()["description"] == "Bad Request: message text is empty"
        assert len(server.violations) == 1
        server.violations.clear()

        res = await client.get(api_url(server, "GETME"))
        assert res.status_code == 200 and res.json()["result"]["is_bot"] is True
        assert len(server.violations) == 1 and "case" in server.violations[0]
        server.violations.clear()


async def test_param_decoding_json_and_query(server: FakeBotApi) -> None:
    an = server.add_user("An")
    server.send_message(an, "/start")
    markup = {"inline_keyboard": [[{"text": "Có", "callback_data": "yes"}]]}
    async with httpx.AsyncClient() as client:
        res = await client.post(
            api_url(server, "sendMessage"),
            json={"chat_id": str(an.id), "text": "JSON body", "reply_markup": markup},
        )
        assert res.status_code == 200, res.text
        assert res.json()["result"]["reply_markup"] == markup
        res = await client.get(
            api_url(server, "sendMessage"),
            params={"chat_id": an.id, "text": "query", "disable_notification": "true"},
        )
        assert res.status_code == 200, res.text
        res = await client.post(
            api_url(server, "sendMessage"),
            data={"chat_id": an.id, "text": "x", "disable_notification": "maybe"},
        )
        assert res.status_code == 400
    assert server.sent[0]["_params"]["chat_id"] == an.id
    assert server.sent[1]["_params"]["disable_notification"] is True
    assert len(server.violations) == 1
    server.violations.clear()


async def test_wrong_token_is_invalid_token(server: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=server.base_url):
            pass
    assert server.calls[-1] == ("getMe", {}, 401)
    assert server.violations == []


# --------------------------------------------------------------------------------------
# Files, commands, callbacks, edits
# --------------------------------------------------------------------------------------
async def test_document_upload_get_file_download_roundtrip(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    payload = bytes(range(256)) * 40
    message = await bot.send_document(
        user.id, payload, filename="bao_cao.xlsx", caption="<i>Báo cáo</i>", parse_mode="HTML"
    )
    assert message.document is not None
    assert message.document.file_name == "bao_cao.xlsx"
    assert message.document.file_size == len(payload)
    assert message.caption == "Báo cáo"
    assert server.sent[-1]["_files"]["document"] == ("bao_cao.xlsx", payload)
    tg_file = await bot.get_file(message.document.file_id)
    assert bytes(await tg_file.download_as_bytearray()) == payload

    incoming = server.send_document(user, "du_lieu.csv", b"a,b\n1,2\n", caption="/import")
    doc = incoming["message"]["document"]
    assert doc["mime_type"] == "text/csv"
    assert incoming["message"]["caption_entities"][0]["type"] == "bot_command"
    tg_file = await bot.get_file(doc["file_id"])
    assert bytes(await tg_file.download_as_bytearray()) == b"a,b\n1,2\n"
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")
    assert server.violations == []


async def test_send_photo(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big")
    png += (480).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    message = await bot.send_photo(user.id, png, caption="ảnh")
    assert (message.photo[-1].width, message.photo[-1].height) == (640, 480)
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user.id, b"not an image")
    server.violations.clear()


async def test_set_my_commands_per_scope_and_language(server: FakeBotApi, bot: Bot) -> None:
    group = server.add_group()
    default = [BotCommand("start", "Bắt đầu"), BotCommand("help", "Trợ giúp")]
    private_en = [BotCommand("start", "Start")]
    await bot.set_my_commands(default)
    await bot.set_my_commands(private_en, BotCommandScopeAllPrivateChats(), language_code="en")
    await bot.set_my_commands([BotCommand("link", "Liên kết")], BotCommandScopeChat(group.id))
    assert server.commands_for({"type": "default"}) == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "help", "description": "Trợ giúp"},
    ]
    assert server.commands_for({"type": "all_private_chats"}, "en") == [
        {"command": "start", "description": "Start"}
    ]
    assert server.commands_for({"type": "all_private_chats"}) is None
    assert server.commands_for({"type": "chat", "chat_id": group.id}) == [
        {"command": "link", "description": "Liên kết"}
    ]
    fetched = await bot.get_my_commands(BotCommandScopeAllPrivateChats(), language_code="en")
    assert [c.command for c in fetched] == ["start"]
    await bot.delete_my_commands(BotCommandScopeAllPrivateChats(), language_code="en")
    assert server.commands_for({"type": "all_private_chats"}, "en") is None
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "hoa")])
    assert len(server.violations) == 1
    server.violations.clear()


async def test_callback_query_answer_and_edits(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Xác nhận", callback_data="ok:1")]])
    sent = await bot.send_message(user.id, "Xác nhận?", reply_markup=markup)
    with pytest.raises(AssertionError, match="no button"):
        server.press_button(user, sent, "missing")
    update = server.press_button(user, server.sent[-1], "ok:1")
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id, text="Đã xác nhận")
    assert server.callback_answers[query_id]["text"] == "Đã xác nhận"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    assert len(server.violations) == 1
    server.violations.clear()

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Xác nhận?", user.id, sent.message_id, reply_markup=markup)
    edited = await bot.edit_message_text(
        "<b>Đã xác nhận</b>", user.id, sent.message_id, parse_mode="HTML"
    )
    assert not isinstance(edited, bool) and edited.text == "Đã xác nhận"
    current = server.messages_in(user.id)[-1]
    assert current["text"] == "Đã xác nhận"
    assert "reply_markup" not in current  # omitting reply_markup removes the keyboard
    assert "edit_date" in current
    assert server.violations == []
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", user.id, 9999)
    assert len(server.violations) == 1
    server.violations.clear()
    assert await bot.delete_message(user.id, sent.message_id)
    assert server.messages_in(user.id) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)
    assert server.violations == []


async def test_fault_injection(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    server.fail_next("sendMessage", status=502, description="Bad Gateway")
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(user.id, "a")
    server.fail_next("sendmessage", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(user.id, "b")
        assert retry_seconds(caught.value) == 7
    await bot.send_message(user.id, "c")
    assert [s["text"] for s in server.sent] == ["c"]
    assert server.stats["429"] == 2
    assert server.violations == []


async def test_wait_for_message_and_call(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(user.id, "bỏ qua")
        await bot.send_message(user.id, "Kết quả: 42")

    task = asyncio.create_task(later())
    found = await server.wait_for_message(user.id, lambda m: "Kết quả" in m.get("text", ""))
    await task
    assert found["text"] == "Kết quả: 42"
    assert (await server.wait_for_message(user, since=0))["text"] == "bỏ qua"
    waiter = asyncio.create_task(server.wait_for_call("sendChatAction", timeout=2))
    await asyncio.sleep(0)
    await bot.send_chat_action(user.id, "typing")
    assert (await waiter)["action"] == "typing"


async def test_wait_for_message_timeout_raises_with_dump(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    await bot.send_message(user.id, "tin nhắn cũ")
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        await server.wait_for_message(user.id, timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 2
    report = str(caught.value)
    assert "tin nhắn cũ" in report and "/start" in report
    with pytest.raises(AssertionError, match="no call of answerCallbackQuery"):
        await server.wait_for_call("answerCallbackQuery", timeout=0.1)


async def test_other_methods(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    album = await bot.send_media_group(
        user.id,
        [
            InputMediaDocument(b"1", filename="a.txt", caption="<b>A</b>", parse_mode="HTML"),
            InputMediaDocument(b"2", filename="b.txt"),
        ],
    )
    assert [m.document.file_name for m in album if m.document] == ["a.txt", "b.txt"]
    assert album[0].caption == "A" and album[0].media_group_id == album[1].media_group_id
    copied = await bot.copy_message(user.id, user.id, album[1].message_id)
    assert server.messages_in(user.id)[-1]["message_id"] == copied.message_id
    assert await bot.pin_chat_message(user.id, copied.message_id)  # generic method -> True
    assert server.calls[-1][0] == "pinChatMessage"
    await bot.set_my_description("Trợ lý điều phối", language_code="vi")
    assert server.descriptions == {"vi": "Trợ lý điều phối"}
    await bot.set_webhook("https://example.invalid/hook")
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()
    group = server.add_group()
    assert await bot.leave_chat(group.id)
    with pytest.raises(Forbidden, match=r"(?i)not a member of the group chat"):
        await bot.send_message(group.id, "x")
    assert server.violations == []


async def test_stop_releases_pending_long_poll() -> None:
    srv = FakeBotApi()
    await srv.start()
    async with httpx.AsyncClient(timeout=10) as client:
        poll = asyncio.create_task(client.post(api_url(srv, "getUpdates"), data={"timeout": "30"}))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await srv.stop()
        res = await poll
    assert time.monotonic() - started < 1
    assert res.json() == {"ok": True, "result": []}


# --------------------------------------------------------------------------------------
# A real Application polling the fake
# --------------------------------------------------------------------------------------
async def test_application_end_to_end(server: FakeBotApi) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Đồng ý", callback_data="yes")]])
        await update.effective_message.reply_html(
            f"Chào <b>{update.effective_user.first_name if update.effective_user else ''}</b>",
            reply_markup=keyboard,
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("OK")
        await query.edit_message_text("Đã đồng ý")

    app = (
        Application.builder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    an = server.add_user("An")
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=1))
        try:
            server.send_message(an, "/start")
            greeting = await server.wait_for_message(an.id)
            assert greeting["text"] == "Chào An"
            assert greeting["_params"]["parse_mode"] == "HTML"
            server.press_button(an, greeting, "yes")
            answer = await server.wait_for_call("answerCallbackQuery", since=0)
            assert answer["text"] == "OK"
            await server.wait_for_call(
                "editMessageText", lambda p: p.get("text") == "Đã đồng ý", since=0
            )
            assert server.messages_in(an.id)[-1]["text"] == "Đã đồng ý"
        finally:
            await app.updater.stop()
            await app.stop()
    assert server.violations == []


# --------------------------------------------------------------------------------------
# html_check unit tests
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "reason", "offset"),
    [
        ("1 < 2", 'Unsupported start tag ""', 2),
        ("<foo>x</foo>", 'Unsupported start tag "foo"', 0),
        ("x</b>", "Unexpected end tag", 1),
        ("<b>đậm", 'Can\'t find end tag corresponding to start tag "b"', 0),
        ("<b>x</i>", 'Unmatched end tag, expected "</b>", found "</i>"', 4),
        ("ấ<b", "Unclosed start tag", 3),
        ('<a href="x', 'Unclosed start tag "a"', 0),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"', 0),
        ("AT&T", 'Unescaped "&" followed by "T"', 2),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"', 0),
        ("đ&amp", 'Unescaped "&" followed by "amp"', 2),
    ],
)
def test_parse_html_errors(text: str, reason: str, offset: int) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(text)
    assert caught.value.reason.startswith(reason)
    assert caught.value.byte_offset == offset
    assert str(caught.value).endswith(f"at byte offset {offset}")


def test_parse_html_plain_text_and_entities() -> None:
    assert parse_html("<B>a</B> &lt;&gt;&amp;&quot; &#65;&#x42; & 1") == 'a <>&" AB & 1'
    assert parse_html("AT&T", strict_entities=False) == "AT&T"
    text, entities = parse_html_entities(
        '😀<a href="https://x.vn/?a=1&b=2">link</a> <span class="tg-spoiler">s</span> '
        "<blockquote expandable>q</blockquote> "
        '<pre><code class="language-python">p</code></pre> <tg-emoji emoji-id="5">e</tg-emoji>'
    )
    assert text == "😀link s q p e"
    assert entities == [
        {"offset": 2, "length": 4, "type": "text_link", "url": "https://x.vn/?a=1&b=2"},
        {"offset": 7, "length": 1, "type": "spoiler"},
        {"offset": 9, "length": 1, "type": "expandable_blockquote"},
        {"offset": 11, "length": 1, "type": "pre", "language": "python"},
        {"offset": 13, "length": 1, "type": "custom_emoji", "custom_emoji_id": "5"},
    ]
    assert utf16_len("😀a") == 3
