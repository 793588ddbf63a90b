"""arXiv's query API as a source: one incremental search per topic, newest first."""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from dailypapers.arxiv import query as q
from dailypapers.arxiv.atom import FeedPage
from dailypapers.arxiv.calendar import Calendar
from dailypapers.arxiv.client import (
    ArxivClient,
    ClientSettings,
    SortBy,
    SortOrder,
)
from dailypapers.arxiv.errors import ArxivError
from dailypapers.arxiv.taxonomy import archive_categories, archive_of
from dailypapers.bounded import Bounds
from dailypapers.config import Config
from dailypapers.fetchstate import FUTURE_SKEW, TopicHistory, read_marker, topic_history
from dailypapers.models import Paper
from dailypapers.plan import TopicPlan
from dailypapers.sources.base import (
    FetchContext,
    NothingAnnounced,
    SourceError,
    TopicFetch,
    scope_of,
)

SORT_BY: SortBy = "lastUpdatedDate"
SORT_ORDER: SortOrder = "descending"


def client_settings(config: Config, url: str, delay: float) -> ClientSettings:
    """The one settings object of both arXiv clients, from ``[arxiv]`` (and a delay)."""
    arxiv = config.settings.arxiv
    return ClientSettings(
        delay=delay,
        contact=arxiv.contact,
        timeout=httpx.Timeout(arxiv.timeout, connect=min(arxiv.timeout, 10.0)),
        max_attempts=arxiv.max_attempts,
        max_retry_seconds=arxiv.max_retry_seconds,
        backoff=arxiv.backoff,
    ).for_url(url)


def make_client(config: Config) -> ArxivClient:
    """The polite arXiv client configured by ``[arxiv]``."""
    arxiv = config.settings.arxiv
    settings = client_settings(config, arxiv.api_url, arxiv.delay)
    return ArxivClient(
        arxiv.api_url, settings, page_size=arxiv.page_size, bounds=arxiv_bounds(config)
    )


def arxiv_bounds(config: Config) -> Bounds:
    """The size cap and total deadline of every arXiv response (API, feed, OAI-PMH)."""
    arxiv = config.settings.arxiv
    return Bounds(int(arxiv.max_response_mb * 2**20), arxiv.request_deadline)


def scan_policy(config: Config) -> ScanPolicy:
    """The incremental scan ``[arxiv]`` and ``[calendar]`` configure."""
    return ScanPolicy(config.calendar, config.index_lag, config.lookback)


def keeps(plan: TopicPlan, archives: list[str], paper: Paper) -> bool:
    """The exact category filters, checked locally as well as in the query.

    Text matching is left to arXiv (its stemming is the reference's truth);
    categories are exact, so a paper outside them is never kept.
    """
    if archives and not any(archive_of(c) in archives for c in paper.categories):
        return False
    wanted = plan.topic.categories
    return not wanted or any(c in wanted for c in paper.categories)


# A warm topic's first page holds the papers expected since its last fetch
# plus this many standard deviations and the known papers it must re-read
# (the newest known one ends the scan), plus one entry of margin.
PAGE_SLACK = 2.0
PAGE_MARGIN = 1
PAGE_GROWTH = 2
LATEST_BATCHES = 2  # a warm topic's rate is at least that of its last announcements
# A full table's window tells nothing of its rate when it holds one announcement of
# this many papers, or when the topic's silence since its newest paper would have
# missed this many papers at the window's rate: its first page is a full table.
ONE_BATCH_PAPERS = 10
SILENCE_PAPERS = 20
PROBE_MARKER = "api_newest"
# A warm topic reads every paper since its newest known one (the history has
# no holes), but a long outage is backfill's job: stop after this many tables.
CATCH_UP_TABLES = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanPolicy:
    """How far an incremental fetch reads: arXiv's calendar, index lag and lookback."""

    calendar: Calendar = field(default_factory=Calendar)
    index_lag: timedelta = timedelta(hours=4)
    lookback: timedelta = timedelta(hours=24)

    def cutoff(self, history: TopicHistory) -> datetime | None:
        """Where a warm scan may stop: the newest known paper, or further back.

        Further back when the topic was last fetched within ``index_lag``
        after an announcement: arXiv's search may not have shown all of it
        then, and the missing papers have older dates than papers already
        seen. The scan then reads that announcement's whole submission
        window (Monday's is three days: the weekend's submissions), and at
        least ``lookback`` behind the newest known paper; a zero lookback
        turns the re-read off. Never below the table's last row (a table
        that holds every match has no such row: nothing of it can drop out).
        """
        newest, floor = history.newest, history.floor
        if newest is None or not history.warm or history.fetched_at is None:
            return None
        seen = history.fetched_at
        last = self.calendar.last_announcement(seen)
        cutoff = newest
        if self.lookback and seen < last + self.index_lag:
            opened, _ = self.calendar.window(last.date())
            cutoff = min(newest - self.lookback, opened)
        return cutoff if floor is None else max(cutoff, floor)

    def fetch_time(self, first: datetime, last: datetime) -> datetime:
        """The time to record for a scan whose requests ran from ``first`` to ``last``.

        The first request's time, or the last announcement before the last
        answer when one came in between: a scan is "soon after an
        announcement" (:meth:`cutoff`) when any of its answers may have come
        from an index that did not show all of it yet. Never later than the
        last answer, so never later than what the scan really saw.
        """
        try:
            announced = self.calendar.last_announcement(last)
        except ValueError:  # no announcement in 30 days (odd holidays): the first request
            return first
        return max(first, announced.astimezone(UTC))

    def seen_mark(self, history: TopicHistory) -> datetime | None:
        """The submission cutoff of the last announcement the last fetch read in full.

        Everything announced later is dated after it (arXiv dates a version by
        its submission, announced at the next cutoff): a topic silent from its
        newest paper to this mark was silent while its rate said otherwise
        (:meth:`rate_unknown`). Only for sizing pages, never as a stop: a paper
        the index shows late with an older date is still read down to the
        newest known paper. ``None`` within ``index_lag`` of an announcement.
        """
        seen = history.fetched_at
        if seen is None:
            return None
        last = self.calendar.last_announcement(seen)
        return None if seen < last + self.index_lag else self.calendar.cutoff(last.date())

    def expected_arrivals(self, history: TopicHistory, now: datetime) -> int:
        """Papers likely announced since the newest known one, with some slack.

        The topic's recent rate per announcement (in the store) times the
        announcements made since the one that carried its newest paper.
        """
        recent = history.recent
        if not recent:
            return 0
        per_batch = max(self._window_rate(recent), self._latest_rate(recent))
        since = self.calendar.batches(recent[0], now, announced_by=True) - 1
        since = min(since, self.unseen_announcements(history, now))
        mean = per_batch * max(since, 0)
        # Arrivals are roughly Poisson: two standard deviations above the mean
        # make a second request rare (it costs 3 s; an entry ~2.5 kB).
        return math.ceil(mean + PAGE_SLACK * math.sqrt(mean))

    def rate_unknown(self, history: TopicHistory) -> bool:
        """Whether the store cannot tell a full table's rate (its first page is a full table).

        After a cold start whose history ends weeks earlier, the window is
        from another time (the silence since contradicts its rate), and the
        next day it holds that one announcement only. A complete table (all
        matches stored) is exempt: a full page would read them all again.
        """
        recent, mark = history.recent, self.seen_mark(history)
        complete = history.total is not None and history.total <= len(history.known)
        if not recent or mark is None or complete:
            return False
        if self.calendar.batches(recent[-1], recent[0]) == 0:
            return len(recent) >= ONE_BATCH_PAPERS
        silent = self.calendar.batches(recent[0], mark) - 1
        return self._window_rate(recent) * silent >= SILENCE_PAPERS

    def unseen_announcements(self, history: TopicHistory, now: datetime) -> int:
        """Announcements the topic's last fetch cannot have read in full.

        Those made after it, and the last one before it when it came within
        ``index_lag`` of that one. A quiet topic's newest paper may be many
        announcements old while its last fetch, yesterday, saw that nothing
        came since: only what was announced after that fetch can be new.
        """
        fetched = history.fetched_at
        if fetched is None:
            return sys.maxsize
        last = self.calendar.last_announcement(fetched)
        after = self.calendar.batches(self.calendar.cutoff(last.date()), now, announced_by=True)
        return after + (fetched < last + self.index_lag)

    def _window_rate(self, recent: tuple[datetime, ...]) -> float:
        """Papers per announcement over the whole window, newest first."""
        # The oldest batch in the window is usually cut (by the window or the
        # table): count from the first complete one.
        closes = self.calendar.batches(recent[-1], recent[0])
        complete = [when for when in recent if self.calendar.batches(recent[-1], when) > 0]
        return len(complete) / closes if complete and closes else float(len(recent))

    def _latest_rate(self, recent: tuple[datetime, ...]) -> float:
        """Papers per announcement in the last ``LATEST_BATCHES`` (0 if the window is shorter).

        The table holds each paper once, at its latest version, so a window's
        rate misses the revisions of papers it held before, and a cold table
        (history fetched in one go) may hold fewer revisions than a day brings.
        The last few announcements, read by warm fetches, carry them.
        """
        newest = recent[0]
        if self.calendar.batches(recent[-1], newest) < LATEST_BATCHES:
            return 0.0
        latest = [when for when in recent if self.calendar.batches(when, newest) < LATEST_BATCHES]
        return len(latest) / LATEST_BATCHES


def first_page_size(
    history: TopicHistory, policy: ScanPolicy, *, now: datetime, limit: int, cap: int
) -> int:
    """The first page to ask for: a full table when cold (or its rate unknown), else what
    the scan must cover.

    That is the expected arrivals, the known papers back to the scan's
    cutoff (the newest known paper among them ends the scan).
    """
    cutoff = policy.cutoff(history)
    if not history.warm or cutoff is None or policy.rate_unknown(history):
        return min(cap, limit)
    expected = policy.expected_arrivals(history, now)
    return max(1, min(cap, expected + history.count_since(cutoff) + PAGE_MARGIN))


@dataclass
class NextPage:
    """The size of each page after a warm scan's first: what is left down to the cutoff.

    A first page that fell short is followed by one fitted to the rest: the
    entries it read per second of ``lastUpdatedDate``, extrapolated down to
    the cutoff (with the first page's slack), plus the known papers there
    and ``PAGE_MARGIN``. When the last fetch recorded arXiv's total, the new
    papers left are counted instead of extrapolated: every first version
    announced since then raised ``totalResults`` by one, so the total's rise
    less the first versions the page read is what remains of them, and only
    the revisions are extrapolated. A page after that (the estimate fell
    short too) doubles. Sizes only: the scan stops where it always did.
    """

    history: TopicHistory
    cutoff: datetime | None
    horizon: datetime
    read: int = 0
    top: datetime | None = None
    pages: int = 0

    def __call__(self, page: FeedPage, size: int) -> int:
        self.pages += 1
        dated = [p for p in page.papers if p.updated <= self.horizon]
        self.read += len(dated)
        self.top = self.top or (dated[0].updated if dated else None)
        if self.pages > 1 or self.cutoff is None or self.top is None or not dated:
            return size * PAGE_GROWTH
        last = dated[-1].updated
        covered = (self.top - last).total_seconds()
        if covered <= 0:
            return size * PAGE_GROWTH
        left = max((last - self.cutoff).total_seconds(), 0.0) / covered
        rest = _with_slack(self.read * left)
        firsts = self._firsts_left(page, dated)
        if firsts is not None:
            revised = sum(1 for p in dated if p.version > 1)
            rest = min(rest, firsts + _with_slack(revised * left))
        known = sum(1 for when in self.history.recent if self.cutoff <= when <= last)
        return rest + known + PAGE_MARGIN

    def _firsts_left(self, page: FeedPage, dated: list[Paper]) -> int | None:
        """New papers (first versions) still to read, from arXiv's totals; None if unknown."""
        before = self.history.total
        if before is None:
            return None
        read = sum(1 for p in dated if p.version == 1 and p.id not in self.history.known)
        return max(0, page.total_results - before - read)


def _with_slack(mean: float) -> int:
    """``mean`` arrivals plus ``PAGE_SLACK`` standard deviations (roughly Poisson)."""
    return math.ceil(mean + PAGE_SLACK * math.sqrt(mean))


def fetch_topic(
    client: ArxivClient,
    plan: TopicPlan,
    history: TopicHistory,
    *,
    limit: int,
    archives: list[str],
    now: datetime | None = None,
    policy: ScanPolicy | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TopicFetch:
    """The topic's papers that are new or revised since the store last saw them.

    Newest first (``lastUpdatedDate``), one page at a time. A cold topic
    pages until ``limit`` papers were seen from the top. A warm one (fetched
    before, with a full table) starts with a page fitted to its expected
    arrivals, then one fitted to what is left (:class:`NextPage`), doubling
    after that while needed (up to ``CATCH_UP_TABLES`` tables), and
    stops at the first page that reaches a paper the store already has at
    that version *and* reaches back to the history's cutoff: the lookback
    before its newest known paper, so that papers entering arXiv's index late
    with an older date are still caught, but never below the table's last
    row (nothing older can enter the table).

    A first page reporting no result at all is asked again once, or not at
    all for a topic that had none at its last fetch; a topic that had
    matches keeps its last total when both answers are empty
    (:func:`_doubt_empty`). The result carries arXiv's total, so that a
    topic whose matches all fit in its table is warm next time, and, with
    ``clock`` (the run's clock), the time to record as the topic's fetch
    (:meth:`ScanPolicy.fetch_time`; a doubted empty answer keeps the last
    one: nothing was read).
    """
    policy = policy or ScanPolicy()
    known, warm, cutoff = history.known, history.warm, policy.cutoff(history)
    now = now or datetime.now(UTC)
    first = clock() if clock is not None else None
    size = first_page_size(history, policy, now=now, limit=limit, cap=client.page_size)
    horizon = now + FUTURE_SKEW
    found: dict[str, Paper] = {}
    seen: set[str] = set()
    pages = client.iter_pages(
        plan.request,
        sort_by=SORT_BY,
        sort_order=SORT_ORDER,
        page_size=size,
        zero_total_retries=0 if _empty_before(history) else 1,
        next_size=NextPage(history, cutoff, horizon) if warm else None,
    )
    total: int | None = None
    top: datetime | None = None  # the newest date read: the topic's own mark
    for page in pages:
        total = page.total_results if total is None else total
        reached_known = False
        for paper in page.papers:
            future = paper.updated > horizon
            if future:
                _warn_future(plan, paper)  # kept, but neither a stop mark nor counted
            else:
                seen.add(paper.id)
                top = max(top or paper.updated, paper.updated)
            if known.get(paper.id, 0) >= paper.version:
                reached_known = reached_known or not future
            elif keeps(plan, archives, paper) and _above(paper, history.floor):
                found.setdefault(paper.id, paper)
        if warm and reached_known and _reaches(page.papers, cutoff):
            break
        if len(seen) >= (limit * CATCH_UP_TABLES if warm else limit):
            if warm:
                log.warning(
                    "%s: more than %d new papers since the last run; stopped there "
                    "(dailypapers backfill fills the rest)",
                    plan.topic.name,
                    len(seen),
                )
            break
    fetched_at = None if first is None or clock is None else policy.fetch_time(first, clock())
    if total == 0 and _had_matches(history):
        total, fetched_at = _doubt_empty(plan, history), history.fetched_at
    return TopicFetch(
        plan, list(found.values()), total=total, top=top, dated=True, fetched_at=fetched_at
    )


def _empty_before(history: TopicHistory) -> bool:
    return history.total == 0 or (history.fetched_at is not None and not history.known)


def _had_matches(history: TopicHistory) -> bool:
    """Whether arXiv's matches for the topic were seen before (they never go away)."""
    return bool(history.known) and history.total != 0


def _doubt_empty(plan: TopicPlan, history: TopicHistory) -> int | None:
    """The total to record when a topic that had matches is answered "none", twice.

    arXiv keeps every version, so a query's matches do not go away (only a
    revision that stops matching, for a topic of one or two papers, or a
    change in arXiv's search engine); an empty answer is far more likely
    its transient fault. The last total is kept, so that the next fetch
    asks again (and once more if empty) instead of taking the topic for
    empty, and so is the last fetch time (the caller's): nothing was read,
    and the next scan reads down to the newest stored paper, and further
    back when the last real read came soon after an announcement.
    """
    log.warning(
        "%s: arXiv answered no match at all (asked twice), where the last fetch found %s; "
        "kept as before, asked again next time",
        plan.topic.name,
        "some" if history.total is None else history.total,
    )
    return history.total


def _warn_future(plan: TopicPlan, paper: Paper) -> None:
    log.warning(
        "%s: arXiv dates %s in the future (%s); stored, never used as a stop mark",
        plan.topic.name,
        paper.versioned_id,
        paper.updated.isoformat(),
    )


def _above(paper: Paper, floor: datetime | None) -> bool:
    return floor is None or paper.updated >= floor


def _reaches(papers: Sequence[Paper], cutoff: datetime | None) -> bool:
    return cutoff is None or not papers or papers[-1].updated <= cutoff


def archive_filter(archives: list[str]) -> q.Node | None:
    """Any category of the configured archives, as a query (None: all of arXiv)."""
    cats = [c for a in archives for c in archive_categories(a)]
    return q.any_of([q.Term("cat", c, False) for c in cats]) if cats else None


def probe_marker(
    client: ArxivClient, archives: list[str], now: datetime | None = None
) -> str | None:
    """The newest paper in the archives (``id vN updated``): one request of one entry.

    ``None`` (no marker: every topic is fetched) when that paper is dated in
    the future: it would stay on top, and every later probe would say
    "nothing announced" whatever arXiv announced below it.
    """
    node = archive_filter(archives)
    if node is None:
        return None
    page = client.fetch_page(
        q.to_string(node), start=0, max_results=1, sort_by=SORT_BY, sort_order=SORT_ORDER
    )
    if not page.papers:
        return None
    newest = page.papers[0]
    if newest.updated > (now or datetime.now(UTC)) + FUTURE_SKEW:
        return None
    return f"{newest.versioned_id} {newest.updated.isoformat()}"


class ApiSource:
    """arXiv's query API: one incremental search per topic."""

    name = "api"

    def __init__(self, client: ArxivClient, policy: ScanPolicy | None = None) -> None:
        self.client = client
        self.policy = policy or ScanPolicy()

    @classmethod
    def from_config(cls, config: Config) -> ApiSource:
        """The source ``[arxiv] source = "api"`` configures."""
        return cls(make_client(config), scan_policy(config))

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> Iterator[TopicFetch]:
        """Each topic's fetch, handed over as soon as it is complete (then the next topic)."""
        try:
            if context.probe:
                self._probe(plans, context)
            for plan in plans:
                fetched = self.fetch_one(plan, context)
                self._count(context)
                yield fetched
                del fetched  # the caller has it: not held while the next topic is fetched
        finally:
            self._count(context)

    def _count(self, context: FetchContext) -> None:
        context.stats.requests = self.client.stats.requests
        context.stats.bytes = self.client.stats.bytes_received

    def _probe(self, plans: Sequence[TopicPlan], context: FetchContext) -> None:
        """End the run when the archives' newest paper is the one these topics' last probe saw."""
        context.say("asking arXiv whether anything was announced")
        try:
            marker = probe_marker(self.client, context.archives, context.now)
        except ArxivError as exc:
            raise SourceError(f"announcement check: {exc.brief()}") from exc
        name = f"{PROBE_MARKER}:{scope_of(plans, context.archives)}"
        if marker is not None and marker == read_marker(context.store, name):
            raise NothingAnnounced(f"newest paper unchanged: {marker}")
        if marker is not None:
            context.markers[name] = marker

    def fetch_one(self, plan: TopicPlan, context: FetchContext) -> TopicFetch:
        """One topic's incremental search."""
        context.say(f"fetching {plan.topic.name}")
        try:
            fetched = fetch_topic(
                self.client,
                plan,
                topic_history(
                    context.store,
                    plan.topic.name,
                    plan.query_string,
                    limit=context.limit,
                    now=context.now,
                ),
                limit=context.limit,
                archives=context.archives,
                now=context.now,
                policy=self.policy,
                clock=context.clock,
            )
        except ArxivError as exc:
            raise SourceError(f"topic {plan.topic.name!r}: {exc.brief()}") from exc
        # a topic by example fetches its categories' papers: candidates, kept later by score
        fetched_what = "candidates" if plan.topic.like is not None else "new or revised"
        context.say(f"{plan.topic.name}: {len(fetched.papers)} {fetched_what}")
        return fetched

    def close(self) -> None:
        self.client.close()
