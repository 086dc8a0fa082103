"""Invite links: single-use tokens, stored only as hashes, that bind a Telegram user to a member."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Msg, msg
from bot.models import Council, CouncilMembership, InviteToken, Member
from bot.services import audit
from bot.services.errors import BadInputError, NotAllowedError, NotFoundError
from bot.services.groups import council_by_code
from bot.services.people import Requester, TelegramIdentity, member_of_user, remember_user
from bot.services.permissions import require_admin

DEFAULT_TTL = timedelta(days=14)
# Telegram deep-link payloads allow up to 64 characters of [A-Za-z0-9_-].
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def invite_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


async def issue_invite(
    session: AsyncSession, now: datetime, member_id: int, ttl: timedelta = DEFAULT_TTL
) -> str:
    """Create a fresh token for a member, revoking any earlier unused one. Returns the token."""
    await session.execute(
        update(InviteToken)
        .where(
            InviteToken.member_id == member_id,
            InviteToken.used_at.is_(None),
            InviteToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(18)  # 24 characters, 144 bits
    session.add(
        InviteToken(
            member_id=member_id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


async def reissue_invite(
    session: AsyncSession, now: datetime, member_id: int, actor: str, ttl: timedelta = DEFAULT_TTL
) -> tuple[Member, str]:
    """A fresh link for one member (the previous one stops working), e.g. for a lost
    link or a new phone: it may also move a registered member to another account."""
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFoundError(msg("There is no member with id {id}.", id=member_id))
    if member.removed_at is not None:
        raise NotAllowedError(
            msg(
                "{name} (id {id}) was removed from the roster. Import a roster that lists "
                "them to give them a seat and a new link.",
                name=member.full_name,
                id=member.id,
            )
        )
    token = await issue_invite(session, now, member_id, ttl)
    audit.record(session, now, actor, "invite.issue", member_id=member_id)
    return member, token


async def reissue_for_council(
    session: AsyncSession,
    now: datetime,
    council_code: str,
    actor: str,
    ttl: timedelta = DEFAULT_TTL,
) -> tuple[Council, list[tuple[Member, str]]]:
    """A fresh link for every member of the council who has not registered yet: the way
    to recover the links of an import whose answer was lost."""
    council = await council_by_code(session, council_code)
    waiting = (
        await session.scalars(
            select(Member)
            .join(CouncilMembership, CouncilMembership.member_id == Member.id)
            .where(CouncilMembership.council_id == council.id, Member.telegram_user_id.is_(None))
            .order_by(Member.id)
        )
    ).all()
    issued = []
    for member in waiting:
        token = await issue_invite(session, now, member.id, ttl)
        audit.record(session, now, actor, "invite.issue", member_id=member.id, council=council.code)
        issued.append((member, token))
    return council, issued


def invite_usage() -> Msg:
    return msg(
        "Usage: /invite MEMBER_ID — a fresh link for one member (the previous one stops "
        "working); /invite COUNCIL — a fresh link for every member of the council who has "
        "not registered yet.\nExample: /invite 12 or /invite DBSH"
    )


async def fresh_invites(
    session: AsyncSession,
    now: datetime,
    by: Requester,
    args: list[str],
    ttl: timedelta = DEFAULT_TTL,
) -> tuple[Council | None, list[tuple[Member, str]]]:
    """/invite MEMBER_ID or /invite COUNCIL, for admins: the council (None for one
    member) and each member with a fresh token."""
    require_admin(by)
    if len(args) != 1:
        raise BadInputError(msg("Give one member id or one council code."), invite_usage())
    target = args[0].strip()
    actor = audit.telegram_actor(by.telegram_user_id)
    if target.isdigit():
        return None, [await reissue_invite(session, now, int(target), actor, ttl)]
    return await reissue_for_council(session, now, target, actor, ttl)


@dataclass(frozen=True)
class Registration:
    member: Member
    already_registered: bool


async def redeem_invite(
    session: AsyncSession, now: datetime, identity: TelegramIdentity, token: str
) -> Registration:
    """Bind the Telegram user to the invited member, or explain why not (nothing changes)."""
    token = token.strip()
    if not _TOKEN_SHAPE.match(token):
        raise BadInputError(_invalid())
    invite = await session.scalar(
        select(InviteToken).where(InviteToken.token_hash == hash_token(token)).with_for_update()
    )
    if invite is None:
        raise BadInputError(_invalid())
    current = await member_of_user(session, identity.id)
    if invite.used_at is not None:
        if invite.used_by == identity.id and current is not None:
            return Registration(member=current, already_registered=True)
        raise NotAllowedError(
            msg(
                "This invitation link has already been used. If you did not use it, "
                "please ask {secretariat} for a new link."
            )
        )
    if invite.revoked_at is not None:
        raise NotAllowedError(
            msg(
                "This invitation link has been replaced by a newer one. "
                "Please use the latest link {secretariat} sent you."
            )
        )
    if invite.expires_at <= now:
        raise NotAllowedError(
            msg("This invitation link has expired. Please ask {secretariat} for a new link.")
        )
    member = await session.get(Member, invite.member_id)
    assert member is not None  # the foreign key guarantees it
    if current is not None and current.id != member.id:
        raise NotAllowedError(
            msg(
                "Your Telegram account is already registered as {name}. One account can "
                "belong to one member; please contact {secretariat}.",
                name=current.full_name,
            )
        )
    user = await remember_user(session, now, identity, private_chat=True)
    if user.language is None and member.language:
        user.language = member.language
    previous_user = member.telegram_user_id
    member.telegram_user_id = identity.id
    member.registered_at = now
    member.updated_at = now
    invite.used_at = now
    invite.used_by = identity.id
    audit.record(
        session,
        now,
        audit.telegram_actor(identity.id),
        "member.register",
        member_id=member.id,
        replaced_telegram_user_id=previous_user,
    )
    await session.flush()
    refreshed = await member_of_user(session, identity.id)
    assert refreshed is not None
    return Registration(member=refreshed, already_registered=False)


def _invalid() -> Msg:
    return msg(
        "This invitation link is not valid. Please check that you opened the whole link, "
        "or ask {secretariat} for a new one."
    )
