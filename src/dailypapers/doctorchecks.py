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


def running_count(conn: Connection) -> int:
    """Runs still marked ``running``."""
    return int(
        conn.scalar(sa.select(sa.func.count()).where(runs.c.status == RunStatus.RUNNING.value)) or 0
    )


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
    suspects_sql = _SUSPECTS.get(conn.dialect.name)
    if suspects_sql is not None:
        suspects = list(conn.scalars(sa.text(suspects_sql)))
        found = (d for ids in chunks(suspects, 500) for d in iter_damaged(conn, only=ids))
    count, shown = 0, list[str]()
    for damage in found:
        count += 1
        if len(shown) < SHOWN_DAMAGED:
            shown.append(str(damage).split("; no output")[0])
    return count, shown


_TEXT_OR_NULL = "IN ('text', 'null')"
_SQLITE_SUSPECTS = f"""
SELECT id FROM papers WHERE NOT (
  typeof(id) = 'text' AND typeof(version) = 'integer' AND version BETWEEN 1 AND 10000
  AND typeof(title) = 'text' AND typeof(abstract) = 'text'
  AND typeof(primary_category) = 'text' AND typeof(comment) {_TEXT_OR_NULL}
  AND typeof(journal_ref) {_TEXT_OR_NULL} AND typeof(doi) {_TEXT_OR_NULL}
  AND datetime(published) IS NOT NULL AND datetime(updated) IS NOT NULL
  AND substr(published, 1, 4) BETWEEN '1900' AND '9900'
  AND substr(updated, 1, 4) BETWEEN '1900' AND '9900'
  AND typeof(authors) = 'text' AND json_valid(authors) AND json_type(authors) = 'array'
  AND typeof(categories) = 'text' AND json_valid(categories)
  AND json_type(categories) = 'array'
  AND NOT EXISTS (SELECT 1 FROM json_each(
    CASE WHEN json_valid(categories) THEN categories ELSE '[]' END) WHERE type <> 'text')
  AND NOT EXISTS (SELECT 1 FROM json_each(
    CASE WHEN json_valid(authors) THEN authors ELSE '[]' END) AS a
    WHERE a.type <> 'object' OR json_type(a.value, '$.name') IS NOT 'text'
      OR json_type(a.value, '$.affiliations') NOT IN ('array', 'null')
      OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(a.value, '$.affiliations')
        = 'array' THEN json_extract(a.value, '$.affiliations') ELSE '[]' END)
        WHERE type <> 'text'))
)
"""
# PostgreSQL's columns hold their types; only the JSON values' shapes can be wrong.
_POSTGRESQL_SUSPECTS = """
SELECT id FROM papers WHERE version NOT BETWEEN 1 AND 10000
  OR EXTRACT(YEAR FROM published) NOT BETWEEN 1900 AND 9900
  OR EXTRACT(YEAR FROM updated) NOT BETWEEN 1900 AND 9900
  OR json_typeof(authors) <> 'array' OR json_typeof(categories) <> 'array'
  OR EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(categories) = 'array'
    THEN categories ELSE '[]' END) AS c WHERE json_typeof(c) <> 'string')
  OR EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(authors) = 'array'
    THEN authors ELSE '[]' END) AS a
    WHERE json_typeof(a) <> 'object' OR json_typeof(a -> 'name') IS DISTINCT FROM 'string'
      OR coalesce(json_typeof(a -> 'affiliations'), 'null') NOT IN ('array', 'null')
      OR EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(a -> 'affiliations')
        = 'array' THEN a -> 'affiliations' ELSE '[]' END) AS f
        WHERE json_typeof(f) <> 'string'))
"""
_SUSPECTS = {"sqlite": _SQLITE_SUSPECTS, "postgresql": _POSTGRESQL_SUSPECTS}
