"""`dieuphoi members away MEMBER_ID FROM TO [--stand-in MEMBER_ID]` (SPEC §1): the admin
records an absence from the command line; bad input is refused with exit code 2 and
changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import SystemClock
from bot.models import Absence, AuditLog, Member, Outbox
from tests.cli import run_cli
from tests.people import registered


async def _ids(bot) -> dict[str, int]:
    async with bot.sessions() as session:
        return {m.full_name: m.id for m in (await session.scalars(select(Member))).all()}


async def _absences(bot) -> list[Absence]:
    async with bot.sessions() as session:
        return list((await session.scalars(select(Absence).order_by(Absence.id))).all())


def _day(days_ahead: int) -> str:
    # The subprocess runs on the real clock, not the tests' frozen one.
    return (SystemClock().now() + timedelta(days=days_ahead)).strftime("%d/%m/%Y")


async def test_members_away_records_the_absence_and_its_stand_in(cli_environment, tmp_path, bot):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "TN", "BTC")
    ids = await _ids(bot)
    an, binh = ids["Nguyễn Văn An"], ids["Trần Thị Bình"]
    first, last = _day(3), _day(7)
    result = await run_cli(
        "members", "away", str(an), first, last, "--stand-in", str(binh),
        env=cli_environment, cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.strip() == (
        f"{an} Nguyễn Văn An: vắng từ ngày {first} đến ngày {last}; {binh} Trần Thị Bình thay."
    )
    [absence] = await _absences(bot)
    assert (absence.member_id, absence.stand_in_id, absence.created_by) == (an, binh, "cli")
    async with bot.sessions() as session:
        [audit] = (
            await session.scalars(select(AuditLog).where(AuditLog.action == "member.away"))
        ).all()
    assert audit.actor == "cli" and audit.details["stand_in_id"] == binh
    async with bot.sessions() as session:
        [notice] = (
            await session.scalars(select(Outbox).where(Outbox.kind == "stand_in_notice"))
        ).all()
    assert notice.member_id == binh  # the stand-in is told


async def test_members_away_refuses_bad_input_with_exit_code_2(cli_environment, tmp_path, bot):
    await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Lê Văn Cường", "DBSH", "BCT")
    ids = await _ids(bot)
    an, cuong = str(ids["Nguyễn Văn An"]), str(ids["Lê Văn Cường"])
    cases = {
        (an, _day(7), _day(3)): "error: Ngày cuối của thời gian vắng trước ngày đầu.",
        (an, _day(-2), _day(3)): "error: Thời gian vắng không thể bắt đầu trong quá khứ",
        (an, "31/02/2027", _day(3)): "error: “31/02/2027” không phải là ngày hợp lệ",
        (an, _day(3), _day(7), "--stand-in", cuong): (
            "error: Người thay phải là một thành viên khác đã đăng ký của cùng cơ quan."
        ),
        ("9999", _day(3), _day(7)): "error: Không có thành viên nào có mã 9999.",
    }
    for args, reason in cases.items():
        result = await run_cli("members", "away", *args, env=cli_environment, cwd=tmp_path)
        assert result.code == 2, (args, result.err)
        assert result.err.startswith(reason), (args, result.err)
        assert result.out == ""
    assert await _absences(bot) == []
