"""The types every source shares: the protocol, what it is given, what it returns.

A source reads (the network, or the store) but never writes: it hands each
topic's fetch over as it has it, the pipeline spools it to disk
(:mod:`dailypapers.spool`) and stores every topic in one transaction at the
end. What a source wants remembered (markers, pending ids) it puts in the
:class:`FetchContext`; the pipeline stores it with the papers
(:func:`dailypapers.fetchstate.record`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from dailypapers.models import Paper
from dailypapers.names import SOURCES as SOURCES  # the CLI reads them without this module
from dailypapers.plan import TopicPlan
from dailypapers.store import Store

Progress = Callable[[str], None]


class SourceError(Exception):
    """A source could not deliver a topic; the message is one line."""


class NothingAnnounced(Exception):
    """arXiv has announced nothing since the last successful run: end the run early."""


@dataclass
class TopicFetch:
    """What one topic's fetch brought back (nothing is stored yet).

    ``evaluated_until``: for sources that read the store, the ``last_seen``
    up to which every stored paper was matched against the topic; saved
    with the links, in the same transaction. ``total``: arXiv's
    ``totalResults`` for the topic's query, for sources that see it (a
    topic whose total fits in its table is fetched incrementally next time).
    ``top``: for a dated scan (the API's, newest first), the newest
    ``updated`` it read: the topic's own mark, the highest its next scan may
    stop at (another topic's run may store newer versions of its papers;
    :func:`dailypapers.fetchstate.topic_history`). ``dated``: the fetch was
    such a scan, even one that read nothing dated (``top`` is then ``None``
    and the mark stays as it was; a fetch that is no dated scan removes it).
    ``fetched_at``: the time to record as the topic's fetch (``None``: the
    run's start): the API source's scans record when they asked
    (:meth:`dailypapers.sources.api.ScanPolicy.fetch_time`), since a run
    that began before an announcement may read the topic after it, within
    the index lag.
    """

    plan: TopicPlan
    papers: list[Paper]
    evaluated_until: datetime | None = None
    total: int | None = None
    top: datetime | None = None
    dated: bool = False
    fetched_at: datetime | None = None


@dataclass
class FetchStats:
    """What a source cost: requests made and bytes received."""

    requests: int = 0
    bytes: int = 0


@dataclass
class FetchContext:
    """What a source may use: the store (read-only), limits, progress."""

    store: Store
    limit: int
    archives: list[str]
    progress: Progress | None = None
    stats: FetchStats = field(default_factory=FetchStats)
    now: datetime | None = None  # the run's clock (None: the real time)
    probe: bool = False  # ask arXiv cheaply whether anything was announced first
    markers: dict[str, str] = field(default_factory=dict)  # stored with the papers
    pending_add: dict[str, datetime] = field(default_factory=dict)
    pending_drop: set[str] = field(default_factory=set)
    pending_scope: str = ""  # whose pending list (a source's set of topics)
    started: float = field(default_factory=time.monotonic)  # when ``now`` was read

    def clock(self) -> datetime:
        """The run's clock now: ``now`` plus the time since it was read (``started``)."""
        if self.now is None:
            return datetime.now(UTC)
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)

    def known(self, plan: TopicPlan) -> dict[str, int]:
        """``{paper id: version}`` the store already links to this topic."""
        topic_id = self.store.find_topic(plan.topic.name, plan.query_string)
        if topic_id is None:
            return {}
        with self.store.reading() as conn:
            return self.store.known_versions(conn, topic_id)


class Source(Protocol):
    """Fetches every topic's new or revised papers; raises :class:`SourceError`.

    ``fetch`` hands over one :class:`TopicFetch` per topic, in the plans'
    order; a source that fetches topic by topic yields each as soon as it has
    it (the API source does), so the run holds one topic's papers at a time.
    Raises :class:`NothingAnnounced` when it can tell cheaply that arXiv has
    announced nothing since the last run. ``name`` is recorded per topic.
    """

    name: str

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> Iterable[TopicFetch]: ...

    def close(self) -> None: ...


def scope_of(plans: Sequence[TopicPlan], archives: Sequence[str]) -> str:
    """A short name for a set of topics and archives, to scope what a source remembers.

    Stores can be shared by several configs (a lab's deployment): the last
    consumed listing, the last probe's answer and the pending ids belong to
    one set of topics, so one config's run never makes another skip a
    listing, end early, or lose a pending paper.
    """
    key = "\n".join(sorted(p.query_string for p in plans) + sorted(archives))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
