"""A meeting's attendance list (SPEC §1 `export --what attendance`, §3 `/export MEETING_ID`):
"DANH SÁCH ĐĂNG KÝ DỰ HỌP" as the secretariat files it, one row per member of the council
with their answer and, for a delegate, who goes instead.

Vietnamese whatever the reader's language, like every file the secretariat files
(bot/services/exports.py); the layout is bot/services/sheets.py.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.formats import format_moment, numeric_day
from bot.i18n import msg
from bot.models import (
    AgencyKind,
    CouncilMembership,
    Meeting,
    MeetingResponse,
    Member,
    Role,
    RsvpAnswer,
)
from bot.services import audit
from bot.services.errors import NotFoundError
from bot.services.people import Requester
from bot.services.permissions import require_admin
from bot.services.roster_columns import VIETNAMESE_ROLES
from bot.services.sheets import Column, Title, fill_sheet

SHEET = "Đăng ký dự họp"
HEADING = "DANH SÁCH ĐĂNG KÝ DỰ HỌP"
NO_ANSWER = "Chưa trả lời"
ANSWER_WORDS = {
    RsvpAnswer.ATTEND: "Dự họp",
    RsvpAnswer.ABSENT: "Vắng",
    RsvpAnswer.DELEGATE: "Cử người dự thay",
}
COLUMNS = (
    Column("Họ và tên", 26, wrap=True),
    Column("Chức vụ", 30, wrap=True),
    Column("Cơ quan", 32, wrap=True),
    Column("Vai trò", 16, wrap=True),
    Column("Đăng ký", 16),
    Column("Người dự thay (họ tên, chức vụ)", 36, wrap=True),
)
# Who comes first on the list: by role (the Role order), then ministries before
# provinces, as a council's membership decision lists them.
_KIND_ORDER = {AgencyKind.MINISTRY: 0, AgencyKind.PROVINCE: 1, AgencyKind.OTHER: 2}


@dataclass(frozen=True)
class AttendanceFile:
    meeting: Meeting
    content: bytes
    count: int  # people listed

    def file_name(self) -> str:
        """`dang-ky-du-hop-5.xlsx` for meeting #5."""
        return f"dang-ky-du-hop-{self.meeting.id}.xlsx"


async def attendance_list(
    session: AsyncSession,
    who: Requester | None,
    meeting_id: int,
    tz: ZoneInfo,
    now: datetime,
    *,
    council_code: str | None = None,
) -> AttendanceFile:
    """Check the requester (admins; None is the command line), find the meeting (of that
    council, when one is named) and build its list; recorded in the audit log."""
    require_admin(who)
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFoundError(msg("There is no meeting #{id}.", id=meeting_id))
    code = (council_code or meeting.council.code).strip().upper()
    if meeting.council.code != code:
        raise NotFoundError(
            msg("Meeting #{id} is not a meeting of {code}.", id=meeting_id, code=code)
        )
    rows = await attendance_rows(session, meeting)
    content = _workbook(meeting, rows, tz, now.astimezone(tz).date())
    audit.record(
        session,
        now,
        audit.CLI_ACTOR if who is None else audit.telegram_actor(who.telegram_user_id),
        "export",
        format="xlsx",
        what="attendance",
        meeting=meeting.id,
        rows=len(rows),
    )
    return AttendanceFile(meeting, content, len(rows))


@dataclass(frozen=True)
class AttendanceRow:
    member: Member
    role: str
    answer: RsvpAnswer | None
    delegate: str | None

    def values(self) -> list[object]:
        return [
            self.member.full_name,
            self.member.position or None,
            self.member.agency.name_vi,
            self.role,
            ANSWER_WORDS[self.answer] if self.answer is not None else NO_ANSWER,
            self.delegate,
        ]


async def attendance_rows(session: AsyncSession, meeting: Meeting) -> list[AttendanceRow]:
    """Everyone seated in the council (removed members are not), with their answer."""
    seats = (
        await session.execute(
            select(CouncilMembership, Member)
            .join(Member, Member.id == CouncilMembership.member_id)
            .where(CouncilMembership.council_id == meeting.council_id, Member.removed_at.is_(None))
        )
    ).all()
    answers = {
        r.member_id: r
        for r in await session.scalars(
            select(MeetingResponse).where(MeetingResponse.meeting_id == meeting.id)
        )
    }
    ranks = {role: index for index, role in enumerate(Role)}
    ordered = sorted(
        seats,
        key=lambda seat: (
            ranks[seat[0].role],
            _KIND_ORDER[seat[1].agency.kind],
            seat[1].agency.name_vi,
            seat[1].full_name,
        ),
    )
    rows = []
    for seat, member in ordered:
        response = answers.get(member.id)
        rows.append(
            AttendanceRow(
                member=member,
                role=VIETNAMESE_ROLES[seat.role][0],
                answer=response.answer if response else None,
                delegate=response.delegate if response else None,
            )
        )
    return rows


def _workbook(meeting: Meeting, rows: list[AttendanceRow], tz: ZoneInfo, today: date) -> bytes:
    lines = [
        HEADING,
        meeting.title,
        meeting.council.name_vi,
        f"Thời gian: {format_moment(meeting.starts_at, tz, 'vi')}",
    ]
    if meeting.place:
        lines.append(f"Địa điểm: {meeting.place}")
    if meeting.cancelled_at is not None:
        lines.append("(Cuộc họp đã hủy)")
    lines.append(f"(Tổng hợp đến ngày {numeric_day(today)})")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET
    fill_sheet(sheet, Title(lines), COLUMNS, [r.values() for r in rows], after=[_summary(rows)])
    workbook.properties.title = f"{HEADING} — {meeting.title}"
    workbook.properties.creator = "dieuphoi"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _summary(rows: list[AttendanceRow]) -> str:
    """'Tổng số: 12; dự họp: 7; vắng: 1; cử người dự thay: 2; chưa trả lời: 2.'"""
    tally = Counter(row.answer for row in rows)
    parts = [f"Tổng số: {len(rows)}"]
    parts += [f"{word.lower()}: {tally[answer]}" for answer, word in ANSWER_WORDS.items()]
    parts.append(f"{NO_ANSWER.lower()}: {tally[None]}")
    return "; ".join(parts) + "."
