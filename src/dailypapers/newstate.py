"""Which listed papers are new since the previous update (the site's "new" badge).

A paper is new when the latest run that added papers to the topics shown
first listed it: its earliest link (``topic_papers.matched_at``, the run's
clock) among those topics is the latest such first link of every paper
shown. Derived from the store alone, so a run that adds nothing (a skipped
day, nothing announced) changes no badge and unchanged data renders the
same bytes; a revised paper keeps its first link, so it is not new again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.schema import topic_papers
from dailypapers.sql import chunks


def first_listed(
    conn: Connection, topic_ids: Sequence[int], paper_ids: Sequence[str]
) -> dict[str, datetime]:
    """When each paper was first linked to any of the topics (unlinked ids are left out)."""
    found: dict[str, datetime] = {}
    if not topic_ids:
        return found
    c = topic_papers.c
    for chunk in chunks(sorted(set(paper_ids))):
        rows = conn.execute(
            sa.select(c.paper_id, sa.func.min(c.matched_at).label("first"))
            .where(c.topic_id.in_(list(topic_ids)) & c.paper_id.in_(chunk))
            .group_by(c.paper_id)
        )
        found.update({row.paper_id: row.first for row in rows})
    return found


def newly_listed(
    conn: Connection, topic_ids: Sequence[int], paper_ids: Sequence[str]
) -> frozenset[str]:
    """The papers of ``paper_ids`` the latest run that listed any of them first listed."""
    first = _first_listed_as_stored(conn, topic_ids, paper_ids)
    latest = max(first.values(), default=None)
    return frozenset(pid for pid, when in first.items() if when == latest)


def _first_listed_as_stored(
    conn: Connection, topic_ids: Sequence[int], paper_ids: Sequence[str]
) -> dict[str, Any]:
    """:func:`first_listed` with the times as the database returns them (SQLite: text in
    one fixed format, which orders as the times do; PostgreSQL: datetimes), unconverted:
    only compared with each other (10,000 conversions a render saved)."""
    found: dict[str, Any] = {}
    if not topic_ids:
        return found
    c = topic_papers.c
    first = sa.type_coerce(sa.func.min(c.matched_at), sa.String()).label("first")
    for chunk in chunks(sorted(set(paper_ids))):
        rows = conn.execute(
            sa.select(c.paper_id, first)
            .where(c.topic_id.in_(list(topic_ids)) & c.paper_id.in_(chunk))
            .group_by(c.paper_id)
        )
        found.update((paper_id, when) for paper_id, when in rows)
    return found
