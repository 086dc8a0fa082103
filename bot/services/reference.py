"""Reference data (`dieuphoi seed`): the six regional councils and the usual agencies.

The lists live in `bot/data/*.csv` so the secretariat can review them without reading code.
Agencies follow the 2025 government structure (17 ministries and ministry-level agencies)
and the 34 provincial-level units in force since 1 July 2025.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Agency, AgencyKind, Council
from bot.resources import shipped
from bot.services import audit

DATA_DIR = shipped("data")


@dataclass(frozen=True)
class SeedReport:
    councils_added: int
    councils_updated: int
    agencies_added: int
    agencies_updated: int


def _read(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def seed_reference_data(session: AsyncSession, now: datetime, actor: str) -> SeedReport:
    """Insert or refresh councils and agencies by code; running it twice changes nothing."""
    councils = {c.code: c for c in (await session.scalars(select(Council))).all()}
    c_added = c_updated = 0
    for row in _read("councils.csv"):
        council = councils.get(row["code"])
        if council is None:
            session.add(Council(code=row["code"], name_vi=row["name_vi"], name_en=row["name_en"]))
            c_added += 1
        elif (council.name_vi, council.name_en) != (row["name_vi"], row["name_en"]):
            council.name_vi, council.name_en = row["name_vi"], row["name_en"]
            c_updated += 1

    agencies = {a.code: a for a in (await session.scalars(select(Agency))).all()}
    a_added = a_updated = 0
    for row in _read("agencies.csv"):
        kind = AgencyKind(row["kind"])
        agency = agencies.get(row["code"])
        if agency is None:
            session.add(
                Agency(code=row["code"], name_vi=row["name_vi"], name_en=row["name_en"], kind=kind)
            )
            a_added += 1
        elif (agency.name_vi, agency.name_en, agency.kind) != (
            row["name_vi"],
            row["name_en"],
            kind,
        ):
            agency.name_vi, agency.name_en, agency.kind = row["name_vi"], row["name_en"], kind
            a_updated += 1

    report = SeedReport(c_added, c_updated, a_added, a_updated)
    if any((c_added, c_updated, a_added, a_updated)):
        audit.record(session, now, actor, "seed", **report.__dict__)
    return report
