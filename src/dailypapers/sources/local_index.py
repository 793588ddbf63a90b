"""The local source's candidate finder: the full-text index names what may match a topic.

A cold topic over a million stored papers would otherwise be a scan
(:class:`dailypapers.sources.local.LocalSource`); the index
(:mod:`dailypapers.fts`) answers its query with no false negatives, and the
local source evaluates only those candidates exactly.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from dailypapers import fts, localquery
from dailypapers.plan import TopicPlan
from dailypapers.sources.local import NewestFirst
from dailypapers.store import Store

# PostgreSQL: the newest candidates read at once (a cold topic wants its
# newest ``max_papers`` matches); the older ones only if those fall short.
FIRST_CANDIDATES = 512
# PostgreSQL: a cold topic's candidates are first looked for among this many
# newest papers (a topic the shared first pass left open has its table full
# there unless it matches fewer than one paper in 300).
WINDOW = 30_000
# PostgreSQL: how long the background count waits for a lock before the run counts
# on its own connection instead (a Ctrl-C then never waits on the thread).
COUNT_LOCK_TIMEOUT_MS = 5_000


@dataclass
class _Store:
    """What a finder learns about the store once: its size, the index's, the window."""

    stored: int
    indexed: int
    window: localquery.Window | None


class IndexFinder:
    """A ``LocalSource`` candidate finder backed by the full-text index.

    For a topic evaluated cold (``since`` is None), names the papers that may
    match its query (:func:`dailypapers.fts.candidates`: no false
    negatives). It answers ``None`` (scan, as without an index) for
    incremental runs, for queries the index cannot narrow, for topics whose
    candidates exceed ``max_share`` of the store (the shared scan analyses
    each paper once for every topic, a finder once per topic), and when the
    index does not hold every stored paper (a store filled around
    ``Store.save_papers``).

    On PostgreSQL, reading a candidate's update time reads its row (a page
    each, at a million papers out of the database's memory): a store larger
    than ``window`` papers is first asked for the candidates among its
    ``window`` newest (the share is then of those), and only a topic they do
    not fill reads the older ones (:class:`NewestFirst`, lazily).
    """

    def __init__(
        self,
        max_share: float = 0.05,
        first: int = FIRST_CANDIDATES,
        window: int = WINDOW,
        lock_timeout_ms: int = COUNT_LOCK_TIMEOUT_MS,
    ) -> None:
        self.max_share = max_share
        self.first = first
        self.window = window
        self.lock_timeout_ms = lock_timeout_ms
        self._store: _Store | None = None
        self._learning: Future[_Store] | None = None  # started by prepare()

    def __call__(
        self, conn: Connection, plan: TopicPlan, since: datetime | None
    ) -> NewestFirst | None:
        if since is not None or not fts.supported(conn.dialect.name) or not self.complete(conn):
            return None
        found = fts.candidates(plan.query, categories=False)
        if found is fts.Const.NOTHING:
            return NewestFirst()
        if isinstance(found, fts.Const):
            return None
        # Stop past the share: a broad topic's candidates (a third of the
        # store) are never all counted, nor carried into Python only to be
        # dropped. SQLite counts in its index first (no row read);
        # PostgreSQL's field-exact index reads each candidate's id and update
        # time once, so there the reading is the count, and only the newest
        # ``first`` come back (the older ones if the topic asks for more).
        known = self._known(conn)
        if conn.dialect.name == fts.SQLITE:
            most = int(self.max_share * known.stored)
            if fts.candidate_count(conn, found, most) > most:
                return None
            stamps = localquery.newest_candidates(conn, found, most)
            return None if stamps is None else NewestFirst(stamps)
        return self._newest(conn, found, known.window)

    def _newest(
        self, conn: Connection, found: fts.Indexed, window: localquery.Window | None
    ) -> NewestFirst | None:
        """PostgreSQL: the newest candidates (in ``window``, if any), the rest on demand."""
        share = self.window if window is not None else self._known(conn).stored
        most = int(self.max_share * share)
        page = localquery.newest_page(conn, found, most, self.first, window)
        if page is None:
            return None
        newest, total = page
        ids = [paper_id for paper_id, _ in newest]
        if window is None and total == len(newest):
            return NewestFirst(ids)  # every candidate
        before: tuple[datetime, str | None]
        if newest:
            before = newest[-1][1], newest[-1][0]
        else:
            assert window is not None
            before = window.after, None
        return NewestFirst(ids, lambda: localquery.older_candidates(conn, found, before), total)

    def prepare(self, store: Store) -> None:
        """Start learning the store's size, its index's and its window, for cold topics.

        On PostgreSQL the two counts (a fifth of a second at a million papers)
        and the window run on a connection of their own, in a thread, while
        the cold topics' shared first pass reads and analyses the newest
        papers; :meth:`complete` waits for them. Elsewhere (SQLite counts its
        index in milliseconds) nothing starts: the first cold topic counts.
        """
        self.settle()
        self._store, self._learning = None, None  # learnt afresh for each fetch
        if store.dialect != fts.POSTGRESQL:
            return
        pool = ThreadPoolExecutor(1, thread_name_prefix="dailypapers-count")
        self._learning = pool.submit(self._learn_in, store)
        pool.shutdown(wait=False)  # the thread ends with the work

    def settle(self) -> None:
        """Wait for what :meth:`prepare` started (its errors are :meth:`complete`'s)."""
        if self._learning is not None:
            wait([self._learning])

    def complete(self, conn: Connection) -> bool:
        """Whether the index holds every stored paper (counted once per fetch that
        :meth:`prepare` announced; once per finder otherwise)."""
        known = self._known(conn)
        return known.stored == known.indexed

    def _known(self, conn: Connection) -> _Store:
        if self._store is None:
            learning, self._learning = self._learning, None
            self._store = self._learned(learning, conn)
        return self._store

    def _learned(self, learning: Future[_Store] | None, conn: Connection) -> _Store:
        if learning is not None:
            try:
                return learning.result()
            except localquery.CountGaveUp:  # it waited past its lock timeout: count here
                pass
        return self._learn(conn)

    def _learn_in(self, store: Store) -> _Store:
        with store.reading() as conn:
            return self._learn(conn, alone=False)

    def _learn(self, conn: Connection, alone: bool = True) -> _Store:
        """Count (beside the run's own reads unless ``alone``), then find the window."""
        stored, indexed = (
            fts.candidate_counts(conn)
            if alone
            else localquery.background_counts(conn, self.lock_timeout_ms)
        )
        window = None
        if conn.dialect.name == fts.POSTGRESQL and stored > self.window:
            window = localquery.newest_window(conn, self.window)
        return _Store(stored, indexed, window)
