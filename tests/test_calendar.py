from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dailypapers.arxiv.calendar import EASTERN, Calendar

CAL = Calendar()


@pytest.mark.parametrize(
    ("day", "announces"),
    [
        ("2026-11-22", True),  # Sunday
        ("2026-11-23", True),  # Monday
        ("2026-11-25", True),  # Wednesday
        ("2026-11-26", False),  # Thursday, Thanksgiving: arXiv holiday
        ("2026-11-27", False),  # Friday
        ("2026-11-28", False),  # Saturday
        ("2026-12-25", False),  # holiday
        ("2026-12-29", False),  # holiday (a Tuesday)
    ],
)
def test_announcement_days(day: str, announces: bool) -> None:
    assert CAL.announces_on(date.fromisoformat(day)) is announces


def test_last_and_next_announcement_span_a_holiday_weekend() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert CAL.last_announcement(now) == datetime(2026, 11, 25, 20, 0, tzinfo=EASTERN)
    assert CAL.next_announcement(now) == datetime(2026, 11, 29, 20, 0, tzinfo=EASTERN)


def test_announcement_at_20_eastern_in_utc_with_dst() -> None:
    summer = CAL.announcement_at(date(2026, 7, 6)).astimezone(UTC)
    winter = CAL.announcement_at(date(2026, 12, 7)).astimezone(UTC)
    assert (summer.hour, winter.hour) == (0, 1)


def test_announced_since() -> None:
    before = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # Monday 19:30 ET
    after = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # Monday 20:30 ET
    assert CAL.announced_since(before, after)
    assert not CAL.announced_since(after, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))


def test_extra_holidays() -> None:
    assert not Calendar([date(2027, 1, 1)]).announces_on(date(2027, 1, 1))
    assert CAL.announces_on(date(2027, 1, 3))
