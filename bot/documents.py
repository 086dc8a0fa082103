"""Documents cited as the source of a task (`ref=` on /newtask): "6411/VPCP-KTTH ngày 19/8/2023".

A Vietnamese administrative document is identified by its number and symbol (số, ký
hiệu) and its date (Decree 30/2020/NĐ-CP, appendix I). The symbol says what the document
is and who issued it:

    24/NQ-CP         type NQ (Nghị quyết) by CP (Chính phủ)
    1234/QĐ-TTg      type QĐ (Quyết định) by TTg (Thủ tướng Chính phủ)
    15/2025/NĐ-CP    a decree with its year before the symbol
    6411/VPCP-KTTH   no type: an official letter (công văn) by VPCP, drafted by its unit KTTH

The known types and issuers are in bot/data/document_types.csv and
document_issuers.csv. bot/formats.py writes a document out in full; this module only
reads and describes one. Pure functions, no database.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache

from bot.periods import DueFormatError, parse_due
from bot.resources import shipped

# Number, then "/"-separated parts of letters, digits and "-" with at least one letter:
# "6411/VPCP-KTTH", "15/2025/NĐ-CP", "123/ABC".
_SYMBOL = re.compile(r"\d+[a-z]?(?:/[\w-]+)+", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")
# The date as given: "ngày 19/8/2023", "19/08/2023", "19.8.2023",
# "ngày 19 tháng 8 năm 2023" (as printed under a letter's header).
_SPELLED_DATE = re.compile(
    r"(?:ngày\s+)?(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})"
)
_YEAR_PART = re.compile(r"\d{4}")


class DocumentFormatError(ValueError):
    """Not a cited document; str() is a short English reason."""


@dataclass(frozen=True)
class Document:
    symbol: str  # number and symbol as written: "6411/VPCP-KTTH"
    issued_on: date | None

    def stored(self) -> str:
        """How it is kept in the database: '6411/VPCP-KTTH ngày 19/08/2023'."""
        if self.issued_on is None:
            return self.symbol
        return f"{self.symbol} ngày {self.issued_on:%d/%m/%Y}"


@dataclass(frozen=True)
class Names:
    vi: str
    en: str


@dataclass(frozen=True)
class Described:
    """What the symbol tells: the document's type and issuer, when known."""

    kind: Names | None
    issuer: Names | None


# An official letter (công văn) has no type code: its symbol starts with the issuer.
OFFICIAL_LETTER = Names("Công văn", "Official letter")


def _key(code: str) -> str:
    return unicodedata.normalize("NFC", code).casefold()


@cache
def _table(name: str) -> dict[str, Names]:
    with shipped("data", name).open(encoding="utf-8", newline="") as handle:
        return {_key(r["code"]): Names(r["name_vi"], r["name_en"]) for r in csv.DictReader(handle)}


def _types() -> dict[str, Names]:
    return _table("document_types.csv")


def _issuers() -> dict[str, Names]:
    return _table("document_issuers.csv")


def _parse_date(text: str) -> date:
    if m := _SPELLED_DATE.fullmatch(text.casefold()):
        text = f"{m['d']}/{m['m']}/{m['y']}"
    try:
        due = parse_due(text)
    except DueFormatError as error:
        raise DocumentFormatError(f"not a date: {text!r} ({error})") from None
    if due.period is not None:
        raise DocumentFormatError(f"not a date: {text!r}")
    return due.day


def parse_document(text: str) -> Document:
    """Read a cited document: its number and symbol, optionally followed by its date."""
    norm = " ".join(unicodedata.normalize("NFC", text).split())
    norm = re.sub(r"^(?:số|so|no\.?)\s+", "", norm, flags=re.IGNORECASE)
    symbol, _space, rest = norm.partition(" ")
    if not _SYMBOL.fullmatch(symbol) or not _LETTER.search(symbol.partition("/")[2]):
        raise DocumentFormatError(f"not a document number and symbol: {text.strip()!r}")
    return Document(symbol, _parse_date(rest) if rest else None)


def describe(document: Document) -> Described:
    """The type and issuer the symbol names ("NQ-CP": a resolution of the Government)."""
    parts = [p for p in document.symbol.split("/")[1:] if not _YEAR_PART.fullmatch(p)]
    if not parts:
        return Described(None, None)
    codes = parts[-1].split("-")
    kind = _types().get(_key(codes[0]))
    if kind is not None:
        issuer = _issuers().get(_key(codes[1])) if len(codes) > 1 else None
        return Described(kind, issuer)
    issuer = _issuers().get(_key(codes[0]))
    return Described(OFFICIAL_LETTER if issuer is not None else None, issuer)
