"""The queries behind the local source (:mod:`dailypapers.sources.local`).

Papers are read by ``last_seen`` (when a run last stored them) up to a high
mark, so that papers committed while a source reads are left for the next run.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from dailypapers import fts
from dailypapers.schema import RunStatus, papers, runs

Row = RowMapping


def newest_seen(conn: Connection) -> datetime | None:
    """The latest ``last_seen`` of any stored paper (None: the store holds none)."""
    return cast("datetime | None", conn.scalar(sa.select(sa.func.max(papers.c.last_seen))))


def papers_among(
    conn: Connection, ids: list[str], high: datetime, since: datetime | None
) -> list[Row]:
    """Rows of the papers of ``ids`` seen by ``high`` (and after ``since``, if given)."""
    where = papers.c.id.in_(ids) & (papers.c.last_seen <= high)
    if since is not None:
        where &= papers.c.last_seen > since
    return list(conn.execute(sa.select(papers).where(where)).mappings().all())


def stream_seen(
    conn: Connection, high: datetime, after: datetime | None, batch_size: int
) -> Iterator[Row]:
    """Rows of every paper seen by ``high`` (and after ``after``, if given), in storage order."""
    where = papers.c.last_seen <= high
    if after is not None:
        where &= papers.c.last_seen > after
    return _stream(conn, sa.select(papers).where(where), batch_size)


def stream_newest(
    conn: Connection, high: datetime, batch_size: int, at_most: datetime | None = None
) -> Generator[Row]:
    """Rows of every paper seen by ``high`` (updated ``at_most`` then, if given), last
    updated first."""
    where = papers.c.last_seen <= high
    if at_most is not None:
        where &= papers.c.updated <= at_most
    statement = sa.select(papers).where(where).order_by(papers.c.updated.desc())
    return _stream(conn, statement, batch_size)


def update_stamps(conn: Connection, ids: Iterable[str]) -> list[tuple[datetime, str]]:
    """``(updated, id)`` of the stored papers among ``ids`` (a chunk of at most a few hundred)."""
    rows = conn.execute(sa.select(papers.c.updated, papers.c.id).where(papers.c.id.in_(list(ids))))
    return [(row.updated, row.id) for row in rows]


def newest_candidates(
    conn: Connection, found: fts.Indexed, most: int | None = None
) -> list[str] | None:
    """Ids of the papers the index query ``found`` selects, last updated first
    (None: more than ``most`` of them; reading stops there).

    One query, no round trip per candidate, sorted by the database: on PostgreSQL the field-exact
    index keeps each paper's update time beside its id (migration 12); on
    SQLite it comes from the ``(id, updated)`` index (migration 11), not
    from the papers' rows.
    """
    sql, match = fts.candidates_sql(conn, found, *_candidate_columns(conn))
    capped = "" if most is None else f" LIMIT {int(most) + 1}"
    # Sorted in the database: only the ids cross over (the order among
    # papers updated at the same time does not matter to the caller).
    ordered = f"SELECT id FROM ({sql}{capped}) AS c ORDER BY updated DESC, id DESC"
    ids = list(conn.scalars(sa.text(ordered), {"match": match}))
    return None if most is not None and len(ids) > most else ids


@dataclass(frozen=True)
class Window:
    """The newest papers: every paper last updated after ``after`` has an id of
    at least ``lowest``, so an id range (an index every table has) narrows an
    index query to them."""

    after: datetime
    lowest: str


def newest_window(conn: Connection, size: int) -> Window | None:
    """The :class:`Window` of the ``size`` papers last updated (None: no papers).

    A paper last updated after the oldest of them is one of them, so its id is
    at least the lowest of theirs (papers updated at that same time may fall
    outside: the window is "after", not "at or after").
    """
    row = conn.execute(
        sa.text(
            "SELECT min(updated) AS after, min(id) AS lowest FROM"
            " (SELECT id, updated FROM papers ORDER BY updated DESC LIMIT :size) AS w"
        ),
        {"size": size},
    ).one()
    return None if row.after is None else Window(row.after, row.lowest)


def newest_page(
    conn: Connection, found: fts.Indexed, most: int, first: int, window: Window | None = None
) -> tuple[list[tuple[str, datetime]], int] | None:
    """The newest ``first`` candidates of the index query ``found`` (``(id, updated)``,
    last updated first) and how many there are (None: more than ``most``; counting
    stops there); with ``window`` (PostgreSQL), only candidates inside it.

    Only those cross over (the database keeps the newest ``first`` as it reads
    the candidates): a cold topic is often full after a hundred of them, and
    :func:`older_candidates` reads the others for one that is not. A window
    spares reading the rows of candidates older than it (the index names
    them all; their update times are in the rows): the id range narrows the
    index query in the database, where the update time alone could not.
    """
    sql, match = fts.candidates_sql(conn, found, *_candidate_columns(conn))
    parameters: dict[str, object] = {"match": match}
    if window is not None:
        sql += " AND s.paper_id >= :lowest AND s.updated > :after"
        parameters |= {"lowest": window.lowest, "after": window.after}
    statement = (
        f"SELECT id, updated, count(*) OVER () AS total FROM ({sql} LIMIT {int(most) + 1}) AS c"
        f" ORDER BY updated DESC, id DESC LIMIT {int(first)}"
    )
    rows = conn.execute(sa.text(statement), parameters).all()
    total = rows[0].total if rows else 0
    return None if total > most else ([(row.id, row.updated) for row in rows], total)


def older_candidates(
    conn: Connection, found: fts.Indexed, before: tuple[datetime, str | None]
) -> list[str]:
    """Ids of the candidates of ``found`` after ``before`` in :func:`newest_page`'s order
    (an ``(updated, id)`` there, excluded; ``(updated, None)``: those last updated
    then or earlier)."""
    sql, match = fts.candidates_sql(conn, found, *_candidate_columns(conn))
    parameters = {"match": match, "updated": before[0]}
    older = "updated <= :updated"
    if before[1] is not None:
        older = "updated < :updated OR (updated = :updated AND id < :id)"
        parameters["id"] = before[1]
    statement = f"SELECT id FROM ({sql}) AS c WHERE {older} ORDER BY updated DESC, id DESC"
    return list(conn.scalars(sa.text(statement), parameters))


def _candidate_columns(conn: Connection) -> tuple[str, str]:
    """What :func:`fts.candidates_sql` selects for the candidates' ids and update times."""
    if conn.dialect.name == fts.POSTGRESQL:
        return "s.paper_id AS id, s.updated AS updated", ""
    return "s.paper_id AS id, p.updated AS updated", " JOIN papers AS p ON p.id = s.paper_id"


# What :func:`background_counts` raises when it waited past its lock timeout.
CountGaveUp = sa.exc.OperationalError


def background_counts(conn: Connection, lock_timeout_ms: int) -> tuple[int, int]:
    """:func:`fts.candidate_counts`, for a thread beside the run's own reads: on
    PostgreSQL without parallel workers (one core; the run's work has the other),
    giving up (``OperationalError``) after waiting ``lock_timeout_ms`` for a lock
    (an ``ALTER``, a ``VACUUM FULL``), so that a Ctrl-C never waits on it."""
    if conn.dialect.name == fts.POSTGRESQL:
        conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
        conn.execute(sa.text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
    return fts.candidate_counts(conn)


def oldest_run_in_flight(conn: Connection, high: datetime, horizon: timedelta) -> datetime | None:
    """The start of the oldest run still ``running`` begun within ``horizon`` before ``high``."""
    found = conn.scalar(
        sa.select(sa.func.min(runs.c.started_at)).where(
            (runs.c.status == RunStatus.RUNNING.value)
            & (runs.c.started_at <= high)
            & (runs.c.started_at > high - horizon)
        )
    )
    return cast("datetime | None", found)


def _stream(conn: Connection, statement: Any, batch_size: int) -> Generator[Row]:
    """Rows in batches through a server-side cursor where there is one: memory stays flat.

    The option is the statement's: ``Connection.execution_options`` would set it
    on the connection itself, and every later query of the reader would then
    go through a server-side cursor too (extra round trips on PostgreSQL).
    """
    result = conn.execute(statement.execution_options(yield_per=batch_size))
    try:
        for partition in result.mappings().partitions():
            yield from partition
    finally:  # a caller that stops early closes the cursor
        result.close()
