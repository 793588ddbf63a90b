"""Where a run's papers come from: a :class:`Source` fetches every topic.

Sources: ``api`` (:mod:`dailypapers.sources.api`, arXiv's query API, one
incremental search per topic), ``feed`` (:mod:`dailypapers.sources.feed`, the
day's announcement feed for all topics at once, with the API for what a feed
cannot give) and ``local`` (:mod:`dailypapers.sources.local`, the stored
catalogue matched with the local query engine, no network). Their shared
types are in :mod:`dailypapers.sources.base` (re-exported here).
"""

from __future__ import annotations

from dailypapers.config import Config
from dailypapers.plan import TopicPlan, plan_topics
from dailypapers.sources.base import (
    SOURCES,
    FetchContext,
    FetchStats,
    NothingAnnounced,
    Progress,
    Source,
    SourceError,
    TopicFetch,
    scope_of,
)

__all__ = [
    "SOURCES",
    "FetchContext",
    "FetchStats",
    "NothingAnnounced",
    "Progress",
    "Source",
    "SourceError",
    "TopicFetch",
    "TopicPlan",
    "open_source",
    "plan_topics",
    "scope_of",
]


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
        from dailypapers.sources.local import LocalSource
        from dailypapers.sources.local_index import IndexFinder

        return LocalSource(IndexFinder())
    raise SourceError(f"unknown source {chosen!r}")
