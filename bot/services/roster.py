"""Roster files (CSV or XLSX, SPEC §4): read, validate row by row, import the good rows."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LOCALES
from bot.i18n import Msg, msg
from bot.models import Agency, AgencyKind, Council, CouncilMembership, Member, Role
from bot.services import audit
from bot.services.errors import BadInputError
from bot.services.invites import DEFAULT_TTL, issue_invite
from bot.services.members import remove_seat
from bot.services.people import Requester, clean_name, name_key
from bot.services.permissions import require_admin

REQUIRED_COLUMNS = ("council", "full_name", "position", "agency", "role")
OPTIONAL_COLUMNS = ("agency_name", "language", "phone", "email")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000

_CODE = re.compile(r"^[A-Z0-9_]{1,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{5,30}$")


@dataclass(frozen=True)
class RosterRow:
    number: int  # as a spreadsheet shows it: the header is row 1
    council: str
    full_name: str
    position: str
    agency: str
    agency_name: str
    role: str
    language: str
    phone: str
    email: str


@dataclass(frozen=True)
class RowError:
    number: int
    reason: Msg


@dataclass(frozen=True)
class SeatRemoved:
    """A seat taken away because the file names the council but not the member."""

    member: Member
    council: str


@dataclass
class ImportReport:
    new_members: list[tuple[Member, str]] = field(default_factory=list)  # (member, invite token)
    # Removed members the file lists again: back on the roster, with a fresh invite
    # token (they were unbound when removed). Counted in `updated` too.
    returned: list[tuple[Member, str]] = field(default_factory=list)
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    seats_removed: list[SeatRemoved] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return len(self.new_members) + self.updated + self.unchanged

    @property
    def invitations(self) -> list[tuple[Member, str]]:
        """Every invite token this import issued: new members, then returning ones."""
        return [*self.new_members, *self.returned]


def read_roster(filename: str, data: bytes) -> list[RosterRow]:
    """Parse a roster file. A file that cannot be read at all raises BadInputError."""
    if len(data) > MAX_FILE_BYTES:
        raise BadInputError(msg("The file is larger than 5 MB. Please split the roster."))
    lower = filename.lower()
    looks_zip = data[:4] == b"PK\x03\x04"
    if lower.endswith((".xlsx", ".xlsm")) or (looks_zip and not lower.endswith(".csv")):
        table = _read_xlsx(data)
    elif lower.endswith((".csv", ".txt")) or not looks_zip:
        table = _read_csv(data)
    else:
        raise BadInputError(_unknown_format())
    return _rows_from_table(table)


def _unknown_format() -> Msg:
    return msg("The roster must be a CSV (UTF-8) or an XLSX file.")


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInputError(
            msg(
                "The CSV file is not UTF-8 (problem at byte {offset}). In Excel choose "
                "'CSV UTF-8 (Comma delimited)' when saving, then send it again.",
                offset=exc.start,
            )
        ) from None
    if "\x00" in text:
        raise BadInputError(_unknown_format())
    first_line = text.split("\n", 1)[0]
    # Excel in some locales saves with semicolons; the header line tells which.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _read_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # imported here: only imports need it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise BadInputError(
            msg("The file is not a valid XLSX spreadsheet. Please save it again as .xlsx.")
        ) from None
    try:
        sheet = workbook.worksheets[0]
        table = []
        for values in sheet.iter_rows(values_only=True):
            table.append([_cell_text(value) for value in values])
            if len(table) > MAX_ROWS + 1:
                break
        return table
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers typed as numbers
    return str(value)


def _rows_from_table(table: list[list[str]]) -> list[RosterRow]:
    while table and not any(cell.strip() for cell in table[-1]):
        table.pop()
    if not table:
        raise BadInputError(msg("The roster is empty: the first row must be the header."))
    header = [cell.strip().lower().replace(" ", "_") for cell in table[0]]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise BadInputError(
            msg(
                "The header row lacks the column(s) {missing}. Required: {required}; "
                "optional: {optional}.",
                missing=", ".join(missing),
                required=", ".join(REQUIRED_COLUMNS),
                optional=", ".join(OPTIONAL_COLUMNS),
            )
        )
    if len(table) - 1 > MAX_ROWS:
        raise BadInputError(msg("The roster has more than 10,000 rows. Please split it."))
    index = {
        name: header.index(name)
        for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
        if name in header
    }

    def cell(row: list[str], name: str) -> str:
        position = index.get(name)
        if position is None or position >= len(row):
            return ""
        return row[position].strip()

    rows = []
    for number, raw in enumerate(table[1:], start=2):
        if not any(value.strip() for value in raw):
            continue  # blank lines between blocks are common in hand-made rosters
        rows.append(
            RosterRow(
                number=number,
                council=cell(raw, "council").upper(),
                full_name=clean_name(cell(raw, "full_name")),
                position=clean_name(cell(raw, "position")),
                agency=cell(raw, "agency").upper(),
                agency_name=clean_name(cell(raw, "agency_name")),
                role=cell(raw, "role").lower().replace("-", "_").replace(" ", "_"),
                language=cell(raw, "language").lower(),
                phone=cell(raw, "phone"),
                email=cell(raw, "email"),
            )
        )
    if not rows:
        raise BadInputError(msg("The roster has a header but no member rows."))
    return rows


async def import_roster(
    session: AsyncSession,
    now: datetime,
    rows: list[RosterRow],
    *,
    by: Requester | None,
    ttl_days: int = DEFAULT_TTL.days,
    remove_unlisted: bool = True,
) -> ImportReport:
    """Import the good rows (new members get an invite token); report the bad ones.

    The file is the roster of every council it names: a member seated in one of those
    councils whom no row of the file names there (even a refused row) loses that seat,
    and the report lists each such removal. Councils the file does not name are left
    alone. A removed member (`members remove`) whom the file lists is back on the roster.
    `remove_unlisted=False` only adds and updates (tests enrol people one by one so).

    `by` is the admin in chat, or None for the command line. Runs inside the caller's
    transaction, so either every good row is written or none is.
    """
    require_admin(by)
    actor = audit.CLI_ACTOR if by is None else audit.telegram_actor(by.telegram_user_id)
    ttl = timedelta(days=ttl_days)
    report = ImportReport()
    councils = {c.code: c for c in (await session.scalars(select(Council))).all()}
    agencies = {a.code: a for a in (await session.scalars(select(Agency))).all()}
    seen: dict[tuple[str, str, str], int] = {}

    for row in rows:
        problem = _check_row(row, councils, agencies)
        key = (row.council, row.agency, name_key(row.full_name))
        if problem is None and key in seen:
            problem = msg("the same person as row {row}", row=seen[key])
        if problem is not None:
            report.errors.append(RowError(row.number, problem))
            continue
        seen[key] = row.number

        agency = agencies.get(row.agency)
        if agency is None:
            agency = Agency(
                code=row.agency,
                name_vi=row.agency_name,
                name_en=row.agency_name,
                kind=AgencyKind.OTHER,
            )
            session.add(agency)
            await session.flush()
            agencies[agency.code] = agency
            audit.record(session, now, actor, "agency.create", code=agency.code)

        outcome, member = await _upsert_member(session, now, row, agency, councils[row.council])
        if outcome == "new":
            await session.flush()
            report.new_members.append((member, await issue_invite(session, now, member.id, ttl)))
        elif outcome == "returned":
            report.updated += 1
            audit.record(session, now, actor, "member.return", member_id=member.id)
            if member.telegram_user_id is None:
                report.returned.append((member, await issue_invite(session, now, member.id, ttl)))
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1

    if remove_unlisted:
        await session.flush()
        report.seats_removed = await _remove_unlisted_seats(session, now, rows, councils, actor)
    audit.record(
        session,
        now,
        actor,
        "roster.import",
        new=len(report.new_members),
        updated=report.updated,
        errors=len(report.errors),
        seats_removed=len(report.seats_removed),
    )
    return report


async def _remove_unlisted_seats(
    session: AsyncSession,
    now: datetime,
    rows: list[RosterRow],
    councils: dict[str, Council],
    actor: str,
) -> list[SeatRemoved]:
    """Take away the seats, in the councils the file names, of whoever it does not list."""
    listed = {(row.council, row.agency, name_key(row.full_name)) for row in rows}
    named = sorted({row.council for row in rows if row.council in councils})
    removed = []
    for code in named:
        seats = (
            await session.execute(
                select(CouncilMembership, Member)
                .join(Member, Member.id == CouncilMembership.member_id)
                .where(CouncilMembership.council_id == councils[code].id)
                .order_by(Member.id)
            )
        ).all()
        for seat, member in seats:
            if (code, member.agency.code, member.name_key) in listed:
                continue
            await remove_seat(session, now, seat, actor, by_import=True)
            removed.append(SeatRemoved(member, code))
    return removed


def _check_row(
    row: RosterRow, councils: dict[str, Council], agencies: dict[str, Agency]
) -> Msg | None:
    if not row.council:
        return msg("the council code is empty")
    if row.council not in councils:
        return msg(
            "unknown council {code} (known: {known})",
            code=row.council,
            known=", ".join(sorted(councils)),
        )
    if not row.full_name:
        return msg("the full name is empty")
    if len(row.full_name) > 200:
        return msg("the full name is longer than 200 characters")
    if len(row.position) > 200:
        return msg("the position is longer than 200 characters")
    if len(row.agency_name) > 200:
        return msg("the agency name is longer than 200 characters")
    if not row.agency:
        return msg("the agency code is empty")
    if row.agency not in agencies:
        if not _CODE.match(row.agency):
            return msg(
                "the agency code {code} may only hold A–Z, 0–9 and _ (at most 20)",
                code=row.agency,
            )
        if not row.agency_name:
            return msg("unknown agency {code}: fill in agency_name to create it", code=row.agency)
    roles = [r.value for r in Role]
    if row.role and row.role not in roles:
        return msg(
            "unknown role {role} (use one of {roles})", role=row.role, roles=", ".join(roles)
        )
    if row.language and row.language not in SUPPORTED_LOCALES:
        return msg("unknown language {language} (use vi or en)", language=row.language)
    if len(row.email) > 200 or (row.email and not _EMAIL.match(row.email)):
        return msg("the e-mail address {email} is not valid", email=row.email)
    if row.phone and not _PHONE.match(row.phone):
        return msg("the phone number {phone} is not valid", phone=row.phone)
    return None


async def _upsert_member(
    session: AsyncSession, now: datetime, row: RosterRow, agency: Agency, council: Council
) -> tuple[str, Member]:
    member = await session.scalar(
        select(Member).where(
            Member.agency_id == agency.id, Member.name_key == name_key(row.full_name)
        )
    )
    role = Role(row.role) if row.role else Role.MEMBER
    if member is None:
        member = Member(
            full_name=row.full_name,
            name_key=name_key(row.full_name),
            position=row.position,
            agency_id=agency.id,
            language=row.language or None,
            phone=row.phone or None,
            email=row.email or None,
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        await session.flush()
        session.add(CouncilMembership(council_id=council.id, member_id=member.id, role=role))
        return "new", member

    returned = member.removed_at is not None
    if returned:
        member.removed_at = member.removed_by = None
    changed = False
    updates = {
        "full_name": row.full_name,
        "position": row.position,
        "language": row.language or member.language,
        "phone": row.phone or member.phone,
        "email": row.email or member.email,
    }
    for attribute, value in updates.items():
        if getattr(member, attribute) != value:
            setattr(member, attribute, value)
            changed = True
    membership = await session.scalar(
        select(CouncilMembership).where(
            CouncilMembership.council_id == council.id, CouncilMembership.member_id == member.id
        )
    )
    if membership is None:
        session.add(CouncilMembership(council_id=council.id, member_id=member.id, role=role))
        changed = True
    elif membership.role != role:
        membership.role = role
        changed = True
    if changed or returned:
        member.updated_at = now
    if returned:
        return "returned", member
    return ("updated" if changed else "unchanged"), member
