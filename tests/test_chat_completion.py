"""Completion classes in chat (bot/services/completion.py): /tasks shows each task's
and each agency's class, the digest counts them per agency, each "as of" a day; a
deadline on a day off is not overdue before the end of the next working day."""

from __future__ import annotations

import pytest

from bot import callbacks
from bot.callbacks import TaskPress, TaskStatus
from bot.clock import FrozenClock
from tests.chat import linked_group, local, press
from tests.people import registered
from tests.test_chat_calendar import _digests


@pytest.fixture
def clock() -> FrozenClock:
    # Monday 2 March 2026, 09:00 in Hanoi.
    return FrozenClock(local(2026, 3, 2, 9, 0))


async def test_a_deadline_on_a_day_off_is_not_overdue_before_the_next_working_day_ends(bot, admin):
    an = await registered(bot, "Nguyễn Văn An", "DBSH", "BTC")
    await registered(bot, "Trần Thị Bình", "DBSH", "HN")
    # Saturday 07/03/2026: the deadline runs to the end of Monday 09/03.
    await bot.say(admin, "/newtask DBSH BTC,HN 07/03/2026 | Báo cáo kết quả quý I")

    await bot.advance_to(local(2026, 3, 9, 8, 0))
    group = await linked_group(bot, admin)
    since = len(bot.api.sent)
    await bot.advance_to(local(2026, 3, 9, 8, 30))
    [monday] = _digests(bot, group.id, since)
    assert "⏰ Nhiệm vụ quá hạn" not in monday["text"]

    # BTC reports it done on Monday, the deadline's last day: on time.
    cards = await bot.say_all(an, "/status")
    [card] = [m for m in cards if m.get("reply_markup")]
    await press(bot, an, card, callbacks.encode(TaskPress(1, TaskStatus.DONE)))
    listing = (await bot.say(an, "/tasks"))["text"]
    assert "là ngày nghỉ nên hạn kéo dài đến hết" in listing
    assert "Tình hình thực hiện nhiệm vụ: đang thực hiện trong hạn" in listing
    assert "BTC ✅: hoàn thành đúng hạn" in listing
    assert "HN —: đang thực hiện trong hạn" in listing
    assert "quá hạn" not in listing.replace("hoàn thành quá hạn", "")
    assert "tính đến" in listing

    # Tuesday 10/03: HN's part is overdue now, and so is the task.
    await bot.advance_to(local(2026, 3, 10, 9, 0))
    listing = (await bot.say(an, "/tasks"))["text"]
    assert "Tình hình thực hiện nhiệm vụ: quá hạn chưa hoàn thành" in listing
    assert "HN —: quá hạn chưa hoàn thành" in listing
    assert "BTC ✅: hoàn thành đúng hạn" in listing
    assert "quá hạn 1 ngày" in listing  # counted from the end of Monday

    since = len(bot.api.sent)
    await bot.say_all(admin, "/digest DBSH")
    await bot.deliver()
    [tuesday] = _digests(bot, group.id, since)
    text = tuesday["text"]
    assert "⏰ Nhiệm vụ quá hạn" in text
    assert "Kết quả thực hiện nhiệm vụ của các cơ quan" in text and "tính đến" in text
    assert (
        "Bộ Tài chính: hoàn thành đúng hạn 1; hoàn thành quá hạn 0; "
        "đang thực hiện trong hạn 0; quá hạn chưa hoàn thành 0"
    ) in text
    assert (
        "UBND thành phố Hà Nội: hoàn thành đúng hạn 0; hoàn thành quá hạn 0; "
        "đang thực hiện trong hạn 0; quá hạn chưa hoàn thành 1"
    ) in text
