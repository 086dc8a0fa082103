"""The web chat's JSON API: each view parses the request, checks it, asks the world one
thing and answers JSON. The page never gets HTML from here: messages are Telegram
`Message` objects, which it renders itself from their entities."""

from __future__ import annotations

import mimetypes
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from bot.sandbox.web_events import EventHub, stream_events
from bot.sandbox.world import ClockStep, SandboxRefusal, SandboxWorld
from bot.text import TELEGRAM_TEXT_LIMIT

WORLD = web.AppKey("world", SandboxWorld)
HUB = web.AppKey("hub", EventHub)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
CAPTION_LIMIT = 1024
# What a bot may download from Telegram, so what a person can usefully send it.
MAX_UPLOAD = 20 * 1024 * 1024
# Room for the multipart envelope and the small fields around the file.
UPLOAD_ENVELOPE = 64 * 1024
_MAX_FIELD = 16 * 1024
_FORM_FIELDS = frozenset({"as", "chat", "caption", "reply_to"})
_CLOCK_STEPS: dict[str, ClockStep] = {"hour": "hour", "day": "day", "next": "next"}
# Shown in the page; anything else is downloaded, never rendered on this origin.
_INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def _world(request: web.Request) -> SandboxWorld:
    return request.app[WORLD]


def _int(value: Any, name: str, *, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise web.HTTPBadRequest(reason=f"{name} is required")
    if isinstance(value, bool):
        raise web.HTTPBadRequest(reason=f"{name} must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(reason=f"{name} must be a whole number") from None


def _required_int(value: Any, name: str) -> int:
    number = _int(value, name)
    assert number is not None
    return number


async def _person(request: web.Request, value: Any) -> int:
    """The person the page acts as: one of the world's people."""
    user_id = _required_int(value, "as")
    if all(person.id != user_id for person in await _world(request).people()):
        raise web.HTTPNotFound(reason="no such person")
    return user_id


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(reason="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body is not a JSON object")
    return body


def utf16_len(text: str) -> int:
    """Telegram counts text in UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


async def world_view(request: web.Request) -> web.Response:
    world = _world(request)
    people = await world.people()
    if not people:
        raise SandboxRefusal("the sandbox has no people yet", status=503)
    value = request.query.get("as")
    user_id = await _person(request, value) if value else people[0].id
    return web.json_response(
        {
            "people": [asdict(person) for person in people],
            "bot": await world.bot_user(),
            "clock": asdict(await world.clock(user_id)),
            "limits": {"text": TELEGRAM_TEXT_LIMIT, "caption": CAPTION_LIMIT, "upload": MAX_UPLOAD},
        }
    )


async def chats_view(request: web.Request) -> web.Response:
    user_id = await _person(request, request.query.get("as"))
    chats = await _world(request).chats_of(user_id)
    return web.json_response({"chats": [asdict(chat) for chat in chats]})


async def messages_view(request: web.Request) -> web.Response:
    query = request.query
    user_id = await _person(request, query.get("as"))
    chat_id = _required_int(query.get("chat"), "chat")
    before = _int(query.get("before"), "before", optional=True)
    limit = _int(query.get("limit"), "limit", optional=True)
    limit = PAGE_SIZE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise web.HTTPBadRequest(reason=f"limit must be between 1 and {MAX_PAGE_SIZE}")
    messages, more = await _world(request).messages(user_id, chat_id, before, limit)
    return web.json_response({"messages": messages, "more": more})


async def commands_view(request: web.Request) -> web.Response:
    user_id = await _person(request, request.query.get("as"))
    chat_id = _required_int(request.query.get("chat"), "chat")
    return web.json_response({"commands": await _world(request).commands_for(user_id, chat_id)})


async def steps_view(request: web.Request) -> web.Response:
    user_id = await _person(request, request.query.get("as"))
    steps = await _world(request).steps(user_id)
    return web.json_response({"steps": [asdict(step) for step in steps]})


async def send_view(request: web.Request) -> web.Response:
    body = await _body(request)
    user_id = await _person(request, body.get("as"))
    chat_id = _required_int(body.get("chat"), "chat")
    reply_to = _int(body.get("reply_to"), "reply_to", optional=True)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise SandboxRefusal("message text is empty")
    if utf16_len(text) > TELEGRAM_TEXT_LIMIT:
        raise SandboxRefusal("message is too long")
    message = await _world(request).send_text(user_id, chat_id, text, reply_to)
    return web.json_response({"message": message})


async def upload_view(request: web.Request) -> web.Response:
    # Refused before reading when the size is announced; counted while reading otherwise.
    if request.content_length is not None and request.content_length > MAX_UPLOAD + UPLOAD_ENVELOPE:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_UPLOAD, actual_size=request.content_length, reason="file too large"
        )
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise web.HTTPBadRequest(reason="the body is not multipart/form-data") from None
    fields: dict[str, str] = {}
    file_name, content = None, b""
    budget = MAX_UPLOAD + UPLOAD_ENVELOPE  # for the whole body, however it is cut up
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise web.HTTPBadRequest(reason="nested multipart is not accepted")
        if part.name == "file" and part.filename is not None and file_name is None:
            file_name, content = part.filename, await _read_limited(part, MAX_UPLOAD)
            budget -= len(content)
        else:
            value = await _read_limited(part, min(_MAX_FIELD, budget))
            budget -= len(value)
            if part.name and part.name in _FORM_FIELDS:
                fields[part.name] = value.decode("utf-8", "replace")
        if budget < 0:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_UPLOAD, actual_size=MAX_UPLOAD + 1, reason="file too large"
            )
    if file_name is None:
        raise web.HTTPBadRequest(reason="no file")
    if not content:
        raise SandboxRefusal("file is empty")
    user_id = await _person(request, fields.get("as"))
    chat_id = _required_int(fields.get("chat"), "chat")
    reply_to = _int(fields.get("reply_to"), "reply_to", optional=True)
    caption = fields.get("caption", "")
    if utf16_len(caption) > CAPTION_LIMIT:
        raise SandboxRefusal("message caption is too long")
    message = await _world(request).send_file(
        user_id, chat_id, _plain_name(file_name), content, caption, reply_to
    )
    return web.json_response({"message": message})


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(
                max_size=limit, actual_size=size, reason="too large"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _plain_name(name: str) -> str:
    """The file's own name, without any folder a browser or a script may have sent."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name or "file"


async def press_view(request: web.Request) -> web.Response:
    body = await _body(request)
    user_id = await _person(request, body.get("as"))
    chat_id = _required_int(body.get("chat"), "chat")
    message_id = _required_int(body.get("message_id"), "message_id")
    data = body.get("data")
    if not isinstance(data, str) or not data:
        raise web.HTTPBadRequest(reason="data is required")
    answer = await _world(request).press(user_id, chat_id, message_id, data)
    return web.json_response({"answer": answer})


async def mini_app_view(request: web.Request) -> web.Response:
    """A Mini App button pressed: the address to open, with its signed launch data."""
    body = await _body(request)
    user_id = await _person(request, body.get("as"))
    chat_id = _required_int(body.get("chat"), "chat")
    message_id = _required_int(body.get("message_id"), "message_id")
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise web.HTTPBadRequest(reason="url is required")
    opened = await _world(request).open_mini_app(user_id, chat_id, message_id, url)
    return web.json_response({"url": opened})


async def read_view(request: web.Request) -> web.Response:
    body = await _body(request)
    user_id = await _person(request, body.get("as"))
    chat_id = _required_int(body.get("chat"), "chat")
    message_id = _required_int(body.get("message_id"), "message_id")
    await _world(request).mark_read(user_id, chat_id, message_id)
    return web.json_response({})


async def clock_view(request: web.Request) -> web.Response:
    body = await _body(request)
    user_id = await _person(request, body.get("as"))
    step = _CLOCK_STEPS.get(str(body.get("step")))
    if step is None:
        raise web.HTTPBadRequest(reason="step must be hour, day or next")
    clock = await _world(request).move_clock(step, user_id)
    return web.json_response({"clock": asdict(clock)})


async def file_view(request: web.Request) -> web.Response:
    name, mime, content = await _world(request).file(request.match_info["file_id"])
    mime = (mime or mimetypes.guess_type(name)[0] or "").lower()
    inline = mime in _INLINE_IMAGES
    disposition = "inline" if inline else "attachment"
    return web.Response(
        body=content,
        headers={
            "Content-Type": mime if inline else "application/octet-stream",
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name, safe='')}",
            # A file never runs anything, even when opened on its own.
            "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
        },
    )


async def events_view(request: web.Request) -> web.StreamResponse:
    user_id = await _person(request, request.query.get("as"))
    return await stream_events(request, request.app[HUB], _world(request), user_id)
