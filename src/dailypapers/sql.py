"""The SQL toolkit every store query uses: chunked ``IN`` lists and dialect upserts.

SQLite and PostgreSQL both speak ``INSERT ... ON CONFLICT``; SQLAlchemy
builds it per dialect. Only the store and the query modules beside the
schema build SQL (:mod:`dailypapers.store`, :mod:`dailypapers.fetchstate`,
:mod:`dailypapers.outbox`, ...); they share these helpers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")
CHUNK = 500  # ids per ``IN (...)`` list: below SQLite's and PostgreSQL's parameter limits


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size``, in order."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def insert(dialect: str, table: sa.Table) -> Any:
    """The dialect's ``INSERT`` for ``table`` (with ``on_conflict_*``)."""
    if dialect == "postgresql":  # imported only for PostgreSQL (a SQLite run never loads it)
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def insert_ignore(dialect: str, table: sa.Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING``."""
    return insert(dialect, table).on_conflict_do_nothing()


def upsert(
    dialect: str,
    table: sa.Table,
    keys: Sequence[str],
    *,
    keep: Sequence[str] = (),
    where: Callable[[Any], Any] | None = None,
) -> Any:
    """``INSERT``, or on a conflict on ``keys`` replace the row's other columns.

    Columns in ``keep`` keep their stored value; ``where(excluded)`` (a
    condition over ``table`` and the proposed row) limits which conflicting
    rows are replaced. Atomic in the database.
    """
    statement = insert(dialect, table)
    columns = [c.name for c in table.columns if c.name not in keys and c.name not in keep]
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: statement.excluded[name] for name in columns},
        where=None if where is None else where(statement.excluded),
    )
