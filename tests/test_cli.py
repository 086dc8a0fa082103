"""The command line, as a newcomer uses it from the README (SPEC §1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.app import timing_from
from bot.config import load_settings
from bot.models import Admin, Meeting, Member, Outbox, Task
from bot.outbox.plan import plan_meeting, plan_task
from tests.cli import run_cli
from tests.rosters import csv_bytes, person, sixty_members

LINK = re.compile(r"^(\d+)\t(.+)\thttps://t\.me/dieuphoi_test_bot\?start=([A-Za-z0-9_-]{16,64})$")


@pytest.fixture
def env(cli_environment):
    return cli_environment


async def test_first_run_walkthrough(env, tmp_path, sessions):
    """db upgrade, seed (twice), admin add, import 60 members, list, re-invite."""
    assert (await run_cli("db", "upgrade", env=env, cwd=tmp_path)).code == 0

    first = await run_cli("seed", env=env, cwd=tmp_path)
    assert first.code == 0, first.err
    assert "councils: 6 added" in first.out
    again = await run_cli("seed", env=env, cwd=tmp_path)
    assert "councils: 0 added, 0 updated; agencies: 0 added, 0 updated" in again.out

    added = await run_cli("admin", "add", "424242", "--name", "Ban Thư ký", env=env, cwd=tmp_path)
    assert added.code == 0, added.err
    async with sessions() as session:
        assert (await session.get(Admin, 424242)).name == "Ban Thư ký"

    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(sixty_members()))
    imported = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    assert imported.code == 0, imported.err
    lines = imported.out.splitlines()
    assert len(lines) == 60
    matches = [LINK.match(line) for line in lines]
    assert all(matches), lines[:3]
    tokens = {m.group(3) for m in matches if m}
    assert len(tokens) == 60

    # Importing the same file again creates nobody and prints no link.
    repeat = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    assert repeat.code == 0 and repeat.out == ""
    assert "0 mới, 0 được cập nhật, 60 không thay đổi" in repeat.err  # DEFAULT_LOCALE=vi

    listed = await run_cli("members", "list", "--council", "DBSH", env=env, cwd=tmp_path)
    assert len(listed.out.splitlines()) == 20
    assert all("DBSH:member" in line for line in listed.out.splitlines())

    member_id = matches[0].group(1)
    fresh = await run_cli("invite", member_id, env=env, cwd=tmp_path)
    assert fresh.code == 0, fresh.err
    match = LINK.match(fresh.out.strip())
    assert match and match.group(1) == member_id and match.group(3) not in tokens


async def test_import_reports_bad_rows_by_number_and_keeps_good_ones(env, tmp_path, seeded):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes([person(name="Lê Văn Tốt"), person(council="ZZ", name="X Y")]))
    result = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    assert result.code == 1
    assert len(result.out.splitlines()) == 1 and "Lê Văn Tốt" in result.out
    assert "3" in result.err and "ZZ" in result.err


async def test_import_of_an_unreadable_file_changes_nothing(env, tmp_path, seeded):
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes(b"not a spreadsheet at all")
    result = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("error: ") and "XLSX" in result.err
    async with seeded() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 0


async def test_import_without_a_token_says_why_before_writing(env, tmp_path, seeded):
    del env["TELEGRAM_BOT_TOKEN"]
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes([person()]))
    result = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("error: TELEGRAM_BOT_TOKEN: not set")
    async with seeded() as session:
        assert await session.scalar(select(func.count()).select_from(Member)) == 0


async def test_import_with_a_refused_token(env, tmp_path, seeded):
    env["TELEGRAM_BOT_TOKEN"] = "999:wrong-token"
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes([person()]))
    result = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    assert result.code == 2
    assert "error: TELEGRAM_BOT_TOKEN: Telegram refused" in result.err
    assert "wrong-token" not in result.err


async def test_an_unreachable_database_is_one_clear_line(env, tmp_path):
    env["DATABASE_URL"] = "postgresql+asyncpg://dieuphoi:secret-pw@127.0.0.1:9/nowhere"
    for args in (("db", "upgrade"), ("seed",), ("run",)):
        result = await run_cli(*args, env=env, cwd=tmp_path)
        assert result.code == 2
        assert result.err.startswith("error: DATABASE_URL: cannot use the database")
        assert len(result.err.strip().splitlines()) == 1
        assert "secret-pw" not in result.err


async def test_commands_on_an_unmigrated_database_ask_for_db_upgrade(env, tmp_path):
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = await run_cli("seed", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "dieuphoi db upgrade" in result.err


async def test_run_without_a_token_stops_with_exit_code_2(env, tmp_path):
    del env["TELEGRAM_BOT_TOKEN"]
    result = await run_cli("run", env=env, cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip() == "error: TELEGRAM_BOT_TOKEN: not set (get one from @BotFather)"


async def test_a_bad_setting_stops_start_up_with_one_line(env, tmp_path):
    env["DEFAULT_LOCALE"] = "fr"
    result = await run_cli("run", env=env, cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("error: DEFAULT_LOCALE: ")
    assert len(result.err.strip().splitlines()) == 1


async def test_invite_for_an_unknown_member(env, tmp_path, seeded):
    result = await run_cli("invite", "999", env=env, cwd=tmp_path)
    assert result.code == 1
    assert "999" in result.err


async def test_seed_demo_adds_the_6411_work_once_and_sends_nothing_for_the_past(
    env, tmp_path, sessions
):
    first = await run_cli("seed", "--demo", env=env, cwd=tmp_path)
    assert first.code == 0, first.err
    assert "demo (6411/VPCP-KTTH): 12 meetings, 12 tasks added" in first.out
    again = await run_cli("seed", "--demo", env=env, cwd=tmp_path)
    assert "demo (6411/VPCP-KTTH): 0 meetings, 0 tasks added" in again.out
    async with sessions() as session:
        fund = (
            await session.scalars(select(Task).where(Task.title.like("%Quỹ phát triển hạ tầng%")))
        ).all()
        plans = (await session.scalars(select(Task).where(Task.period == "Q3/2023"))).all()
        meetings = (await session.scalars(select(Meeting))).all()
        # Planning them now, as the planner would, sends nothing about 2023.
        timing = timing_from(load_settings(env_file=None))
        now = datetime.now(UTC)
        for task in (await session.scalars(select(Task))).all():
            await plan_task(session, task, timing, now)
        for meeting in meetings:
            await plan_meeting(session, meeting, timing, now)
        outbox = await session.scalar(select(func.count()).select_from(Outbox))
    assert len(fund) == 6
    assert all(t.period == "Q4/2023" and t.ref == "6411/VPCP-KTTH" for t in fund)
    assert {a.agency.code for a in fund[0].assignments} == {"BKHDT", "BTC"}
    by_council = {t.council.code: {a.agency.code for a in t.assignments} for t in plans}
    assert by_council["DBSH"] == {"HN", "HP", "QNI", "BN", "HY", "NB"}
    assert sum(len(codes) for codes in by_council.values()) == 34
    assert {m.starts_at.year for m in meetings} == {2023}
    assert outbox == 0  # every moment of 2023 had passed when the demo was loaded


async def test_invite_council_prints_fresh_links_for_whoever_has_not_registered(env, tmp_path, bot):
    """A lost import answer is never a dead end: the links can always be printed again."""
    roster = tmp_path / "roster.csv"
    roster.write_bytes(
        csv_bytes([person(name="Nguyễn Văn An"), person(name="Trần Thị Bình", agency="HN")])
    )
    imported = await run_cli("members", "import", str(roster), env=env, cwd=tmp_path)
    first = [LINK.match(line) for line in imported.out.splitlines()]
    an = bot.api.add_user(first_name="An")
    await bot.say(an, f"/start {first[0].group(3)}")  # An registers; Bình has lost her link

    fresh = await run_cli("invite", "--council", "dbsh", env=env, cwd=tmp_path)
    assert fresh.code == 0, fresh.err
    [line] = fresh.out.splitlines()
    match = LINK.match(line)
    assert match and match.group(1, 2) == (first[1].group(1), "Trần Thị Bình")
    assert match.group(3) != first[1].group(3)
    assert fresh.err.strip() == "1 đường dẫn mời mới cho DBSH (đường dẫn cũ không còn hiệu lực)."
    binh = bot.api.add_user(first_name="Bình")
    stale = await bot.say(binh, f"/start {first[1].group(3)}")
    assert stale["text"].startswith("Đường dẫn mời này đã được thay bằng đường dẫn mới hơn.")
    assert "Trần Thị Bình" in (await bot.say(binh, f"/start {match.group(3)}"))["text"]

    none_left = await run_cli("invite", "--council", "DBSH", env=env, cwd=tmp_path)
    assert (none_left.code, none_left.out) == (0, "")
    assert "Tất cả thành viên DBSH đã đăng ký" in none_left.err


async def test_invite_needs_a_member_or_a_council(env, tmp_path, seeded):
    neither = await run_cli("invite", env=env, cwd=tmp_path)
    assert neither.code == 1
    assert neither.err.strip() == "error: give either MEMBER_ID or --council CODE"
    unknown = await run_cli("invite", "--council", "ZZ", env=env, cwd=tmp_path)
    assert unknown.code == 1 and unknown.err.startswith("error: Không có Hội đồng mã ZZ.")
