"""Server push for the web chat: one reader of `SandboxWorld.events()` fans each event out
to the pages connected as server-sent event streams, each seeing only what its person may
see (the messages of chats they are in, the answers and steps meant for them, the clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from aiohttp import web

from bot.sandbox.world import Event, SandboxWorld

log = logging.getLogger(__name__)

# A page that reads slower than this many events behind is dropped: its EventSource
# reconnects and the page reloads what it shows, instead of the server buffering forever.
QUEUE_SIZE = 1000
# A comment line this often keeps proxies from timing the stream out and finds dead pages.
HEARTBEAT_SECONDS = 15.0


def visible_to(event: Event, user_id: int) -> bool:
    if event.user_id is not None:
        return event.user_id == user_id
    if event.chat_id is not None:
        return user_id in event.members
    return True


class _Closed:
    """Put in a queue to end its stream (the server is stopping, or the page fell behind)."""


CLOSED = _Closed()


class EventHub:
    def __init__(self, world: SandboxWorld) -> None:
        self._world = world
        self._pages: dict[asyncio.Queue[Event | _Closed], int] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read(), name="sandbox-web-events")

    async def stop(self) -> None:
        for queue in list(self._pages):
            self._close(queue)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def close_streams(self) -> None:
        for queue in list(self._pages):
            self._close(queue)

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: int) -> AsyncIterator[asyncio.Queue[Event | _Closed]]:
        queue: asyncio.Queue[Event | _Closed] = asyncio.Queue(QUEUE_SIZE)
        self._pages[queue] = user_id
        try:
            yield queue
        finally:
            self._pages.pop(queue, None)

    async def _read(self) -> None:
        while True:
            try:
                async for event in self._world.events():
                    self._publish(event)
                log.warning("web chat: the world's events ended; reading them again")
            except Exception:
                log.exception("web chat: reading the world's events failed; reading them again")
            await asyncio.sleep(1)
            # Closed only now, just before reading again: the pages reconnect (a second
            # later) once the events flow, then reload what they may have missed.
            self.close_streams()

    def _publish(self, event: Event) -> None:
        for queue, user_id in list(self._pages.items()):
            if not visible_to(event, user_id):
                continue
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("web chat: a page of user %s fell behind; closing its stream", user_id)
                self._close(queue)

    def _close(self, queue: asyncio.Queue[Event | _Closed]) -> None:
        self._pages.pop(queue, None)
        while True:  # make room: the page reloads everything after it reconnects anyway
            try:
                queue.put_nowait(CLOSED)
                return
            except asyncio.QueueFull:
                queue.get_nowait()


def sse_frame(kind: str, payload: Any) -> bytes:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # json.dumps never writes a raw newline, so the data fits one `data:` line.
    return f"event: {kind}\ndata: {data}\n\n".encode()


async def stream_events(
    request: web.Request, hub: EventHub, world: SandboxWorld, user_id: int
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store"}
    )
    async with hub.subscribe(user_id) as queue:
        await response.prepare(request)
        # Sent first so the page knows the stream is live (and reloads what it may have
        # missed while it was away) and how long to wait before reconnecting.
        await response.write(b"retry: 1000\n" + sse_frame("hello", {"as": user_id}))
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": heartbeat\n\n")
                    continue
                if isinstance(item, _Closed):
                    break
                payload = item.payload
                if item.kind == "clock":
                    payload = await _clock_for(world, user_id, payload)
                frame = sse_frame(item.kind, {"chat_id": item.chat_id, "payload": payload})
                await response.write(frame)
        except (ConnectionResetError, ConnectionError):
            pass  # the page went away
    return response


async def _clock_for(world: SandboxWorld, user_id: int, payload: Any) -> Any:
    """The event carries one rendering of the time; each person reads it in their own
    language (the event's own when the world cannot say)."""
    try:
        return asdict(await world.clock(user_id))
    except Exception:
        log.exception("web chat: the clock of user %s could not be read", user_id)
        return payload
