"""``dailypapers check``: what each topic sends to arXiv, and how much it matches.

So that an empty or a flooded topic shows before the first run, not after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dailypapers.arxiv import query as q
from dailypapers.config import Config, Topic
from dailypapers.models import Paper

WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class TopicCheck:
    """One topic as ``check`` reports it; ``count`` is None unless asked for."""

    name: str
    query: str
    count: int | None = None

    def notes(self, max_papers: int, days: float) -> list[str]:
        """What is worth a look: an empty topic, or one that fills up every day."""
        if self.count is None:
            return []
        if self.count == 0:
            return ["no paper in that window: check the query and the categories"]
        if self.count > max_papers * days:
            return [f"more than max_papers ({max_papers}) a day: narrow the query"]
        return []


def effective_query(config: Config, topic: Topic) -> str:
    """The query a run sends for ``topic`` (archives, categories and exclusions in)."""
    return q.to_string(topic.search_query(config.settings.archives))


def check_topics(config: Config) -> list[TopicCheck]:
    """Every topic with its effective query, counts not asked for."""
    return [TopicCheck(t.name, effective_query(config, t)) for t in config.settings.topics]


def _window(until: datetime) -> q.DateRange:
    start = (until - WINDOW).replace(second=0, microsecond=0)
    return q.DateRange("submittedDate", start, until.replace(second=0, microsecond=0))


class CountFailed(Exception):
    """arXiv could not be asked (the message is its one-line brief)."""


def count_on_arxiv(config: Config, until: datetime) -> list[TopicCheck]:
    """Ask the configured API how many papers each topic matched in the week to ``until``.

    Raises :class:`CountFailed` with arXiv's one-line brief when a request fails.
    """
    from dailypapers.arxiv.errors import ArxivError
    from dailypapers.sources.api import make_client  # lazy: pulls in httpx

    checks = []
    try:
        with make_client(config) as client:
            for topic in config.settings.topics:
                node = q.And(topic.search_query(config.settings.archives), _window(until))
                page = client.fetch_page(q.to_string(node), start=0, max_results=1)
                checks.append(
                    TopicCheck(topic.name, effective_query(config, topic), page.total_results)
                )
    except ArxivError as exc:
        raise CountFailed(exc.brief()) from None
    return checks


def count_in_store(config: Config, until: datetime) -> list[TopicCheck]:
    """How many stored papers of each topic were submitted in the week to ``until``."""
    from dailypapers.store import StoreError, open_store, sqlite_path

    path = sqlite_path(config.db_url)
    if path is not None and not path.is_file():
        raise StoreError(f"no store at {path} yet (run 'dailypapers update' first)")
    checks = []
    store = open_store(config.db_url, migrate=False)
    try:
        for topic in config.settings.topics:
            query = effective_query(config, topic)
            topic_id = store.find_topic(topic.name, query)
            papers = store.topic_papers(topic_id) if topic_id is not None else []
            checks.append(TopicCheck(topic.name, query, _in_window(papers, until)))
    finally:
        store.close()
    return checks


def _in_window(papers: list[Paper], until: datetime) -> int:
    return sum(1 for paper in papers if until - WINDOW <= paper.published <= until)
