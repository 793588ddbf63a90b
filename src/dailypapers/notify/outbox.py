"""The notification outbox: what each channel still owes, queued in the run's transaction.

When a run stores papers, every paper version that is new to a topic (a new
paper, a paper newly matching the topic, or a revision) is queued once in
``notify_outbox``, in the same transaction as the papers. A channel receives
the queued items it has no delivery for; deliveries are recorded only after
the channel confirmed (:func:`mark_delivered`), so a failed channel keeps its
papers pending until a later run delivers them, once.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy.engine import Connection

from dailypapers import outboxstate
from dailypapers.config import Config
from dailypapers.models import bounded
from dailypapers.notify.listing import Listing
from dailypapers.plan import stored_topics
from dailypapers.render.digest import Digest, Entry, TopicDigest
from dailypapers.spool import Spooled, SpooledTopic
from dailypapers.store import Store, stored_papers, utcnow

if TYPE_CHECKING:
    from dailypapers.rank.foryou import Ranking


@dataclass
class Snapshot:
    """What the store knew before a run's papers were saved (taken in the same transaction)."""

    stored: dict[str, int]
    linked: dict[int, set[str]]
    topic_ids: list[int]
    # Store.stored_versions of every fetched paper: the save reuses it (and
    # the links and topic ids) instead of asking again in the same transaction.
    versions: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    # Store.cut_short: below them, a topic's new links are history, not news
    floors: dict[int, datetime] = field(default_factory=dict)

    @classmethod
    def take(
        cls,
        conn: Connection,
        store: Store,
        fetched: Sequence[SpooledTopic],
        limit: int | None = None,
    ) -> Snapshot:
        ids = list({p.id for item in fetched for p in item.papers})
        versions = store.stored_versions(conn, ids)
        stored = {pid: version for pid, (version, _) in versions.items()}
        topic_ids = [
            store.topic_id(conn, item.plan.topic.name, item.plan.query_string) for item in fetched
        ]
        asked: dict[int, list[str]] = {}
        for topic_id, item in zip(topic_ids, fetched, strict=True):
            asked.setdefault(topic_id, []).extend(p.id for p in item.papers)
        floors = {} if limit is None else store.cut_short(conn, topic_ids, limit)
        return cls(stored, store.linked_among(conn, asked), topic_ids, versions, floors)

    def queue(
        self,
        conn: Connection,
        fetched: Sequence[SpooledTopic],
        *,
        run_id: int,
        now: datetime,
        listed: Mapping[str, int],
    ) -> int:
        """Queue every paper version new to its topic; returns how many items were queued."""
        rows = []
        for topic_id, item in zip(self.topic_ids, fetched, strict=True):
            floor = self.floors.get(topic_id)
            for paper in _latest(item):
                if floor is not None and _aware(paper.updated) < floor:
                    continue  # a refill of a table cut short: history, not news
                stored = self.stored.get(paper.id, 0)
                known = max(stored, listed.get(paper.id, 0))
                if paper.version <= listed.get(paper.id, 0):
                    continue  # the README already showed this version
                if paper.id in self.linked[topic_id] and paper.version <= stored:
                    continue
                rows.append(
                    {
                        "run_id": run_id,
                        "topic_id": topic_id,
                        "paper_id": paper.id,
                        "version": paper.version,
                        "revision": 0 < known < paper.version,
                        "queued_at": now,
                    }
                )
        outboxstate.queue(conn, rows)
        return len(rows)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _latest(item: SpooledTopic) -> list[Spooled]:
    newest: dict[str, Spooled] = {}
    for paper in item.papers:
        if paper.id not in newest or paper.version > newest[paper.id].version:
            newest[paper.id] = paper
    return list(newest.values())


# -- what a channel owes ------------------------------------------------------


@dataclass
class Batch:
    """A destination's pending items, as a digest, and the outbox ids it settles."""

    channel: str  # the destination (:meth:`Channel.destination`) deliveries are keyed by
    digest: Digest
    outbox_ids: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.digest.shown == 0


def pending_batch(
    config: Config,
    store: Store,
    destination: str,
    listing: Listing,
    *,
    day: date,
    limit: int,
    ranking: Ranking | None = None,
) -> Batch:
    """What ``destination`` still owes: its topics' queued items it is owed
    (:class:`Listing`), not yet delivered.

    With ``ranking`` (a library): "For you" first and ``[notify] min_score``.
    """
    names = topic_names(config, store)
    owed = listing.owed(destination, names)
    seen_as = listing.delivered_as(destination)
    with store.reading() as conn:
        # Only this config's topics, pending and delivered: on a shared store another
        # config's items (and what its channel of the same kind sent) are not this one's.
        items = outboxstate.pending_items(conn, seen_as, owed)
        ids = list({i.paper_id for i in items})
        sent = outboxstate.delivered_versions(conn, seen_as, ids, list(names))
        wanted = {i.paper_id for i in items if i.version > sent.get(i.paper_id, 0)}
        found = stored_papers(conn, list(wanted))
    from dailypapers.summaries import attach  # lazy: the digests' TL;DRs ([summaries])

    # Bounded again: a paper stored before fields were bounded where read (hostile
    # sizes) must not flood a digest.
    stored = {paper.id: bounded(paper) for paper in attach(config, store, found)}
    grouped: dict[int, dict[str, bool]] = defaultdict(dict)
    for item in items:
        if item.paper_id in stored and item.topic_id in names:
            revised = item.revision or sent.get(item.paper_id, 0) > 0
            previous = grouped[item.topic_id].get(item.paper_id, False)
            grouped[item.topic_id][item.paper_id] = previous or revised
    sections = []
    for topic_id, name in names.items():
        entries = [Entry(stored[pid], revised) for pid, revised in grouped[topic_id].items()]
        entries.sort(key=lambda e: (e.paper.updated, e.paper.published, e.paper.id), reverse=True)
        if entries:
            sections.append(TopicDigest(name, tuple(entries)))
    if ranking is not None and sections:
        from dailypapers.notify.foryou import ranked_sections
        from dailypapers.rank.foryou import with_scores_of

        ranking = with_scores_of(ranking, store, found, config)  # as papers.json scores
        sections = ranked_sections(sections, ranking, config.settings.notify.min_score)
    digest = Digest(
        config.settings.title,
        day,
        tuple(sections),
        link=readme_link(config),
        link_base=config.settings.readme.link_base,
    ).capped(limit)
    return Batch(destination, digest, [i.id for i in items])


def topic_names(config: Config, store: Store) -> dict[int, str]:
    """``{topic id: name}`` of the configured topics, in config order."""
    found = stored_topics(config, store)
    return {topic_id: plan.topic.name for plan, topic_id in found if topic_id is not None}


def mark_delivered(store: Store, batch: Batch, run_id: int) -> None:
    """Record that ``batch.channel`` delivered (or deliberately covered) every item."""
    if not batch.outbox_ids:
        return
    now = utcnow()
    rows = [
        {"outbox_id": oid, "channel": batch.channel, "run_id": run_id, "delivered_at": now}
        for oid in batch.outbox_ids
    ]
    with store.transaction() as conn:
        outboxstate.record_deliveries(conn, rows)


def readme_link(config: Config) -> str | None:
    """Where readers find every paper: ``[notify] link``, else the README on GitHub.

    The repository's front page (``#readme``) when the tables are its root
    ``README.md``; else the file itself (``[readme] path = "PAPERS.md"``, a
    project in a subfolder), on the default branch (``blob/HEAD``).
    """
    link = config.settings.notify.link
    if link:
        return link
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        return None
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    where = _in_repository(config)
    if where is None or where.lower() == "readme.md":
        return f"{server}/{repository}#readme"
    return f"{server}/{repository}/blob/HEAD/{quote(where)}"


def _in_repository(config: Config) -> str | None:
    """The README's path in the repository (``None``: outside it, or no repository).

    The repository is the nearest ``.git`` above the project (not
    ``$GITHUB_WORKSPACE``: a checkout with ``path:`` is below it).
    """
    from dailypapers.workflow import repository_root

    root = repository_root(config.base_dir)
    if root is None:
        return None
    try:
        return config.readme_path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None
