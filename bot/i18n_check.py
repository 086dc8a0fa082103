"""Check the catalogs: every msgid in the code has a Vietnamese translation with the same
placeholders. Run with `python -m bot.i18n_check` (or `scripts/i18n.sh check`)."""

from __future__ import annotations

import re
import sys
from importlib.resources import files
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALE_DIR

KEYWORDS = {"_": None, "N_": None, "msg": (1,), "ngettext": (1, 2)}
_FIELD = re.compile(r"\{(\w*)\}")
# As babel.cfg: the desk's templates (web/templates) hold texts too; the local Bot API
# server (bot/sandbox/telegram) speaks for Telegram, not for the bot.
_TEMPLATES = "**/templates/**.html"
_METHODS = [
    ("sandbox/telegram/**.py", "ignore"),
    (_TEMPLATES, "jinja2"),
    ("**.py", "python"),
]
_OPTIONS = {_TEMPLATES: {"extensions": "jinja2.ext.i18n"}}


def code_msgids() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers", "jobs", "web"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(files(package)), method_map=_METHODS, options_map=_OPTIONS, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def problems(locale: str = "vi") -> list[str]:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with Path(po_path).open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    found = []
    for msgid in sorted(code_msgids()):
        entry = catalog.get(msgid)
        if entry is None:
            found.append(f"{locale}: missing from the catalog: {msgid!r}")
            continue
        raw = entry.string
        strings = [str(s) for s in raw] if isinstance(raw, (tuple, list)) else [str(raw or "")]
        if entry.fuzzy or not all(strings):
            found.append(f"{locale}: not translated: {msgid!r}")
            continue
        wanted = set(_FIELD.findall(msgid))
        for string in strings:
            if set(_FIELD.findall(string)) != wanted:
                found.append(f"{locale}: placeholders differ in {msgid!r} -> {string!r}")
    return found


def main() -> int:
    issues = problems("vi")
    for issue in issues:
        print(issue, file=sys.stderr)
    print(f"{len(issues)} problem(s) in the Vietnamese catalog")
    return 1 if issues else 0


if __name__ == "__main__":
    raise SystemExit(main())
