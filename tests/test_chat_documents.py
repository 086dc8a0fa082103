"""The document that assigned a task (`ref=` on /newtask), cited in full in every message."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import Task
from tests.chat import local
from tests.people import registered

FULL = "Công văn số 6411/VPCP-KTTH ngày 19/08/2023 của Văn phòng Chính phủ"


async def test_a_document_with_its_date_is_cited_in_full_everywhere(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    created = await bot.say(
        admin, "/newtask DBSH BTC 26/11/2026 | Góp ý quy hoạch | ref=6411/VPCP-KTTH ngày 19/8/2023"
    )
    assert "📄 Văn bản: " + FULL in created["text"]
    async with bot.sessions() as session:
        task = await session.scalar(select(Task))
    assert task is not None and task.ref == "6411/VPCP-KTTH ngày 19/08/2023"
    listing = await bot.say(an, "/tasks")
    assert FULL in listing["text"]
    # The reminder the day before names it the same way.
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 11, 25, 9, 0))
    [reminder] = [m for m in bot.api.sent[since:] if m["chat"]["id"] == an.id]
    assert FULL in reminder["text"]


async def test_an_unknown_issuer_is_cited_plainly_and_english_reads_english(bot, admin):
    plain = await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Báo cáo | ref=123/ABC ngày 5/1/2026")
    assert "📄 Văn bản: số 123/ABC ngày 05/01/2026" in plain["text"]
    await bot.say(admin, "/lang en")
    english = await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Report | ref=24/NQ-CP")
    assert "📄 Document: Resolution No. 24/NQ-CP from the Government" in english["text"]


async def test_garbage_in_ref_is_refused_with_an_example_and_creates_nothing(bot, admin):
    garbage = ("???", "abc def ghi", "", "6411/VPCP-KTTH ngày 32/8/2023", "6411/VPCP-KTTH hôm qua")
    for ref in garbage:
        answer = await bot.say(admin, f"/newtask DBSH BTC Q4/2026 | Báo cáo | ref={ref}")
        text = answer["text"]
        assert f"“ref={ref}” không phải là văn bản hợp lệ" in text, text
        assert "ví dụ: ref=6411/VPCP-KTTH ngày 19/8/2023" in text
        assert "Cú pháp: /newtask" in text
    await bot.say(admin, "/lang en")
    answer = await bot.say(admin, "/newtask DBSH BTC Q4/2026 | Report | ref=???")
    assert "“ref=???” is not a document" in answer["text"]
    assert "e.g. ref=6411/VPCP-KTTH ngày 19/8/2023" in answer["text"]
    async with bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Task)) == 0
