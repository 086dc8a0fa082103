"""Put people on the roster and register them the way real users do: through /start."""

from __future__ import annotations

from bot.db import transaction
from bot.models import Member
from bot.services import roster
from tests.fakebotapi import FakeUser
from tests.harness import BotHarness
from tests.rosters import csv_bytes, person


async def enrol(bot: BotHarness, *rows: list[str]) -> list[tuple[Member, str]]:
    """Add roster rows (nobody else loses a seat); returns each new member with its
    invite token."""
    parsed = roster.read_roster("roster.csv", csv_bytes(list(rows)))
    async with transaction(bot.sessions) as session:
        report = await roster.import_roster(
            session, bot.clock.now(), parsed, by=None, remove_unlisted=False
        )
    assert report.errors == [], report.errors
    return report.new_members


async def registered(
    bot: BotHarness,
    name: str = "Nguyễn Văn An",
    council: str = "DBSH",
    agency: str = "BTC",
    language_code: str = "vi",
    **row: str,
) -> FakeUser:
    """A Telegram user who is a registered member (pressed the invite link)."""
    [(member, token)] = await enrol(bot, person(council, name, agency, **row))
    user = bot.api.add_user(first_name=name.split()[-1], language_code=language_code)
    answer = await bot.say(user, f"/start {token}")
    assert member.full_name in answer["text"], answer["text"]
    return user
