"""``dailypapers check``: what each topic sends to arXiv, and how much it matches.

So that an empty or a flooded topic shows before the first run, not after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dailypapers.arxiv import query as q
from dailypapers.config import Config
from dailypapers.models import Paper
from dailypapers.plan import TopicPlan, plan_topics, request_query

WINDOW = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class TopicCheck:
    """One topic as ``check`` reports it; ``count`` is None unless asked for.

    ``query`` is what a run sends to arXiv; ``filtered`` is False when the
    archive filter was left out because the topic's categories imply it
    (:func:`dailypapers.plan.request_query`).
    """

    name: str
    query: str
    count: int | None = None
    filtered: bool = True

    def notes(self, max_papers: int, days: float) -> list[str]:
        """What is worth a look: an empty topic, or one that fills up every day."""
        if self.count is None:
            return []
        if self.count == 0:
            return ["no paper in that window: check the query and the categories"]
        if self.count > max_papers * days:
            return [f"more than max_papers ({max_papers}) a day: narrow the query"]
        return []


def topic_check(plan: TopicPlan, count: int | None = None) -> TopicCheck:
    """``plan``'s topic with the query a run sends (archives, categories and exclusions in)."""
    return TopicCheck(plan.topic.name, plan.request, count, plan.request == plan.query_string)


def check_topics(config: Config) -> list[TopicCheck]:
    """Every topic with its effective query, counts not asked for."""
    return [topic_check(plan) for plan in plan_topics(config)]


def _window(until: datetime) -> q.DateRange:
    start = (until - WINDOW).replace(second=0, microsecond=0)
    return q.DateRange("submittedDate", start, until.replace(second=0, microsecond=0))


class CountFailed(Exception):
    """arXiv could not be asked; the message is one line."""


def count_on_arxiv(config: Config, until: datetime) -> list[TopicCheck]:
    """Ask the configured API how many papers each topic matched in the week to ``until``.

    Raises :class:`CountFailed` (one line) when arXiv cannot answer.
    """
    from dailypapers.arxiv.errors import ArxivError
    from dailypapers.sources.api import make_client  # lazy: pulls in httpx

    checks = []
    try:
        with make_client(config) as client:
            for plan in plan_topics(config):
                sent = request_query(plan.topic, config.settings.archives, plan.query)
                node = q.And(sent, _window(until))  # the query a run sends, in the window
                page = client.fetch_page(q.to_string(node), start=0, max_results=1)
                checks.append(topic_check(plan, page.total_results))
    except ArxivError as exc:
        raise CountFailed(exc.brief()) from None
    return checks


def count_in_store(config: Config, until: datetime) -> list[TopicCheck]:
    """How many stored papers of each topic were submitted in the week to ``until``."""
    from dailypapers.plan import stored_topics
    from dailypapers.store import StoreError, open_store, sqlite_path

    path = sqlite_path(config.db_url)
    if path is not None and (not path.exists() or (path.is_file() and not path.stat().st_size)):
        raise StoreError(f"no store at {path} yet (run 'dailypapers update' first)")
    checks = []
    store = open_store(config.db_url, migrate=False)
    try:
        for plan, topic_id in stored_topics(config, store):
            papers = store.topic_papers(topic_id) if topic_id is not None else []
            checks.append(topic_check(plan, _in_window(papers, until)))
    finally:
        store.close()
    return checks


def _in_window(papers: list[Paper], until: datetime) -> int:
    return sum(1 for paper in papers if until - WINDOW <= paper.published <= until)
