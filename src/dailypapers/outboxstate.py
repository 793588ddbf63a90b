"""The queries behind the notification outbox (:mod:`dailypapers.notify.outbox`).

Tables ``notify_outbox`` (paper versions queued per topic and run),
``notify_deliveries`` (what each destination confirmed), ``notify_listings``
(from which run each project's topics and destinations are owed papers) and
``notify_channels`` (the kind-keyed registrations of versions before 13, read
only to adopt them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.schema import (
    notify_channels,
    notify_deliveries,
    notify_listings,
    notify_outbox,
    runs,
)
from dailypapers.sql import chunks, insert_ignore, upsert


@dataclass(frozen=True)
class OutboxItem:
    """One queued paper version for one topic."""

    id: int
    topic_id: int
    paper_id: str
    version: int
    revision: bool


def queue(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue outbox rows (one already queued is kept as it is)."""
    if rows:
        conn.execute(insert_ignore(conn.dialect.name, notify_outbox), list(rows))


def channel_since(conn: Connection, kind: str) -> int | None:
    """The first run a channel ``kind`` was owed papers from (versions before 13), if any."""
    found = conn.scalar(
        sa.select(notify_channels.c.since_run).where(notify_channels.c.channel == kind)
    )
    return None if found is None else int(found)


def latest_queued_run(conn: Connection) -> int | None:
    """The latest run that queued anything."""
    latest = conn.scalar(sa.select(sa.func.max(notify_outbox.c.run_id)))
    return None if latest is None else int(latest)


@dataclass(frozen=True)
class Listed:
    """One item's streak: the first and the last run of the project that listed it."""

    listed_from: int
    listed_run: int


def listings(conn: Connection, project: str) -> dict[str, Listed]:
    """``{item: streak}`` of ``project`` (topics as ``topic:ID``, destinations)."""
    rows = conn.execute(
        sa.select(
            notify_listings.c.item, notify_listings.c.listed_from, notify_listings.c.listed_run
        ).where(notify_listings.c.project == project)
    )
    return {row.item: Listed(int(row.listed_from), int(row.listed_run)) for row in rows}


def has_listings(conn: Connection, project: str) -> bool:
    query = sa.select(notify_listings.c.item).where(notify_listings.c.project == project)
    return conn.scalar(query.limit(1)) is not None


def record_listings(
    conn: Connection, project: str, froms: Mapping[str, int], run_id: int, now: datetime
) -> None:
    """Record that run ``run_id`` of ``project`` listed ``froms`` (item: streak start)."""
    rows = [
        {
            "project": project,
            "item": item,
            "listed_from": start,
            "listed_run": run_id,
            "listed_at": now,
        }
        for item, start in froms.items()
    ]
    if rows:
        conn.execute(upsert(conn.dialect.name, notify_listings, ["project", "item"]), rows)


def adopt_deliveries(conn: Connection, source: str, destination: str) -> None:
    """Count what ``source`` delivered as ``destination``'s: a channel kind's rows from
    before version 13, or the destination ``destination`` replaces."""
    legacy = sa.select(
        notify_deliveries.c.outbox_id,
        sa.literal(destination, sa.String(32)),
        notify_deliveries.c.run_id,
        notify_deliveries.c.delivered_at,
    ).where(notify_deliveries.c.channel == source)
    columns = ["outbox_id", "channel", "run_id", "delivered_at"]
    conn.execute(insert_ignore(conn.dialect.name, notify_deliveries).from_select(columns, legacy))


def pending_items(
    conn: Connection, channels: Sequence[str], owed: Mapping[int, int]
) -> list[OutboxItem]:
    """Items no delivery key of ``channels`` (a destination's) covers, of the topics of ``owed``
    (``{topic id: first run owed}``), in queue order (a shared store's other topics
    belong to other configs)."""
    delivered = sa.exists().where(
        (notify_deliveries.c.outbox_id == notify_outbox.c.id)
        & notify_deliveries.c.channel.in_(list(channels))
    )
    by_start: dict[int, list[int]] = {}
    for topic_id, start in owed.items():
        by_start.setdefault(start, []).append(topic_id)
    owed_items = sa.or_(
        sa.false(),
        *[
            notify_outbox.c.topic_id.in_(ids) & (notify_outbox.c.run_id >= start)
            for start, ids in sorted(by_start.items())
        ],
    )
    rows = conn.execute(
        sa.select(
            notify_outbox.c.id,
            notify_outbox.c.topic_id,
            notify_outbox.c.paper_id,
            notify_outbox.c.version,
            notify_outbox.c.revision,
        )
        .where(owed_items & ~delivered)
        .order_by(notify_outbox.c.id)
    )
    return [OutboxItem(r.id, r.topic_id, r.paper_id, r.version, bool(r.revision)) for r in rows]


def delivered_versions(
    conn: Connection, channels: Sequence[str], ids: list[str], topic_ids: Sequence[int]
) -> dict[str, int]:
    """``{paper id: highest version delivered under channels}`` for the papers of ``ids``,
    counting only deliveries of ``topic_ids`` (a shared store's others went to other configs)."""
    found: dict[str, int] = {}
    for chunk in chunks(ids):
        rows = conn.execute(
            sa.select(notify_outbox.c.paper_id, sa.func.max(notify_outbox.c.version))
            .join(notify_deliveries, notify_deliveries.c.outbox_id == notify_outbox.c.id)
            .where(
                notify_deliveries.c.channel.in_(list(channels))
                & notify_outbox.c.paper_id.in_(chunk)
                & notify_outbox.c.topic_id.in_(list(topic_ids))
            )
            .group_by(notify_outbox.c.paper_id)
        )
        found.update({row[0]: int(row[1]) for row in rows})
    return found


def record_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Record deliveries (one already recorded is kept)."""
    conn.execute(insert_ignore(conn.dialect.name, notify_deliveries), list(rows))


def first_run_after(conn: Connection, lock: str, previous: int) -> int | None:
    """The first run of a project (its ``lock``) after its run ``previous``, if any."""
    found = conn.scalar(
        sa.select(sa.func.min(runs.c.id)).where(runs.c.lock == lock, runs.c.id > previous)
    )
    return None if found is None else int(found)
