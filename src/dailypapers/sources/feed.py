"""arXiv's announcement feed as a source: one request for every topic, the API for the rest.

A run reads the day's listing for the configured archives
(``<feed_url>/cs+stat``) once, and decides per topic:

* **feed**: a topic fetched before, whose query uses only what the feed
  carries (``ti abs au cat id``), on a day that follows the last consumed
  listing without a gap. Its query is evaluated locally
  (:func:`dailypapers.arxiv.query.compile_query`, the engine the fake server
  and local search use) on every listed paper.
* **API** (:class:`dailypapers.sources.api.ApiSource`): a cold topic (first
  fetch: its full table), a topic whose query needs fields the feed lacks
  (``co jr all`` or dates), and every topic when a listing was missed (a
  gap, found from the last consumed listing's date and arXiv's calendar) or
  the listing may be truncated (2000 items). The incremental search covers
  any gap; the listing is still matched, so today's papers that the search
  index does not show yet are not lost.

The feed's entries lack the submission dates, comment, journal reference and
DOI, so the matches are stored from one ``id_list`` API request (the README's
Date column is the API's last-updated date, as for the API source). A
listed paper the API cannot describe yet (its index lags the feed) is kept
as *pending* and asked for again on the next runs, for up to
:data:`PENDING_DAYS`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from dailypapers.arxiv import query as q
from dailypapers.arxiv.client import ArxivClient
from dailypapers.arxiv.errors import ArxivError
from dailypapers.arxiv.feed import (
    Listing,
    announcement_evening,
    feed_day,
    listing_url,
    parse_listing,
)
from dailypapers.arxiv.taxonomy import ARCHIVES
from dailypapers.config import Config
from dailypapers.fetchstate import read_marker, read_pending, warm_topic_ids
from dailypapers.models import Paper
from dailypapers.plan import TopicPlan
from dailypapers.sources.api import ApiSource, ScanPolicy, keeps, make_client, scan_policy
from dailypapers.sources.base import (
    FetchContext,
    NothingAnnounced,
    SourceError,
    TopicFetch,
    scope_of,
)

FEED_FIELDS = frozenset({"ti", "abs", "au", "cat", "id"})
DAY_MARKER = "feed_day"
PENDING_DAYS = 7
ID_LIST_CHUNK = 200  # ids per id_list request (~2.8 kB of URL)

log = logging.getLogger(__name__)


def feedable(node: q.Node) -> bool:
    """True when the feed carries every field ``node`` looks at."""
    if isinstance(node, q.Term):
        return node.field in FEED_FIELDS
    if isinstance(node, q.DateRange):
        return False
    return feedable(node.left) and feedable(node.right)


class FeedSource:
    """The announcement feed for all topics, the query API where the feed cannot answer."""

    name = "feed"

    def __init__(
        self,
        client: ArxivClient,
        feed_url: str,
        policy: ScanPolicy | None = None,
    ) -> None:
        self.client = client
        self.feed_url = feed_url
        self.api = ApiSource(client, policy)
        self.calendar = self.api.policy.calendar

    @classmethod
    def from_config(cls, config: Config) -> FeedSource:
        """The source ``[arxiv] source = "feed"`` configures."""
        return cls(make_client(config), config.settings.arxiv.feed_url, scan_policy(config))

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> list[TopicFetch]:
        try:
            return self._fetch(plans, context)
        except ArxivError as exc:
            raise SourceError(f"announcement feed: {exc.brief()}") from exc
        finally:
            context.stats.requests = self.client.stats.requests
            context.stats.bytes = self.client.stats.bytes_received

    def _fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> list[TopicFetch]:
        context.say("reading the announcement feed")
        archives = context.archives or sorted(ARCHIVES)
        url = listing_url(self.feed_url, archives)
        listing = self.client.fetch_document(url, parse_listing)
        context.pending_scope = scope = scope_of(plans, archives)
        marker = f"{DAY_MARKER}:{scope}"
        last = read_marker(context.store, marker)
        fresh = listing.day is not None and (last is None or listing.day.isoformat() > last)
        gap = fresh and self._gap(listing, last)
        warm = warm_topic_ids(context.store)
        by_api = [p for p in plans if gap or not feedable(p.query) or not _warm(p, context, warm)]
        if not fresh and not by_api:
            raise NothingAnnounced(f"the feed shows no announcement after {last}")
        if gap and last is not None:
            context.say("a listing was missed or may be truncated: the API fills the gap")
        context.probe = False  # the listing itself told whether arXiv announced
        results = {f.plan.topic.name: f for f in self.api.fetch(by_api, context)}
        found: dict[str, list[Paper]] = {}
        if fresh and listing.day is not None:
            context.markers[marker] = listing.day.isoformat()
            have = {p.id: p for f in results.values() for p in f.papers}
            found = self._match(listing, plans, context, have)
        fetched = []
        for plan in plans:
            scan = results.get(plan.topic.name)
            papers = scan.papers if scan is not None else []
            merged = _merge(papers, found.get(plan.topic.name, []))
            if scan is None:  # the listing alone: no dated scan of this topic
                fetched.append(TopicFetch(plan, merged))
            else:
                fetched.append(
                    TopicFetch(
                        plan,
                        merged,
                        total=scan.total,
                        top=scan.top,
                        dated=scan.dated,
                        fetched_at=scan.fetched_at,
                    )
                )
        return fetched

    def _gap(self, listing: Listing, last: str | None) -> bool:
        """True when the listing before this one was not consumed, or this one may be cut."""
        if last is None or listing.day is None or listing.possibly_truncated:
            return True
        previous = self.calendar.previous_announcement_day(announcement_evening(listing.day))
        return last < feed_day(previous).isoformat()

    def _match(
        self,
        listing: Listing,
        plans: Sequence[TopicPlan],
        context: FetchContext,
        have: dict[str, Paper],
    ) -> dict[str, list[Paper]]:
        """Each feedable topic's listed papers, described by the API.

        Papers the API search already brought (``have``) are not asked for
        again; the rest, and the pending ones, in one ``id_list`` request.
        """
        matchers = [(p, q.compile_query(p.query)) for p in plans if feedable(p.query)]
        if not matchers:
            return {}
        candidates = [
            entry.paper.id
            for entry in listing.entries
            if any(m(q.Document.from_paper(entry.paper)) for _, m in matchers)
        ]
        pending = read_pending(context.store, context.pending_scope)
        wanted = [i for i in dict.fromkeys([*candidates, *pending]) if i not in have]
        context.say(f"announcement feed: {len(candidates)} listed papers match a topic")
        described = {paper.id: paper for paper in self._describe(wanted)}
        self._track_pending(wanted, described, pending, context)
        described.update((i, have[i]) for i in candidates if i in have)
        found: dict[str, list[Paper]] = {}
        for paper in described.values():
            doc = q.Document.from_paper(paper)
            for plan, matcher in matchers:
                if keeps(plan, context.archives, paper) and matcher(doc):
                    found.setdefault(plan.topic.name, []).append(paper)
        return found

    def _describe(self, ids: Sequence[str]) -> Iterator[Paper]:
        for start in range(0, len(ids), ID_LIST_CHUNK):
            chunk = ids[start : start + ID_LIST_CHUNK]
            page = self.client.fetch_page("", id_list=chunk, start=0, max_results=len(chunk))
            yield from page.papers

    def _track_pending(
        self,
        wanted: Iterable[str],
        described: dict[str, Paper],
        pending: dict[str, datetime],
        context: FetchContext,
    ) -> None:
        now = context.now or datetime.now(UTC)
        for paper_id in wanted:
            since = pending.get(paper_id)
            if paper_id in described:
                if since is not None:
                    context.pending_drop.add(paper_id)
            elif since is None:
                context.pending_add[paper_id] = now
            elif now - since > timedelta(days=PENDING_DAYS):
                log.warning("arXiv's API never described %s; giving up on it", paper_id)
                context.pending_drop.add(paper_id)

    def close(self) -> None:
        self.client.close()


def _merge(first: list[Paper], second: list[Paper]) -> list[Paper]:
    by_id = {p.id: p for p in first}
    for paper in second:
        if paper.id not in by_id or paper.is_newer_than(by_id[paper.id]):
            by_id[paper.id] = paper
    return list(by_id.values())


def _warm(plan: TopicPlan, context: FetchContext, warm: set[int]) -> bool:
    return context.store.find_topic(plan.topic.name, plan.query_string) in warm
