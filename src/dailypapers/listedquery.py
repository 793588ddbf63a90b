"""The rows every output shows: each topic's newest papers, read for rendering.

The one reader of "a topic's newest papers" (:data:`NEWEST_FIRST`: last
update, then first version, then id): the outputs, the summaries and
:meth:`dailypapers.store.Store.topic_papers` all read through it, and
:func:`dailypapers.plan.stored_topics` is the one lookup of the configured
topics' ids. Rows are read with little work: only the columns a
:class:`~dailypapers.models.Paper` has (not the store's
``first_seen`` and ``last_seen``), rows by position, one author object per
name, and a paper listed by several topics built once and shared (the
renderers' per-paper memos then find it). A render reads 10,000 rows for
100 topics x 100 papers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.models import DAMAGE_ERRORS, Author, Paper, StoredValueError, cut
from dailypapers.schema import find_damaged, papers, topic_papers, topics

# A topic's papers, newest first: the order of every output, summary and digest.
NEWEST_FIRST = (papers.c.updated.desc(), papers.c.published.desc(), papers.c.id.desc())

_COLUMNS = (
    papers.c.id,
    papers.c.version,
    papers.c.title,
    papers.c.abstract,
    papers.c.authors,
    papers.c.categories,
    papers.c.primary_category,
    papers.c.published,
    papers.c.updated,
    papers.c.comment,
    papers.c.journal_ref,
    papers.c.doi,
)


def topic_ids(conn: Connection) -> dict[tuple[str, str], int]:
    """``{(name, query): id}`` of every stored topic (one query instead of one a topic)."""
    rows = conn.execute(sa.select(topics.c.name, topics.c.query, topics.c.id))
    return {(name, query): int(topic_id) for name, query, topic_id in rows}


_TEXT = (str, type(None))
# What the outputs show of a paper's texts at most (arXiv caps abstracts at 1,920
# characters): a stored megabyte title (a hostile server, another tool) is cut
# for every output, the stored value kept.
_MAX_TITLE, _MAX_ABSTRACT, _MAX_COMMENT = 1_000, 10_000, 10_000


def _bounded(title: str, abstract: str, comment: str | None) -> tuple[str, str, str | None]:
    """The texts cut to what the outputs show, each marked with "…" where cut."""
    return (
        cut(title, _MAX_TITLE),
        cut(abstract, _MAX_ABSTRACT),
        comment and cut(comment, _MAX_COMMENT),
    )


def _typed(row: Sequence[Any]) -> bool:
    """Whether each value has its column's type (SQLite stores any type in any column).

    One expression, no call per value: 10,000 rows a render (about 0.4 us a row).
    """
    return not (
        type(row[0]) is not str
        or type(row[1]) is not int
        or type(row[2]) is not str
        or type(row[3]) is not str
        or type(row[4]) is not list
        or type(row[5]) is not list
        or type(row[6]) is not str
        or type(row[9]) not in _TEXT
        or type(row[10]) not in _TEXT
        or type(row[11]) not in _TEXT
    )


def first_damaged(
    conn: Connection, ids: Iterable[tuple[str, int | None]]
) -> StoredValueError | None:
    """The first paper of these topics (``(name, id)``) with a value no reader can use."""
    for _name, topic_id in ids:
        if topic_id is not None and (found := find_damaged(conn, topic_id)):
            return found
    return None


# What a damaged value raises: in Python, or in PostgreSQL's driver loading it (a
# time of ``infinity`` or past year 9999).
_READ_ERRORS: tuple[type[Exception], ...] = (*DAMAGE_ERRORS, sa.exc.DataError)


class PaperReader:
    """Reads topics' newest papers; papers (and authors) already read are reused.

    Keep one reader for the topics of one render; a reader that must hold
    one topic at a time (the README alone) is made per topic.
    """

    def __init__(self) -> None:
        self._papers: dict[str, Paper] = {}
        self._authors: dict[str, Author] = {}

    def newest(self, conn: Connection, topic_id: int, limit: int | None) -> list[Paper]:
        """The topic's newest ``limit`` papers (all without a limit), newest first."""
        query = (
            sa.select(*_COLUMNS)
            .join(topic_papers, topic_papers.c.paper_id == papers.c.id)
            .where(topic_papers.c.topic_id == topic_id)
            .order_by(*NEWEST_FIRST)
            .limit(limit)
        )
        try:
            return [self._paper(row) for row in conn.execute(query)]
        except _READ_ERRORS as exc:  # a value another tool wrote: name the paper
            raise (find_damaged(conn, topic_id) or exc) from exc

    def _paper(self, row: Sequence[Any]) -> Paper:
        known = self._papers.get(row[0])
        if known is not None and known.version == row[1]:
            return known
        if not _typed(row):
            raise ValueError("a stored value of the wrong type")  # named by find_damaged
        title, abstract, comment = row[2], row[3], row[9]
        long = len(title) > _MAX_TITLE or len(abstract) > _MAX_ABSTRACT
        if long or len(comment or "") > _MAX_COMMENT:
            title, abstract, comment = _bounded(title, abstract, comment)
        paper = Paper(
            row[0],
            row[1],
            title,
            abstract,
            self._author_tuple(row[4]),
            tuple(row[5]),
            row[6],
            row[7],
            row[8],
            comment,
            row[10],
            row[11],
        )
        self._papers[paper.id] = paper
        return paper

    def _author_tuple(self, stored: Iterable[dict[str, Any]]) -> tuple[Author, ...]:
        found = []
        for item in stored:
            affiliations = item.get("affiliations")
            if affiliations:
                kinds = {type(item["name"]), *(type(a) for a in affiliations)}
                if type(affiliations) is not list or kinds != {str}:
                    raise ValueError("an author that is not text")  # named by find_damaged
                found.append(Author(item["name"], tuple(affiliations)))
                continue
            name = item["name"]
            if type(name) is not str:
                raise ValueError("an author name that is not text")  # named by find_damaged
            author = self._authors.get(name)
            if author is None:
                author = self._authors[name] = Author(name)
            found.append(author)
        return tuple(found)
