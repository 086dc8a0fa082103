"""The commands the bot offers, for the command menus and /help, defined once."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_


@dataclass(frozen=True)
class Command:
    name: str
    menu: str  # short description for Telegram's command menu (≤ 256 characters)
    usage: str  # the line shown in /help: how to call it


MEMBER_COMMANDS = (
    Command(
        "start", N_("Register with your invitation link"), N_("/start — register or say hello")
    ),
    Command("help", N_("What you can do here"), N_("/help — this list")),
    Command(
        "whoami",
        N_("Your name, agency, councils and roles"),
        N_("/whoami — what the bot knows about you"),
    ),
    Command(
        "lang",
        N_("Change language: vi or en"),
        N_("/lang vi|en — change the language, e.g. /lang en"),
    ),
)

ADMIN_COMMANDS = (
    Command(
        "import",
        N_("Import a roster (CSV/XLSX as a document)"),
        N_("/import — send a CSV or XLSX roster as a document with this caption"),
    ),
    Command(
        "link",
        N_("Link this group to a council"),
        N_("/link COUNCIL — in a group: link it to a council, e.g. /link DBSH"),
    ),
    Command("unlink", N_("Unlink this group"), N_("/unlink — in a group: unlink it")),
)

GROUP_COMMANDS = (Command("help", N_("What the bot does in this group"), N_("/help — this list")),)
