"""Who is asking, and what the bot knows about people."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import SUPPORTED_LOCALES
from bot.i18n import msg, pick_locale
from bot.models import Admin, Council, CouncilMembership, Member, TelegramUser
from bot.services.admins import is_admin
from bot.services.errors import BadInputError


class Reach(enum.Enum):
    """Whether the bot can write to a member (the digest and the desk's overview say it)."""

    REACHABLE = "reachable"
    NEVER_STARTED = "never_started"  # has not opened their invitation link
    BLOCKED = "blocked"  # registered, but their private chat refuses the bot (403)


def reach_of(telegram_user_id: int | None, private_chat_ok: bool | None) -> Reach:
    if telegram_user_id is None:
        return Reach.NEVER_STARTED
    return Reach.REACHABLE if private_chat_ok else Reach.BLOCKED


@dataclass(frozen=True)
class TelegramIdentity:
    """The parts of a Telegram user the services need (no Telegram objects in services)."""

    id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass
class Requester:
    """The person behind an update, resolved once per update."""

    telegram_user_id: int
    locale: str
    user: TelegramUser | None = None
    member: Member | None = None
    is_admin: bool = False
    council_codes: list[str] = field(default_factory=list)

    @property
    def is_member(self) -> bool:
        return self.member is not None

    @property
    def may_see_councils(self) -> bool:
        """Only registered members and admins see council data."""
        return self.is_member or self.is_admin


def name_key(full_name: str) -> str:
    """The form used to match names: NFC, single spaces, case-folded."""
    return " ".join(unicodedata.normalize("NFC", full_name).split()).casefold()


def clean_name(full_name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", full_name).split())


# Built once: identify runs for every update. One row per council of the member (one row
# with no council for anyone else), so a single round trip answers everything.
_WHO = (
    select(
        TelegramUser,
        Member,
        exists().where(Admin.telegram_user_id == bindparam("user_id"), Admin.removed_at.is_(None)),
        Council.code,
    )
    .outerjoin(Member, Member.telegram_user_id == TelegramUser.id)
    .outerjoin(CouncilMembership, CouncilMembership.member_id == Member.id)
    .outerjoin(Council, Council.id == CouncilMembership.council_id)
    .where(TelegramUser.id == bindparam("user_id"))
    .order_by(Council.code)
)


async def identify(
    session: AsyncSession, identity: TelegramIdentity | None, default_locale: str
) -> Requester:
    """Resolve who is asking. Reads only; nothing is written here.

    Runs for every update, so it is kept to one statement: the user with their member
    record, admin flag and councils' codes. The member's memberships are not loaded as
    objects; `member_of_user` loads them where they are shown.
    """
    if identity is None:
        return Requester(telegram_user_id=0, locale=default_locale)
    rows = (await session.execute(_WHO, {"user_id": identity.id})).all()
    if rows:
        user, member, admin_flag, _code = rows[0]
    else:  # never seen: an admin named in the settings may still be one
        user, member, admin_flag = None, None, await is_admin(session, identity.id)
    locale = pick_locale(
        user.language if user else None,
        member.language if member else None,
        identity.language_code,
        default_locale,
    )
    return Requester(
        telegram_user_id=identity.id,
        locale=locale,
        user=user,
        member=member,
        is_admin=bool(admin_flag),
        council_codes=[code for *_rest, code in rows if code is not None],
    )


async def member_of_user(session: AsyncSession, telegram_user_id: int) -> Member | None:
    """The member linked to a Telegram user, with their councils loaded."""
    return await session.scalar(
        select(Member)
        .where(Member.telegram_user_id == telegram_user_id)
        .options(selectinload(Member.memberships).joinedload(CouncilMembership.council))
    )


async def remember_user(
    session: AsyncSession, now: datetime, identity: TelegramIdentity, *, private_chat: bool
) -> TelegramUser:
    """Create or refresh the Telegram user; writing in private makes them reachable there."""
    user = await session.get(TelegramUser, identity.id)
    if user is None:
        user = TelegramUser(id=identity.id, first_seen_at=now, private_chat_ok=False)
        session.add(user)
    user.first_name = identity.first_name[:200]
    user.last_name = identity.last_name[:200] if identity.last_name else None
    user.username = identity.username
    user.telegram_language = identity.language_code
    user.last_seen_at = now
    if private_chat:
        user.private_chat_ok = True
    return user


async def mark_unreachable(session: AsyncSession, telegram_user_id: int) -> None:
    """Telegram refused a private message (blocked, or never started): stop trying there
    until the person writes again (`remember_user` with private_chat=True)."""
    user = await session.get(TelegramUser, telegram_user_id)
    if user is not None:
        user.private_chat_ok = False


async def private_chat_changed(
    session: AsyncSession, now: datetime, identity: TelegramIdentity, *, open_now: bool
) -> None:
    """The person unblocked (restarted) the bot in private, or blocked it: Telegram says so
    at once (`my_chat_member`). Reachable there again without having to write /start, or
    unreachable before the next message fails."""
    if open_now:
        await remember_user(session, now, identity, private_chat=True)
    else:
        await mark_unreachable(session, identity.id)


def supported_language(language: str) -> str:
    """The language code `/lang` was given, if the bot speaks it; else a refusal."""
    code = language.strip().lower()
    if code not in SUPPORTED_LOCALES:
        raise BadInputError(
            msg("Unknown language {language}. Choose vi or en, e.g. /lang en", language=code)
        )
    return code


async def set_language(
    session: AsyncSession, now: datetime, identity: TelegramIdentity, language: str
) -> str:
    """Store the language chosen with /lang."""
    language = supported_language(language)
    user = await remember_user(session, now, identity, private_chat=False)
    user.language = language
    return language


@dataclass(frozen=True)
class MemberRow:
    id: int
    full_name: str
    position: str
    agency_code: str
    councils: list[tuple[str, str]]  # (council code, role)
    registered: bool
    telegram_user_id: int | None
    removed: bool


async def list_members(session: AsyncSession, council_code: str | None = None) -> list[MemberRow]:
    query = (
        select(Member)
        .options(selectinload(Member.memberships).joinedload(CouncilMembership.council))
        .order_by(Member.id)
    )
    if council_code:
        query = query.where(
            Member.memberships.any(
                CouncilMembership.council.has(Council.code == council_code.upper())
            )
        )
    members = (await session.scalars(query)).unique().all()
    return [
        MemberRow(
            id=m.id,
            full_name=m.full_name,
            position=m.position,
            agency_code=m.agency.code,
            councils=sorted((ms.council.code, ms.role.value) for ms in m.memberships),
            registered=m.telegram_user_id is not None,
            telegram_user_id=m.telegram_user_id,
            removed=m.removed_at is not None,
        )
        for m in members
    ]
