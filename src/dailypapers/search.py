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
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from dailypapers import ftsquery as fts
from dailypapers.arxiv import query as q
from dailypapers.models import Paper, one_line, readable
from dailypapers.sqlite_health import sqlite_path

if TYPE_CHECKING:
    from dailypapers.searchlite import LiteStore
    from dailypapers.store import Store

_WORD = re.compile(r"[^\W_]+")


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
    from dailypapers import searchquery

    node, plain = parse_search(text)
    topic_ids = topic_ids_named(store, topic) if topic is not None else None
    touched: list[str] = []  # the papers being read: where a damaged value is looked for
    found = iter_matches(
        store, node, topic_ids=topic_ids, since=since, boost=plain, touched=touched
    )
    try:
        ranked = list(found if limit is None else islice(found, limit))
        touched[:] = [paper.id for paper, _ in ranked]
        if not all(readable(p.version, p.title, p.abstract, p.comment) for p, _ in ranked):
            raise ValueError("a stored value of the wrong type")
    except searchquery.READ_ERRORS as exc:  # a value another tool wrote: name the paper
        with store.reading() as conn:
            raise (searchquery.diagnose(conn, touched) or exc) from exc
    with store.reading() as conn:
        names = searchquery.topic_names(conn, [paper.id for paper, _ in ranked])
    return [Hit(paper, score, names.get(paper.id, ())) for paper, score in ranked]


def search_url(
    url: str,
    text: str,
    *,
    topic: str | None = None,
    since: date | None = None,
    limit: int | None = 20,
) -> list[Hit]:
    """:func:`search` on the store at ``url``, as the ``search`` command runs it.

    A SQLite store is read with the standard library (:mod:`dailypapers.searchlite`:
    no SQLAlchemy to import, no write, no integrity check); what it cannot
    answer (another database, a store to migrate, a query the index cannot
    narrow, any SQLite error) goes to :func:`search` on the opened store.
    """
    node, plain = parse_search(text)  # a syntax error needs no store
    path = sqlite_path(url)
    if path is not None:
        from dailypapers import searchlite

        try:
            with searchlite.LiteStore(path) as lite:
                return _search_lite(lite, node, plain, topic, since, limit)
        except (searchlite.Unusable, sqlite3.Error):
            pass
    from dailypapers.store import open_store

    with open_store(url) as store:
        return search(store, text, topic=topic, since=since, limit=limit)


def _search_lite(
    lite: LiteStore,
    node: q.Node,
    plain: bool,
    topic: str | None,
    since: date | None,
    limit: int | None,
) -> list[Hit]:
    from dailypapers.searchlite import Unusable

    topic_ids = _topic_ids(lite.stored_topics(), topic) if topic is not None else None
    found = fts.candidates(node)
    if isinstance(found, fts.Const) and found is not fts.Const.NOTHING:
        raise Unusable("the index cannot narrow this query: scan")
    ranked: list[tuple[Paper, float]] = []
    if not isinstance(found, fts.Const):
        expression = fts.with_phrase_boost(found) if plain else found
        scanned = lite.ranked(fts.fts5_expression(expression), topic_ids, _as_datetime(since))
        matches = _exact(q.compile_query(node), scanned)
        ranked = list(matches if limit is None else islice(matches, limit))
    names = lite.topic_names([paper.id for paper, _ in ranked])
    return [Hit(paper, score, names.get(paper.id, ())) for paper, score in ranked]


def _exact(
    matcher: q.Matcher, scanned: Iterable[tuple[Paper, float]]
) -> Iterator[tuple[Paper, float]]:
    for paper, score in scanned:
        if matcher(q.Document.from_paper(paper)):
            yield paper, score


def topic_ids_named(store: Store, name: str) -> list[int]:
    """Ids of every stored topic called ``name`` (case-insensitive; all its queries)."""
    from dailypapers import searchquery

    with store.reading() as conn:
        rows = searchquery.stored_topics(conn)
    return _topic_ids(rows, name)


def _topic_ids(rows: list[tuple[int, str]], name: str) -> list[int]:
    found = [tid for tid, tname in rows if tname.casefold() == name.strip().casefold()]
    if not found:
        known = ", ".join(sorted({tname for _, tname in rows})) or "none yet"
        raise SearchError(f"no topic named {name!r} in the store (known: {known})")
    return found


def iter_matches(
    store: Store,
    node: q.Node,
    *,
    topic_ids: Sequence[int] | None = None,
    since: date | datetime | None = None,
    boost: bool = False,
    touched: list[str] | None = None,
) -> Iterator[tuple[Paper, float]]:
    """Every stored paper matching ``node`` exactly, best first, with its score.

    With a full-text index, candidates come ranked from it (a superset of
    the matches, see :func:`dailypapers.fts.candidates`); without one (a
    query of only ``id:``/dates/``ANDNOT``, or another database), papers are
    scanned newest first with score 0. Lazy: stop early to pay less. ``touched``
    holds the ids of the papers being read (where a failed read looks for the
    damaged value).
    """
    from dailypapers import searchquery

    matcher = q.compile_query(node)
    found = fts.candidates(node)
    if found is fts.Const.NOTHING:
        return
    filters = searchquery.Filters(topic_ids, _as_datetime(since))
    with store.reading() as conn:
        if isinstance(found, fts.Const) or not fts.supported(conn.dialect.name):
            scanned = searchquery.scan(conn, filters, touched)
        else:
            expression = fts.with_phrase_boost(found) if boost else found
            scanned = searchquery.ranked(conn, expression, filters, touched)
        yield from _exact(matcher, scanned)


def _as_datetime(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


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
