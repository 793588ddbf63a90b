"""The queries behind ``dailypapers doctor``: what its checks count, and its one repair.

Read-only except :func:`delete_orphan_links`; :mod:`dailypapers.doctor` turns
the figures into findings.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.models import StoredValueError
from dailypapers.schema import (
    RunStatus,
    iter_damaged,
    papers,
    runs,
    schema_migrations,
    suspect_ids,
    topic_papers,
    topics,
)
from dailypapers.sql import chunks

SHOWN_DAMAGED = 3  # damaged values named in full; the rest are counted


def has_table(conn: Connection, name: str) -> bool:
    """Whether the database holds a table called ``name``."""
    return sa.inspect(conn).has_table(name)


def applied_migrations(conn: Connection) -> list[int]:
    """The versions recorded in ``schema_migrations``, lowest first."""
    return sorted(conn.scalars(sa.select(schema_migrations.c.version)))


def sqlite_integrity(conn: Connection) -> str:
    """SQLite's ``PRAGMA integrity_check`` answer (``ok`` when healthy)."""
    return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())


def orphan_link_count(conn: Connection) -> int:
    """Topic links that point at a missing paper or a missing topic."""
    missing_paper = (
        sa.select(sa.func.count())
        .select_from(topic_papers.outerjoin(papers, papers.c.id == topic_papers.c.paper_id))
        .where(papers.c.id.is_(None))
    )
    missing_topic = (
        sa.select(sa.func.count())
        .select_from(topic_papers.outerjoin(topics, topics.c.id == topic_papers.c.topic_id))
        .where(topics.c.id.is_(None))
    )
    return int(conn.scalar(missing_paper) or 0) + int(conn.scalar(missing_topic) or 0)


def running_owners(conn: Connection) -> list[tuple[str | None, int | None, str | None]]:
    """The owner (host, pid, lock) of each run still marked ``running``."""
    query = sa.select(runs.c.host, runs.c.pid, runs.c.lock).where(
        runs.c.status == RunStatus.RUNNING.value
    )
    return [(row.host, row.pid, row.lock) for row in conn.execute(query)]


def delete_orphan_links(conn: Connection) -> int:
    """Delete the topic links of no paper or no topic; returns how many."""
    orphans = topic_papers.delete().where(
        ~topic_papers.c.paper_id.in_(sa.select(papers.c.id))
        | ~topic_papers.c.topic_id.in_(sa.select(topics.c.id))
    )
    return int(conn.execute(orphans).rowcount)


def damaged_values(conn: Connection) -> tuple[int, list[str]]:
    """Stored papers with a value no reader can use: how many, and the first few's lines.

    The database first picks the rows that may be damaged (its own type and
    JSON checks, a superset of what the readers refuse), so a healthy store
    is checked without bringing every row into Python.
    """
    found: Iterator[StoredValueError] = iter_damaged(conn)
    suspects = suspect_ids(conn)
    if suspects is not None:
        found = (d for ids in chunks(suspects, 500) for d in iter_damaged(conn, only=ids))
    count, shown = 0, list[str]()
    for damage in found:
        count += 1
        if len(shown) < SHOWN_DAMAGED:
            shown.append(str(damage).split("; no output")[0])
    return count, shown
