"""`SandboxWorld` over the local Bot API server and the running bot.

What a person sees is what the local server holds (chats, messages, buttons, the command
menus the bot set); what they do goes to the server as Telegram would send it, and the bot
answers through its ordinary handlers. Moving the clock runs what the bot's jobs would run
at the new moment (the planner, then the sender until nothing is due), so every message
due by then has been sent when the move returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from telegram.ext import Application

from bot import wake
from bot.app import Deps
from bot.db import transaction
from bot.formats import format_moment
from bot.i18n import N_, _, use_locale
from bot.models import Member, Outbox, OutboxState
from bot.outbox.plan import plan_pass
from bot.outbox.store import next_due_at
from bot.replies import speaker_of
from bot.sandbox.clock import MovableClock
from bot.sandbox.local_telegram import LocalTelegram
from bot.sandbox.steps import done_steps, render_steps
from bot.sandbox.telegram import FakeChat, FakeUser, utf16_len
from bot.sandbox.telegram.server import CAPTION_LIMIT, DOWNLOAD_LIMIT, TEXT_LIMIT
from bot.sandbox.world import (
    ChatSummary,
    Clock,
    ClockStep,
    Event,
    JSONDict,
    Person,
    SandboxRefusal,
    Step,
)
from jobs.broadcasts import follow as follow_broadcasts
from jobs.sender import Dispatcher

log = logging.getLogger(__name__)

# How long `press` waits for the bot's answerCallbackQuery.
ANSWER_PATIENCE = 5.0
# "next scheduled message" looks this many days ahead for something to send.
LOOK_AHEAD_DAYS = 31
# How long one move may send (pacing spaces messages to a group by seconds); past it,
# the rest goes out in the background, as the bot's sending loop gets to it.
DELIVERY_PATIENCE = 60.0
_STEPS: dict[ClockStep, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


class LiveWorld:
    def __init__(
        self, telegram: LocalTelegram, clock: MovableClock, application: Application
    ) -> None:
        self.telegram = telegram
        self.time = clock  # the sandbox's one clock (`clock()` is what a page shows)
        self.application = application
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._answers: dict[str, asyncio.Future[JSONDict]] = {}
        self._moving = asyncio.Lock()
        self._done: set[str] | None = None
        self._steps_check: asyncio.Task[None] | None = None
        telegram.listeners.append(self._on_telegram)

    # ------------------------------------------------------------------ helpers
    @property
    def deps(self) -> Deps:
        deps = self.application.bot_data["deps"]
        assert isinstance(deps, Deps)
        return deps

    def _cast(self) -> list[JSONDict]:
        people: list[JSONDict] = self.telegram.extra.get("people", [])
        return people

    def _person(self, user_id: int) -> FakeUser:
        user = self.telegram.user(user_id)
        if user is None or not any(p["id"] == user_id for p in self._cast()):
            raise self._refusal(user_id, N_("There is no such person in the sandbox."), 404)
        return user

    def _refusal(self, user_id: int | None, text: str, status: int = 400) -> SandboxRefusal:
        """What Telegram would refuse, told in the person's language."""
        language = self._language(user_id) if user_id is not None else None
        with use_locale(language or self.deps.settings.default_locale):
            return SandboxRefusal(_(text), status)

    def _language(self, user_id: int) -> str:
        for person in self._cast():
            if person["id"] == user_id:
                return str(person["language"])
        return self.deps.settings.default_locale

    def _chat(self, user_id: int, chat_id: int) -> FakeChat | None:
        """The group (None: the private chat with the bot) if the person is in it."""
        self._person(user_id)
        if chat_id == user_id:
            return None
        group = self.telegram.group(chat_id)
        if group is None or user_id not in self.telegram.members_of(chat_id):
            raise self._refusal(user_id, N_("You are not in this chat."), 403)
        return group

    def _read_marks(self, user_id: int) -> dict[str, int]:
        marks: dict[str, dict[str, int]] = self.telegram.extra.setdefault("read", {})
        return marks.setdefault(str(user_id), {})

    def _publish(self, event: Event) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(event)

    def _on_telegram(self, kind: str, chat_id: int, payload: JSONDict) -> None:
        if kind == "answer":
            answer = {"text": payload.get("text"), "show_alert": payload.get("show_alert")}
            future = self._answers.pop(str(payload["query_id"]), None)
            if future is not None and not future.done():
                future.set_result(answer)
            self._publish(Event("answer", answer, user_id=chat_id))
            return
        members = self.telegram.members_of(chat_id)
        self._publish(Event(kind, payload, chat_id=chat_id, members=members))  # type: ignore[arg-type]
        if kind == "message" and (payload.get("from") or {}).get("id") == self.telegram.bot_id:
            self._check_steps_soon()

    def _check_steps_soon(self) -> None:
        """The bot has answered: what it did may check off a step (once the handler's
        transaction is committed, a moment later)."""
        if self._steps_check is None or self._steps_check.done():
            self._steps_check = asyncio.get_running_loop().create_task(self._check_steps())

    async def _check_steps(self) -> None:
        await asyncio.sleep(0.2)
        try:
            async with transaction(self.deps.sessions()) as session:
                done = await done_steps(session)
        except Exception:
            log.warning("sandbox: could not read the steps", exc_info=True)
            return
        if done != self._done:
            self._done = done
            for person in self._cast():
                steps = render_steps(done, str(person["language"]))
                self._publish(Event("steps", [asdict(s) for s in steps], user_id=int(person["id"])))

    # ------------------------------------------------------------------ SandboxWorld
    async def people(self) -> list[Person]:
        cast = self._cast()
        async with transaction(self.deps.sessions()) as session:
            bound = set(
                await session.scalars(
                    select(Member.telegram_user_id).where(
                        Member.telegram_user_id.in_([p["id"] for p in cast])
                    )
                )
            )
        started = self._started()
        return [
            Person(
                id=int(p["id"]),
                name=str(p["name"]),
                position=str(p["position"]),
                agency=str(p["agency"]),
                is_admin=bool(p["is_admin"]),
                language=str(p["language"]),
                # Pressed Start with an invite (the admin: pressed Start).
                registered=(p["id"] in bound or p["is_admin"]) and p["id"] in started,
            )
            for p in cast
        ]

    def _started(self) -> set[int]:
        return set(self.telegram._started)

    async def bot_user(self) -> JSONDict:
        return dict(self.telegram.bot_user)

    async def chats_of(self, user_id: int) -> list[ChatSummary]:
        self._person(user_id)
        chats = [(user_id, "private", self.telegram.bot_first_name)]
        chats += [(g.id, g.type, g.title) for g in self.telegram.groups_of(user_id)]
        marks = self._read_marks(user_id)
        summaries = []
        for chat_id, kind, title in chats:
            unread = self.telegram.unread(chat_id, marks.get(str(chat_id), 0), user_id)
            last = self.telegram.last(chat_id)
            summaries.append(ChatSummary(chat_id, kind, title, last, unread))  # type: ignore[arg-type]
        return summaries

    async def messages(
        self, user_id: int, chat_id: int, before: int | None, limit: int
    ) -> tuple[list[JSONDict], bool]:
        self._chat(user_id, chat_id)
        return self.telegram.history(chat_id, before, max(1, limit))

    async def mark_read(self, user_id: int, chat_id: int, message_id: int) -> None:
        self._chat(user_id, chat_id)
        marks = self._read_marks(user_id)
        marks[str(chat_id)] = max(marks.get(str(chat_id), 0), message_id)
        self.telegram.changes += 1

    async def mark_unread(self, user_id: int, chat_id: int, message_id: int) -> None:
        """The person marks the chat unread from `message_id` on (an addition to the
        Protocol: Telegram clients have it)."""
        self._chat(user_id, chat_id)
        marks = self._read_marks(user_id)
        marks[str(chat_id)] = min(marks.get(str(chat_id), 0), message_id - 1)
        self.telegram.changes += 1

    async def commands_for(self, user_id: int, chat_id: int) -> list[JSONDict]:
        """Telegram's order: the narrowest scope that has commands wins; within a scope
        the person's language first, then the scope's list for every language."""
        group = self._chat(user_id, chat_id)
        user = self._person(user_id)
        scopes: list[JSONDict]
        if group is None:
            scopes = [
                {"type": "chat", "chat_id": user_id},
                {"type": "all_private_chats"},
                {"type": "default"},
            ]
        else:
            admin = self.telegram._member_status(chat_id, user_id) in ("creator", "administrator")
            scopes = [{"type": "chat_member", "chat_id": chat_id, "user_id": user_id}]
            if admin:
                scopes.append({"type": "chat_administrators", "chat_id": chat_id})
            scopes.append({"type": "chat", "chat_id": chat_id})
            if admin:
                scopes.append({"type": "all_chat_administrators"})
            scopes += [{"type": "all_group_chats"}, {"type": "default"}]
        language = user.language_code or ""
        for scope in scopes:
            for code in (language, ""):
                found = self.telegram.commands_for(scope, code)
                if found:
                    return [dict(c) for c in found]
        return []

    async def send_text(
        self, user_id: int, chat_id: int, text: str, reply_to: int | None
    ) -> JSONDict:
        group = self._chat(user_id, chat_id)
        if not text.strip():
            raise self._refusal(user_id, N_("The message is empty."))
        if utf16_len(text) > TEXT_LIMIT:
            raise self._refusal(
                user_id, N_("The message is too long: Telegram takes at most 4,096 characters.")
            )
        replied = self._replied(user_id, chat_id, reply_to)
        update = self.telegram.send_message(
            self._person(user_id), text, chat=group, reply_to=replied
        )
        message: JSONDict = update["message"]
        return {k: v for k, v in message.items() if not k.startswith("_")}

    def _replied(self, user_id: int, chat_id: int, reply_to: int | None) -> JSONDict | None:
        if reply_to is None:
            return None
        replied = self.telegram.message(chat_id, reply_to)
        if replied is None:
            raise self._refusal(user_id, N_("The message to reply to is not there any more."))
        return replied

    async def send_file(
        self,
        user_id: int,
        chat_id: int,
        file_name: str,
        content: bytes,
        caption: str,
        reply_to: int | None,
        as_photo: bool = False,
    ) -> JSONDict:
        """`as_photo` (an addition to the Protocol): a JPEG or PNG sent as a photo, as
        Telegram's "send as photo"; anything else goes as a document."""
        group = self._chat(user_id, chat_id)
        if len(content) > DOWNLOAD_LIMIT:
            raise self._refusal(
                user_id, N_("The file is too large: a bot takes files up to 20 MB."), 413
            )
        if not content:
            raise self._refusal(user_id, N_("The file is empty."))
        if utf16_len(caption) > CAPTION_LIMIT:
            raise self._refusal(
                user_id, N_("The caption is too long: Telegram takes at most 1,024 characters.")
            )
        name = file_name.replace("/", "_").replace("\\", "_").strip() or "file"
        replied = self._replied(user_id, chat_id, reply_to)
        update = self.telegram.send_file(
            self._person(user_id), group, name, content, caption or None, replied, photo=as_photo
        )
        message: JSONDict = update["message"]
        return {k: v for k, v in message.items() if not k.startswith("_")}

    async def press(
        self, user_id: int, chat_id: int, message_id: int, data: str
    ) -> JSONDict | None:
        self._chat(user_id, chat_id)
        try:
            query_id = self.telegram.press(self._person(user_id), chat_id, message_id, data)
        except (KeyError, AssertionError):
            raise self._refusal(user_id, N_("This button is not there any more.")) from None
        future: asyncio.Future[JSONDict] = asyncio.get_running_loop().create_future()
        self._answers[query_id] = future
        try:
            return await asyncio.wait_for(future, ANSWER_PATIENCE)
        except TimeoutError:
            return None
        finally:
            self._answers.pop(query_id, None)

    async def open_mini_app(self, user_id: int, chat_id: int, message_id: int, url: str) -> str:
        self._chat(user_id, chat_id)
        try:
            return self.telegram.open_mini_app(self._person(user_id), chat_id, message_id, url)
        except KeyError:
            raise self._refusal(user_id, N_("This button is not there any more.")) from None

    async def file(self, file_id: str) -> tuple[str, str, bytes]:
        stored = self.telegram.stored_file(file_id)
        if stored is None:
            raise self._refusal(None, N_("There is no such file."), 404)
        name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
        return name, stored.mime_type or "application/octet-stream", stored.content

    async def clock(self, user_id: int) -> Clock:
        language = self._language(user_id)
        now = self.time.now()
        async with transaction(self.deps.sessions()) as session:
            due = await next_due_at(session)
        with use_locale(language):
            local = format_moment(now, self.deps.settings.tz, language)
        return Clock(
            utc=now.isoformat(timespec="seconds"),
            local=local,
            next_due=due.isoformat(timespec="seconds") if due is not None else None,
        )

    async def move_clock(self, step: ClockStep, user_id: int) -> Clock:
        async with self._moving:
            if step == "next":
                target = await self._next_moment()
                if target is not None:
                    await self._jump(target)
            elif step in _STEPS:
                await self._jump(self.time.now() + _STEPS[step])
            else:
                raise self._refusal(
                    user_id, N_("The clock moves by an hour, a day, or to the next message.")
                )
            wake.wake([wake.OUTBOX, wake.BROADCASTS])
            await self.deliver()
        clock = await self.clock(user_id)
        self._publish(Event("clock", asdict(clock)))
        await self._check_steps()
        return clock

    async def _jump(self, target: datetime) -> None:
        """Move the clock to `target`, and the claims of the rows being sent with it. The
        sending loop claimed them at the old time; after a jump longer than the outbox
        lease they would look abandoned by a dead process, and the delivery pass would send
        them a second time. Moved before the jump (then claimed "in the future", which no
        one takes either) and again after it, for a row claimed in between."""
        await self._hold_claims(target)
        self.time.advance_to(target)
        await self._hold_claims(self.time.now())

    async def _hold_claims(self, moment: datetime) -> None:
        async with transaction(self.deps.sessions()) as session:
            await session.execute(
                update(Outbox)
                .where(Outbox.state == OutboxState.SENDING, Outbox.claimed_at < moment)
                .values(claimed_at=moment)
            )

    async def _next_moment(self) -> Any:
        """When the next scheduled message is due: planned already, or planned by the
        planner a day at a time up to a month ahead."""
        deps = self.deps
        now = self.time.now()
        for day in range(LOOK_AHEAD_DAYS):
            async with transaction(deps.sessions()) as session:
                await plan_pass(session, deps.timing, now + timedelta(days=day))
                due = await next_due_at(session)
            if due is not None:
                return max(due, now)
        return None

    async def deliver(self) -> None:
        """What the jobs do at this moment: plan, then send until nothing due is left,
        whether this pass or the bot's own sending loop (running beside it) claimed it."""
        deps = self.deps
        async with transaction(deps.sessions()) as session:
            await plan_pass(session, deps.timing, self.time.now())
        dispatcher = self.application.bot_data.get("dispatcher")
        if not isinstance(dispatcher, Dispatcher):
            dispatcher = Dispatcher(deps, self.application.bot, name="sandbox-clock")
        speaker = speaker_of(self.application)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DELIVERY_PATIENCE
        while loop.time() < deadline:
            if (await dispatcher.run_pass()).claimed:
                continue
            # A finished broadcast queues its summary, a running one its next copies.
            await follow_broadcasts(deps, speaker)
            if not await self._anything_due():
                return
            await asyncio.sleep(0.05)  # rows the sending loop holds: it is sending them
        log.warning("sandbox: messages still due after %s s of sending", DELIVERY_PATIENCE)

    async def _anything_due(self) -> bool:
        async with transaction(self.deps.sessions()) as session:
            found = await session.scalar(
                select(Outbox.id)
                .where(
                    or_(
                        Outbox.state == OutboxState.SENDING,
                        and_(
                            Outbox.state == OutboxState.PENDING,
                            Outbox.due_at <= self.time.now(),
                        ),
                    )
                )
                .limit(1)
            )
        return found is not None

    async def steps(self, user_id: int) -> list[Step]:
        async with transaction(self.deps.sessions()) as session:
            done = await done_steps(session)
        return render_steps(done, self._language(user_id))

    async def events(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.telegram.listeners.remove(self._on_telegram)
        if self._steps_check is not None:
            self._steps_check.cancel()
