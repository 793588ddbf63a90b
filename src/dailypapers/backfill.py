"""``dailypapers backfill``: fill a date range for some or all topics, resumably.

arXiv's only documented date filter is ``submittedDate:[YYYYMMDDHHMM TO
YYYYMMDDHHMM]`` (GMT, the first version's submission). The range is cut into
windows of :data:`WINDOW_DAYS` days (Monday to Sunday), newest first; each window's papers
(every page of ``topic query AND submittedDate:[window]``) are stored in one
transaction together with a row saying the window is done, so an interrupted
backfill resumes with the first window not done. Windows that end less than
:data:`SETTLING_DAYS` ago are fetched but not marked done: papers submitted
then may still be announced. A window arXiv answered "no match at all" (asked
twice, as ``update`` does) is done only when the next backfill gets the same
answer: its search gives that answer by mistake at times, and a window
marked done is never asked again. Same polite client as ``update`` (one
connection, the delay between requests, bounded retries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dailypapers.arxiv import query as q
from dailypapers.arxiv.client import ArxivClient
from dailypapers.config import Config, ConfigError
from dailypapers.fetchstate import EMPTY_ONCE, done_windows, empty_once_windows, mark_window
from dailypapers.models import Paper, counted
from dailypapers.pipeline import refuse_foreign_outputs, render_outputs
from dailypapers.run import RunResult, RunStatus, recorded_run, run_clock
from dailypapers.sources import Progress, TopicPlan, plan_topics
from dailypapers.sources.api import keeps, make_client
from dailypapers.store import SaveResult, Store

WINDOW_DAYS = 7
WINDOW_EPOCH = date(1970, 1, 5)  # a Monday: windows are cut at fixed days after it
SETTLING_DAYS = 3
Window = tuple[date, date]


@dataclass
class BackfillReport(RunResult):
    """How a backfill went; :meth:`summary` is the line the CLI prints."""

    topics: int = 0
    windows: int = 0
    already_done: int = 0
    empty: int = 0  # windows answered "no match at all" a first time: asked once more
    saved: SaveResult = field(default_factory=SaveResult)
    written: list[Path] = field(default_factory=list)

    def stored(self) -> tuple[int, int]:
        return (self.saved.new, self.saved.revised)

    def summary(self) -> str:
        """``backfilled (N new): T topics, W windows (D already done), R requests, S s``."""
        if self.status == RunStatus.FAILED:
            return f"failed: {self.error} (finished windows are kept; run again to resume)"
        revised = f", {self.saved.revised} revised" if self.saved.revised else ""
        return (
            f"backfilled ({self.saved.new} new{revised}): {counted(self.topics, 'topic')}, "
            f"{counted(self.windows, 'window')} ({self.already_done} already done"
            f"{self._empty()}), {counted(self.requests, 'request')}, {self.seconds:.1f} s"
        )

    def _empty(self) -> str:
        if not self.empty:
            return ""
        return f", {self.empty} answered empty: asked once more by the next backfill"


def windows(since: date, until: date, days: int = WINDOW_DAYS) -> list[Window]:
    """``[since, until]`` cut into windows of ``days`` days, newest first.

    The cuts fall on fixed days (for 7 days, Monday to Sunday), not counted
    back from ``until``: a backfill run again the next day (``--until``
    defaults to today) finds the windows it finished; before, every window
    moved by a day and 351 requests were asked again instead of 168.
    """
    if since > until:
        raise ValueError(f"--since {since} is after --until {until}")
    found = []
    end = until
    while end >= since:
        start = max(since, end - timedelta(days=(end - WINDOW_EPOCH).days % days))
        found.append((start, end))
        end = start - timedelta(days=1)
    return found


def window_query(plan: TopicPlan, window: Window) -> str:
    """The topic's query restricted to papers first submitted in ``window`` (GMT days)."""
    start = datetime.combine(window[0], datetime.min.time(), UTC)
    end = datetime.combine(window[1], datetime.min.time(), UTC) + timedelta(hours=23, minutes=59)
    return q.to_string(q.And(plan.query, q.DateRange("submittedDate", start, end)))


def fetch_window(
    client: ArxivClient, plan: TopicPlan, window: Window, archives: list[str]
) -> tuple[list[Paper], int | None]:
    """Every paper of the topic first submitted in ``window`` (all pages), and arXiv's
    total for the window (0: "no match at all", asked twice)."""
    found: dict[str, Paper] = {}
    total: int | None = None
    pages = client.iter_pages(
        window_query(plan, window), sort_by="submittedDate", sort_order="descending"
    )
    for page in pages:
        total = page.total_results if total is None else total
        for paper in page.papers:
            if keeps(plan, archives, paper):
                found.setdefault(paper.id, paper)
    return list(found.values()), total


def select_topics(config: Config, names: Sequence[str]) -> list[TopicPlan]:
    """The plans of the named topics (all when none); an unknown name is a ConfigError.

    Topics by example (``like``) keep each day's best papers as the day
    comes; they have no past to fill and are left out.
    """
    plans = [p for p in plan_topics(config) if p.topic.like is None]
    if not names:
        return plans
    by_name = {p.topic.name.casefold(): p for p in plans}
    unknown = [n for n in names if n.casefold() not in by_name]
    if unknown:
        known = ", ".join(repr(p.topic.name) for p in plans)
        raise ConfigError(
            f"--topic {unknown[0]!r}: no such topic to backfill in {config.path} ({known}; "
            "topics by example have no past to fill)"
        )
    return [by_name[n.casefold()] for n in dict.fromkeys(names)]


def run_backfill(
    config: Config,
    *,
    since: date,
    until: date | None = None,
    topics: Sequence[str] = (),
    progress: Progress | None = None,
    lock_timeout: float = 60.0,
    now: datetime | None = None,
    client: ArxivClient | None = None,
    raise_errors: bool = False,
) -> BackfillReport:
    """Fetch and store every window of the range for the chosen topics, then render."""
    now = now or run_clock()
    until = until or now.date()
    plans = select_topics(config, topics)
    ranges = windows(since, until)
    report = BackfillReport(topics=len(plans))
    client = client or make_client(config)
    with recorded_run(
        config, "backfill", report, lock_timeout=lock_timeout, now=now, raise_errors=raise_errors
    ) as run:
        refuse_foreign_outputs(config)  # before fetching for long, not when rendering after
        try:
            for plan in plans:
                _backfill_topic(config, run.store, client, plan, ranges, report, progress, now)
            today = now.astimezone(config.zone).date()
            report.written = render_outputs(config, run.store, today=today)
            saved = report.saved.new or report.saved.revised
            report.status = RunStatus.UPDATED if saved else RunStatus.NOTHING_NEW
        finally:
            client.close()
            report.requests, report.bytes = client.stats.requests, client.stats.bytes_received
    return report


def _backfill_topic(
    config: Config,
    store: Store,
    client: ArxivClient,
    plan: TopicPlan,
    ranges: list[Window],
    report: BackfillReport,
    progress: Progress | None,
    now: datetime,
) -> None:
    with store.transaction() as conn:
        topic_id = store.topic_id(conn, plan.topic.name, plan.query_string)
    done, empty_once = done_windows(store, topic_id), empty_once_windows(store, topic_id)
    settled = now.date() - timedelta(days=SETTLING_DAYS)
    for window in ranges:
        report.windows += 1
        if window in done:
            report.already_done += 1
            continue
        if progress:
            progress(f"{plan.topic.name}: {window[0]} to {window[1]}")
        papers, total = fetch_window(client, plan, window, config.settings.archives)
        count = len(papers)
        if total == 0 and window not in empty_once:  # maybe arXiv's glitch: ask once more
            report.empty += 1
            count = EMPTY_ONCE
        with store.transaction() as conn:
            report.saved = report.saved + store.save_papers(conn, papers, now)
            store.link(conn, topic_id, (p.id for p in papers), now)
            if window[1] < settled:
                mark_window(conn, store, topic_id, window, count, now)
