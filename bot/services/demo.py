"""`dieuphoi seed --demo`: sample meetings and tasks from letter 6411/VPCP-KTTH (Q4 2023).

The data lives in bot/data/demo.toml. Loading it twice adds nothing: a meeting is
known by council, title and start, a task by council, title and deadline.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Agency, AgencyKind, Council, Meeting, Task, TaskAgency
from bot.periods import parse_due
from bot.schedule import Timing
from bot.services import audit
from bot.services.reference import DATA_DIR

DEMO_ACTOR = "demo"


@dataclass(frozen=True)
class DemoReport:
    meetings_added: int
    tasks_added: int


def _load() -> dict[str, Any]:
    with (DATA_DIR / "demo.toml").open("rb") as handle:
        return tomllib.load(handle)


async def seed_demo(session: AsyncSession, now: datetime, timing: Timing) -> DemoReport:
    data = _load()
    agencies = {a.code: a for a in (await session.scalars(select(Agency))).all()}
    for row in data.get("agencies", []):
        if row["code"] not in agencies:
            agency = Agency(
                code=row["code"],
                kind=AgencyKind(row["kind"]),
                name_vi=row["name_vi"],
                name_en=row["name_en"],
            )
            session.add(agency)
            agencies[agency.code] = agency
    await session.flush()
    councils = {c.code: c for c in (await session.scalars(select(Council))).all()}
    meetings_added = tasks_added = 0
    for item in data["meetings"]:
        for code, start in item["starts"].items():
            council = councils[code]
            starts_at = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=timing.tz)
            exists = await session.scalar(
                select(Meeting.id).where(
                    Meeting.council_id == council.id,
                    Meeting.title == item["title"],
                    Meeting.starts_at == starts_at,
                )
            )
            if exists is not None:
                continue
            session.add(
                Meeting(
                    council_id=council.id,
                    title=item["title"],
                    place=item.get("place"),
                    starts_at=starts_at,
                    revision=1,
                    planned_at=now,
                    created_at=now,
                    created_by=DEMO_ACTOR,
                )
            )
            meetings_added += 1
    for item in data["tasks"]:
        due = parse_due(item["due"])
        for code, council in councils.items():
            codes: list[str] = []
            for name in item["agencies"]:
                codes += data["provinces"].get(code, []) if name == "provinces" else [name]
            exists = await session.scalar(
                select(Task.id).where(
                    Task.council_id == council.id,
                    Task.title == item["title"],
                    Task.due_on == due.day,
                )
            )
            if exists is not None or not codes:
                continue
            session.add(
                Task(
                    council_id=council.id,
                    title=item["title"],
                    due_on=due.day,
                    period=due.period,
                    ref=data["ref"],
                    created_at=now,
                    created_by=DEMO_ACTOR,
                    assignments=[TaskAgency(agency_id=agencies[c].id) for c in codes],
                )
            )
            tasks_added += 1
    report = DemoReport(meetings_added, tasks_added)
    if meetings_added or tasks_added:
        audit.record(session, now, audit.CLI_ACTOR, "seed.demo", **report.__dict__)
    return report
