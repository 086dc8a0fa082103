"""The world a first visit finds: the councils and agencies, a secretariat officer, a
dozen officials of ministries and provinces in two councils, a linked group per council,
and work from letter 6411/VPCP-KTTH and Resolution 57/NQ-CP due in the coming days.

People are put on the roster by the roster service and register the way real people
do: each presses Start with their invite (one deliberately never does, so the group
fallback shows). Each group is linked with the real /link command of the officer. So
what the sandbox shows is what the bot made of it, not rows written behind its back.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Sessionmaker, transaction
from bot.documents import parse_document
from bot.formats import numeric_day
from bot.models import Agency, Council, Task, TaskAgency
from bot.outbox.plan import plan_task
from bot.sandbox.local_telegram import LocalTelegram
from bot.sandbox.telegram import FakeChat, FakeUser
from bot.schedule import Timing
from bot.services import admins, audit, invites, meetings, reference, roster, tasks
from bot.services.demo import DEMO_ACTOR
from bot.services.people import TelegramIdentity

log = logging.getLogger(__name__)

# How long the seeding waits for each of the bot's answers.
ANSWER_PATIENCE = 20.0


@dataclass(frozen=True)
class Official:
    council: str
    name: str
    position: str
    agency: str  # code
    language: str = "vi"
    presses_start: bool = True


OFFICER_NAME = "Đỗ Thị Phương Thảo"
OFFICER_POSITION = "Chuyên viên chính, Cơ quan thường trực Hội đồng"

CAST: tuple[Official, ...] = (
    Official("DBSH", "Nguyễn Văn Hùng", "Vụ trưởng Vụ Kinh tế địa phương và lãnh thổ", "BTC"),
    Official("DBSH", "Trần Thị Thu Hà", "Phó Vụ trưởng Vụ Quy hoạch - Kiến trúc", "BXD"),
    Official("DBSH", "Lê Minh Tuấn", "Phó Chủ tịch Ủy ban nhân dân thành phố", "HN"),
    Official("DBSH", "Phạm Thị Lan", "Giám đốc Sở Tài chính", "HP"),
    Official("DBSH", "Hoàng Đức Thắng", "Phó Giám đốc Sở Tài chính", "QNI"),
    Official("DBSH", "Vũ Thị Hồng Nhung", "Chánh Văn phòng UBND tỉnh", "BN", presses_start=False),
    Official("DBSCL", "Đặng Quốc Bảo", "Vụ trưởng Vụ Kế hoạch - Tài chính", "BNNMT"),
    Official("DBSCL", "Bùi Thị Mai", "Phó Vụ trưởng Vụ Kế hoạch", "BCT", language="en"),
    Official("DBSCL", "Ngô Thanh Sơn", "Phó Chủ tịch Ủy ban nhân dân thành phố", "CT"),
    Official("DBSCL", "Huỳnh Văn Phúc", "Giám đốc Sở Tài chính", "VL"),
    Official("DBSCL", "Lý Thị Kim Ngân", "Phó Giám đốc Sở Nông nghiệp và Môi trường", "AG"),
    Official("DBSCL", "Trương Minh Khôi", "Giám đốc Sở Xây dựng", "CM"),
)

GROUPS = {
    "DBSH": "HĐĐP vùng Đồng bằng sông Hồng",
    "DBSCL": "HĐĐP vùng Đồng bằng sông Cửu Long",
}

LETTER = "6411/VPCP-KTTH ngày 19/8/2023"
RESOLUTION = "57/NQ-CP"


async def seed_world(
    telegram: LocalTelegram, sessions: Sessionmaker, timing: Timing, now: datetime
) -> None:
    """Seed once (the caller saves the local server's state afterwards)."""
    officer = telegram.add_user(OFFICER_NAME, language_code="vi")
    people = [
        {
            "id": officer.id,
            "name": OFFICER_NAME,
            "position": OFFICER_POSITION,
            "agency": "",
            "is_admin": True,
            "language": "vi",
        }
    ]
    users: list[tuple[Official, FakeUser]] = []
    async with transaction(sessions) as session:
        await reference.seed_reference_data(session, now, DEMO_ACTOR)
        await admins.add_admin(session, now, officer.id, OFFICER_NAME, DEMO_ACTOR)
        agency_names = {a.code: a.name_vi for a in (await session.scalars(select(Agency))).all()}
        report = await roster.import_roster(
            session, now, roster.read_roster("roster.csv", _roster_csv()), by=None,
            remove_unlisted=False,
        )  # fmt: skip
        if report.errors:
            raise RuntimeError(f"the sandbox roster was refused: {report.errors}")
        invites_of = {member.full_name: token for member, token in report.new_members}
    for official in CAST:
        user = telegram.add_user(official.name, language_code=official.language)
        users.append((official, user))
        people.append(
            {
                "id": user.id,
                "name": official.name,
                "position": official.position,
                "agency": agency_names.get(official.agency, official.agency),
                "is_admin": False,
                "language": official.language,
            }
        )
    telegram.extra["people"] = people

    await _say(telegram, officer, "/start")
    for official, user in users:
        if official.presses_start:
            await _say(telegram, user, f"/start {invites_of[official.name]}")
    async with transaction(sessions) as session:
        for official, user in users:
            if not official.presses_start:
                # Her account is known (her invite was redeemed for it, as if opened on
                # another device) but she never pressed Start in this chat: the bot may not
                # write to her first, so her reminders go to the council's group, naming her.
                identity = TelegramIdentity(user.id, user.first_name, language_code="vi")
                await invites.redeem_invite(session, now, identity, invites_of[official.name])
    for code, title in GROUPS.items():
        group = telegram.add_group(title)
        since = len(telegram.sent)
        telegram.add_bot_to_group(group, officer)
        await telegram.wait_for_message(group.id, timeout=ANSWER_PATIENCE, since=since)
        telegram.join(group, officer, "administrator")
        for official, user in users:
            if official.council == code:
                telegram.join(group, user)
        await _say(telegram, officer, f"/link {code}", group)

    async with transaction(sessions) as session:
        await _work(session, timing, now)
    log.info("sandbox: the world is seeded (%s people)", len(people))


def _roster_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["council", "full_name", "position", "agency", "role", "language"])
    for o in CAST:
        writer.writerow([o.council, o.name, o.position, o.agency, "member", o.language])
    return buffer.getvalue().encode("utf-8")


async def _say(
    telegram: LocalTelegram, user: FakeUser, text: str, chat: FakeChat | None = None
) -> None:
    """The person writes; the seeding goes on once the bot has answered."""
    since = len(telegram.sent)
    telegram.send_message(user, text, chat=chat)
    await telegram.wait_for_message(
        chat.id if chat is not None else user.id, timeout=ANSWER_PATIENCE, since=since
    )


async def _work(session: AsyncSession, timing: Timing, now: datetime) -> None:
    """Meetings and tasks of both councils, moved into the coming days: a reminder to
    answer today (or at the next working morning), a task just past its deadline (the
    nudges begin in a day or two), meetings whose reminders come within the week."""
    calendar = timing.calendar
    today = now.astimezone(timing.tz).date()
    soon = calendar.add_working_days(today, 1)
    later = calendar.add_working_days(today, 15)
    meeting_day = calendar.add_working_days(today, 2)
    review_day = calendar.add_working_days(today, 7)
    for code, agencies in (("DBSH", "BTC,HN,HP,QNI,BN"), ("DBSCL", "BNNMT,CT,VL,AG,CM")):
        await tasks.create_task(
            session, now, None, timing,
            f"{code} {agencies} {numeric_day(soon)} | Báo cáo đề xuất thành lập Quỹ phát "
            f"triển hạ tầng vùng | ref={LETTER}",
            DEMO_ACTOR,
        )  # fmt: skip
        await tasks.create_task(
            session, now, None, timing,
            f"{code} {agencies} {numeric_day(later)} | Báo cáo tình hình triển khai quy "
            f"hoạch tỉnh thời kỳ 2021–2030 | ref={LETTER}",
            DEMO_ACTOR,
        )  # fmt: skip
        await _overdue_task(session, timing, now, code, agencies.split(","), today)
        await meetings.create_meeting(
            session, now, None, timing,
            f"{code} {numeric_day(meeting_day)} 09:00 | Hội nghị Hội đồng điều phối vùng: "
            "góp ý dự thảo Quy hoạch vùng thời kỳ 2021–2030, tầm nhìn đến năm 2050 "
            "| Văn phòng Chính phủ, Hà Nội",
            DEMO_ACTOR,
        )  # fmt: skip
        await meetings.create_meeting(
            session, now, None, timing,
            f"{code} {numeric_day(review_day)} 14:00 | Sơ kết hoạt động của Hội đồng, "
            f"triển khai Nghị quyết số {RESOLUTION} | Trực tuyến",
            DEMO_ACTOR,
        )  # fmt: skip


async def _overdue_task(
    session: AsyncSession, timing: Timing, now: datetime, code: str, agencies: list[str],
    today: date,
) -> None:  # fmt: skip
    """A report whose deadline was the last working day: /newtask refuses a past deadline,
    so it is entered as `seed --demo` enters its tasks, then planned (nudges only)."""
    due_on = timing.calendar.previous_working_day(today)
    council = await session.scalar(select(Council).where(Council.code == code))
    found = {
        a.code: a
        for a in (await session.scalars(select(Agency).where(Agency.code.in_(agencies)))).all()
    }
    assert council is not None
    task = Task(
        council_id=council.id,
        council=council,
        title=f"Báo cáo kết quả triển khai Nghị quyết số {RESOLUTION} trên địa bàn",
        due_on=due_on,
        period=None,
        ref=parse_document(RESOLUTION).stored(),
        created_at=now,
        created_by=DEMO_ACTOR,
        assignments=[TaskAgency(agency_id=a.id, agency=a) for a in found.values()],
    )
    session.add(task)
    await session.flush()
    await plan_task(session, task, timing, now)
    audit.record(session, now, DEMO_ACTOR, "seed.sandbox", task_id=task.id)
