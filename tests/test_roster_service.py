"""Roster import rules (SPEC §4), on the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.clock import FrozenClock
from bot.db import Sessionmaker, transaction
from bot.i18n import use_locale
from bot.models import Agency, CouncilMembership, InviteToken, Member, Role
from bot.services import roster
from bot.services.errors import BadInputError
from bot.services.invites import hash_token
from tests.rosters import csv_bytes, person, sixty_members, xlsx_bytes


async def _import(sessions: Sessionmaker, clock: FrozenClock, data: bytes, name: str = "r.csv"):
    rows = roster.read_roster(name, data)
    async with transaction(sessions) as session:
        return await roster.import_roster(session, clock.now(), rows, by=None)


async def _count(sessions: Sessionmaker, model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_sixty_members_across_three_councils_get_sixty_tokens(seeded, clock):
    report = await _import(seeded, clock, csv_bytes(sixty_members()))
    assert len(report.new_members) == 60
    assert report.errors == []
    assert await _count(seeded, Member) == 60
    assert await _count(seeded, InviteToken) == 60
    tokens = [token for _member, token in report.new_members]
    assert len(set(tokens)) == 60
    async with seeded() as session:
        stored = set((await session.scalars(select(InviteToken.token_hash))).all())
    # Only hashes are stored, never the tokens themselves.
    assert stored == {hash_token(t) for t in tokens}
    assert not stored & set(tokens)


async def test_import_is_idempotent_and_updates_matching_rows(seeded, clock):
    await _import(seeded, clock, csv_bytes(sixty_members()))
    rows = sixty_members()
    rows[0][2] = "Phó Vụ trưởng"  # position changed
    rows[1][5] = "chair"  # role changed
    report = await _import(seeded, clock, csv_bytes(rows))
    assert report.new_members == []
    assert report.updated == 2
    assert report.unchanged == 58
    assert await _count(seeded, Member) == 60
    assert await _count(seeded, InviteToken) == 60
    async with seeded() as session:
        member = await session.scalar(
            select(Member).where(Member.full_name == rows[0][1], Member.position == "Phó Vụ trưởng")
        )
        assert member is not None
        roles = (await session.scalars(select(CouncilMembership.role))).all()
        assert roles.count(Role.CHAIR) == 1


async def test_same_person_in_a_second_council_is_one_member_with_two_councils(seeded, clock):
    report = await _import(
        seeded, clock, csv_bytes([person("DBSH"), person("DNB", role="contact")])
    )
    assert len(report.new_members) == 1 and report.unchanged == 0 and report.updated == 1
    async with seeded() as session:
        assert await session.scalar(select(func.count()).select_from(CouncilMembership)) == 2


async def test_bad_rows_are_reported_by_number_and_good_rows_kept(seeded, clock):
    rows = [
        person(name="Lê Thị Hoa"),  # row 2: good
        person(council="XYZ", name="Trần Văn Bảo"),  # row 3: unknown council
        person(name="   "),  # row 4: empty name
        person(name="Lê  thị hoa"),  # row 5: same person as row 2 (spacing and case)
        person(name="Phạm Văn Cường", agency="NEWAG"),  # row 6: unknown agency, no name
        person(name="Vũ Thị Dung", role="boss"),  # row 7: bad role
        person(name="Đỗ Văn Em", language="fr"),  # row 8: bad language
        person(name="Hồ Văn Giang", email="not-an-email"),  # row 9: bad e-mail
        person(name="Mai Văn Hùng", agency="NEWAG", agency_name="Ban Quản lý dự án"),  # good
    ]
    with use_locale("en"):
        report = await _import(seeded, clock, csv_bytes(rows))
        reasons = {e.number: e.reason.render() for e in report.errors}
    assert [m.full_name for m, _t in report.new_members] == ["Lê Thị Hoa", "Mai Văn Hùng"]
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "unknown council XYZ" in reasons[3]
    assert "full name is empty" in reasons[4]
    assert "row 2" in reasons[5]
    assert "NEWAG" in reasons[6] and "agency_name" in reasons[6]
    assert "boss" in reasons[7]
    assert "fr" in reasons[8]
    assert "not-an-email" in reasons[9]
    async with seeded() as session:
        assert await session.scalar(select(Agency).where(Agency.code == "NEWAG")) is not None


async def test_reasons_are_translated_into_vietnamese(seeded, clock):
    with use_locale("vi"):
        report = await _import(seeded, clock, csv_bytes([person(council="XYZ")]))
        reason = report.errors[0].reason.render()
    assert "XYZ" in reason and "hội đồng" in reason.lower()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        (
            "r.csv",
            csv_bytes([person()], header=["council", "full_name", "agency", "role"]),
            "position",
        ),
        ("r.csv", "council,full_name\nDBSH,Hà Văn An\n".encode("cp1258"), "UTF-8"),
        ("r.csv", "council,full_name\nDBSH,Nguyễn Văn An\n".encode("utf-16"), "UTF-8"),
        ("r.xlsx", b"this is not a spreadsheet", "XLSX"),
        ("r.xlsx", b"PK\x03\x04garbage", "XLSX"),
        ("r.csv", b"", "empty"),
        ("r.csv", csv_bytes([]), "no member rows"),
    ],
    ids=[
        "missing-column",
        "windows-1258",
        "utf-16",
        "xlsx-not-zip",
        "xlsx-broken-zip",
        "empty",
        "header-only",
    ],
)
async def test_unreadable_files_are_refused_whole(seeded, clock, name, data, expected):
    with use_locale("en"), pytest.raises(BadInputError) as caught:
        roster.read_roster(name, data)
    with use_locale("en"):
        assert expected in caught.value.message.render()
    assert await _count(seeded, Member) == 0


async def test_xlsx_roster_with_bom_free_numbers_and_diacritics(seeded, clock):
    data = xlsx_bytes(
        [
            [
                "DBSCL",
                "Trương Thị Ánh",
                "Chuyên viên",
                "CT",
                "",
                "contact",
                "vi",
                84912345678,
                "anh@cantho.gov.vn",
            ]
        ]
    )
    report = await _import(seeded, clock, data, name="roster.xlsx")
    assert report.errors == []
    member = report.new_members[0][0]
    assert member.full_name == "Trương Thị Ánh"
    assert member.phone == "84912345678"
    assert member.language == "vi"


async def test_csv_with_bom_and_semicolons_is_read(seeded, clock):
    data = "\ufeffcouncil;full_name;position;agency;role\nTN;Y Bih Niê;Phó Giám đốc;DLK;member\n"
    report = await _import(seeded, clock, data.encode("utf-8"))
    assert [m.full_name for m, _t in report.new_members] == ["Y Bih Niê"]
