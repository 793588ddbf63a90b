"""The queries behind the notification outbox (:mod:`dailypapers.notify.outbox`).

Tables ``notify_outbox`` (paper versions queued per topic and run),
``notify_channels`` (from which run each channel is owed papers) and
``notify_deliveries`` (what each channel confirmed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.schema import notify_channels, notify_deliveries, notify_outbox
from dailypapers.sql import chunks, insert_ignore


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


def channel_since(conn: Connection, channel: str) -> int | None:
    """The first run ``channel`` is owed papers from, if it was registered."""
    found = conn.scalar(
        sa.select(notify_channels.c.since_run).where(notify_channels.c.channel == channel)
    )
    return None if found is None else int(found)


def latest_queued_run(conn: Connection) -> int | None:
    """The latest run that queued anything."""
    latest = conn.scalar(sa.select(sa.func.max(notify_outbox.c.run_id)))
    return None if latest is None else int(latest)


def register_channel(conn: Connection, channel: str, since: int, now: datetime) -> None:
    """Record ``channel`` as owed papers from run ``since`` on (first use only)."""
    exists = conn.scalar(
        sa.select(notify_channels.c.channel).where(notify_channels.c.channel == channel)
    )
    if exists is None:
        conn.execute(
            notify_channels.insert().values(channel=channel, since_run=since, registered_at=now)
        )


def pending_items(
    conn: Connection, channel: str, since: int, topic_ids: Sequence[int]
) -> list[OutboxItem]:
    """Items of ``topic_ids`` queued from run ``since`` on that ``channel`` has no delivery
    for, in queue order (a shared store's other topics belong to other configs)."""
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
        .where(
            (notify_outbox.c.run_id >= since)
            & notify_outbox.c.topic_id.in_(list(topic_ids))
            & ~delivered
        )
        .order_by(notify_outbox.c.id)
    )
    return [OutboxItem(r.id, r.topic_id, r.paper_id, r.version, bool(r.revision)) for r in rows]


def delivered_versions(
    conn: Connection, channel: str, ids: list[str], topic_ids: Sequence[int]
) -> dict[str, int]:
    """``{paper id: highest version channel delivered}`` for the papers of ``ids`` it had,
    counting only deliveries of ``topic_ids`` (a shared store's others went to other configs)."""
    found: dict[str, int] = {}
    for chunk in chunks(ids):
        rows = conn.execute(
            sa.select(notify_outbox.c.paper_id, sa.func.max(notify_outbox.c.version))
            .join(notify_deliveries, notify_deliveries.c.outbox_id == notify_outbox.c.id)
            .where(
                (notify_deliveries.c.channel == channel)
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
