"""What fetching remembers between runs (migration 4): per-topic state, markers, backfill.

* ``topic_fetch_state``: when ``update`` last fetched a topic successfully and
  with which source. A topic without a row is *cold* (its first ``update``
  fetches a full table, even when ``backfill`` already stored older papers).
* ``fetch_markers``: small named values a source keeps (the announcement
  feed's last consumed day, the API probe's newest paper, each topic's
  scanned mark: the newest date its API scans read).
* ``pending_papers``: ids the announcement feed listed but the API could not
  describe yet (its index lags the feed); asked for again on the next runs.
* ``backfill_windows``: ``submittedDate`` windows a backfill finished, so an
  interrupted backfill resumes where it stopped.

Everything is written inside the run's one transaction, so it is only ever
as new as the papers it describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.schema import (
    backfill_windows,
    fetch_markers,
    papers,
    pending_papers,
    topic_fetch_state,
    topic_papers,
)
from dailypapers.sql import upsert
from dailypapers.store import Store

RATE_WINDOW = timedelta(days=14)
# arXiv never dates a paper in the future; a date beyond now + this skew is
# bad data. Such a paper is stored but never used as a stop mark (it would
# stop every later scan at the top of the list: issue 11, cause 1).
FUTURE_SKEW = timedelta(days=1)
# A topic's own mark in ``fetch_markers``: the newest date its scans read.
SCANNED_MARKER = "scanned"


class Remembered(Protocol):
    """What a source wants remembered with its papers (a ``FetchContext`` has it)."""

    @property
    def markers(self) -> Mapping[str, str]: ...

    @property
    def pending_add(self) -> Mapping[str, datetime]: ...

    @property
    def pending_drop(self) -> Iterable[str]: ...

    @property
    def pending_scope(self) -> str: ...


@dataclass(frozen=True)
class TopicHistory:
    """What the store knows of one topic, for incremental fetching."""

    known: dict[str, int]  # paper id -> stored version
    warm: bool  # fetched by update before, with a full table
    fetched_at: datetime | None = None  # when update last fetched it
    floor: datetime | None = None  # `updated` of the table's last row (full table only)
    recent: tuple[datetime, ...] = ()  # `updated` of its papers in RATE_WINDOW, newest first
    total: int | None = None  # arXiv's totalResults at the last fetch, when known

    @property
    def newest(self) -> datetime | None:
        """The newest stored `updated` among its papers."""
        return self.recent[0] if self.recent else None

    def count_since(self, start: datetime) -> int:
        """Known papers updated at or after ``start`` (within the recent window)."""
        return sum(1 for when in self.recent if when >= start)


def topic_history(
    store: Store, name: str, query: str, *, limit: int, now: datetime | None = None
) -> TopicHistory:
    """The known papers, warmth and recent arrivals of a topic whose table has ``limit`` rows.

    A topic is warm when ``update`` fetched it before and its table is full,
    or when arXiv's total at that fetch fitted in the table (every match is
    stored: a small topic is as incremental as a busy one). Papers dated
    after ``now`` + ``FUTURE_SKEW`` are left out of the dates (newest,
    floor, recent): they are known, never a stop mark. So are papers dated
    after the topic's own scanned mark (:func:`mark_scanned`): another
    topic's run (another config sharing the store, a harvest) stored those
    versions, and this topic's scans never read the dates below them.
    """
    horizon = (now or datetime.now(UTC)) + FUTURE_SKEW
    topic_id = store.find_topic(name, query)
    if topic_id is None:
        return TopicHistory({}, False)
    with store.reading() as conn:
        # The mark before the papers: a run committing in between (PostgreSQL
        # reads each statement afresh) then only makes this scan read more.
        scanned = scanned_mark(conn, topic_id)
        horizon = horizon if scanned is None else min(horizon, scanned)
        known = store.known_versions(conn, topic_id)
        state = conn.execute(
            sa.select(topic_fetch_state.c.fetched_at, topic_fetch_state.c.total_results).where(
                topic_fetch_state.c.topic_id == topic_id
            )
        ).first()
        fetched_at, total = (state.fetched_at, state.total_results) if state else (None, None)
        newest_first = (
            sa.select(papers.c.updated)
            .join(topic_papers, topic_papers.c.paper_id == papers.c.id)
            .where(topic_papers.c.topic_id == topic_id)
            .where(papers.c.updated <= horizon)
            .order_by(papers.c.updated.desc())
        )
        floor = conn.scalar(newest_first.offset(limit - 1).limit(1))
        newest = conn.scalar(newest_first.limit(1))
        recent: tuple[datetime, ...] = ()
        if newest is not None:
            window = newest_first.where(papers.c.updated > newest - RATE_WINDOW)
            recent = tuple(conn.scalars(window))
    # Every match stored: arXiv's total fits in what the topic holds (not merely in
    # the table: a total of 80 under a raised max_papers of 100, with 50 stored
    # under the old one, was "complete", and the 30 older papers were never fetched).
    complete = bool(known) and total is not None and total <= min(limit, len(known))
    warm = fetched_at is not None and (floor is not None or complete)
    return TopicHistory(known, warm, fetched_at, floor, recent, total)


def mark_fetched(
    conn: Connection,
    store: Store,
    topic_ids: Iterable[int],
    source: str,
    now: datetime,
    totals: Mapping[int, int | None] | None = None,
    times: Mapping[int, datetime] | None = None,
) -> None:
    """Record that ``update`` fetched these topics successfully (and arXiv's totals).

    Each at its time in ``times``, else at ``now`` (the run's start).
    """
    totals, times = totals or {}, times or {}
    rows = [
        {
            "topic_id": tid,
            "fetched_at": times.get(tid, now),
            "source": source,
            "total_results": totals.get(tid),
        }
        for tid in topic_ids
    ]
    if rows:
        conn.execute(upsert(store.dialect, topic_fetch_state, ["topic_id"]), rows)


def scanned_mark(conn: Connection, topic_id: int) -> datetime | None:
    """The newest ``updated`` the topic's last dated scans read (``None``: none recorded)."""
    value = conn.scalar(
        sa.select(fetch_markers.c.value).where(fetch_markers.c.name == _scanned_name(topic_id))
    )
    try:
        mark = datetime.fromisoformat(str(value)) if value is not None else None
    except ValueError:  # a damaged value: the store's dates, as before the mark existed
        return None
    return mark if mark is None or mark.tzinfo is not None else mark.replace(tzinfo=UTC)


def mark_scanned(
    conn: Connection,
    store: Store,
    topic_id: int,
    top: datetime | None,
    now: datetime,
    *,
    dated: bool = True,
) -> None:
    """Record the newest date a topic's scan read (inside the run's transaction).

    The mark only rises: two runs scanning one topic at once each read from
    their top down to the old mark, so together they read down from the
    higher top (on PostgreSQL two commits at once may keep the lower one:
    the next scan then reads more, never less). A dated scan that read
    nothing dated (``top`` is ``None``: arXiv's transient empty answer twice)
    leaves it as it was. A fetch that is not a dated scan (``dated`` false:
    the announcement feed alone, the local source) removes it: the next
    scan takes the store's dates, as before the mark existed.
    """
    name = _scanned_name(topic_id)
    if not dated:
        conn.execute(fetch_markers.delete().where(fetch_markers.c.name == name))
        return
    if top is None:
        return
    before = scanned_mark(conn, topic_id)
    write_markers(conn, store, {name: max(top, before or top).isoformat()}, now)


def _scanned_name(topic_id: int) -> str:
    return f"{SCANNED_MARKER}:{topic_id}"


def record(
    conn: Connection,
    store: Store,
    topic_ids: Iterable[int],
    source: str,
    context: Remembered | None,
    now: datetime,
    totals: Mapping[int, int | None] | None = None,
    times: Mapping[int, datetime] | None = None,
) -> None:
    """Everything a successful fetch remembers, inside the run's transaction."""
    mark_fetched(conn, store, topic_ids, source, now, totals, times)
    if context is not None:
        write_markers(conn, store, context.markers, now)
        set_pending(conn, store, context.pending_add, context.pending_drop, context.pending_scope)


def warm_topic_ids(store: Store) -> set[int]:
    """Topics ``update`` has fetched at least once."""
    return set(fetch_times(store))


def filled(store: Store, topic_ids: Iterable[int], limit: int) -> set[int]:
    """Of ``topic_ids``, those whose stored papers fill a table of ``limit`` rows, or
    hold every match arXiv counted at their last fetch (an empty topic's none).

    A topic ``update`` fetched before but that is not filled (``max_papers``
    raised since) must be fetched again even when arXiv announced nothing.
    One indexed probe per topic (:meth:`Store.links_at_least`).
    """
    with store.reading() as conn:
        state = topic_fetch_state.c
        totals = {
            tid: total
            for tid, total in conn.execute(sa.select(state.topic_id, state.total_results))
        }
        found = set()
        for topic_id in topic_ids:
            total = totals.get(topic_id)
            if store.links_at_least(conn, topic_id, limit if total is None else min(limit, total)):
                found.add(topic_id)
        return found


def fetch_times(store: Store) -> dict[int, datetime]:
    """When ``update`` last fetched each topic it has fetched."""
    with store.reading() as conn:
        rows = conn.execute(sa.select(topic_fetch_state.c.topic_id, topic_fetch_state.c.fetched_at))
        return {row.topic_id: row.fetched_at for row in rows}


def read_marker(store: Store, name: str) -> str | None:
    """A named marker's value, or ``None``."""
    with store.reading() as conn:
        value = conn.scalar(sa.select(fetch_markers.c.value).where(fetch_markers.c.name == name))
    return None if value is None else str(value)


def write_markers(conn: Connection, store: Store, values: Mapping[str, str], now: datetime) -> None:
    """Set markers (inside the run's transaction)."""
    rows = [{"name": k, "value": v, "updated_at": now} for k, v in values.items()]
    if rows:
        conn.execute(upsert(store.dialect, fetch_markers, ["name"]), rows)


def read_pending(store: Store, scope: str = "") -> dict[str, datetime]:
    """Ids waiting for the API to describe them, with when they were first listed."""
    with store.reading() as conn:
        rows = conn.execute(
            sa.select(pending_papers.c.paper_id, pending_papers.c.since).where(
                pending_papers.c.scope == scope
            )
        )
        return {row.paper_id: row.since for row in rows}


def set_pending(
    conn: Connection,
    store: Store,
    add: Mapping[str, datetime],
    drop: Iterable[str],
    scope: str = "",
) -> None:
    """Add ids to and drop ids from a scope's pending list."""
    gone = list(drop)
    if gone:
        conn.execute(
            pending_papers.delete().where(
                (pending_papers.c.scope == scope) & pending_papers.c.paper_id.in_(gone)
            )
        )
    rows = [{"scope": scope, "paper_id": pid, "since": since} for pid, since in add.items()]
    if rows:
        conn.execute(upsert(store.dialect, pending_papers, ["scope", "paper_id"]), rows)


# ``backfill_windows.papers`` of a window arXiv answered "no match at all" once: asked
# once more by the next backfill (the answer may be its glitch), done if empty again.
EMPTY_ONCE = -1


def done_windows(store: Store, topic_id: int) -> set[tuple[date, date]]:
    """The backfill windows finished for a topic."""
    return _windows(store, topic_id, backfill_windows.c.papers >= 0)


def empty_once_windows(store: Store, topic_id: int) -> set[tuple[date, date]]:
    """The topic's backfill windows answered "no match at all" once (:data:`EMPTY_ONCE`)."""
    return _windows(store, topic_id, backfill_windows.c.papers == EMPTY_ONCE)


def _windows(store: Store, topic_id: int, which: Any) -> set[tuple[date, date]]:
    with store.reading() as conn:
        rows = conn.execute(
            sa.select(backfill_windows.c.first_day, backfill_windows.c.last_day).where(
                (backfill_windows.c.topic_id == topic_id) & which
            )
        )
        return {(row.first_day, row.last_day) for row in rows}


def mark_window(
    conn: Connection,
    store: Store,
    topic_id: int,
    window: tuple[date, date],
    count: int,
    now: datetime,
) -> None:
    """Record a finished backfill window (inside the window's transaction); ``count``
    :data:`EMPTY_ONCE`: answered empty, to be asked once more."""
    row = {
        "topic_id": topic_id,
        "first_day": window[0],
        "last_day": window[1],
        "papers": count,
        "done_at": now,
    }
    keys = ["topic_id", "first_day", "last_day"]
    conn.execute(upsert(store.dialect, backfill_windows, keys), [row])
