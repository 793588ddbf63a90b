"""Local search over the store: plain words or arXiv's query syntax, ranked.

``reward model`` and ``ti:"reward model" AND cat:cs.CL`` are both queries in
arXiv's grammar (bare words mean ``all:``); text that does not parse is
searched as its words. The full-text index (:mod:`dailypapers.fts`) picks
candidates in rank order (bm25 on SQLite, ``ts_rank`` on PostgreSQL), and
each candidate is checked with the exact matcher of :mod:`dailypapers.arxiv.query`,
so results are exactly the papers arXiv's rules match, with the same
stemming. :func:`iter_matches` is the building block for other local uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers import fts
from dailypapers.arxiv import query as q
from dailypapers.models import Paper, one_line
from dailypapers.store import (
    Store,
    UTCDateTime,
    paper_from_row,
    papers,
    stored_papers,
    topic_papers,
    topics,
)

_WORD = re.compile(r"[^\W_]+")
_WINDOW = 64  # first window of ranked candidates; each next one is 4 times larger


class SearchError(ValueError):
    """A query or filter that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Hit:
    """One search result: the paper, its score (higher is better) and its topics."""

    paper: Paper
    score: float
    topics: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**self.paper.to_dict(), "score": round(self.score, 6), "topics": list(self.topics)}


_SYNTAX = re.compile(r"[:\"()\[\]]")


def parse_search(text: str) -> tuple[q.Node, bool]:
    """The query tree for ``text`` and whether it is plain words (ranked by phrase too).

    arXiv syntax is used when ``text`` parses. Text with ``:``, quotes,
    parentheses or brackets that does not parse is a :class:`SearchError`
    (``ti:``, ``xx:reward``, an unterminated quote); other text that does
    not parse (``reward AND``) is searched as its words, ANDed.
    """
    try:
        node = q.parse(text)
    except q.QuerySyntaxError as exc:
        words = _WORD.findall(text)
        if not words:
            raise SearchError(f"nothing to search for in {text!r}") from None
        if _SYNTAX.search(text):  # meant as arXiv syntax: say what is wrong
            raise SearchError(f"query syntax error: {exc}") from None
        node = q.all_of(q.Term("all", word) for word in words)
    return node, _plain(node)


def _plain(node: q.Node) -> bool:
    stack: list[q.Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, q.And):
            stack += [current.left, current.right]
        elif not (isinstance(current, q.Term) and current.field == "all"):
            return False
    return True


def search(
    store: Store,
    text: str,
    *,
    topic: str | None = None,
    since: date | None = None,
    limit: int | None = 20,
) -> list[Hit]:
    """The best ``limit`` papers matching ``text`` (``None``: all), best first.

    ``topic`` keeps papers linked to a topic of that name (any case);
    ``since`` keeps papers whose current version is from that day or later.
    """
    node, plain = parse_search(text)
    topic_ids = topic_ids_named(store, topic) if topic is not None else None
    found = iter_matches(store, node, topic_ids=topic_ids, since=since, boost=plain)
    ranked = list(found if limit is None else islice(found, limit))
    names = _topic_names(store, [paper.id for paper, _ in ranked])
    return [Hit(paper, score, names.get(paper.id, ())) for paper, score in ranked]


def topic_ids_named(store: Store, name: str) -> list[int]:
    """Ids of every stored topic called ``name`` (case-insensitive; all its queries)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(topics.c.id, topics.c.name)).all()
    found = [row.id for row in rows if row.name.casefold() == name.strip().casefold()]
    if not found:
        known = ", ".join(sorted({row.name for row in rows})) or "none yet"
        raise SearchError(f"no topic named {name!r} in the store (known: {known})")
    return found


def iter_matches(
    store: Store,
    node: q.Node,
    *,
    topic_ids: Sequence[int] | None = None,
    since: date | datetime | None = None,
    boost: bool = False,
) -> Iterator[tuple[Paper, float]]:
    """Every stored paper matching ``node`` exactly, best first, with its score.

    With a full-text index, candidates come ranked from it (a superset of
    the matches, see :func:`dailypapers.fts.candidates`); without one (a
    query of only ``id:``/dates/``ANDNOT``, or another database), papers are
    scanned newest first with score 0. Lazy: stop early to pay less.
    """
    matcher = q.compile_query(node)
    found = fts.candidates(node)
    if found is fts.Const.NOTHING:
        return
    filters = _Filters(topic_ids, _as_datetime(since))
    with store.engine.connect() as conn:
        if isinstance(found, fts.Const) or not fts.supported(conn.dialect.name):
            scanned = _scan(conn, filters)
        else:
            expression = fts.with_phrase_boost(found) if boost else found
            scanned = _ranked(conn, expression, filters)
        for paper, score in scanned:
            if matcher(q.Document.from_paper(paper)):
                yield paper, score


@dataclass(frozen=True)
class _Filters:
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


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _scan(conn: Connection, filters: _Filters) -> Iterator[tuple[Paper, float]]:
    query = (
        sa.select(papers)
        .where(*filters.core())
        .order_by(papers.c.updated.desc(), papers.c.id.desc())
        .execution_options(yield_per=500)
    )
    for row in conn.execute(query):
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


def _ranked(
    conn: Connection, found: fts.Indexed, filters: _Filters
) -> Iterator[tuple[Paper, float]]:
    """Candidates best first (ties: most recently indexed first), in growing windows."""
    sql, key, match = _ranked_sql(conn, found)
    where, binds, values = filters.sql(key)
    statement = sa.text(f"{sql}{where} ORDER BY score DESC, key DESC LIMIT :size OFFSET :skip")
    statement = statement.bindparams(*binds)
    skip, size, seen = 0, _WINDOW, set()
    while True:
        rows = conn.execute(statement, {"match": match, "size": size, "skip": skip, **values}).all()
        for start in range(0, len(rows), _WINDOW):  # papers loaded a few at a time
            chunk = rows[start : start + _WINDOW]
            ids = _paper_ids(conn, [row.key for row in chunk])
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


def _topic_names(store: Store, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    names: dict[str, dict[str, None]] = {}
    with store.engine.connect() as conn:
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


def plain_lines(hits: Sequence[Hit]) -> list[str]:
    """One tab-separated line per hit: versioned id, date, title, authors (for pipes)."""
    return [
        "\t".join(
            [
                hit.paper.versioned_id,
                hit.paper.updated.date().isoformat(),
                _one_line(hit.paper.title),
                _one_line(", ".join(hit.paper.author_names)),
            ]
        )
        for hit in hits
    ]


def _one_line(text: str) -> str:
    """One line of plain text, safe for a terminal (no escape sequences, no bidi overrides)."""
    return one_line(text)


def short_authors(paper: Paper, most: int = 3) -> str:
    """``A, B, C et al.`` for display."""
    names = [_one_line(name) for name in paper.author_names]
    shown = ", ".join(names[:most])
    return f"{shown} et al." if len(names) > most else shown
