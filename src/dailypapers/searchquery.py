"""The queries behind local search (:mod:`dailypapers.search`): ranked or scanned papers.

Ranked candidates come from the full-text index (:mod:`dailypapers.fts`):
bm25 on SQLite, ``ts_rank`` on PostgreSQL, read in growing windows so a
caller that stops early pays less. Every query here is unfiltered by the
exact matcher; :func:`dailypapers.search.iter_matches` applies it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers import fts
from dailypapers.models import DAMAGE_ERRORS, Paper, StoredValueError
from dailypapers.schema import (
    UTCDateTime,
    find_damaged,
    paper_from_row,
    papers,
    suspect_ids,
    topic_papers,
    topics,
)
from dailypapers.store import stored_papers

_WINDOW = 64  # first window of ranked candidates; each next one is 4 times larger


def stored_topics(conn: Connection) -> list[tuple[int, str]]:
    """``(id, name)`` of every stored topic (a name has one id per query it had)."""
    return [(row.id, row.name) for row in conn.execute(sa.select(topics.c.id, topics.c.name))]


@dataclass(frozen=True)
class Filters:
    """Which papers a search keeps: linked to one of ``topic_ids``, updated since ``since``."""

    topic_ids: Sequence[int] | None
    since: datetime | None

    def sql(self, key: str) -> tuple[str, list[sa.BindParameter[Any]], dict[str, Any]]:
        """`` AND <key> IN (papers that pass)``, for a ranked query keyed by ``key``."""
        clauses: list[str] = []
        binds: list[sa.BindParameter[Any]] = []
        values: dict[str, Any] = {}
        if self.since is not None:
            clauses.append("p.updated >= :since")
            binds.append(sa.bindparam("since", type_=UTCDateTime()))
            values["since"] = self.since
        if self.topic_ids is not None:
            clauses.append("p.id IN (SELECT paper_id FROM topic_papers WHERE topic_id IN :tids)")
            binds.append(sa.bindparam("tids", expanding=True))
            values["tids"] = list(self.topic_ids)
        if not clauses:
            return "", binds, values
        if key == "paper_search_fts.rowid":  # SQLite: the index's integer keys
            passing = "SELECT s.id FROM paper_search AS s JOIN papers AS p ON p.id = s.paper_id"
        else:
            passing = "SELECT p.id FROM papers AS p"
        return f" AND {key} IN ({passing} WHERE {' AND '.join(clauses)})", binds, values

    def core(self) -> list[sa.ColumnElement[bool]]:
        where = []
        if self.since is not None:
            where.append(papers.c.updated >= self.since)
        if self.topic_ids is not None:
            linked = sa.select(topic_papers.c.paper_id).where(
                topic_papers.c.topic_id.in_(self.topic_ids)
            )
            where.append(papers.c.id.in_(linked))
        return where


def scan(
    conn: Connection, filters: Filters, touched: list[str] | None = None
) -> Iterator[tuple[Paper, float]]:
    """Every paper that passes ``filters``, newest first, with score 0 (no index).

    ``touched`` holds the id of the paper being read (for :func:`diagnose`).
    """
    query = (
        sa.select(papers)
        .where(*filters.core())
        .order_by(papers.c.updated.desc(), papers.c.id.desc())
        .execution_options(yield_per=500)
    )
    touched = [] if touched is None else touched
    for row in conn.execute(query):
        touched[:] = [row.id]
        yield paper_from_row(row._mapping), 0.0


def _ranked_sql(conn: Connection, found: fts.Indexed) -> tuple[str, str, str]:
    """The ranked candidate query (without filters and order), its key column and MATCH text.

    Only the index is read, ranked and sorted: joining every candidate to
    ``papers`` first would cost more than the ranking (10x on 100,000 papers).
    """
    if conn.dialect.name == fts.POSTGRESQL:
        sql = (
            "SELECT s.paper_id AS key, ts_rank(s.vector, CAST(:match AS tsquery)) AS score"
            " FROM paper_search AS s WHERE s.vector @@ CAST(:match AS tsquery)"
        )
        return sql, "s.paper_id", fts.tsquery_expression(found)
    weights = ", ".join(str(w) for w in fts.BM25_WEIGHTS)
    sql = (
        "SELECT paper_search_fts.rowid AS key,"
        f" -bm25(paper_search_fts, {weights}) AS score"
        " FROM paper_search_fts WHERE paper_search_fts MATCH :match"
    )
    return sql, "paper_search_fts.rowid", fts.fts5_expression(found)


def ranked(
    conn: Connection, found: fts.Indexed, filters: Filters, touched: list[str] | None = None
) -> Iterator[tuple[Paper, float]]:
    """Candidates best first (ties: most recently indexed first), in growing windows.

    ``touched`` holds the ids of the papers being read (for :func:`diagnose`).
    """
    sql, key, match = _ranked_sql(conn, found)
    where, binds, values = filters.sql(key)
    statement = sa.text(f"{sql}{where} ORDER BY score DESC, key DESC LIMIT :size OFFSET :skip")
    statement = statement.bindparams(*binds)
    skip, size, seen = 0, _WINDOW, set()
    touched = [] if touched is None else touched
    while True:
        rows = conn.execute(statement, {"match": match, "size": size, "skip": skip, **values}).all()
        for start in range(0, len(rows), _WINDOW):  # papers loaded a few at a time
            chunk = rows[start : start + _WINDOW]
            ids = _paper_ids(conn, [row.key for row in chunk])
            touched[:] = ids.values()
            by_id = {paper.id: paper for paper in stored_papers(conn, list(ids.values()))}
            for row in chunk:
                paper_id = ids.get(row.key)
                if paper_id is not None and paper_id not in seen:
                    seen.add(paper_id)
                    yield by_id[paper_id], float(row.score)
        if len(rows) < size:
            return
        skip, size = skip + size, size * 4


def _paper_ids(conn: Connection, keys: list[Any]) -> dict[Any, str]:
    """Index keys → paper ids (SQLite keys are ``paper_search.id``; PostgreSQL's are the ids)."""
    if conn.dialect.name == fts.POSTGRESQL or not keys:
        return {key: key for key in keys}
    found: dict[Any, str] = {}
    select = sa.text("SELECT id, paper_id FROM paper_search WHERE id IN :keys")
    select = select.bindparams(sa.bindparam("keys", expanding=True))
    for start in range(0, len(keys), 500):
        rows = conn.execute(select, {"keys": keys[start : start + 500]})
        found.update((row.id, row.paper_id) for row in rows)
    return found


def topic_names(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``{paper id: names of its topics, sorted}`` for the papers of ``ids`` linked to any."""
    names: dict[str, dict[str, None]] = {}
    for start in range(0, len(ids), 500):
        query = (
            sa.select(topic_papers.c.paper_id, topics.c.name)
            .join(topics, topics.c.id == topic_papers.c.topic_id)
            .where(topic_papers.c.paper_id.in_(list(ids[start : start + 500])))
            .order_by(topics.c.name)
        )
        for row in conn.execute(query):
            names.setdefault(row.paper_id, {})[row.name] = None
    return {pid: tuple(found) for pid, found in names.items()}


# What reading or matching a damaged stored value raises: in Python, or in
# PostgreSQL's driver loading it (a time of ``infinity`` or past year 9999).
READ_ERRORS: tuple[type[Exception], ...] = (*DAMAGE_ERRORS, sa.exc.DataError)


def diagnose(conn: Connection, touched: Sequence[str]) -> StoredValueError | None:
    """The damaged paper a failed search read, named with its column.

    Looked for among the ``touched`` papers (those being read when it failed:
    a few dozen), then among the database's own suspects (its type and JSON
    checks), and only without those among every paper.
    """
    if found := find_damaged(conn, only=touched):
        return found
    suspects = suspect_ids(conn)
    return find_damaged(conn) if suspects is None else find_damaged(conn, only=suspects)
