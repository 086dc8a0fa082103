"""Invite tokens: single use, hashed, expiring, revoked by a fresh one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.models import AuditLog, Member
from bot.services import invites, roster
from bot.services.errors import BadInputError, NotAllowedError
from bot.services.people import TelegramIdentity
from tests.rosters import csv_bytes, person


@pytest.fixture
async def invited(seeded, clock):
    """Two members with fresh invite tokens: [(member_id, token), ...]."""
    rows = roster.read_roster(
        "r.csv", csv_bytes([person(name="Lê Văn A"), person(name="Lê Văn B")])
    )
    async with transaction(seeded) as session:
        report = await roster.import_roster(session, clock.now(), rows, by=None)
    return [(m.id, t) for m, t in report.new_members]


async def _redeem(sessions, clock, user_id, token):
    async with transaction(sessions) as session:
        return await invites.redeem_invite(
            session, clock.now(), TelegramIdentity(user_id, "X"), token
        )


async def test_a_token_binds_once(seeded, clock, invited):
    member_id, token = invited[0]
    registration = await _redeem(seeded, clock, 111, token)
    assert registration.member.id == member_id and not registration.already_registered
    # The same user again: told they are registered, nothing changes.
    again = await _redeem(seeded, clock, 111, token)
    assert again.already_registered
    # Someone else with the same link: refused.
    with pytest.raises(NotAllowedError):
        await _redeem(seeded, clock, 222, token)
    async with seeded() as session:
        member = await session.get(Member, member_id)
        assert member.telegram_user_id == 111
        actions = (await session.scalars(select(AuditLog.action))).all()
        assert actions.count("member.register") == 1


async def test_an_expired_token_is_refused(seeded, clock, invited):
    clock.advance(timedelta(days=14, seconds=1))
    with pytest.raises(NotAllowedError) as caught:
        await _redeem(seeded, clock, 111, invited[0][1])
    assert "expired" in caught.value.message.msgid


async def test_a_token_still_works_on_its_last_day(seeded, clock, invited):
    clock.advance(timedelta(days=13, hours=23))
    assert (await _redeem(seeded, clock, 111, invited[0][1])).member.id == invited[0][0]


@pytest.mark.parametrize("token", ["", "abc", "x" * 65, "../../etc/passwd", "A" * 24])
async def test_garbage_tokens_are_invalid(seeded, clock, invited, token):
    with pytest.raises(BadInputError):
        await _redeem(seeded, clock, 111, token)


async def test_a_fresh_invite_revokes_the_previous_one(seeded, clock, invited):
    member_id, old = invited[0]
    async with transaction(seeded) as session:
        _member, new = await invites.reissue_invite(session, clock.now(), member_id, "cli")
    with pytest.raises(NotAllowedError) as caught:
        await _redeem(seeded, clock, 111, old)
    assert "replaced" in caught.value.message.msgid
    assert (await _redeem(seeded, clock, 111, new)).member.id == member_id


async def test_one_telegram_account_cannot_take_two_members(seeded, clock, invited):
    await _redeem(seeded, clock, 111, invited[0][1])
    with pytest.raises(NotAllowedError):
        await _redeem(seeded, clock, 111, invited[1][1])
    async with seeded() as session:
        assert (await session.get(Member, invited[1][0])).telegram_user_id is None
