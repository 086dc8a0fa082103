"""The desk's members pages (admins): the roster with its search and filters, a member's
invitation link and removal, the admins, and a roster import in two steps (a preview
that writes nothing, then the confirmation).

Every change goes through the chat's own services (`invites.reissue_invite`,
`members.remove_member`, `roster.import_roster`), so the same rules and audit records
apply. The preview is `import_roster` itself, run inside a SAVEPOINT that is rolled back:
the preview and the import cannot disagree, and the confirmation checks it (a roster
changed meanwhile by someone else shows the new preview instead of importing).

An uploaded file and the links just issued wait in `desk_handoffs`, in the database, so
that the next request may reach any instance of the bot.
"""

from __future__ import annotations

import enum
import secrets
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.i18n import msg
from bot.models import (
    Admin,
    Agency,
    Council,
    CouncilMembership,
    DeskHandoff,
    Member,
    TelegramUser,
)
from bot.services import audit, invites, members, roster
from bot.services.admins import CONFIG_ACTOR
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.people import Reach, Requester, reach_of
from bot.services.permissions import require_admin

PAGE_SIZE = 100
# How long an uploaded roster waits for its confirmation, and issued links stay shown.
HANDOFF_TTL = timedelta(minutes=30)
IMPORT = "import"
INVITES = "invites"


class MemberState(enum.StrEnum):
    WAITING = "waiting"  # on the roster, has not opened their invitation link yet
    REGISTERED = "registered"
    UNREACHABLE = "unreachable"  # registered, but the bot cannot write to them (blocked)
    REMOVED = "removed"


def _actor(who: Requester) -> str:
    return audit.telegram_actor(who.telegram_user_id)


_STATE_OF_REACH = {
    Reach.NEVER_STARTED: MemberState.WAITING,
    Reach.REACHABLE: MemberState.REGISTERED,
    Reach.BLOCKED: MemberState.UNREACHABLE,
}


def member_state(
    removed: bool, telegram_user_id: int | None, private_chat_ok: bool | None
) -> MemberState:
    """On the roster or removed; if on it, whether the bot can reach them (people.reach_of)."""
    if removed:
        return MemberState.REMOVED
    return _STATE_OF_REACH[reach_of(telegram_user_id, private_chat_ok)]


def state_of(member: Member) -> MemberState:
    user = member.telegram_user
    return member_state(
        member.removed_at is not None,
        member.telegram_user_id,
        user.private_chat_ok if user is not None else None,
    )


def fold(text: str) -> str:
    """For searching: case, spacing and Vietnamese marks ignored ("nguyen van an" finds
    "Nguyễn Văn An")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split()).casefold()


# --- the roster ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFilter:
    query: str = ""
    council: str = ""
    agency: str = ""
    state: str = ""  # "" = everyone on the roster (not the removed)
    page: int = 1

    def wanted_state(self) -> MemberState | None:
        if not self.state:
            return None
        try:
            return MemberState(self.state)
        except ValueError:
            raise BadInputError(msg("Unknown state {value}.", value=self.state[:40])) from None


@dataclass(frozen=True)
class ListedMember:
    member: Member
    seats: list[CouncilMembership]
    state: MemberState


@dataclass
class MemberList:
    members: list[ListedMember] = field(default_factory=list)
    total: int = 0  # how many match, on every page
    page: int = 1
    pages: int = 1
    councils: list[Council] = field(default_factory=list)
    agencies: list[Agency] = field(default_factory=list)


async def list_members(session: AsyncSession, who: Requester, wanted: MemberFilter) -> MemberList:
    """The roster narrowed by `wanted`, by agency then name, a page of PAGE_SIZE.

    Matched on plain columns (a roster has thousands of people; building each as an
    object with its seats cost most of the page), then the page's people loaded whole."""
    require_admin(who)
    state = wanted.wanted_state()
    query = (
        select(
            Member.id,
            Member.full_name,
            Member.position,
            Member.email,
            Member.phone,
            Member.removed_at,
            Member.telegram_user_id,
            TelegramUser.private_chat_ok,
            Agency.code,
            Agency.name_vi,
            Agency.name_en,
        )
        .join(Agency, Agency.id == Member.agency_id)
        .outerjoin(TelegramUser, TelegramUser.id == Member.telegram_user_id)
        .order_by(Agency.code, Member.name_key, Member.id)
    )
    if wanted.council:
        query = query.where(
            Member.memberships.any(
                CouncilMembership.council.has(Council.code == wanted.council.upper())
            )
        )
    if wanted.agency:
        query = query.where(Agency.code == wanted.agency.upper())
    needle = fold(wanted.query)
    digits = "".join(c for c in wanted.query if c.isdigit())
    found: list[tuple[int, MemberState]] = []
    for row in await session.execute(query):
        current = member_state(
            row.removed_at is not None, row.telegram_user_id, row.private_chat_ok
        )
        if state is None and current == MemberState.REMOVED:
            continue
        if state is not None and current != state:
            continue
        words = [row.full_name, row.position, row.code, row.name_vi, row.name_en, row.email or ""]
        if needle and not _matches(words, row.phone, needle, digits):
            continue
        found.append((row.id, current))
    listed = MemberList(total=len(found))
    listed.pages = max(1, -(-len(found) // PAGE_SIZE))
    listed.page = min(max(1, wanted.page), listed.pages)
    start = (listed.page - 1) * PAGE_SIZE
    shown = dict(found[start : start + PAGE_SIZE])
    people = {
        member.id: member
        for member in (
            await session.scalars(
                select(Member)
                .where(Member.id.in_(list(shown)))
                .options(selectinload(Member.memberships), selectinload(Member.telegram_user))
            )
        ).all()
    }
    for member_id, current in shown.items():
        member = people[member_id]
        seats = sorted(member.memberships, key=lambda seat: seat.council.code)
        listed.members.append(ListedMember(member, seats, current))
    listed.councils = list((await session.scalars(select(Council).order_by(Council.code))).all())
    listed.agencies = list(
        (
            await session.scalars(
                select(Agency)
                .where(Agency.id.in_(select(Member.agency_id).distinct()))
                .order_by(Agency.code)
            )
        ).all()
    )
    return listed


def _matches(words: list[str], phone: str | None, needle: str, digits: str) -> bool:
    if needle in fold(" | ".join(words)):
        return True
    # A phone number typed with or without its spaces, dots or dashes.
    return len(digits) >= 3 and digits in "".join(c for c in phone or "" if c.isdigit())


async def member_page(session: AsyncSession, who: Requester, member_id: int) -> ListedMember:
    require_admin(who)
    member = await session.scalar(
        select(Member)
        .where(Member.id == member_id)
        .options(selectinload(Member.memberships), selectinload(Member.telegram_user))
    )
    if member is None:
        raise NotFoundError(msg("There is no member with id {id}.", id=member_id))
    seats = sorted(member.memberships, key=lambda seat: seat.council.code)
    return ListedMember(member, seats, state_of(member))


# --- the admins -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminRow:
    admin: Admin
    member: Member | None  # the roster's person with that Telegram account, if any
    from_settings: bool  # added by ADMIN_TELEGRAM_IDS


async def list_admins(session: AsyncSession, who: Requester) -> list[AdminRow]:
    """The admins now (the chat has no command to add or remove one: that is
    `dieuphoi admin add|remove` on the server, or ADMIN_TELEGRAM_IDS)."""
    require_admin(who)
    rows = await session.execute(
        select(Admin, Member)
        .outerjoin(Member, Member.telegram_user_id == Admin.telegram_user_id)
        .where(Admin.removed_at.is_(None))
        .order_by(Admin.added_at, Admin.telegram_user_id)
    )
    return [AdminRow(admin, member, admin.added_by == CONFIG_ACTOR) for admin, member in rows]


# --- invitation links and removal ------------------------------------------------------------


@dataclass(frozen=True)
class IssuedLink:
    member_id: int
    full_name: str
    agency: str
    link: str


async def reissue_link(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    member_id: int,
    ttl: timedelta,
    bot_username: str,
) -> str:
    """/invite MEMBER_ID: a fresh link (the previous one stops working). Returns the key
    of the page that shows it to this admin."""
    require_admin(who)
    member, token = await invites.reissue_invite(session, now, member_id, _actor(who), ttl)
    link = IssuedLink(
        member.id, member.full_name, member.agency.code, invites.invite_link(bot_username, token)
    )
    return await _hand_off(
        session, now, who, INVITES, result={"links": [link.__dict__]}, applied=True
    )


async def issued_links(
    session: AsyncSession, now: datetime, who: Requester, key: str
) -> list[IssuedLink]:
    require_admin(who)
    handoff = await _own_handoff(session, now, who, key, INVITES)
    return [IssuedLink(**link) for link in (handoff.result or {}).get("links", [])]


async def remove_member(
    session: AsyncSession, now: datetime, who: Requester, member_id: int
) -> members.Removal:
    """`members remove MEMBER_ID`: seats, Telegram account, links, waiting messages and
    desk sessions go; what they reported stays."""
    require_admin(who)
    return await members.remove_member(session, now, member_id, _actor(who), None)


# --- the roster import ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowOutcome:
    number: int
    outcome: str  # "new", "returned", "updated", "unchanged" or "error"
    council: str
    full_name: str
    agency: str
    reason: str  # for an error, in the reader's language at the preview


@dataclass(frozen=True)
class SeatLoss:
    member_id: int
    full_name: str
    agency: str
    council: str


@dataclass(frozen=True)
class ImportView:
    key: str
    filename: str
    created_at: datetime
    rows: list[RowOutcome]
    removed: list[SeatLoss]
    applied: bool
    links: list[IssuedLink]  # once applied: the links issued

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


def _plan(rows: list[roster.RosterRow], report: roster.ImportReport) -> dict[str, Any]:
    """What an import did (or would do), as plain values: stored with the preview."""
    reasons = {error.number: error.reason.render() for error in report.errors}
    outcomes = []
    for row in rows:
        outcome = report.outcomes.get(row.number, "error" if row.number in reasons else "")
        outcomes.append(
            {
                "number": row.number,
                "outcome": outcome,
                "council": row.council,
                "full_name": row.full_name,
                "agency": row.agency,
                "reason": reasons.get(row.number, ""),
            }
        )
    removed = [
        {
            "member_id": loss.member.id,
            "full_name": loss.member.full_name,
            "agency": loss.member.agency.code,
            "council": loss.council,
        }
        for loss in report.seats_removed
    ]
    return {
        "rows": outcomes,
        "removed": removed,
        # What must be the same at the confirmation (the reasons' words may not be).
        "signature": [
            [[row["number"], row["outcome"]] for row in outcomes],
            [[loss["member_id"], loss["council"]] for loss in removed],
        ],
    }


async def _dry_run(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    rows: list[roster.RosterRow],
    ttl_days: int,
) -> dict[str, Any]:
    nested = await session.begin_nested()
    try:
        report = await roster.import_roster(session, now, rows, by=who, ttl_days=ttl_days)
        return _plan(rows, report)
    finally:
        await nested.rollback()  # nothing of it stays: not a member, a link, an audit line


async def preview_import(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    filename: str,
    rows: list[roster.RosterRow],
    ttl_days: int,
) -> str:
    """Run the import and roll it back; keep the file's rows and what the import would
    do. Returns the preview's key."""
    require_admin(who)
    if len(rows) > roster.MAX_ROWS:  # read_roster refuses more; a caller must not either
        raise BadInputError(msg("The roster has more than 10,000 rows. Please split it."))
    plan = await _dry_run(session, now, who, rows, ttl_days)
    kept = [asdict(row) for row in rows]
    return await _hand_off(session, now, who, IMPORT, filename=filename, rows=kept, preview=plan)


async def confirm_import(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    key: str,
    ttl_days: int,
    bot_username: str,
) -> bool:
    """Import the previewed file, once. False: the roster changed since the preview (the
    import would now do something else): nothing is written, the preview is the new one.
    Confirming again, or twice at once, imports nothing more."""
    require_admin(who)
    handoff = await _own_handoff(session, now, who, key, IMPORT)
    # One statement claims it: of two confirmations at once, the second finds it taken.
    claimed = await session.execute(
        update(DeskHandoff)
        .where(DeskHandoff.id == key, DeskHandoff.applied_at.is_(None))
        .values(applied_at=now)
        .returning(DeskHandoff.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.scalar_one_or_none() is None or handoff.rows is None:
        return True
    rows = [roster.RosterRow(**row) for row in handoff.rows]
    expected = (handoff.preview or {}).get("signature")
    nested = await session.begin_nested()
    report = await roster.import_roster(session, now, rows, by=who, ttl_days=ttl_days)
    plan = _plan(rows, report)
    if plan["signature"] != expected:
        await nested.rollback()
        await session.execute(
            update(DeskHandoff)
            .where(DeskHandoff.id == key)
            .values(applied_at=None, preview=plan)
            .execution_options(synchronize_session=False)
        )
        return False
    links = [
        IssuedLink(
            member.id,
            member.full_name,
            member.agency.code,
            invites.invite_link(bot_username, token),
        ).__dict__
        for member, token in report.invitations
    ]
    await nested.commit()
    await session.execute(
        update(DeskHandoff)
        .where(DeskHandoff.id == key)
        # The rows are no longer needed; the links are shown until the page expires.
        .values(rows=None, preview=plan, result={"links": links}, expires_at=now + HANDOFF_TTL)
        .execution_options(synchronize_session=False)
    )
    return True


async def import_page(session: AsyncSession, now: datetime, who: Requester, key: str) -> ImportView:
    require_admin(who)
    handoff = await _own_handoff(session, now, who, key, IMPORT)
    await session.refresh(handoff)
    plan = handoff.preview or {}
    return ImportView(
        key=handoff.id,
        filename=handoff.filename,
        created_at=handoff.created_at,
        rows=[RowOutcome(**row) for row in plan.get("rows", [])],
        removed=[SeatLoss(**loss) for loss in plan.get("removed", [])],
        applied=handoff.applied_at is not None,
        links=[IssuedLink(**link) for link in (handoff.result or {}).get("links", [])],
    )


# --- what a form hands to the next page ------------------------------------------------------


async def _hand_off(
    session: AsyncSession,
    now: datetime,
    who: Requester,
    kind: str,
    *,
    filename: str = "",
    rows: list[dict[str, Any]] | None = None,
    preview: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    applied: bool = False,
) -> str:
    # Whatever ran out is deleted now: an old file, links shown long ago.
    await session.execute(delete(DeskHandoff).where(DeskHandoff.expires_at <= now))
    key = secrets.token_urlsafe(24)
    session.add(
        DeskHandoff(
            id=key,
            kind=kind,
            telegram_user_id=who.telegram_user_id,
            filename=filename[:200],
            rows=rows,
            preview=preview,
            result=result,
            created_at=now,
            expires_at=now + HANDOFF_TTL,
            applied_at=now if applied else None,
        )
    )
    await session.flush()
    return key


async def _own_handoff(
    session: AsyncSession, now: datetime, who: Requester, key: str, kind: str
) -> DeskHandoff:
    handoff = await session.get(DeskHandoff, key[:64]) if key else None
    if handoff is None or handoff.kind != kind or handoff.expires_at <= now:
        if kind == IMPORT:
            raise NotFoundError(
                msg(
                    "This import preview has expired (after 30 minutes) or does not exist. "
                    "Please upload the roster again."
                )
            )
        raise NotFoundError(
            msg("These links are no longer shown (after 30 minutes). Issue a new link.")
        )
    if handoff.telegram_user_id != who.telegram_user_id:
        raise NotAllowedError(msg("This page belongs to another admin."))
    return handoff
