"""Translations (gettext catalogs under `locale/`); dates and times are in bot/formats.py.

The locale is decided once per update (or per job recipient) with `use_locale`, and every
text goes through `_()` at the moment it is used. Catalogs are read from the package
(`bot/locale`, bot/resources.py): from the compiled `.mo` when it is up to date, else
compiled in memory from the `.po`, so neither a fresh clone nor an installed wheel needs a
`pybabel compile`.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import SUPPORTED_LOCALES
from bot.resources import shipped

# The catalogs, from the package (bot/locale is the repository's locale/ folder).
LOCALE_DIR = shipped("locale")
DOMAIN = "messages"

_locale: ContextVar[str] = ContextVar("dieuphoi_locale", default="vi")

# The standing agency the bot speaks for (SECRETARIAT_NAME). One process speaks for one
# agency, so the application sets it once at start-up (`speak_for`); every text that names
# the agency gets it as `{secretariat}`.
DEFAULT_SECRETARIAT_NAME = "Cơ quan thường trực Hội đồng"
# The default name in English texts, written to sit inside a sentence ("Announcement from
# the Council's standing agency", "please ask the Council's standing agency for a link").
DEFAULT_SECRETARIAT_NAME_EN = "the Council's standing agency"
_secretariat = {"vi": DEFAULT_SECRETARIAT_NAME, "en": DEFAULT_SECRETARIAT_NAME_EN}


class CatalogMissingError(RuntimeError):
    """A language has no catalog: an install problem, never silently English."""


@cache
def _catalog(locale: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    folder = locale_dir / locale / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if not po.exists():
        raise CatalogMissingError(f"no catalog for {locale!r} in {folder}")
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def load_catalogs() -> None:
    """Load every catalog now, so a broken install fails at start-up, not mid-conversation."""
    for locale in SUPPORTED_LOCALES:
        _catalog(locale)


def speak_for(secretariat_name: str, in_english: str | None = None) -> None:
    """Name the standing agency in every text from now on (at start-up, from the settings:
    SECRETARIAT_NAME and SECRETARIAT_NAME_EN). Without an English name, a changed name is a
    proper name and shown as given; the default one is translated."""
    global _secretariat
    if in_english is None:
        default = secretariat_name == DEFAULT_SECRETARIAT_NAME
        in_english = DEFAULT_SECRETARIAT_NAME_EN if default else secretariat_name
    _secretariat = {"vi": secretariat_name, "en": in_english}


def secretariat_name() -> str:
    """The standing agency's name in the current language."""
    return _secretariat.get(current_locale(), _secretariat["vi"])


def current_locale() -> str:
    return _locale.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _locale.set(locale if locale in SUPPORTED_LOCALES else "vi")
    try:
        yield
    finally:
        _locale.reset(token)


def set_locale(locale: str) -> None:
    """Set the locale for the rest of this task (one update is handled in one task)."""
    _locale.set(locale if locale in SUPPORTED_LOCALES else "vi")


def _(message: str) -> str:
    """Translate into the current locale."""
    return _catalog(_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog(_locale.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a text for extraction without translating it yet."""
    return message


@dataclass(frozen=True)
class Msg:
    """A text to translate later, in the reader's locale, with its parameters.

    Services return these (they do not know who reads); handlers and the CLI render them.
    """

    msgid: str
    params: dict[str, object] = field(default_factory=dict)
    # A person's own words echoed back: neither translated nor formatted.
    verbatim: bool = False

    def render(self) -> str:
        if self.verbatim:
            return self.msgid
        return _(self.msgid).format(**{"secretariat": secretariat_name(), **self.params})


def msg(msgid: str, **params: object) -> Msg:
    return Msg(msgid, params)


def verbatim(text: str) -> Msg:
    return Msg(text, verbatim=True)


def pick_locale(
    chosen: str | None, roster: str | None, telegram_code: str | None, default: str
) -> str:
    """The reader's language: /lang, else the roster's, else Telegram's, else the default."""
    for candidate in (chosen, roster, _base_language(telegram_code)):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return default


def _base_language(code: str | None) -> str | None:
    # Telegram sends IETF tags such as "en-US" or "vi".
    if not code:
        return None
    return code.replace("_", "-").split("-")[0].lower()


# --- dates and times: written in bot/formats.py, kept importable from here ----------------
# bot.formats needs `_` from this module, so these delegate at call time instead of being
# imported at the top (that would be an import cycle).


def format_day(
    value: date | datetime, tz: ZoneInfo, locale: str | None = None, *, weekday: bool = True
) -> str:
    from bot import formats

    return formats.format_day(value, tz, locale, weekday=weekday)


def format_moment(value: datetime, tz: ZoneInfo, locale: str | None = None) -> str:
    from bot import formats

    return formats.format_moment(value, tz, locale)


def format_days_left(days: int) -> str:
    from bot import formats

    return formats.format_days_left(days)


def format_time_left(delta: timedelta, locale: str | None = None) -> str:
    from bot import formats

    return formats.format_time_left(delta, locale)
