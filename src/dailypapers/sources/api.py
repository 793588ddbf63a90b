"""arXiv's query API as a source: one incremental search per topic, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import httpx

from dailypapers.arxiv.client import (
    BACKOFF_BASE,
    ArxivClient,
    SortBy,
    SortOrder,
    is_arxiv_host,
)
from dailypapers.arxiv.errors import ArxivError
from dailypapers.arxiv.taxonomy import archive_of
from dailypapers.config import Config
from dailypapers.models import Paper
from dailypapers.sources import FetchContext, SourceError, TopicFetch, TopicPlan

SORT_BY: SortBy = "lastUpdatedDate"
SORT_ORDER: SortOrder = "descending"


def make_client(config: Config) -> ArxivClient:
    """The polite arXiv client configured by ``[arxiv]``."""
    arxiv = config.settings.arxiv
    backoff = max(arxiv.backoff, BACKOFF_BASE) if is_arxiv_host(arxiv.api_url) else arxiv.backoff
    return ArxivClient(
        arxiv.api_url,
        delay=arxiv.delay,
        page_size=arxiv.page_size,
        contact=arxiv.contact,
        max_attempts=arxiv.max_attempts,
        max_retry_seconds=arxiv.max_retry_seconds,
        backoff=backoff,
        timeout=httpx.Timeout(arxiv.timeout, connect=min(arxiv.timeout, 10.0)),
    )


def keeps(plan: TopicPlan, archives: list[str], paper: Paper) -> bool:
    """The exact category filters, checked locally as well as in the query.

    Text matching is left to arXiv (its stemming is the reference's truth);
    categories are exact, so a paper outside them is never kept.
    """
    if archives and not any(archive_of(c) in archives for c in paper.categories):
        return False
    wanted = plan.topic.categories
    return not wanted or any(c in wanted for c in paper.categories)


def fetch_topic(
    client: ArxivClient,
    plan: TopicPlan,
    known: dict[str, int],
    *,
    limit: int,
    archives: list[str],
) -> list[Paper]:
    """The topic's papers that are new or revised since the store last saw them.

    Newest first, one page at a time; stops at the first page that reaches a
    paper the store already has (once the store holds a full table), or when
    ``limit`` papers were seen from the top (cold start).
    """
    found: dict[str, Paper] = {}
    seen: set[str] = set()
    warm = len(known) >= limit
    page_size = min(client.page_size, limit)
    for page in client.iter_pages(
        plan.query_string, sort_by=SORT_BY, sort_order=SORT_ORDER, page_size=page_size
    ):
        reached_known = False
        for paper in page.papers:
            seen.add(paper.id)
            if known.get(paper.id, 0) >= paper.version:
                reached_known = True
            elif keeps(plan, archives, paper):
                found.setdefault(paper.id, paper)
        if (reached_known and warm) or len(seen) >= limit:
            break
    return list(found.values())


class ApiSource:
    """arXiv's query API: one incremental search per topic."""

    def __init__(self, client: ArxivClient) -> None:
        self.client = client

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> list[TopicFetch]:
        results = []
        try:
            for plan in plans:
                results.append(self._fetch_one(plan, context))
        finally:
            context.stats.requests = self.client.stats.requests
            context.stats.bytes = self.client.stats.bytes_received
        return results

    def _fetch_one(self, plan: TopicPlan, context: FetchContext) -> TopicFetch:
        context.say(f"fetching {plan.topic.name}")
        try:
            papers = fetch_topic(
                self.client,
                plan,
                context.known(plan),
                limit=context.limit,
                archives=context.archives,
            )
        except ArxivError as exc:
            raise SourceError(f"topic {plan.topic.name!r}: {exc.brief()}") from exc
        context.say(f"{plan.topic.name}: {len(papers)} new or revised")
        return TopicFetch(plan, papers)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ApiSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
