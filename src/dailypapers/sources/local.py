"""The local store as a source: every topic answered from stored papers, no network.

After ``dailypapers harvest`` has filled the store with arXiv's catalogue,
``update --source local`` matches each topic's full query (archive and
category filters and exclusions included) against the stored papers with the
local query engine (:mod:`dailypapers.arxiv.query`, stemmed like arXiv), and
links the newest ``max_papers`` matches, exactly as the API source would
from the same corpus.

Incremental: a topic remembers up to which ``papers.last_seen`` it was
evaluated (``topic_evaluations``); a later run only looks at papers stored or
changed since. Candidate selection is pluggable (:data:`CandidateFinder`): a
full-text index can name the papers that may match a topic (a cold start over
a million papers); without one, the store is scanned in batches, once for all
topics.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy.engine import Connection

from dailypapers import listedquery, localquery
from dailypapers.arxiv import query as q
from dailypapers.models import Paper
from dailypapers.plan import TopicPlan
from dailypapers.sources.base import FetchContext, TopicFetch
from dailypapers.store import Store, paper_from_row

CandidateFinder = Callable[[Connection, TopicPlan, "datetime | None"], "Iterable[str] | None"]
"""``(conn, plan, since) -> paper ids or None``.

The ids must include every paper changed after ``since`` (every paper when
``since`` is ``None``) that matches ``plan.query``; extra ids are fine, they
are evaluated exactly. ``None`` means "no index for this topic": scan.
"""


@runtime_checkable
class Preparing(Protocol):
    """A finder with work to start before cold topics are matched (in the background)."""

    def prepare(self, store: Store) -> None:
        """Start it: cold topics are about to be matched in ``store``."""

    def settle(self) -> None:
        """Wait for what :meth:`prepare` started."""


class NewestFirst:
    """Candidate ids a finder already ordered by last update, newest first (not re-read).

    ``ids`` may be only the newest of them: iterating goes on with
    ``rest()`` (the older ones, read only by a topic that ``ids`` did not
    fill); ``total`` counts them all, or those a finder's window of the
    newest papers holds (:class:`dailypapers.sources.local_index.IndexFinder`).
    """

    def __init__(
        self,
        ids: Sequence[str] = (),
        rest: Callable[[], Iterable[str]] | None = None,
        total: int | None = None,
    ) -> None:
        self.ids = ids
        self.rest = rest
        self.total = len(ids) if total is None else total

    def __iter__(self) -> Iterator[str]:
        yield from self.ids
        if self.rest is not None:
            yield from self.rest()

    def __len__(self) -> int:
        return self.total


BATCH_SIZE = 2000
# Cold topics first share one pass over this many newest papers: it fills the
# broad topics' tables (a paper analysed once for all of them); the index then
# answers the narrow topics still open.
FIRST_PASS = 2500
# A newest-first pass stops once its topics are full, often within a few
# hundred papers: rows are fetched (and decoded) this many at a time.
NEWEST_BATCH = 500
# A run still writing holds papers whose last_seen is its start time, committed
# later: the watermark stays below the start of every run in flight (runs
# stuck as "running" for longer than this are taken as crashed).
IN_FLIGHT_HORIZON = timedelta(days=2)


def scan_everything(conn: Connection, plan: TopicPlan, since: datetime | None) -> None:
    """The default finder: no index, so every topic is answered by the shared scan."""
    return None


Key = tuple[datetime, datetime, str]


def newest_key(paper: Paper) -> Key:
    """The README's order: last update, then first version, then id (newest first)."""
    return (paper.updated, paper.published, paper.id)


@dataclass
class _Topic:
    """One topic during a run: its matcher, watermark, and the newest matches so far."""

    plan: TopicPlan
    matcher: q.Matcher
    since: datetime | None
    known: dict[str, int]
    limit: int
    heap: list[tuple[Key, int, Paper]] = field(default_factory=list)
    evaluated: int = 0

    def consider(self, paper: Paper, doc: q.Document, order: int) -> None:
        self.evaluated += 1
        if not self.matcher(doc):
            return
        item = (newest_key(paper), order, paper)
        if len(self.heap) < self.limit:
            heapq.heappush(self.heap, item)
        elif item[0] > self.heap[0][0]:
            heapq.heapreplace(self.heap, item)

    def full_before(self, updated: datetime) -> bool:
        """Whether no paper last updated at ``updated`` (or before) can enter the table."""
        return len(self.heap) >= self.limit and updated < self.heap[0][0][0]

    def fills_within(self, seen: int, more: int) -> bool:
        """Whether, at the rate it matched ``seen`` papers, ``more`` papers fill the table."""
        found = len(self.heap)
        return found > 0 and (self.limit - found) * seen <= found * more

    def wants(self, last_seen: datetime) -> bool:
        return self.since is None or last_seen > self.since

    def result(self) -> list[Paper]:
        """The newest matches the topic does not link yet, newest first."""
        ranked = sorted(self.heap, reverse=True)
        return [p for _, _, p in ranked if self.known.get(p.id, 0) < p.version]


class LocalSource:
    """Answers every topic from the store with the local query engine (zero requests)."""

    name = "local"

    def __init__(
        self,
        finder: CandidateFinder = scan_everything,
        batch_size: int = BATCH_SIZE,
        first_pass: int = FIRST_PASS,
    ) -> None:
        self.finder = finder
        self.batch_size = batch_size
        self.first_pass = first_pass
        self.evaluated = 0  # (paper, topic) pairs matched by the last fetch
        self._order = itertools.count()

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> list[TopicFetch]:
        """Every topic's new matches, and the watermark to record with them."""
        store = context.store
        with store.reading() as conn:
            high = localquery.newest_seen(conn)
            if high is None:
                context.say("the store holds no papers: run 'dailypapers harvest' first")
                return [TopicFetch(plan, []) for plan in plans]
            # Before anything is read: a run in flight now may commit during this
            # fetch, after the reads that would have seen its papers, and be done
            # by its end; read then, the watermark would pass over those papers.
            until = _watermark(conn, high)
            stored = listedquery.topic_ids(conn)  # one query, not one a topic
            topics = [self._topic(conn, store, plan, context, stored) for plan in plans]
            if isinstance(self.finder, Preparing) and any(t.since is None for t in topics):
                self.finder.prepare(store)
            self._cold(conn, [t for t in topics if t.since is None], high)
            warm = [t for t in topics if t.since is not None]
            if scanned := [t for t in warm if not self._from_index(conn, t, high)]:
                self._scan(conn, scanned, high)
        self.evaluated = sum(topic.evaluated for topic in topics)
        for topic in topics:
            found = topic.result()
            context.say(f"{topic.plan.topic.name}: {len(found)} new matches")
        return [TopicFetch(t.plan, t.result(), evaluated_until=until) for t in topics]

    def close(self) -> None:
        """Wait for what the finder started (nothing else to release)."""
        if isinstance(self.finder, Preparing):
            self.finder.settle()

    def _topic(
        self,
        conn: Connection,
        store: Store,
        plan: TopicPlan,
        context: FetchContext,
        stored: dict[tuple[str, str], int],
    ) -> _Topic:
        topic_id = stored.get((plan.topic.name, plan.query_string))
        since = None if topic_id is None else store.evaluated_until(conn, topic_id)
        known = {} if topic_id is None else store.known_versions(conn, topic_id)
        context.say(f"matching {plan.topic.name} ({'since ' + str(since) if since else 'cold'})")
        return _Topic(plan, q.compile_query(plan.query), since, known, context.limit)

    def _cold(self, conn: Connection, topics: list[_Topic], high: datetime) -> None:
        """Cold topics: the newest papers first, shared; then the index for those still open.

        A broad topic fills its table from the newest few thousand papers,
        which one pass analyses once for every topic (``first_pass``); only
        the topics still open after it ask the finder, and those it cannot
        narrow continue the newest-first scan where the pass stopped.
        """
        if not topics:
            return
        first = self._scan_newest(conn, topics, high, _Pass(budget=self.first_pass))
        # A topic whose matches so far promise a full table within another
        # pass of the same length keeps scanning (no index query at all).
        near = [t for t in first.open if t.fills_within(len(first.seen), self.first_pass // 2)]
        far = [t for t in first.open if t not in near]
        rest = near + [t for t in far if not self._from_index(conn, t, high, first.seen)]
        if rest:
            self._scan_newest(conn, rest, high, _Pass(skip=first.seen, at_most=first.last))

    def _from_index(
        self, conn: Connection, topic: _Topic, high: datetime, skip: Set[str] = frozenset()
    ) -> bool:
        """Evaluate the finder's candidates (but ``skip``, already evaluated); False: none."""
        ids = self.finder(conn, topic.plan, topic.since)
        if ids is None:
            return False
        if topic.since is None and not isinstance(ids, NewestFirst):
            ids = _newest_first(conn, ids)  # cold: newest first, until the table is full
        # Growing chunks: a narrow topic often fills from its first hundred candidates.
        for chunk in _chunks((i for i in ids if i not in skip), 128, 2000):
            rows = localquery.papers_among(conn, chunk, high, topic.since)
            for row in sorted(rows, key=lambda r: r["updated"], reverse=True):
                if topic.since is None and topic.full_before(row["updated"]):
                    return True
                paper = paper_from_row(row)
                topic.consider(paper, q.Document.from_paper(paper), next(self._order))
        return True

    def _scan(self, conn: Connection, topics: list[_Topic], high: datetime) -> None:
        """One pass over the papers changed since the oldest watermark, for all topics."""
        sinces = [t.since for t in topics]
        after = None if None in sinces else min(s for s in sinces if s is not None)
        for row in localquery.stream_seen(conn, high, after, self.batch_size):
            interested = [t for t in topics if t.wants(row["last_seen"])]
            if not interested:
                continue
            paper = paper_from_row(row)
            doc = q.Document.from_paper(paper)
            order = next(self._order)
            for topic in interested:
                topic.consider(paper, doc, order)

    def _scan_newest(
        self, conn: Connection, topics: list[_Topic], high: datetime, scan: _Pass
    ) -> _Pass:
        """Cold topics: papers newest first, until every topic holds its newest matches.

        A cold topic wants only its newest ``limit`` matches, so the scan
        stops once each topic's table is full and the papers sharing the
        last one's ``updated`` were seen (the README's order breaks such ties
        by first version and id), or once ``scan.budget`` papers were
        evaluated: ``scan.open`` then names the topics not yet full.
        """
        scan.open = list(topics)
        with contextlib.closing(
            localquery.stream_newest(conn, high, min(self.batch_size, NEWEST_BATCH), scan.at_most)
        ) as rows:
            for row in rows:
                scan.open = [t for t in scan.open if not t.full_before(row["updated"])]
                if not scan.open or len(scan.seen) >= scan.budget:
                    return scan
                if row["id"] not in scan.skip:
                    self._consider_all(scan, row)
        scan.open = []  # every paper evaluated: nothing is left for the index
        return scan

    def _consider_all(self, scan: _Pass, row: localquery.Row) -> None:
        paper = paper_from_row(row)
        doc = q.Document.from_paper(paper)
        order = next(self._order)
        for topic in scan.open:
            topic.consider(paper, doc, order)
        scan.seen.add(paper.id)
        scan.last = paper.updated


@dataclass
class _Pass:
    """One newest-first scan of cold topics: its bounds, and what it evaluated."""

    budget: float = math.inf  # papers to evaluate at most
    skip: Set[str] = frozenset()  # ids evaluated already (by an earlier pass)
    at_most: datetime | None = None  # papers last updated at or before this only
    seen: set[str] = field(default_factory=set)
    last: datetime | None = None  # the update time of the last paper evaluated
    open: list[_Topic] = field(default_factory=list)


def _newest_first(conn: Connection, ids: Iterable[str]) -> list[str]:
    """``ids`` ordered by their papers' last update, newest first."""
    stamps: list[tuple[datetime, str]] = []
    for chunk in _chunks(ids, 500):
        stamps.extend(localquery.update_stamps(conn, chunk))
    return [paper_id for _, paper_id in sorted(stamps, reverse=True)]


def _watermark(conn: Connection, high: datetime) -> datetime:
    """``high``, held below the start of any run still writing (see IN_FLIGHT_HORIZON)."""
    in_flight = localquery.oldest_run_in_flight(conn, high, IN_FLIGHT_HORIZON)
    if in_flight is None:
        return high
    return min(high, in_flight - timedelta(microseconds=1))


def _chunks(ids: Iterable[str], size: int, most: int = 0) -> Iterator[list[str]]:
    """Lists of ``size`` ids, each next one 4 times larger up to ``most`` (if given)."""
    iterator = iter(ids)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
        size = min(size * 4, max(most, size))
