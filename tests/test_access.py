"""Access can be taken away (issue 9, point 7): `admin remove`, ADMIN_TELEGRAM_IDS at
start-up, `members remove [--council]`, and a re-import that no longer lists someone."""

from __future__ import annotations

import itertools
import logging
import re

import pytest
from sqlalchemy import func, select

from bot import callbacks
from bot.callbacks import TaskPress, TaskStatus
from bot.config import load_settings
from bot.db import transaction
from bot.models import Admin, AuditLog, CouncilMembership, InviteToken, Member, Outbox, StatusReport
from bot.services import admins
from bot.services.people import TelegramIdentity, identify
from tests.chat import local, press
from tests.cli import run_cli
from tests.harness import BotHarness
from tests.people import enrol, registered
from tests.rosters import csv_bytes, person

NOT_ADMIN = "Chỉ cán bộ Cơ quan thường trực Hội đồng mới có thể thực hiện thao tác này."
NEWTASK = "/newtask DBSH BTC Q4/2026 | Báo cáo thực hiện quy hoạch vùng"
LINK = re.compile(r"^(\d+)\t(.+)\thttps://t\.me/dieuphoi_test_bot\?start=([A-Za-z0-9_-]{16,64})$")


@pytest.fixture
def env_and_files(cli_environment, tmp_path):
    """The CLI's environment, its directory, and a writer of numbered roster files."""
    numbers = itertools.count(1)

    def write(rows):
        path = tmp_path / f"danh-sach-{next(numbers)}.csv"
        path.write_bytes(csv_bytes(rows))
        return path

    return cli_environment, tmp_path, write


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
        f"{admin.id} không còn quyền cán bộ Cơ quan thường trực "
        "(có hiệu lực từ thao tác tiếp theo của người này)."
    )
    assert (await bot.say(admin, NEWTASK))["text"] == NOT_ADMIN
    [entry] = await _audit(bot.sessions, "admin.remove")
    assert (entry.actor, entry.details["telegram_user_id"]) == ("cli", admin.id)

    again = await run_cli("admin", "remove", str(admin.id), env=cli_environment, cwd=tmp_path)
    assert again.code == 1
    assert again.err.strip() == f"error: {admin.id} không có quyền cán bộ Cơ quan thường trực."

    back = await run_cli("admin", "add", str(admin.id), env=cli_environment, cwd=tmp_path)
    assert back.code == 0 and "đã được cấp quyền cán bộ Cơ quan thường trực" in back.out
    assert (await bot.say(admin, NEWTASK))["text"].startswith("✅ Đã tạo nhiệm vụ #2")


async def test_admin_remove_of_someone_who_is_not_an_admin(cli_environment, tmp_path, seeded):
    result = await run_cli("admin", "remove", "4242", env=cli_environment, cwd=tmp_path)
    assert result.code == 1
    assert result.err.strip() == "error: 4242 không có quyền cán bộ Cơ quan thường trực."


async def test_admin_telegram_ids_at_start_up(api, database_url, seeded, clock, caplog):
    """Start the bot three times with different ADMIN_TELEGRAM_IDS, as an operator would."""
    one, two, three, by_hand, taken = (api.add_user(first_name=n, started=True) for n in "ABCDE")
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

    def menu(user) -> set[str]:
        return {c["command"] for c in api.commands_for({"type": "chat", "chat_id": user.id})}

    # Their command menus follow: the admin commands only for the admins of now.
    assert "newtask" in menu(two) and "newtask" in menu(by_hand)
    assert "newtask" not in menu(one) and "status" in menu(one)
    assert "newtask" not in menu(taken)

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


# --- members --------------------------------------------------------------------------------


async def _pending(sessions, member_id: int, subject_prefix: str = "") -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(
                    Outbox.member_id == member_id,
                    Outbox.state == "pending",
                    Outbox.subject.startswith(subject_prefix),
                )
            )
        )


async def _member(sessions, name: str) -> Member:
    async with sessions() as session:
        return await session.scalar(select(Member).where(Member.full_name == name))


async def test_members_remove_unbinds_revokes_and_keeps_what_they_reported(
    bot, admin, cli_environment, tmp_path
):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    binh = await registered(bot, "Trần Thị Bình", "DBSH", "BTC")
    await bot.say(admin, NEWTASK)
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 12, 17, 8, 0))  # the first reminder, 14 days ahead
    [reminder] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    await press(bot, an, reminder, callbacks.encode(TaskPress(1, TaskStatus.AT_RISK)))
    member = await _member(bot.sessions, "Nguyễn Văn An")
    assert await _pending(bot.sessions, member.id) > 0
    async with transaction(bot.sessions) as session:  # a link issued and not used yet
        from bot.services.invites import issue_invite

        await issue_invite(session, bot.clock.now(), member.id)

    result = await run_cli("members", "remove", str(member.id), env=cli_environment, cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.startswith(f"Đã xóa {member.id} Nguyễn Văn An khỏi danh sách: ")
    assert "(DBSH)" in result.out and "Các báo cáo đã gửi được giữ nguyên." in result.out

    async with bot.sessions() as session:
        removed = await session.get(Member, member.id)
        seats = await session.scalar(
            select(func.count())
            .select_from(CouncilMembership)
            .where(CouncilMembership.member_id == member.id)
        )
        open_links = await session.scalar(
            select(func.count())
            .select_from(InviteToken)
            .where(
                InviteToken.member_id == member.id,
                InviteToken.used_at.is_(None),
                InviteToken.revoked_at.is_(None),
            )
        )
        reports = (await session.scalars(select(StatusReport))).all()
    assert (removed.telegram_user_id, removed.removed_by, seats, open_links) == (None, "cli", 0, 0)
    assert [(r.member_id, r.status) for r in reports] == [(member.id, "at_risk")]
    assert await _pending(bot.sessions, member.id) == 0
    binh_id = (await _member(bot.sessions, "Trần Thị Bình")).id
    assert await _pending(bot.sessions, binh_id) > 0  # the others' reminders still go

    # The person is now like anyone the bot does not know.
    status = await bot.say(an, "/status")
    assert status["text"] == "Chỉ thành viên đã đăng ký mới có nhiệm vụ để báo cáo."
    start = await bot.say(an, "/start")
    assert start["text"].startswith("Quý vị chưa đăng ký.") and str(an.id) in start["text"]
    tasks = await bot.say(binh, "/tasks")
    assert "BTC 🟠" in tasks["text"]  # what An reported still counts for the agency

    listed = await run_cli("members", "list", env=cli_environment, cwd=tmp_path)
    assert f"{member.id}\tNguyễn Văn An\tBTC\t\tđã xóa khỏi danh sách" in listed.out.splitlines()

    again = await run_cli("members", "remove", str(member.id), env=cli_environment, cwd=tmp_path)
    assert again.code == 0
    assert again.out.strip() == (
        f"{member.id} Nguyễn Văn An đã được xóa khỏi danh sách từ trước; không có gì thay đổi."
    )
    [entry] = await _audit(bot.sessions, "member.remove")
    assert entry.actor == "cli" and entry.details["councils"] == ["DBSH"]
    assert entry.details["telegram_user_id"] == an.id

    refused = await run_cli("invite", str(member.id), env=cli_environment, cwd=tmp_path)
    assert refused.code == 1 and "đã bị xóa khỏi danh sách thành viên" in refused.err


async def test_members_remove_of_an_unknown_member(cli_environment, tmp_path, seeded):
    result = await run_cli("members", "remove", "999", env=cli_environment, cwd=tmp_path)
    assert result.code == 1
    assert result.err.strip() == "error: Không có thành viên nào có mã 999."


async def test_members_remove_council_takes_only_that_seat(bot, admin, cli_environment, tmp_path):
    [(member, token)] = await enrol(
        bot, person("DBSH", "Nguyễn Văn An", "BTC"), person("TN", "Nguyễn Văn An", "BTC")
    )
    an = bot.api.add_user(first_name="An")
    await bot.say(an, f"/start {token}")
    await bot.say(admin, NEWTASK)
    await bot.say(admin, "/newtask TN BTC Q4/2026 | Báo cáo vùng Tây Nguyên")
    await bot.say(admin, "/newmeeting TN 2026-12-10 09:00 | Họp Hội đồng vùng Tây Nguyên")
    assert await _pending(bot.sessions, member.id, "task:2") > 0
    assert await _pending(bot.sessions, member.id, "meeting:1") > 0

    result = await run_cli(
        "members", "remove", str(member.id), "--council", "tn", env=cli_environment, cwd=tmp_path
    )
    assert result.code == 0, result.err
    assert result.out.startswith(f"{member.id} Nguyễn Văn An đã được rút khỏi TN; ")
    assert await _pending(bot.sessions, member.id, "task:2") == 0
    assert await _pending(bot.sessions, member.id, "meeting:1") == 0
    assert await _pending(bot.sessions, member.id, "task:1") > 0  # DBSH's stay
    whoami = await bot.say(an, "/whoami")
    assert "(DBSH)" in whoami["text"] and "(TN)" not in whoami["text"]
    refused = await bot.say(an, "/tasks TN")
    assert "TN" in refused["text"] and "#2" not in refused["text"]

    again = await run_cli(
        "members", "remove", str(member.id), "--council", "TN", env=cli_environment, cwd=tmp_path
    )
    assert again.code == 0
    assert again.out.strip() == (
        f"{member.id} Nguyễn Văn An không phải là thành viên TN; không có gì thay đổi."
    )
    [entry] = await _audit(bot.sessions, "member.seat_remove")
    assert (entry.details["council"], entry.details["by_import"]) == ("TN", False)
    unknown = await run_cli(
        "members", "remove", str(member.id), "--council", "ZZ", env=cli_environment, cwd=tmp_path
    )
    assert unknown.code == 1 and "ZZ" in unknown.err


# --- re-import: the file is the roster of the councils it names --------------------------


FULL = [
    person("DBSH", "Nguyễn Văn An", "BTC"),
    person("DBSH", "Trần Thị Bình", "HN"),
    person("DBSH", "Lê Văn Cường", "BXD"),
    person("TN", "Phạm Văn Dũng", "DLK"),
]


async def _seats(sessions) -> set[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(CouncilMembership, Member).join(Member, Member.id == CouncilMembership.member_id)
        )
        return {(seat.council.code, member.full_name) for seat, member in rows}


async def test_reimport_without_a_row_removes_that_seat_and_says_so(env_and_files, seeded):
    env, tmp_path, write = env_and_files
    first = await run_cli("members", "import", str(write(FULL)), env=env, cwd=tmp_path)
    assert first.code == 0, first.err
    ids = {LINK.match(line).group(2): LINK.match(line).group(1) for line in first.out.splitlines()}

    without_binh = [FULL[0], FULL[2]]  # a DBSH roster; TN is not named
    second = await run_cli("members", "import", str(write(without_binh)), env=env, cwd=tmp_path)
    assert second.code == 0, second.err
    assert second.out == ""
    assert (
        f"rút khỏi DBSH vì không có tên trong tệp: {ids['Trần Thị Bình']} Trần Thị Bình (HN)"
        in second.err.splitlines()
    )
    assert "0 mới, 0 được cập nhật, 2 không thay đổi, 0 dòng bị từ chối, 1 lượt rút" in second.err
    assert await _seats(seeded) == {
        ("DBSH", "Nguyễn Văn An"),
        ("DBSH", "Lê Văn Cường"),
        ("TN", "Phạm Văn Dũng"),
    }
    [entry] = await _audit(seeded, "member.seat_remove")
    assert (entry.actor, entry.details["by_import"]) == ("cli", True)

    # A removed member listed again is back, with a fresh link; Bình gets her seat back.
    removed = await run_cli("members", "remove", ids["Nguyễn Văn An"], env=env, cwd=tmp_path)
    assert removed.code == 0, removed.err
    third = await run_cli("members", "import", str(write(FULL)), env=env, cwd=tmp_path)
    assert third.code == 0, third.err
    [line] = third.out.splitlines()
    assert LINK.match(line).group(1, 2) == (ids["Nguyễn Văn An"], "Nguyễn Văn An")
    assert f"có tên trở lại trong danh sách: {ids['Nguyễn Văn An']} Nguyễn Văn An" in third.err
    assert len(await _seats(seeded)) == 4
    async with seeded() as session:
        back = await session.get(Member, int(ids["Nguyễn Văn An"]))
    assert back.removed_at is None


async def test_a_refused_row_keeps_its_persons_seat(env_and_files, seeded):
    env, tmp_path, write = env_and_files
    assert (await run_cli("members", "import", str(write(FULL)), env=env, cwd=tmp_path)).code == 0
    typo = [FULL[0], person("DBSH", "Trần Thị Bình", "HN", email="not-an-address"), FULL[2]]
    result = await run_cli("members", "import", str(write(typo)), env=env, cwd=tmp_path)
    assert result.code == 1
    assert "dòng 3:" in result.err and "rút khỏi DBSH" not in result.err
    assert ("DBSH", "Trần Thị Bình") in await _seats(seeded)


async def test_chat_import_twice_with_a_row_deleted(bot, admin):
    async def send(rows):
        since = len(bot.api.sent)
        bot.api.send_document(admin, "danh-sach.csv", csv_bytes(rows), caption="/import")
        return (await bot.api.wait_for_message(admin.id, since=since))["text"]

    await send(FULL)
    answer = await send([FULL[0], FULL[2], FULL[3]])
    assert "rút khỏi Hội đồng: 1" in answer
    assert "Rút khỏi Hội đồng (tệp có Hội đồng này nhưng không còn tên thành viên):" in answer
    assert "2. Trần Thị Bình (HN) — DBSH" in answer
    assert "t.me/" not in answer
    assert ("DBSH", "Trần Thị Bình") not in await _seats(bot.sessions)
    [entry] = await _audit(bot.sessions, "member.seat_remove")
    assert entry.actor == f"tg:{admin.id}"


async def test_escalations_go_only_to_current_admins(seeded, clock):
    from bot.outbox.plan import Directory

    async with transaction(seeded) as session:
        await admins.add_admin(session, clock.now(), 11, "Còn", "cli")
        await admins.add_admin(session, clock.now(), 12, "Đã rút", "cli")
        await admins.remove_admin(session, clock.now(), 12, "cli")
        directory = await Directory.load(session)
    assert directory.admin_ids == [11]
