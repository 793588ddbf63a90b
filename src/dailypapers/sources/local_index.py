"""The local source's candidate finder: the full-text index names what may match a topic.

A cold topic over a million stored papers would otherwise be a scan
(:class:`dailypapers.sources.local.LocalSource`); the index
(:mod:`dailypapers.fts`) answers its query with no false negatives, and the
local source evaluates only those candidates exactly.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from dailypapers import fts, localquery
from dailypapers.plan import TopicPlan
from dailypapers.sources.local import NewestFirst

# PostgreSQL: the newest candidates read at once (a cold topic wants its
# newest ``max_papers`` matches); the older ones only if those fall short.
FIRST_CANDIDATES = 512


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
    """

    def __init__(self, max_share: float = 0.05, first: int = FIRST_CANDIDATES) -> None:
        self.max_share = max_share
        self.first = first
        self._stored: int | None = None
        self._complete = False

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
        most = int(self.max_share * (self._stored or 0))
        if conn.dialect.name == fts.SQLITE:
            if fts.candidate_count(conn, found, most) > most:
                return None
            stamps = localquery.newest_candidates(conn, found, most)
            return None if stamps is None else NewestFirst(stamps)
        page = localquery.newest_page(conn, found, most, self.first)
        if page is None:
            return None
        newest, total = page
        ids = [paper_id for paper_id, _ in newest]
        if total == len(newest):
            return NewestFirst(ids)
        last = newest[-1][1], newest[-1][0]
        return NewestFirst(ids, lambda: localquery.older_candidates(conn, found, last), total)

    def complete(self, conn: Connection) -> bool:
        """Whether the index holds every stored paper (counted once per finder)."""
        if self._stored is None:
            self._stored, indexed = fts.candidate_counts(conn)
            self._complete = self._stored == indexed
        return self._complete
