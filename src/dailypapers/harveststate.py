"""The harvests' state in the store (migration 5): begin, resume, commit a page.

Each page's papers and the harvest's new state (token, cursor, counts,
newest datestamp) are written in one transaction, so an interrupted harvest
resumes from the last committed page (:mod:`dailypapers.harvest`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.models import Paper
from dailypapers.schema import harvests
from dailypapers.store import Store

RUNNING, COMPLETE = "running", "complete"


@dataclass(frozen=True)
class HarvestList:
    """Which list a harvest walks: the endpoint, set, format and end date."""

    url: str
    set_spec: str
    metadata_prefix: str
    until: date | None

    def where(self) -> Any:
        until = (
            harvests.c.until_date.is_(None)
            if self.until is None
            else harvests.c.until_date == self.until
        )
        return (
            (harvests.c.url == self.url)
            & (harvests.c.set_spec == self.set_spec)
            & (harvests.c.metadata_prefix == self.metadata_prefix)
            & until
        )


@dataclass(frozen=True)
class Page:
    """What a committed page adds to the harvest's state."""

    records: int
    deleted: int
    newest: date | None
    token: str | None
    complete_list_size: int | None


def harvest(store: Store, harvest_id: int) -> dict[str, Any]:
    """One harvest's row."""
    with store.engine.connect() as conn:
        return _row(conn, harvest_id)


def resumable(store: Store, listing: HarvestList, start: date | None) -> dict[str, Any] | None:
    """The newest unfinished harvest of the same list (and start, when given)."""
    where = listing.where() & (harvests.c.status == RUNNING)
    if start is not None:
        where &= harvests.c.from_date == start
    with store.engine.connect() as conn:
        found = conn.execute(
            sa.select(harvests).where(where).order_by(harvests.c.id.desc()).limit(1)
        ).first()
    return None if found is None else dict(found._mapping)


def last_complete_datestamp(store: Store, listing: HarvestList) -> date | None:
    """The newest datestamp a complete harvest of the list stored."""
    where = listing.where() & (harvests.c.status == COMPLETE)
    with store.engine.connect() as conn:
        value = conn.scalar(sa.select(sa.func.max(harvests.c.last_datestamp)).where(where))
    return value if isinstance(value, date) else None


def begin(store: Store, listing: HarvestList, start: date | None, now: datetime) -> dict[str, Any]:
    """Record a new harvest of the list from ``start``; returns its row."""

    def insert(conn: Connection) -> dict[str, Any]:
        statement = harvests.insert().values(
            url=listing.url,
            set_spec=listing.set_spec,
            metadata_prefix=listing.metadata_prefix,
            from_date=start,
            until_date=listing.until,
            status=RUNNING,
            cursor=0,
            pages=0,
            papers=0,
            deleted=0,
            started_at=now,
            updated_at=now,
        )
        harvest_id = conn.execute(statement.returning(harvests.c.id)).scalar_one()
        return _row(conn, harvest_id)

    return store.write(insert)


def commit_page(
    store: Store, harvest_id: int, papers: Sequence[Paper], page: Page, now: datetime
) -> int:
    """Store a page's papers and the harvest's new state in one transaction.

    Returns how many papers were new or revised.
    """

    def save(conn: Connection) -> int:
        saved = store.save_papers(conn, papers, now)
        row = _row(conn, harvest_id)
        last = max(filter(None, [row["last_datestamp"], page.newest]), default=None)
        conn.execute(
            harvests.update()
            .where(harvests.c.id == harvest_id)
            .values(
                token=page.token,
                status=RUNNING if page.token else COMPLETE,
                cursor=row["cursor"] + page.records,
                complete_list_size=page.complete_list_size,
                pages=row["pages"] + 1,
                papers=row["papers"] + saved.new + saved.revised,
                deleted=row["deleted"] + page.deleted,
                last_datestamp=last,
                updated_at=now,
                finished_at=None if page.token else now,
            )
        )
        return saved.new + saved.revised

    return store.write(save)


def harvest_rows(store: Store) -> list[dict[str, Any]]:
    """Every harvest recorded in the store, newest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(harvests).order_by(harvests.c.id.desc()))
        return [dict(row._mapping) for row in rows]


def _row(conn: Connection, harvest_id: int) -> dict[str, Any]:
    found = conn.execute(sa.select(harvests).where(harvests.c.id == harvest_id)).one()
    return dict(found._mapping)
