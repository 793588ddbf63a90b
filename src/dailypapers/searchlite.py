"""Local search's reads from a SQLite store with the standard library's ``sqlite3``.

``dailypapers search`` is a short read: importing SQLAlchemy alone costs more
than the whole search (about 300 ms against 20-70 ms). So on a SQLite file the
command reads through this module: the same queries as
:mod:`dailypapers.searchquery` (ranked full-text candidates in growing
windows, the papers a window names, the topics of the hits), on a read-only
connection. :func:`dailypapers.search.search_url` applies the same exact
matcher and limits to both paths, so they return the same hits (a test
compares them).

It answers only when it can answer as the store would: a file whose schema is
exactly this version's (a store to migrate, or newer than this dailypapers,
goes to the full path, which migrates or refuses), with the full-text
index, a query the index can narrow. Anything else, and any SQLite error
(a damaged page, a lock, a missing table), raises :class:`Unusable`, and the
caller takes the full path, which also reports damage as one line.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from dailypapers.ftsquery import BM25_WEIGHTS
from dailypapers.models import Author, Paper
from dailypapers.sqlite_health import file_uri

# schema.SCHEMA_VERSION (that module loads SQLAlchemy): the schema these
# queries were written for. tests/test_searchlite.py checks they are equal;
# a new migration bumps both.
SCHEMA_VERSION = 13
_WINDOW = 64  # as searchquery: the first window of candidates, then 4 times larger
_CHUNK = 500
_PAPER_COLUMNS = (
    "id, version, title, abstract, authors, categories, primary_category, comment,"
    " journal_ref, doi, published, updated"
)


class Unusable(Exception):
    """This store cannot be searched here; the full path (SQLAlchemy) decides."""


class LiteStore:
    """A read-only connection to a SQLite store of this schema version."""

    def __init__(self, path: Path) -> None:
        if not path.is_file() or path.stat().st_size == 0:
            raise Unusable(f"no store at {path}")
        try:
            self._conn = sqlite3.connect(file_uri(path, "ro"), uri=True, timeout=30)
        except sqlite3.Error as exc:
            raise Unusable(str(exc)) from None
        try:
            version = self._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        except sqlite3.Error as exc:
            self._conn.close()
            raise Unusable(str(exc)) from None
        if version is None or version[0] != SCHEMA_VERSION:
            self._conn.close()
            raise Unusable(f"schema version {version}, not {SCHEMA_VERSION}")

    def __enter__(self) -> LiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._conn.close()

    def stored_topics(self) -> list[tuple[int, str]]:
        """``(id, name)`` of every stored topic."""
        return [(int(r[0]), str(r[1])) for r in self._conn.execute("SELECT id, name FROM topics")]

    def ranked(
        self, match: str, topic_ids: Sequence[int] | None, since: datetime | None
    ) -> Iterator[tuple[Paper, float]]:
        """Candidates for the FTS5 ``match`` best first (ties: newest indexed), as searchquery."""
        sql, values = _ranked_sql(match, topic_ids, since)
        skip, size, seen = 0, _WINDOW, set()
        while True:
            rows = self._conn.execute(sql, [*values, size, skip]).fetchall()
            for start in range(0, len(rows), _WINDOW):
                chunk = rows[start : start + _WINDOW]
                ids = self._paper_ids([row[0] for row in chunk])
                by_id = {paper.id: paper for paper in self._papers(list(ids.values()))}
                for key, score in chunk:
                    paper_id = ids.get(key)
                    if paper_id is not None and paper_id not in seen:
                        seen.add(paper_id)
                        yield by_id[paper_id], float(score)
            if len(rows) < size:
                return
            skip, size = skip + size, size * 4

    def topic_names(self, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """``{paper id: names of its topics, sorted}`` for the papers of ``ids`` linked to any."""
        names: dict[str, dict[str, None]] = {}
        for start in range(0, len(ids), _CHUNK):
            part = list(ids[start : start + _CHUNK])
            rows = self._conn.execute(
                "SELECT tp.paper_id, t.name FROM topic_papers AS tp"
                " JOIN topics AS t ON t.id = tp.topic_id"
                f" WHERE tp.paper_id IN ({_marks(part)}) ORDER BY t.name",
                part,
            )
            for paper_id, name in rows:
                names.setdefault(paper_id, {})[name] = None
        return {pid: tuple(found) for pid, found in names.items()}

    def _paper_ids(self, keys: list[int]) -> dict[int, str]:
        if not keys:
            return {}
        rows = self._conn.execute(
            f"SELECT id, paper_id FROM paper_search WHERE id IN ({_marks(keys)})", keys
        )
        return {int(key): str(paper_id) for key, paper_id in rows}

    def _papers(self, ids: list[str]) -> list[Paper]:
        found: list[Paper] = []
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            part = ordered[start : start + _CHUNK]
            rows = self._conn.execute(
                f"SELECT {_PAPER_COLUMNS} FROM papers WHERE id IN ({_marks(part)}) ORDER BY id",
                part,
            )
            found.extend(_paper(row) for row in rows)
        return found


def _ranked_sql(
    match: str, topic_ids: Sequence[int] | None, since: datetime | None
) -> tuple[str, list[object]]:
    """searchquery's ranked query for SQLite, with its filters; LIMIT and OFFSET go last."""
    weights = ", ".join(str(w) for w in BM25_WEIGHTS)
    sql = (
        "SELECT paper_search_fts.rowid AS key,"
        f" -bm25(paper_search_fts, {weights}) AS score"
        " FROM paper_search_fts WHERE paper_search_fts MATCH ?"
    )
    values: list[object] = [match]
    clauses = []
    if since is not None:
        clauses.append("p.updated >= ?")
        values.append(_stored_time(since))
    if topic_ids is not None:
        clauses.append(
            f"p.id IN (SELECT paper_id FROM topic_papers WHERE topic_id IN ({_marks(topic_ids)}))"
        )
        values.extend(topic_ids)
    if clauses:
        sql += (
            " AND paper_search_fts.rowid IN (SELECT s.id FROM paper_search AS s"
            f" JOIN papers AS p ON p.id = s.paper_id WHERE {' AND '.join(clauses)})"
        )
    return sql + " ORDER BY score DESC, key DESC LIMIT ? OFFSET ?", values


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values)) or "NULL"


def _stored_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores ``DateTime`` in SQLite (so comparisons agree)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json(text: str) -> list[Any]:
    value: list[Any] = json.loads(text)
    return value


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _paper(row: Sequence[Any]) -> Paper:
    """schema.paper_from_row for a raw row (JSON columns as text, times as stored)."""
    (pid, version, title, abstract, authors, categories, primary, comment, jref, doi) = row[:10]
    return Paper(
        id=pid,
        version=version,
        title=title,
        abstract=abstract,
        authors=tuple(Author(a["name"], tuple(a.get("affiliations", ()))) for a in _json(authors)),
        categories=tuple(_json(categories)),
        primary=primary,
        published=_time(row[10]),
        updated=_time(row[11]),
        comment=comment,
        journal_ref=jref,
        doi=doi,
    )
