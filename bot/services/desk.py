"""Signing in to the desk (SPEC §9): Telegram's Mini App `initData`, one-time links from
/desk, and the sessions they open.

Nothing here knows HTTP: web/ hands in strings and gets back ids or a refusal. Who may do
what is not kept in a session: the desk reads it again at every request (`identify`), so a
right taken away counts from the next click; removing a right also ends the sessions
(`end_sessions_of`, called by the removal services) so nobody stays signed in by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import msg
from bot.models import DeskHandoff, DeskLink, DeskSession
from bot.services import audit
from bot.services.errors import NotFoundError
from bot.services.people import Requester, TelegramIdentity
from bot.services.permissions import require_member

LINK_TTL = timedelta(minutes=10)
# A working day; then the person signs in again (the Mini App does it without a click).
SESSION_TTL = timedelta(hours=12)
# Ended and expired sessions, used and expired links: deleted a day later (jobs/prune.py);
# who signed in when stays in the audit log.
KEPT = timedelta(days=1)
# A Telegram clock a little ahead of ours is not an attack.
CLOCK_SKEW = timedelta(minutes=1)
VIA_TELEGRAM = "telegram"
VIA_LINK = "link"


class SignInRefused(Exception):
    """initData that does not prove who sent it; the reason is for the log, not the page."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- Telegram's initData ------------------------------------------------------------------


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """`fields` signed as Telegram signs a Mini App's initData (for tests and the sandbox's
    local Telegram): the query string with its `hash`."""
    from urllib.parse import urlencode

    return urlencode({**fields, "hash": _init_data_hash(fields, bot_token)})


def _init_data_hash(fields: dict[str, str], bot_token: str) -> str:
    # https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    key = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(key, check.encode(), hashlib.sha256).hexdigest()


def verify_init_data(
    init_data: str, bot_token: str, now: datetime, max_age: timedelta
) -> TelegramIdentity:
    """The Telegram user `init_data` was signed for; SignInRefused when its hash is missing
    or wrong (another bot's token, a changed field) or it is older than `max_age`."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise SignInRefused("initData is not a query string") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise SignInRefused("a field is given twice")
    given = fields.pop("hash", "")
    if not given:
        raise SignInRefused("no hash")
    if not hmac.compare_digest(_init_data_hash(fields, bot_token), given.lower()):
        raise SignInRefused("wrong hash")
    try:
        signed_at = datetime.fromtimestamp(int(fields.get("auth_date", "")), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise SignInRefused("no auth_date") from None
    if now - signed_at > max_age or signed_at - now > CLOCK_SKEW:
        raise SignInRefused("auth_date too old")
    try:
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, TypeError, KeyError):
        raise SignInRefused("no user") from None
    if user_id <= 0:
        raise SignInRefused("no user")
    return TelegramIdentity(
        id=user_id,
        first_name=str(user.get("first_name") or ""),
        last_name=user.get("last_name") if isinstance(user.get("last_name"), str) else None,
        username=user.get("username") if isinstance(user.get("username"), str) else None,
        language_code=(
            user.get("language_code") if isinstance(user.get("language_code"), str) else None
        ),
    )


# --- one-time links -----------------------------------------------------------------------


def may_sign_in(who: Requester) -> None:
    """Only registered members and admins have a desk."""
    require_member(who)


async def new_link(session: AsyncSession, now: datetime, who: Requester) -> str:
    """A one-time sign-in token for `who` (the `/desk` command)."""
    may_sign_in(who)
    token = secrets.token_urlsafe(24)
    session.add(
        DeskLink(
            token_hash=_digest(token),
            telegram_user_id=who.telegram_user_id,
            created_at=now,
            expires_at=now + LINK_TTL,
        )
    )
    return token


async def redeem_link(session: AsyncSession, now: datetime, token: str) -> int:
    """Use a one-time link: the Telegram user it was given to. A used, expired or unknown
    token is refused alike (NotFoundError): the page says to ask /desk for a new one."""
    refused = NotFoundError(
        msg("This sign-in link is used or expired. Send /desk to the bot for a new one.")
    )
    if not token or len(token) > 100:
        raise refused
    # One statement, so two tabs opening the same link cannot both use it.
    used = await session.execute(
        update(DeskLink)
        .where(
            DeskLink.token_hash == _digest(token),
            DeskLink.used_at.is_(None),
            DeskLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(DeskLink.telegram_user_id)
    )
    user_id = used.scalar_one_or_none()
    if user_id is None:
        raise refused
    return int(user_id)


# --- sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    session_id: str  # goes in the cookie; never stored
    expires_at: datetime


async def open_session(session: AsyncSession, now: datetime, who: Requester, via: str) -> Opened:
    """Sign `who` in (a member or an admin at this moment)."""
    may_sign_in(who)
    session_id = secrets.token_urlsafe(32)
    expires_at = now + SESSION_TTL
    audit.record(session, now, audit.telegram_actor(who.telegram_user_id), "desk.sign_in", via=via)
    session.add(
        DeskSession(
            session_hash=_digest(session_id),
            telegram_user_id=who.telegram_user_id,
            via=via,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return Opened(session_id, expires_at)


async def session_user(session: AsyncSession, now: datetime, session_id: str) -> int | None:
    """The Telegram user signed in with `session_id`, while the session lasts."""
    if not session_id or len(session_id) > 100:
        return None
    return await session.scalar(
        select(DeskSession.telegram_user_id).where(
            DeskSession.session_hash == _digest(session_id),
            DeskSession.ended_at.is_(None),
            DeskSession.expires_at > now,
        )
    )


async def end_session(session: AsyncSession, now: datetime, session_id: str) -> None:
    """Sign out (POST /auth/logout)."""
    await session.execute(
        update(DeskSession)
        .where(DeskSession.session_hash == _digest(session_id), DeskSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def end_sessions_of(session: AsyncSession, now: datetime, telegram_user_id: int) -> int:
    """End every desk session of a person (their admin right or seat was taken away);
    returns how many were open."""
    ended = await session.execute(
        update(DeskSession)
        .where(
            DeskSession.telegram_user_id == telegram_user_id,
            DeskSession.ended_at.is_(None),
        )
        .values(ended_at=now)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


def csrf_token(session_id: str) -> str:
    """The token every form of this session carries: derived from the session id (which
    only the cookie holds), so it needs no storage and another site cannot know it."""
    return hmac.new(session_id.encode(), b"desk-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_id: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_id), given)


async def prune(session: AsyncSession, now: datetime) -> int:
    """Delete sessions and links that ended or ran out more than a day ago, and the
    members pages' handoffs (an uploaded roster, links just issued) as soon as they ran
    out: they hold a file and invitation links."""
    before = now - KEPT
    handoffs = await session.execute(delete(DeskHandoff).where(DeskHandoff.expires_at <= now))
    links = await session.execute(delete(DeskLink).where(DeskLink.expires_at < before))
    sessions = await session.execute(
        delete(DeskSession).where(
            or_(DeskSession.expires_at < before, DeskSession.ended_at < before)
        )
    )
    return sum(
        int(getattr(result, "rowcount", 0) or 0) for result in (handoffs, links, sessions)
    )
