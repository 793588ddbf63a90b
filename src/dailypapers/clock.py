"""The runs' clock, without the store's libraries (the skip path reads it first)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from dailypapers.errors import ConfigError

NOW_ENV = "DAILYPAPERS_NOW"  # an ISO time with offset: the runs' clock (tests, a past day)
FIRST_YEAR, LAST_YEAR = 1991, 9900  # arXiv's first year; models.MAX_YEAR


class ClockError(ConfigError):
    """``DAILYPAPERS_NOW`` is not an ISO time with a UTC offset."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def run_clock() -> datetime:
    """The time a run starts at: ``DAILYPAPERS_NOW`` when set, else the real time.

    A subprocess (the CLI under test) is given a fixed day this way, so what
    arXiv's calendar says (weekday, holiday) never depends on the real date.
    """
    value = os.environ.get(NOW_ENV, "").strip()
    if not value:
        return utcnow()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ClockError(f"{NOW_ENV}={value!r} is not an ISO time") from None
    if when.tzinfo is None:
        raise ClockError(f"{NOW_ENV}={value!r} needs a UTC offset (e.g. +00:00)")
    if not FIRST_YEAR <= when.year <= LAST_YEAR:  # date arithmetic overflows near years 1, 9999
        raise ClockError(f"{NOW_ENV}={value!r} is not between {FIRST_YEAR} and {LAST_YEAR}")
    return when.astimezone(UTC)
