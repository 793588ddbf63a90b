"""Where a run's papers come from: a :class:`Source` fetches every topic.

A source reads (the network, or the store) but never writes: the pipeline
stores what it returns in one transaction. Sources: ``api``
(:mod:`dailypapers.sources.api`, arXiv's query API, one incremental search
per topic), ``feed`` (:mod:`dailypapers.sources.feed`, the day's
announcement feed for all topics at once, with the API for what a feed
cannot give) and ``local`` (:mod:`dailypapers.sources.local`, the stored
catalogue matched with the local query engine, no network). What a source
wants remembered (markers, pending ids) it puts in the :class:`FetchContext`;
the pipeline stores it with the papers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dailypapers.arxiv import query as q
from dailypapers.config import Config, Topic
from dailypapers.models import Paper
from dailypapers.names import SOURCES as SOURCES
from dailypapers.store import Store

Progress = Callable[[str], None]


class SourceError(Exception):
    """A source could not deliver a topic; the message is one line."""


class NothingAnnounced(Exception):
    """arXiv has announced nothing since the last successful run: end the run early."""


@dataclass(frozen=True)
class TopicPlan:
    """A topic with its effective arXiv query."""

    topic: Topic
    query: q.Node
    query_string: str


@dataclass
class TopicFetch:
    """What one topic's fetch brought back (nothing is stored yet).

    ``evaluated_until``: for sources that read the store, the ``last_seen``
    up to which every stored paper was matched against the topic; saved
    with the links, in the same transaction. ``total``: arXiv's
    ``totalResults`` for the topic's query, for sources that see it (a
    topic whose total fits in its table is fetched incrementally next time).
    """

    plan: TopicPlan
    papers: list[Paper]
    evaluated_until: datetime | None = None
    total: int | None = None


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

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)

    def known(self, plan: TopicPlan) -> dict[str, int]:
        """``{paper id: version}`` the store already links to this topic."""
        topic_id = self.store.find_topic(plan.topic.name, plan.query_string)
        if topic_id is None:
            return {}
        with self.store.engine.connect() as conn:
            return self.store.known_versions(conn, topic_id)


class Source(Protocol):
    """Fetches every topic's new or revised papers; raises :class:`SourceError`.

    Raises :class:`NothingAnnounced` when it can tell cheaply that arXiv has
    announced nothing since the last run. ``name`` is recorded per topic.
    """

    name: str

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> list[TopicFetch]: ...

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


def plan_topics(config: Config) -> list[TopicPlan]:
    """Every configured topic with the query that will be sent to arXiv."""
    plans = []
    for topic in config.settings.topics:
        node = topic.search_query(config.settings.archives)
        plans.append(TopicPlan(topic, node, q.to_string(node)))
    return plans


def open_source(config: Config, name: str | None = None) -> Source:
    """The source named ``name``, by default the one ``[arxiv] source`` configures."""
    from dailypapers.sources.api import ApiSource
    from dailypapers.sources.feed import FeedSource

    chosen = name or config.settings.arxiv.source
    if chosen == "api":
        return ApiSource.from_config(config)
    if chosen == "feed":
        return FeedSource.from_config(config)
    if chosen == "local":
        from dailypapers.search import IndexFinder
        from dailypapers.sources.local import LocalSource

        return LocalSource(IndexFinder())
    raise SourceError(f"unknown source {chosen!r}")
