"""Notifications: which new papers each channel still owes its readers, and sending them.

The outbox: when a run stores papers, every paper version that is new to a
topic (a new paper, a paper newly matching the topic, or a revision) is
queued once in ``notify_outbox``, in the same transaction as the papers. A
channel (``github``, ``email``, ``webhook``) receives the queued items it has
no delivery for; deliveries are recorded only after the channel confirmed,
so a failed channel keeps its papers pending until a later run delivers
them, once.

Never a flood: a channel only owes items queued from the run in which it was
first configured on; a paper version the README already listed before the
run (a lost store cache, a switch from the reference tool) is never queued;
and each digest lists at most ``[notify] max_per_topic`` papers per topic,
pointing to the README for the rest.
"""

from __future__ import annotations

import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.config import Config
from dailypapers.models import InvalidArxivId, Paper, split_id
from dailypapers.render.digest import Digest, Entry, TopicDigest
from dailypapers.sources import TopicFetch, plan_topics
from dailypapers.store import (
    Store,
    notify_channels,
    notify_deliveries,
    notify_outbox,
    paper_from_row,
    papers,
    topic_papers,
    utcnow,
)
from dailypapers.store import _insert_ignore as insert_ignore

# Environment variables that hold secrets: never printed, logged or stored.
SECRET_ENV = (
    "GITHUB_TOKEN",
    "DAILYPAPERS_SMTP_USER",
    "DAILYPAPERS_SMTP_PASSWORD",
    "DAILYPAPERS_WEBHOOK_URL",
    "DAILYPAPERS_LLM_API_KEY",
)
_LINK = re.compile(r"\]\((\S+?)\)")


class NotifyError(Exception):
    """A channel could not deliver; the message is one line, secrets masked."""


def mask(text: str) -> str:
    """``text`` with the value of every secret environment variable replaced by ``***``."""
    from urllib.parse import quote

    for name in SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 4:
            for form in {value, quote(value, safe=""), quote(value, safe="/:")}:
                text = text.replace(form, "***")
    return text


class RedactSecrets(logging.Filter):
    """Masks secrets in log records (httpx logs every request's URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


for _name in ("httpx", "httpcore", "dailypapers"):
    logging.getLogger(_name).addFilter(RedactSecrets())


class Channel(Protocol):
    """A way of telling people about new papers."""

    name: str
    max_per_topic: int | None

    def describe(self) -> str:
        """Where it sends, without secrets: ``to a@b.org via smtp.example.org:587``."""
        ...

    def problem(self) -> str | None:
        """Why it cannot send right now (a missing environment variable), or None."""
        ...

    def preview(self, digest: Digest) -> str:
        """What :meth:`send` would send, as text."""
        ...

    def send(self, digest: Digest) -> str:
        """Send the digest; returns a receipt (issue URL, message id). Raises NotifyError."""
        ...


def open_channels(config: Config) -> list[Channel]:
    """The channels ``[notify.*]`` configures, in sending order (github, email, webhook)."""
    from dailypapers.notify.email import EmailChannel
    from dailypapers.notify.github import GitHubChannel
    from dailypapers.notify.webhook import WebhookChannel

    notify = config.settings.notify
    channels: list[Channel] = []
    if notify.github is not None:
        channels.append(GitHubChannel(notify.github))
    if notify.email is not None:
        channels.append(EmailChannel(notify.email, config.settings.title))
    if notify.webhook is not None:
        channels.append(WebhookChannel(notify.webhook))
    return channels


# -- queueing (inside the run's store transaction) ---------------------------


def readme_listing(path: Path) -> dict[str, int]:
    """``{paper id: highest version}`` linked from an existing README (empty if none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    listed: dict[str, int] = {}
    for url in _LINK.findall(text):
        try:
            paper_id, version = split_id(url)
        except InvalidArxivId:
            continue
        listed[paper_id] = max(listed.get(paper_id, 0), version or 1)
    return listed


@dataclass
class Snapshot:
    """What the store knew before a run's papers were saved (taken in the same transaction)."""

    stored: dict[str, int]
    linked: dict[int, set[str]]
    topic_ids: list[int]

    @classmethod
    def take(cls, conn: Connection, store: Store, fetched: Sequence[TopicFetch]) -> Snapshot:
        ids = list({p.id for item in fetched for p in item.papers})
        stored: dict[str, int] = {}
        for chunk in _chunks(ids):
            rows = conn.execute(
                sa.select(papers.c.id, papers.c.version).where(papers.c.id.in_(chunk))
            )
            stored.update({row.id: row.version for row in rows})
        topic_ids, linked = [], {}
        for item in fetched:
            topic_id = store.topic_id(conn, item.plan.topic.name, item.plan.query_string)
            topic_ids.append(topic_id)
            linked[topic_id] = _linked(conn, topic_id, [p.id for p in item.papers])
        return cls(stored, linked, topic_ids)

    def queue(
        self,
        conn: Connection,
        fetched: Sequence[TopicFetch],
        *,
        run_id: int,
        now: datetime,
        listed: Mapping[str, int],
    ) -> int:
        """Queue every paper version new to its topic; returns how many items were queued."""
        rows = []
        for topic_id, item in zip(self.topic_ids, fetched, strict=True):
            for paper in _latest(item):
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
        if rows:
            conn.execute(insert_ignore(conn.dialect.name, notify_outbox), rows)
        return len(rows)


def _latest(item: TopicFetch) -> list[Paper]:
    newest: dict[str, Paper] = {}
    for paper in item.papers:
        if paper.id not in newest or paper.version > newest[paper.id].version:
            newest[paper.id] = paper
    return list(newest.values())


def _linked(conn: Connection, topic_id: int, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(
            conn.scalars(
                sa.select(topic_papers.c.paper_id).where(
                    (topic_papers.c.topic_id == topic_id) & topic_papers.c.paper_id.in_(chunk)
                )
            )
        )
    return found


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- what a channel owes ------------------------------------------------------


@dataclass
class Batch:
    """A channel's pending items, as a digest, and the outbox ids it settles."""

    channel: str
    digest: Digest
    outbox_ids: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.digest.shown == 0


def since_run(store: Store, channel: str, current_run: int | None) -> int:
    """The first run whose queued papers ``channel`` owes.

    Registered on the channel's first use: the current ``update`` run, or
    (for ``dailypapers notify``) the latest run that queued papers.
    """
    with store.engine.connect() as conn:
        found = conn.scalar(
            sa.select(notify_channels.c.since_run).where(notify_channels.c.channel == channel)
        )
        if found is not None:
            return int(found)
        if current_run is not None:
            return current_run
        latest = conn.scalar(sa.select(sa.func.max(notify_outbox.c.run_id)))
    return int(latest or 0)


def register(store: Store, channel: str, since: int) -> None:
    """Remember from which run on ``channel`` is owed papers (first use only)."""
    with store.transaction() as conn:
        exists = conn.scalar(
            sa.select(notify_channels.c.channel).where(notify_channels.c.channel == channel)
        )
        if exists is None:
            conn.execute(
                notify_channels.insert().values(
                    channel=channel, since_run=since, registered_at=utcnow()
                )
            )


def pending_batch(
    config: Config, store: Store, channel: str, since: int, *, day: date, limit: int
) -> Batch:
    """What ``channel`` still owes: queued items from run ``since`` on, not yet delivered."""
    with store.engine.connect() as conn:
        items = _pending_items(conn, channel, since)
        sent = _delivered_versions(conn, channel, list({i.paper_id for i in items}))
        wanted = {i.paper_id for i in items if i.version > sent.get(i.paper_id, 0)}
        stored = _papers(conn, list(wanted))
    stored = with_tldrs(config, store, stored)
    names = _topic_names(config, store)
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
    digest = Digest(
        config.settings.title,
        day,
        tuple(sections),
        link=readme_link(config),
        link_base=config.settings.readme.link_base,
    ).capped(limit)
    return Batch(channel, digest, [i.id for i in items])


@dataclass(frozen=True)
class _Item:
    id: int
    topic_id: int
    paper_id: str
    version: int
    revision: bool


def _pending_items(conn: Connection, channel: str, since: int) -> list[_Item]:
    delivered = sa.exists().where(
        (notify_deliveries.c.outbox_id == notify_outbox.c.id)
        & (notify_deliveries.c.channel == channel)
    )
    rows = conn.execute(
        sa.select(
            notify_outbox.c.id,
            notify_outbox.c.topic_id,
            notify_outbox.c.paper_id,
            notify_outbox.c.version,
            notify_outbox.c.revision,
        )
        .where((notify_outbox.c.run_id >= since) & ~delivered)
        .order_by(notify_outbox.c.id)
    )
    return [_Item(r.id, r.topic_id, r.paper_id, r.version, bool(r.revision)) for r in rows]


def _delivered_versions(conn: Connection, channel: str, ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(
            sa.select(notify_outbox.c.paper_id, sa.func.max(notify_outbox.c.version))
            .join(notify_deliveries, notify_deliveries.c.outbox_id == notify_outbox.c.id)
            .where((notify_deliveries.c.channel == channel) & notify_outbox.c.paper_id.in_(chunk))
            .group_by(notify_outbox.c.paper_id)
        )
        found.update({row[0]: int(row[1]) for row in rows})
    return found


def _papers(conn: Connection, ids: list[str]) -> dict[str, Paper]:
    found: dict[str, Paper] = {}
    for chunk in _chunks(ids):
        for row in conn.execute(sa.select(papers).where(papers.c.id.in_(chunk))):
            paper = paper_from_row(row._mapping)
            found[paper.id] = paper
    return found


def with_tldrs(config: Config, store: Store, found: dict[str, Paper]) -> dict[str, Paper]:
    """The papers with their TL;DRs (``[summaries]``), for the digests."""
    from dailypapers.summaries import attach

    return {paper.id: paper for paper in attach(config, store, list(found.values()))}


def _topic_names(config: Config, store: Store) -> dict[int, str]:
    """``{topic id: name}`` of the configured topics, in config order."""
    names: dict[int, str] = {}
    for plan in plan_topics(config):
        topic_id = store.find_topic(plan.topic.name, plan.query_string)
        if topic_id is not None:
            names[topic_id] = plan.topic.name
    return names


def readme_link(config: Config) -> str | None:
    """Where readers find every paper: ``[notify] link``, else the repository's README."""
    link = config.settings.notify.link
    if link:
        return link
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{repository}#readme"
    return None


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
        conn.execute(insert_ignore(conn.dialect.name, notify_deliveries), rows)


# -- sending ------------------------------------------------------------------


@dataclass
class Outcome:
    """What one channel did in a run."""

    channel: str
    papers: int = 0
    target: str = ""
    receipt: str = ""
    error: str | None = None
    preview: str = ""


def deliver(
    config: Config,
    store: Store,
    run_id: int,
    *,
    day: date,
    registering_run: int | None,
    dry_run: bool = False,
    channels: Sequence[Channel] | None = None,
) -> list[Outcome]:
    """Send every channel what it owes; record deliveries only after a channel confirms.

    A failing channel does not stop the others; its outcome carries the
    one-line, secret-free error and its papers stay pending.
    """
    outcomes = []
    for channel in channels if channels is not None else open_channels(config):
        outcomes.append(_deliver_one(config, store, channel, run_id, day, registering_run, dry_run))
    return outcomes


def _deliver_one(
    config: Config,
    store: Store,
    channel: Channel,
    run_id: int,
    day: date,
    registering_run: int | None,
    dry_run: bool,
) -> Outcome:
    since = since_run(store, channel.name, registering_run)
    limit = channel.max_per_topic or config.settings.notify.max_per_topic
    batch = pending_batch(config, store, channel.name, since, day=day, limit=limit)
    outcome = Outcome(channel.name, papers=batch.digest.shown, target=mask(channel.describe()))
    if dry_run:
        outcome.preview = channel.preview(batch.digest) if not batch.empty else ""
        outcome.error = channel.problem()
        return outcome
    register(store, channel.name, since)
    if batch.empty:
        mark_delivered(
            store, batch, run_id
        )  # items covered elsewhere (already sent, dropped topic)
        return outcome
    try:
        problem = channel.problem()
        if problem:
            raise NotifyError(problem)
        outcome.receipt = mask(channel.send(batch.digest))
    except NotifyError as exc:
        outcome.error = mask(" ".join(str(exc).split())) or "failed"
        return outcome
    mark_delivered(store, batch, run_id)
    return outcome


def failure_line(outcomes: Iterable[Outcome]) -> str | None:
    """``notify email: connection refused; notify github: HTTP 500``, or None when all sent."""
    failed = [f"notify {o.channel}: {o.error}" for o in outcomes if o.error]
    return "; ".join(failed) or None
