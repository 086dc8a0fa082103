"""Cited documents: read from `ref=`, described from their symbol, written out in full."""

from __future__ import annotations

from datetime import date

import pytest

from bot.documents import Document, DocumentFormatError, parse_document
from bot.formats import format_document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6411/VPCP-KTTH", Document("6411/VPCP-KTTH", None)),
        ("6411/VPCP-KTTH ngày 19/8/2023", Document("6411/VPCP-KTTH", date(2023, 8, 19))),
        ("6411/VPCP-KTTH 19/08/2023", Document("6411/VPCP-KTTH", date(2023, 8, 19))),
        ("6411/VPCP-KTTH ngày 19.8.2023", Document("6411/VPCP-KTTH", date(2023, 8, 19))),
        (
            "1234/QĐ-TTg ngày 3 tháng 7 năm 2025",
            Document("1234/QĐ-TTg", date(2025, 7, 3)),
        ),
        ("Số 24/NQ-CP", Document("24/NQ-CP", None)),
        ("15/2025/NĐ-CP", Document("15/2025/NĐ-CP", None)),
        ("  123/ABC   ngày 5/1/2024 ", Document("123/ABC", date(2024, 1, 5))),
    ],
)
def test_a_number_and_symbol_with_an_optional_date(text: str, expected: Document) -> None:
    assert parse_document(text) == expected


def test_the_date_is_stored_as_officials_write_it() -> None:
    assert parse_document("6411/VPCP-KTTH ngày 19/8/2023").stored() == (
        "6411/VPCP-KTTH ngày 19/08/2023"
    )
    assert parse_document("6411/VPCP-KTTH").stored() == "6411/VPCP-KTTH"


@pytest.mark.parametrize(
    "text",
    [
        "???",
        "abc def ghi",
        "6411",
        "VPCP-KTTH",
        "/VPCP-KTTH",
        "6411/2023",
        "6411/VPCP-KTTH ngày 32/8/2023",
        "6411/VPCP-KTTH hôm qua",
        "6411/VPCP-KTTH Q4/2023",
    ],
)
def test_garbage_is_not_a_document(text: str) -> None:
    with pytest.raises(DocumentFormatError):
        parse_document(text)


@pytest.mark.parametrize(
    ("stored", "vi", "en"),
    [
        (
            "6411/VPCP-KTTH ngày 19/08/2023",
            "Công văn số 6411/VPCP-KTTH ngày 19/08/2023 của Văn phòng Chính phủ",
            "Official letter No. 6411/VPCP-KTTH of 19/08/2023 from the Government Office",
        ),
        (
            "6411/VPCP-KTTH",
            "Công văn số 6411/VPCP-KTTH của Văn phòng Chính phủ",
            "Official letter No. 6411/VPCP-KTTH from the Government Office",
        ),
        (
            "24/NQ-CP ngày 07/03/2024",
            "Nghị quyết số 24/NQ-CP ngày 07/03/2024 của Chính phủ",
            "Resolution No. 24/NQ-CP of 07/03/2024 from the Government",
        ),
        (
            "1234/QĐ-TTg",
            "Quyết định số 1234/QĐ-TTg của Thủ tướng Chính phủ",
            "Decision No. 1234/QĐ-TTg from the Prime Minister",
        ),
        (
            "08/CT-TTg",
            "Chỉ thị số 08/CT-TTg của Thủ tướng Chính phủ",
            "Directive No. 08/CT-TTg from the Prime Minister",
        ),
        (
            "15/2025/NĐ-CP",
            "Nghị định số 15/2025/NĐ-CP của Chính phủ",
            "Decree No. 15/2025/NĐ-CP from the Government",
        ),
        (
            "123/TB-VPCP",
            "Thông báo số 123/TB-VPCP của Văn phòng Chính phủ",
            "Notice No. 123/TB-VPCP from the Government Office",
        ),
        (
            "5432/BKHĐT-QLQH",
            "Công văn số 5432/BKHĐT-QLQH của Bộ Kế hoạch và Đầu tư",
            "Official letter No. 5432/BKHĐT-QLQH from the Ministry of Planning and Investment",
        ),
        # A known type, an issuer the table does not know: the type, no issuer.
        ("12/BC-UBND ngày 10/12/2026", "Báo cáo số 12/BC-UBND ngày 10/12/2026", None),
        # Nothing known: the number and the date as given.
        ("123/ABC ngày 05/01/2024", "số 123/ABC ngày 05/01/2024", "No. 123/ABC of 05/01/2024"),
        ("123/ABC", "số 123/ABC", "No. 123/ABC"),
        # Written into the database by other means: shown as it is.
        ("Công văn của Bộ", "Công văn của Bộ", "Công văn của Bộ"),
    ],
)
def test_documents_are_cited_in_full(stored: str, vi: str, en: str | None) -> None:
    assert format_document(stored, "vi") == vi
    if en is not None:
        assert format_document(stored, "en") == en
