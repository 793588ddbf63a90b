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


def test_sundays_announcement_closes_on_friday_and_mondays_carries_the_weekend() -> None:
    friday = datetime(2026, 11, 20, 14, 0, tzinfo=EASTERN)
    monday = datetime(2026, 11, 23, 14, 0, tzinfo=EASTERN)
    assert CAL.cutoff(date(2026, 11, 22)) == friday  # Sunday's
    assert CAL.window(date(2026, 11, 23)) == (friday, monday)  # Monday's: three days
    assert CAL.window(date(2026, 11, 24))[0] == monday  # Tuesday's: one
    # Thanksgiving (no announcement Thursday): Sunday's carries Wednesday 14:00 to Friday.
    wednesday = datetime(2026, 11, 25, 14, 0, tzinfo=EASTERN)
    assert CAL.window(date(2026, 11, 29)) == (
        wednesday,
        datetime(2026, 11, 27, 14, 0, tzinfo=EASTERN),
    )


def test_batches_count_sundays_cutoff_on_friday() -> None:
    thursday = datetime(2026, 11, 19, 15, 0, tzinfo=EASTERN)
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=EASTERN)
    assert CAL.batches(thursday, saturday) == 1  # Sunday's cutoff has passed
    assert CAL.batches(thursday, saturday, announced_by=True) == 0  # not yet announced
    assert CAL.batches(saturday, datetime(2026, 11, 23, 21, 0, tzinfo=EASTERN)) == 1  # Monday's
