"""Validation of Telegram's ``parse_mode="HTML"`` dialect.

The parser follows the rules Telegram documents (and that tdlib implements) for HTML
formatting of messages:

* supported tags: ``b strong i em u ins s strike del span tg-spoiler a code pre blockquote
  tg-emoji tg-time`` (tag names are case-insensitive);
* ``span`` is only allowed with ``class="tg-spoiler"``; ``blockquote`` may carry the
  value-less ``expandable`` attribute; ``tg-emoji`` needs a numeric ``emoji-id``;
  ``tg-time`` needs a numeric ``unix`` attribute;
* named entities ``&lt; &gt; &amp; &quot;`` and numeric ``&#NNN;`` / ``&#xHH;`` references;
* every ``<`` starts a tag: a bare ``<`` that is not the start of a supported tag is an
  error, as are unknown, unclosed and mismatched tags.

Errors are raised as :class:`HtmlParseError` whose ``str()`` has the same shape as Telegram's
``Bad Request: can't parse entities: <reason> at byte offset N`` (without the prefix).

Deliberate deviation: real Telegram is lenient about ``&`` in message text -- an unknown
named entity (``&nbsp;``) or a ``&`` followed by letters without a terminating ``;``
(``AT&T``) is silently kept as literal text. The fake is *strict* by default
(``strict_entities=True``) because such text nearly always means the bot forgot to escape
user-provided content, which breaks as soon as the content contains ``<``. Attribute values
(e.g. ``href``) are always parsed leniently, like Telegram does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SUPPORTED_TAGS",
    "HtmlParseError",
    "parse_html",
    "parse_html_entities",
    "utf16_len",
]

SUPPORTED_TAGS: frozenset[str] = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "code",
        "pre",
        "blockquote",
    }
)

_SPACES = " \t\r\n\v\f"
_NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DEC_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_NAME_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")

_SIMPLE_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


class HtmlParseError(ValueError):
    """Telegram would answer ``400 Bad Request: can't parse entities: <str(self)>``."""

    def __init__(self, reason: str, byte_offset: int) -> None:
        super().__init__(reason, byte_offset)
        self.reason = reason
        self.byte_offset = byte_offset

    def __str__(self) -> str:
        return f"{self.reason} at byte offset {self.byte_offset}"


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (the unit Telegram measures text in)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    utf16_start: int
    byte_offset: int
    children: list[dict[str, Any]] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str, *, strict_entities: bool) -> None:
        self.text = text
        self.n = len(text)
        self.strict = strict_entities
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_OpenTag] = []

    # -- helpers -----------------------------------------------------------------------
    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8", "surrogatepass"))

    def error(self, reason: str, index: int) -> HtmlParseError:
        return HtmlParseError(reason, self.byte_offset(index))

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16 += utf16_len(chunk)

    def skip_spaces(self, i: int) -> int:
        while i < self.n and self.text[i] in _SPACES:
            i += 1
        return i

    def decode_entity(self, i: int, *, strict: bool) -> tuple[str | None, int]:
        """Decode a character reference starting at ``text[i] == '&'``.

        Returns ``(character, next_index)`` or ``(None, i)`` when the ``&`` is literal.
        """
        text, n = self.text, self.n
        j = i + 1
        if j < n and text[j] == "#":
            j += 1
            is_hex = j < n and text[j] in "xX"
            if is_hex:
                j += 1
            digits_start = j
            allowed = _HEX_DIGITS if is_hex else _DEC_DIGITS
            while j < n and text[j] in allowed:
                j += 1
            digits = text[digits_start:j]
            has_semicolon = j < n and text[j] == ";"
            shown = text[i : j + (1 if has_semicolon else 0)]
            value = int(digits, 16 if is_hex else 10) if digits else 0
            if value == 0 or value >= 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                if strict:
                    raise self.error(f'Invalid character reference "{shown}"', i)
                return None, i
            if has_semicolon:
                j += 1
            elif strict:
                raise self.error(f'Character reference "{shown}" must end with ";"', i)
            return chr(value), j
        if j < n and text[j] in _ASCII_LETTERS:
            while j < n and text[j] in _ASCII_LETTERS:
                j += 1
            name = text[i + 1 : j]
            has_semicolon = j < n and text[j] == ";"
            if not has_semicolon:
                if strict:
                    raise self.error(
                        f'Unescaped "&" followed by "{name}" without ";" (escape & as &amp;)',
                        i,
                    )
                if name not in _NAMED_ENTITIES:
                    return None, i
                return _NAMED_ENTITIES[name], j
            if name not in _NAMED_ENTITIES:
                if strict:
                    raise self.error(f'Unsupported HTML entity "&{name};"', i)
                return None, i
            return _NAMED_ENTITIES[name], j + 1
        return None, i

    # -- main loop -------------------------------------------------------------------
    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        text, n = self.text, self.n
        i = 0
        plain_start = 0
        while i < n:
            ch = text[i]
            if ch == "&":
                decoded, new_i = self.decode_entity(i, strict=self.strict)
                if decoded is None:
                    i += 1
                    continue
                self.emit(text[plain_start:i])
                self.emit(decoded)
                i = plain_start = new_i
                continue
            if ch != "<":
                i += 1
                continue
            self.emit(text[plain_start:i])
            i = self.end_tag(i) if i + 1 < n and text[i + 1] == "/" else self.start_tag(i)
            plain_start = i
        self.emit(text[plain_start:])
        if self.stack:
            top = self.stack[-1]
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{top.name}"', top.byte_offset
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        text, n = self.text, self.n
        i = begin + 1
        name_start = i
        while i < n and text[i] not in _SPACES and text[i] != ">":
            i += 1
        if i >= n:
            raise self.error("Unclosed start tag", begin)
        tag = text[name_start:i].lower()
        if tag not in SUPPORTED_TAGS:
            raise self.error(f'Unsupported start tag "{tag}"', begin)
        attrs: dict[str, str] = {}
        while True:
            i = self.skip_spaces(i)
            if i >= n:
                raise self.error(f'Unclosed start tag "{tag}"', begin)
            if text[i] == ">":
                i += 1
                break
            attr_start = i
            while i < n and text[i] not in _SPACES and text[i] not in "=>":
                i += 1
            attr = text[attr_start:i].lower()
            if not attr:
                raise self.error(f'Empty attribute name in the tag "{tag}"', begin)
            i = self.skip_spaces(i)
            if i >= n:
                raise self.error(f'Unclosed start tag "{tag}"', begin)
            if text[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    attrs[attr] = ""
                    continue
                raise self.error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"',
                    begin,
                )
            i = self.skip_spaces(i + 1)
            if i >= n:
                raise self.error(f'Unclosed start tag "{tag}"', begin)
            if text[i] in "\"'":
                quote = text[i]
                i += 1
                value_chars: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded, new_i = self.decode_entity(i, strict=False)
                        if decoded is not None:
                            value_chars.append(decoded)
                            i = new_i
                            continue
                    value_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise self.error(f'Unclosed start tag "{tag}"', begin)
                i += 1
                value = "".join(value_chars)
            else:
                token_start = i
                while i < n and text[i] in _NAME_TOKEN_CHARS:
                    i += 1
                if i >= n:
                    raise self.error(f'Unclosed start tag "{tag}"', begin)
                if text[i] not in _SPACES and text[i] != ">":
                    raise self.error("Unexpected end of name token", token_start)
                value = text[token_start:i].lower()
            attrs[attr] = value
        self.check_attributes(tag, attrs, begin)
        self.stack.append(_OpenTag(tag, attrs, self.utf16, self.byte_offset(begin)))
        return i

    def check_attributes(self, tag: str, attrs: dict[str, str], begin: int) -> None:
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        if tag == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise self.error("Invalid custom emoji identifier specified", begin)
        if tag == "tg-time" and not attrs.get("unix", "").lstrip("-").isdigit():
            raise self.error("Invalid Unix time specified", begin)

    def end_tag(self, begin: int) -> int:
        text, n = self.text, self.n
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        i = begin + 2
        name_start = i
        while i < n and text[i] not in _SPACES and text[i] != ">":
            i += 1
        end_name = text[name_start:i].lower()
        i = self.skip_spaces(i)
        if i >= n or text[i] != ">":
            raise self.error("Unclosed end tag", begin)
        top = self.stack[-1]
        if end_name and end_name != top.name:
            raise self.error(
                f'Unmatched end tag, expected "</{top.name}>", found "</{end_name}>"', begin
            )
        self.stack.pop()
        self.close_entity(top)
        return i + 1

    def close_entity(self, tag: _OpenTag) -> None:
        length = self.utf16 - tag.utf16_start
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": tag.utf16_start, "length": length}
        name = tag.name
        if name in _SIMPLE_ENTITY_TYPES:
            entity["type"] = _SIMPLE_ENTITY_TYPES[name]
            language = tag.attrs.get("class", "")
            if name == "code" and language.startswith("language-") and len(language) > 9:
                entity["language"] = language[9:]
            if name == "pre":
                # <pre><code class="language-x">...</code></pre> becomes one "pre" entity
                for other in list(self.entities):
                    if (
                        other["type"] == "code"
                        and other["offset"] == entity["offset"]
                        and other["length"] == length
                    ):
                        self.entities.remove(other)
                        if "language" in other:
                            entity["language"] = other["language"]
            elif (
                name == "code"
                and "language" in entity
                and not any(t.name == "pre" for t in self.stack)
            ):
                del entity["language"]
        elif name == "a":
            href = tag.attrs.get("href", "")
            if not href:
                return
            entity.update(type="text_link", url=href)
        elif name == "blockquote":
            entity["type"] = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
        elif name == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=tag.attrs["emoji-id"])
        elif name == "tg-time":
            entity.update(type="date_time", unix_time=int(tag.attrs["unix"]))
            if tag.attrs.get("format"):
                entity["date_time_format"] = tag.attrs["format"]
        else:  # pragma: no cover - SUPPORTED_TAGS and the branches above are in sync
            return
        self.entities.append(entity)


def parse_html_entities(
    text: str, *, strict_entities: bool = True
) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML; return the plain text and (simplified) MessageEntity dicts.

    Entity offsets and lengths are in UTF-16 code units. Raises :class:`HtmlParseError`.
    """
    return _Parser(text, strict_entities=strict_entities).parse()


def parse_html(text: str, *, strict_entities: bool = True) -> str:
    """Parse Telegram HTML and return the plain text. Raises :class:`HtmlParseError`."""
    return parse_html_entities(text, strict_entities=strict_entities)[0]
