"""arXiv's announcement calendar: when new papers can appear at all.

arXiv announces Sunday to Thursday at 20:00 US Eastern, never on Friday or
Saturday, and skips its holidays (the announcement is deferred to the next
working day). Submissions cut off at 14:00 on weekdays: Sunday's announcement
carries those up to Friday's cutoff, and Monday's the weekend's too (Friday
14:00 to Monday 14:00, three days). A day without an
announcement is normal, not a failure: a run that finds nothing on such a day
says "no announcement today".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
ANNOUNCEMENT_TIME = time(20, 0)
CUTOFF_TIME = time(14, 0)

# arXiv's published holiday schedule (no announcement on these US Eastern
# dates). Extend with `[calendar] holidays` in papers.toml for later years.
HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(day)
    for day in (
        "2026-01-01",
        "2026-01-19",
        "2026-06-19",
        "2026-07-03",
        "2026-09-07",
        "2026-11-26",
        "2026-12-25",
        "2026-12-29",
        "2026-12-31",
    )
)

# Monday=0 ... Sunday=6: announcements happen Sunday to Thursday evenings.
_ANNOUNCING_WEEKDAYS = frozenset({6, 0, 1, 2, 3})
_WEEKEND = frozenset({5, 6})


class Calendar:
    """Announcement days, with the built-in holidays plus any extra ones."""

    def __init__(self, extra_holidays: Iterable[date] = ()) -> None:
        self.holidays = HOLIDAYS | frozenset(extra_holidays)

    def announces_on(self, day: date) -> bool:
        """True when arXiv announces on the evening of ``day`` (US Eastern date)."""
        return day.weekday() in _ANNOUNCING_WEEKDAYS and day not in self.holidays

    def announcement_at(self, day: date) -> datetime:
        """The moment of ``day``'s announcement (aware, US Eastern)."""
        return datetime.combine(day, ANNOUNCEMENT_TIME, EASTERN)

    def last_announcement(self, now: datetime) -> datetime:
        """The most recent announcement at or before ``now``."""
        day = now.astimezone(EASTERN).date()
        for _ in range(30):
            if self.announces_on(day) and self.announcement_at(day) <= now:
                return self.announcement_at(day)
            day -= timedelta(days=1)
        raise ValueError(f"no arXiv announcement in the 30 days before {now.isoformat()}")

    def next_announcement(self, now: datetime) -> datetime:
        """The first announcement after ``now``."""
        day = now.astimezone(EASTERN).date()
        for _ in range(30):
            if self.announces_on(day) and self.announcement_at(day) > now:
                return self.announcement_at(day)
            day += timedelta(days=1)
        raise ValueError(f"no arXiv announcement in the 30 days after {now.isoformat()}")

    def announced_since(self, since: datetime, now: datetime) -> bool:
        """True when arXiv announced anything in ``(since, now]``."""
        return since < self.last_announcement(now)

    def previous_announcement_day(self, day: date) -> date:
        """The last announcing day (US Eastern date) strictly before ``day``."""
        for _ in range(30):
            day -= timedelta(days=1)
            if self.announces_on(day):
                return day
        raise ValueError(f"no arXiv announcement in the 30 days before {day.isoformat()}")

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The submissions ``day``'s announcement carries: ``(previous cutoff, cutoff]``.

        Submissions close at 14:00 US Eastern on weekdays (:meth:`cutoff`).
        """
        previous = self.previous_announcement_day(day)
        return self.cutoff(previous), self.cutoff(day)

    def cutoff(self, day: date) -> datetime:
        """The submission cutoff of ``day``'s announcement: 14:00 US Eastern.

        On ``day`` itself, or for Sunday's announcement on the Friday before
        (no submission closes at the weekend).
        """
        while day.weekday() in _WEEKEND:
            day -= timedelta(days=1)
        return datetime.combine(day, CUTOFF_TIME, EASTERN)

    def batches(self, after: datetime, until: datetime, *, announced_by: bool = False) -> int:
        """How many announcements have their cutoff in ``(after, until]``.

        With ``announced_by``, count instead those whose cutoff is after
        ``after`` and whose announcement is at or before ``until``.
        """
        # Sunday's cutoff is two days before its announcement: look that far on.
        day, count = after.astimezone(EASTERN).date(), 0
        while day <= until.astimezone(EASTERN).date() + timedelta(days=2):
            if self.announces_on(day) and self.cutoff(day) > after:
                moment = self.announcement_at(day) if announced_by else self.cutoff(day)
                count += moment <= until
            day += timedelta(days=1)
        return count
