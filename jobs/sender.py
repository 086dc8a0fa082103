"""The sender: claims due outbox rows, renders them, sends them paced, records the outcome.

One pass claims a batch, drops what has expired, skips what has lost its point,
and sends the rest concurrently per chat under the pacer. Every outcome is written
back; no error stops the other rows. While the last second of a large batch is being
sent, the next batch is claimed and rendered, so a broadcast does not pause between
batches (its next sends wait for this pass to end: a chat's rows keep their order).

Telegram's answers are handled as SPEC §6 says:

- 429: the chat is held for `retry_after` and the row waits that long (not counted
  as a failure);
- 403 in a private chat: the person is marked unreachable; the row is tried again at
  once and goes to the council's group as a mention instead;
- a group that became a supergroup: its chat id is updated and the row resent;
- "message thread not found" for a linked forum topic (deleted): the link is marked so,
  the admins are told, and the row is rendered again at once, for the group's General
  topic;
- network errors and 5xx: retried with growing pauses, then recorded as failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.app import Deps
from bot.db import transaction
from bot.keyboards import to_markup
from bot.models import Outbox, OutboxState
from bot.outbox import store
from bot.outbox.render import Message, Postpone, Skip, preload, render
from bot.services import groups, people
from bot.telegram_http import retry_after_seconds
from bot.text import split_message

log = logging.getLogger(__name__)

BATCH = 200
# Rows whose chat cannot take them within this many seconds go back to wait, so a
# claim never outlives its lease.
CHAT_BACKLOG_SECONDS = 20.0
MAX_ATTEMPTS = 5
MAX_IN_FLIGHT = 4
# A batch of at least PREFETCH_FROM rows has the next one claimed and rendered once only
# PREFETCH_AT of its rows are left to start: about a second of sending at Telegram's
# pace, more than claiming and rendering 200 rows take.
PREFETCH_FROM = 40
PREFETCH_AT = 30
# A batch prepared ahead that waited longer than this (the process could not send for a
# while) is given back rather than sent: its rows may have gone to another instance.
PREFETCH_FRESH = 5.0
# Rows rendered between two looks at the rest of the event loop (a few milliseconds).
RENDER_SLICE = 8
# Payload keys of a message of several parts: how many are sent, and the first one.
PARTS_SENT = "parts_sent"
FIRST_MESSAGE = "first_message"
# Telegram's answer to a send into a forum topic that was deleted (or never was).
THREAD_NOT_FOUND = "message thread not found"
BACKOFF = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10))


@dataclass(frozen=True)
class Ready:
    row_id: int
    message: Message
    # The row's payload: a message of several parts notes there how far it got.
    payload: dict[str, Any]


@dataclass
class PassResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    dropped: int = 0
    postponed: int = 0


@dataclass
class Batch:
    ready: list[Ready]
    result: PassResult  # what claiming and preparing it did
    prepared_at: float  # time.monotonic()


class _Countdown:
    """Its `event` is set once `n` sends have started."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.event = asyncio.Event()
        if n <= 0:
            self.event.set()

    def tick(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.event.set()


class Dispatcher:
    def __init__(self, deps: Deps, bot: Bot, name: str | None = None) -> None:
        self.deps = deps
        self.bot = bot
        # Its name in the registry of instances: a dead sender's claims are released by
        # that name (bot/instances.py).
        self.name = name or deps.presence.name
        self.pacer = deps.pacer
        # Sends under way at once. A crash between Telegram's answer and the record
        # repeats at most these (docs/outbox.md); four keep up with 30/s easily.
        self.in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.lease = timedelta(seconds=deps.settings.outbox_lease_seconds)
        # The next batch, claimed and rendered during the end of the last pass.
        self._ahead: Batch | None = None

    def _now(self) -> datetime:
        return self.deps.clock.now()

    def batch_limit(self) -> int:
        """A share of the batch: rows left unclaimed go to the other instances at once."""
        return max(1, BATCH // self.deps.presence.peers)

    async def run_pass(self) -> PassResult:
        if not self.deps.presence.may_send():
            return PassResult()  # the others may be about to take this process for dead
        batch = await self._batch()
        result = batch.result
        if not batch.ready:
            return result
        by_chat: dict[int, list[Ready]] = defaultdict(list)
        for item in batch.ready:
            by_chat[item.message.chat_id].append(item)
        # A large batch: the next one is claimed and rendered while its last second is sent.
        countdown = (
            _Countdown(len(batch.ready) - PREFETCH_AT)
            if len(batch.ready) >= PREFETCH_FROM
            else None
        )
        ahead = asyncio.create_task(self._prepare_ahead(countdown.event)) if countdown else None
        try:
            sends = await asyncio.gather(
                *(self._send_chat(items, countdown) for items in by_chat.values()),
                return_exceptions=True,
            )
        finally:
            if countdown is not None and ahead is not None:
                countdown.event.set()  # every send is done: prepare now, if not started yet
                self._ahead = await ahead
        self._count(result, sends)
        return result

    async def _batch(self) -> Batch:
        """The batch prepared ahead during the last pass, else one claimed now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.ready:
            if time.monotonic() - ahead.prepared_at <= PREFETCH_FRESH:
                return ahead
            await self._give_back(ahead.ready)
        return await self._claim_and_prepare()

    async def _prepare_ahead(self, low: asyncio.Event) -> Batch | None:
        await low.wait()
        try:
            return await self._claim_and_prepare()
        except Exception:
            # This pass's sends are done and recorded; the next pass claims afresh.
            log.warning("outbox: the next batch could not be prepared ahead", exc_info=True)
            return None

    async def _claim_and_prepare(self) -> Batch:
        result = PassResult()
        async with transaction(self.deps.sessions()) as session:
            rows = await store.claim_due(
                session, self._now(), self.name, self.batch_limit(), self.lease
            )
        result.claimed = len(rows)
        ready = await self._prepare(rows, result) if rows else []
        return Batch(ready, result, time.monotonic())

    @staticmethod
    def _count(result: PassResult, outcomes: list[Any]) -> None:
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                log.error("outbox: a chat's sends stopped", exc_info=outcome)
                continue
            result.sent += outcome[0]
            result.failed += outcome[1]
            result.postponed += outcome[2]

    async def _prepare(self, rows: list[Outbox], result: PassResult) -> list[Ready]:
        """Drop expired rows, skip pointless ones, render the rest (one transaction)."""
        settings = self.deps.settings
        now = self._now()
        ready = []
        async with transaction(self.deps.sessions()) as session:
            await preload(session, rows)
            for index, row in enumerate(rows):
                if index % RENDER_SLICE == RENDER_SLICE - 1:
                    # Rendering needs no I/O once preloaded, so it would hold the event
                    # loop for the whole batch: the sends under way would wake late for
                    # their slots (a lost slot each; bot/outbox/pacing.py).
                    await asyncio.sleep(0)
                if row.expires_at is not None and now >= row.expires_at:
                    log.info(
                        "outbox: dropped %s (%s): its moment passed at %s",
                        row.dedupe_key,
                        row.kind,
                        row.expires_at.isoformat(),
                    )
                    await store.finish(
                        session, row.id, self.name, OutboxState.DROPPED, now, error="expired"
                    )
                    result.dropped += 1
                    continue
                rendered = await render(
                    session, row, self.deps.timing, now, settings.default_locale
                )
                if isinstance(rendered, Skip):
                    await store.finish(
                        session, row.id, self.name, OutboxState.SKIPPED, now, error=rendered.reason
                    )
                    result.skipped += 1
                elif isinstance(rendered, Postpone):
                    await store.retry_later(
                        session,
                        row.id,
                        self.name,
                        rendered.until,
                        error=rendered.reason,
                        count_attempt=False,
                    )
                    result.postponed += 1
                else:
                    ready.append(Ready(row.id, rendered, dict(row.payload)))
        return ready

    async def _send_chat(
        self, items: list[Ready], countdown: _Countdown | None = None
    ) -> tuple[int, int, int]:
        sent = failed = postponed = 0
        for index, item in enumerate(items):
            message = item.message
            if self.pacer.chat_free_in(message.chat_id, message.is_group) > CHAT_BACKLOG_SECONDS:
                # This chat is saturated: give the rest back to wait their turn.
                await self._give_back(items[index:])
                postponed += len(items) - index
                break
            async with self.in_flight:
                await self.pacer.wait(message.chat_id, message.is_group)
                if countdown is not None:
                    countdown.tick()
                alive = self.deps.presence.may_send()
                outcome = await self._send_one(item) if alive else None
            if outcome is None:
                # This process has not managed to beat for a while: the others may soon
                # take it for dead and send these rows themselves. Do not race them.
                await self._give_back(items[index:])
                postponed += len(items) - index
                break
            if outcome == OutboxState.SENT:
                sent += 1
            elif outcome == OutboxState.FAILED:
                failed += 1
            else:
                postponed += 1
        return sent, failed, postponed

    async def _give_back(self, items: list[Ready]) -> None:
        now = self._now()
        async with transaction(self.deps.sessions()) as session:
            for item in items:
                wait = self.pacer.chat_free_in(item.message.chat_id, item.message.is_group)
                await store.retry_later(
                    session,
                    item.row_id,
                    self.name,
                    now + timedelta(seconds=wait),
                    error=None,
                    count_attempt=False,
                )

    async def _send_one(self, item: Ready) -> OutboxState:
        """Send one message and record what happened; returns the row's new state."""
        message = item.message
        try:
            chat_id, message_id = await self._deliver(item)
        except RetryAfter as error:
            seconds = retry_after_seconds(error.retry_after)
            self.pacer.hold(message.chat_id, seconds)
            return await self._again(item, timedelta(seconds=seconds), str(error), count=False)
        except ChatMigrated as error:
            await self._group_moved(message.chat_id, error.new_chat_id)
            return await self._again(item, timedelta(0), str(error), count=False)
        except Forbidden as error:
            if message.private_user_id is not None:
                await self._unreachable(message.private_user_id)
                # Rendered again at once: it now goes to the group as a mention.
                return await self._again(item, timedelta(0), str(error), count=True)
            return await self._fail(item, str(error))
        except BadRequest as error:
            if message.private_user_id is not None and "chat not found" in str(error).lower():
                await self._unreachable(message.private_user_id)
                return await self._again(item, timedelta(0), str(error), count=True)
            if message.thread_id is not None and THREAD_NOT_FOUND in str(error).lower():
                await self._topic_gone(message)
                # Rendered again at once: it now goes to the group's General topic.
                return await self._again(item, timedelta(0), str(error), count=True)
            log.error("outbox: Telegram refused row %s: %s", item.row_id, error)
            return await self._fail(item, str(error))
        except NetworkError as error:  # also TimedOut and 5xx answers
            return await self._network_error(item, str(error))
        async with transaction(self.deps.sessions()) as session:
            recorded = await store.finish(
                session,
                item.row_id,
                self.name,
                OutboxState.SENT,
                self._now(),
                chat_id=chat_id,
                message_id=message_id,
            )
        if not recorded:
            log.warning("outbox: row %s was sent after its claim lapsed", item.row_id)
        return OutboxState.SENT

    async def _deliver(self, item: Ready) -> tuple[int, int]:
        """Send the text (split at line boundaries when long) and the picture, if any;
        returns the chat and id of the first message, the one the row records.

        A message of several parts (a long digest) notes on its row each part sent, so
        a retry (after a 429 on a later part, say) or another instance taking the row
        over goes on from there instead of posting the first parts again. Each note also
        renews the claim: a long message does not outlive its lease.
        """
        message = item.message
        parts = split_message(message.text)
        steps = len(parts) + (1 if message.photo is not None else 0)
        done = int(item.payload.get(PARTS_SENT, 0))
        first = item.payload.get(FIRST_MESSAGE)
        for index in range(done, steps):
            if index:
                await self.pacer.wait(message.chat_id, message.is_group)
            if index < len(parts):
                last = index == len(parts) - 1
                sent = await self.bot.send_message(
                    chat_id=message.chat_id,
                    text=parts[index],
                    parse_mode=ParseMode.HTML,
                    reply_markup=to_markup(message.keyboard) if last else None,
                    message_thread_id=message.thread_id,
                )
                first = first or [sent.chat_id, sent.message_id]
            else:
                assert message.photo is not None
                await self.bot.send_photo(
                    chat_id=message.chat_id,
                    photo=message.photo,
                    message_thread_id=message.thread_id,
                )
            if steps > 1 and index < steps - 1:
                await self._note_progress(item, index + 1, first)
        assert first is not None
        return int(first[0]), int(first[1])

    async def _note_progress(self, item: Ready, parts_sent: int, first: object) -> None:
        item.payload.update({PARTS_SENT: parts_sent, FIRST_MESSAGE: first})
        async with transaction(self.deps.sessions()) as session:
            await store.note_progress(session, item.row_id, self.name, item.payload, self._now())

    async def _network_error(self, item: Ready, error: str) -> OutboxState:
        async with transaction(self.deps.sessions()) as session:
            attempts = (await session.get(Outbox, item.row_id) or Outbox(attempts=0)).attempts
        if attempts + 1 >= MAX_ATTEMPTS:
            log.error(
                "outbox: row %s failed after %s attempts: %s", item.row_id, attempts + 1, error
            )
            return await self._fail(item, error)
        pause = BACKOFF[min(attempts, len(BACKOFF) - 1)]
        log.warning("outbox: row %s will be retried in %s: %s", item.row_id, pause, error)
        return await self._again(item, pause, error, count=True)

    async def _again(
        self, item: Ready, after: timedelta, error: str, *, count: bool
    ) -> OutboxState:
        async with transaction(self.deps.sessions()) as session:
            await store.retry_later(
                session,
                item.row_id,
                self.name,
                self._now() + after,
                error=error,
                count_attempt=count,
            )
        return OutboxState.PENDING

    async def _fail(self, item: Ready, error: str) -> OutboxState:
        async with transaction(self.deps.sessions()) as session:
            await store.finish(
                session, item.row_id, self.name, OutboxState.FAILED, self._now(), error=error
            )
        return OutboxState.FAILED

    async def _unreachable(self, telegram_user_id: int) -> None:
        async with transaction(self.deps.sessions()) as session:
            await people.mark_unreachable(session, telegram_user_id)
        log.info("outbox: user %s cannot be reached in private", telegram_user_id)

    async def _topic_gone(self, message: Message) -> None:
        assert message.link_id is not None and message.thread_id is not None
        async with transaction(self.deps.sessions()) as session:
            await groups.topic_gone(session, self._now(), message.link_id, message.thread_id)
        log.warning(
            "outbox: topic %s of group %s is gone; its posts go to General",
            message.thread_id,
            message.chat_id,
        )

    async def _group_moved(self, old_chat_id: int, new_chat_id: int) -> None:
        async with transaction(self.deps.sessions()) as session:
            await groups.group_migrated(session, self._now(), old_chat_id, new_chat_id)
        log.info("outbox: group %s is now %s", old_chat_id, new_chat_id)

