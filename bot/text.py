"""HTML for Telegram: one escaping helper and one splitter for every text the bot sends."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

TELEGRAM_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


class Html(str):
    """Markup that is already safe to send (built by this module, never from user data)."""

    __slots__ = ()


def escape(value: object) -> Html:
    """Escape data for Telegram's HTML parse mode; `Html` values pass through."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=False))


def html_format(template: str, **params: object) -> Html:
    """Fill a (translated) template with data, escaping every value that is not `Html`.

    The template itself may hold markup such as <b>…</b>; it is ours, from the catalogs.
    """
    return Html(template.format(**{key: escape(value) for key, value in params.items()}))


def bold(value: object) -> Html:
    return Html(f"<b>{escape(value)}</b>")


def code(value: object) -> Html:
    return Html(f"<code>{escape(value)}</code>")


def mention(telegram_user_id: int, name: str) -> Html:
    """A link that mentions a person by name (notifies them in a group)."""
    return Html(f'<a href="tg://user?id={int(telegram_user_id)}">{escape(name)}</a>')


def join_lines(lines: Sequence[str]) -> Html:
    return Html("\n".join(lines))


_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")


def visible_text(text: str) -> str:
    """What Telegram shows of this HTML: the text without its tags and entities."""
    return html.unescape(_TAG.sub("", text))


def visible_length(text: str) -> int:
    """Length as Telegram counts it: after HTML parsing, in UTF-16 code units."""
    return len(visible_text(text).encode("utf-16-le")) // 2


def split_message(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split at line boundaries so every part fits; never cut a line unless it alone is too long.

    Our texts keep each HTML element on one line, so a line boundary never splits a tag.
    A single line longer than the limit (only possible with user text) is cut at spaces,
    or anywhere outside an entity, and its pieces fill whole parts.
    """
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        length = visible_length(line)
        if length > limit:
            if current:
                parts.append("\n".join(current))
            *full, line = _cut_line(line, limit)
            parts.extend(full)
            current, size = [line], visible_length(line)
            continue
        if current and size + 1 + length > limit:
            parts.append("\n".join(current))
            current, size = [], 0
        size += length + (1 if current else 0)
        current.append(line)
    if current:
        parts.append("\n".join(current))
    return [part for part in parts if part.strip()] or [text]


def _cut_line(line: str, limit: int) -> list[str]:
    if _TAG.search(line):
        # A huge marked-up line: drop the markup rather than send broken tags.
        line = html.escape(html.unescape(_TAG.sub("", line)), quote=False)
    pieces = []
    while visible_length(line) > limit:
        cut = _longest_prefix(line, limit)
        space = line.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space + 1  # prefer a word boundary when one is reasonably close
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def _longest_prefix(line: str, limit: int) -> int:
    """The longest prefix with at most `limit` visible units that does not split an entity."""
    low, high = 1, len(line)
    while low < high:  # binary search: visible length grows with the prefix
        middle = (low + high + 1) // 2
        if visible_length(line[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    amp = line.rfind("&", 0, low)
    if amp > 0 and ";" not in line[amp:low]:
        low = amp
    return low
