"""The history: papers, which topics matched them, and every run (SQLAlchemy Core).

SQLite by default (``.dailypapers/papers.db``), or PostgreSQL for shared
deployments (``[store] url``, checked when the config loads). The tables and their
numbered, idempotent migrations are :mod:`dailypapers.schema`'s; SQL is
built here and in the query modules beside it, with :mod:`dailypapers.sql`.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from dailypapers import fts, schema
from dailypapers.models import Paper
from dailypapers.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    RunStatus,
    UTCDateTime,
    find_damaged,
    metadata,
    paper_from_row,
    paper_row,
    papers,
    reindex_search,
    runs,
    schema_migrations,
    topic_evaluations,
    topic_fetch_state,
    topic_papers,
    topics,
)
from dailypapers.sql import chunks, insert_ignore, upsert
from dailypapers.sqlite_health import DAMAGED, damage, damage_message, path_text, sqlite_path

# Re-exported: callers may take the tables from the store or from the schema.
__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "RunOwner",
    "RunRecord",
    "SaveResult",
    "Store",
    "StoreError",
    "UTCDateTime",
    "database_error",
    "find_damaged",
    "metadata",
    "open_store",
    "owner_gone",
    "paper_from_row",
    "papers",
    "reindex_search",
    "runs",
    "schema_migrations",
    "sqlite_path",
    "stored_papers",
    "topic_evaluations",
    "topic_papers",
    "topics",
    "utcnow",
]

SUPPORTED_DIALECTS = ("sqlite", "postgresql")
# PostgreSQL aborts one of two conflicting transactions with these SQLSTATEs
# (serialization_failure, deadlock_detected); running it again is the cure.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
WRITE_ATTEMPTS = 5
_MIGRATION_LOCK = 0x6461696C79  # "daily": the advisory lock serialising migrations
_WRITE_OPTION = "dailypapers_write"

T = TypeVar("T")
SAVE_BATCH = 500  # papers written (and indexed) at a time
# A SQLite file below SMALL_STORE_BYTES when a connection opens gets a page cache
# of SMALL_STORE_CACHE_KIB instead of SQLite's 2 MB: a small store's queries
# touch few pages, which the system's file cache holds anyway, and an
# update's save and render each filled the 2 MB (1.3-1.5 MB of a 20-topic
# update's peak RSS). Large stores (a harvest, `search` on 100,000 papers,
# the local source) keep the default, which their queries measurably use.
# Decided when a connection opens: a store that outgrows the limit keeps the
# small cache on its pooled connections until they are reopened (the next
# process; speed only, never results).
SMALL_STORE_BYTES = 32 * 2**20
SMALL_STORE_CACHE_KIB = 256
log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database cannot be used (not ours, corrupt, unreachable); one line."""


@dataclass(frozen=True)
class SaveResult:
    """What storing one topic's fetched papers changed."""

    new: int = 0
    revised: int = 0
    linked: int = 0  # papers newly linked to a topic (each once, however many topics)

    def __add__(self, other: SaveResult) -> SaveResult:
        return SaveResult(
            self.new + other.new, self.revised + other.revised, self.linked + other.linked
        )


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``."""

    id: int
    command: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    requests: int
    bytes: int
    new_papers: int
    revised_papers: int
    error: str | None
    host: str | None = None
    pid: int | None = None
    lock: str | None = None


@dataclass(frozen=True)
class RunOwner:
    """Who runs a run: the host, the process and the lock file it holds."""

    host: str
    pid: int
    lock: str | None = None

    @classmethod
    def current(cls, lock: str | Path | None = None) -> RunOwner:
        """This process, holding ``lock`` (a lock file's path) if given."""
        return cls(socket.gethostname(), os.getpid(), None if lock is None else path_text(lock))

    def gone(self, holding: str | None) -> bool:
        """Whether this owner has provably stopped (seen from this host).

        Only a process of this host can be checked: its pid no longer
        exists, or its lock is the one this process holds now.
        """
        if self.host != socket.gethostname():
            return False
        if holding is not None and self.lock == holding and self.pid != os.getpid():
            return True
        return not pid_alive(self.pid)


def owner_gone(host: str | None, pid: int | None, lock: str | None, holding: str | None) -> bool:
    """Whether a ``running`` row's owner has provably stopped (no owner recorded: unknown)."""
    return host is not None and pid is not None and RunOwner(host, pid, lock).gone(holding)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # it exists (another user's), or cannot be told: assume alive
    return True


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """A dailypapers database. Open with :func:`open_store`."""

    def __init__(self, engine: Engine, unchecked: Path | None = None) -> None:
        self.engine = engine
        self._search_index: bool | None = None  # migration 3 applied (None: not known yet)
        self._field_index: bool | None = None  # migration 12 applied (None: not known yet)
        self._unchecked = unchecked  # a SQLite file to check before its first write

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def release_idle(self) -> None:
        """Close a SQLite file's idle pooled connections (and their page caches, ~2 MB each).

        For a long run between phases (an update's fetch, then its render);
        the next use opens a connection. Other stores keep theirs (an
        in-memory SQLite database lives in its one connection).
        """
        if self.dialect == "sqlite" and isinstance(self.engine.pool, sa.pool.QueuePool):
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: everything inside commits together or not at all.

        On SQLite it starts with ``BEGIN IMMEDIATE``, so a second writer waits
        (``busy_timeout``) instead of failing when it would upgrade its lock.
        A database error (a store locked past the wait, read-only, a full
        disk) is :class:`StoreError`, one line: before, the run's own records
        (``start_run``, ``finish_run``), a migration and ``doctor --repair``
        printed "unexpected error" with the SQL.
        """
        try:
            with self._transaction() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise StoreError(database_error(exc)) from exc

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        self.check_integrity()
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def check_integrity(self) -> None:
        """Check a SQLite file read-only (``PRAGMA quick_check``) unless done already.

        Runs before the first write transaction: SQLite would otherwise append
        to a file whose other pages are broken. Reads skip it (it reads the
        whole file); a damaged page they meet raises the same one-line
        :class:`StoreError` (see :func:`_engine`).
        """
        path = self._unchecked
        if path is not None:
            if problem := damage(path):
                raise StoreError(damage_message(path, problem))
            self._unchecked = None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads: the one way code outside the store gets one."""
        with self.engine.connect() as conn:
            yield conn

    def write(self, work: Callable[[Connection], T], attempts: int = WRITE_ATTEMPTS) -> T:
        """Run ``work(conn)`` in one transaction, again when the database aborted it.

        Concurrent runs on PostgreSQL can abort each other's transactions
        (deadlock, serialization failure); those are retried a bounded number
        of times. Other database errors, and a store still busy after the
        retries, raise :class:`StoreError` with one line.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self._transaction() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if attempt == attempts or not _is_retryable(exc):
                    raise StoreError(database_error(exc)) from exc
                log.warning("transaction aborted (%s), retrying", _first_line(exc))
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
        raise AssertionError("unreachable")

    # -- schema -------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied (idempotent).

        Looks first without writing: an up-to-date store (every run but the
        first after an upgrade) opens with reads only.
        """
        with self.reading() as conn:
            done = self._check_ours(conn)
        if all(version in done for version, _name, _migration in schema.MIGRATIONS):
            self._indexes(done)
            return []
        with self.transaction() as conn:
            if self.dialect == "postgresql":
                # Two processes opening a new database at once: one migrates, one waits.
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            self._check_ours(conn)
            metadata.create_all(conn, tables=[schema_migrations])
            done = set(conn.scalars(sa.select(schema_migrations.c.version)))
            applied = []
            for version, name, migration in schema.MIGRATIONS:
                if version not in done:
                    migration(conn)
                    conn.execute(
                        schema_migrations.insert().values(
                            version=version, name=name, applied_at=utcnow()
                        )
                    )
                    applied.append(name)
                    done.add(version)
            self._indexes(done)
        return applied

    def _indexes(self, done: set[int]) -> None:
        self._search_index = schema.FULL_TEXT_MIGRATION in done
        self._field_index = schema.FIELD_INDEX_MIGRATION in done

    def _has_search_index(self, conn: Connection) -> bool:
        if self._search_index is None:  # opened without migrating
            self._search_index = sa.inspect(conn).has_table("paper_search")
        return self._search_index

    def _has_field_index(self, conn: Connection) -> bool:
        """Whether PostgreSQL's field-exact index exists (migration 12; never on SQLite)."""
        if self._field_index is None:  # opened without migrating
            self._field_index = sa.inspect(conn).has_table("paper_fields")
        return self._field_index

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            version = conn.scalar(sa.select(sa.func.max(schema_migrations.c.version)))
        return int(version or 0)

    def _check_ours(self, conn: Connection) -> set[int]:
        """Refuse a database that is not ours or newer; returns the migrations applied."""
        names = set(sa.inspect(conn).get_table_names())
        if names and "schema_migrations" not in names:
            raise StoreError(
                f"{_describe_url(self.engine)} is not a dailypapers database "
                f"(it has other tables: {', '.join(sorted(names)[:3])}); refusing to touch it"
            )
        if "schema_migrations" not in names:
            return set()
        done = set(conn.scalars(sa.select(schema_migrations.c.version)))
        if max(done, default=0) > schema.SCHEMA_VERSION:
            raise StoreError(
                f"database schema version {max(done)} is newer than this dailypapers "
                f"understands ({schema.SCHEMA_VERSION}); upgrade dailypapers"
            )
        return done

    # -- topics and papers --------------------------------------------------

    def topic_id(self, conn: Connection, name: str, query: str) -> int:
        """The id of the topic ``(name, query)``, created on first use.

        A changed query is a new topic: the old one's history stays in the store
        but no longer feeds the README.
        """
        where = (topics.c.name == name) & (topics.c.query == query)
        found = conn.scalar(sa.select(topics.c.id).where(where))
        if found is not None:
            return int(found)
        # Another run sharing the database may create the same topic meanwhile.
        values = {"name": name, "query": query, "created_at": utcnow()}
        conn.execute(insert_ignore(self.dialect, topics).values(**values))
        return int(conn.execute(sa.select(topics.c.id).where(where)).scalar_one())

    def known_versions(self, conn: Connection, topic_id: int) -> dict[str, int]:
        """``{paper id: stored version}`` for every paper linked to a topic."""
        rows = conn.execute(
            sa.select(papers.c.id, papers.c.version)
            .join(topic_papers, topic_papers.c.paper_id == papers.c.id)
            .where(topic_papers.c.topic_id == topic_id)
        )
        return {row.id: row.version for row in rows}

    def save_papers(
        self,
        conn: Connection,
        fetched: Sequence[Paper],
        now: datetime,
        known: Mapping[str, tuple[int, datetime]] | None = None,
    ) -> SaveResult:
        """Insert new papers, replace older versions, touch ``last_seen`` of the rest.

        ``known``: :meth:`stored_versions` of (at least) these papers, read
        earlier in the same transaction (a run's snapshot), not read again.
        """
        latest: dict[str, Paper] = {}
        for paper in fetched:
            if paper.id not in latest or paper.is_newer_than(latest[paper.id]):
                latest[paper.id] = paper
        if known is None:
            stored = self.stored_versions(conn, list(latest))
        else:
            stored = {pid: known[pid] for pid in latest if pid in known}
        new = [p for p in latest.values() if p.id not in stored]
        revised = [p for p in latest.values() if p.id in stored and _newer(p, stored[p.id])]
        # In id order (concurrent writers then lock rows in the same order) and
        # in batches: the rows and their index entries of one
        # batch at a time, all in the caller's one transaction.
        changed = sorted(new + revised, key=lambda paper: paper.id)
        for batch in chunks(changed, SAVE_BATCH):
            # RETURNING: the ids written. 100 rows a statement: SQLite keeps each
            # prepared statement, and one of 500 rows (7,000 parameters) added a
            # MB to a 100-topic cold update's peak.
            upsert = (
                _upsert_newer(self.dialect)
                .returning(papers.c.id)
                .execution_options(insertmanyvalues_page_size=100)
            )
            written = set(conn.execute(upsert, [paper_row(p, now) for p in batch]).scalars())
            if self._has_search_index(conn):
                # Index the rows this statement wrote, as written. A row it left
                # holds a newer version (a concurrent run won, on PostgreSQL),
                # which that run indexed in its own transaction.
                wrote = [p for p in batch if p.id in written]
                fts.index_papers(conn, wrote, fields=self._has_field_index(conn))
        seen = sorted(pid for pid in latest if pid in stored)
        for chunk in chunks(seen, 500):
            conn.execute(papers.update().where(papers.c.id.in_(chunk)).values(last_seen=now))
        return SaveResult(new=len(new), revised=len(revised))

    def link(
        self,
        conn: Connection,
        topic_id: int,
        paper_ids: Iterable[str],
        now: datetime,
        linked: AbstractSet[str] | None = None,
    ) -> set[str]:
        """Link papers to a topic; returns the ids newly linked.

        ``linked``: :meth:`linked_ids` of these papers, read earlier in the
        same transaction (a run's snapshot), not read again.
        """
        ids = sorted(set(paper_ids))
        existing = self.linked_ids(conn, topic_id, ids) if linked is None else linked
        rows = [
            {"topic_id": topic_id, "paper_id": pid, "matched_at": now}
            for pid in ids
            if pid not in existing
        ]
        if rows:
            conn.execute(insert_ignore(self.dialect, topic_papers), rows)
        return {pid for pid in ids if pid not in existing}

    def linked_ids(self, conn: Connection, topic_id: int, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the topic already links."""
        return self.linked_among(conn, {topic_id: ids})[topic_id]

    def links_at_least(self, conn: Connection, topic_id: int, count: int) -> bool:
        """Whether the topic links ``count`` papers or more (one indexed probe)."""
        if count <= 0:
            return True
        row = conn.execute(
            sa.select(topic_papers.c.paper_id)
            .where(topic_papers.c.topic_id == topic_id)
            .offset(count - 1)
            .limit(1)
        ).first()
        return row is not None

    def cut_short(
        self, conn: Connection, topic_ids: Sequence[int], limit: int
    ) -> dict[int, datetime]:
        """The oldest ``updated`` among each topic's links, for the topics whose table
        was cut short: fetched before, with fewer papers stored than arXiv counted and
        than ``limit`` (``max_papers`` raised since). Papers older than that are
        history a refill brings in, not news (they were announced as "100 new papers"
        from months before). One indexed probe per topic that is not cut short.
        """
        state = topic_fetch_state.c
        totals = conn.execute(
            sa.select(state.topic_id, state.total_results).where(
                state.topic_id.in_(list(topic_ids))
            )
        ).all()
        floors = {}
        for topic_id, total in totals:
            if self.links_at_least(conn, topic_id, min(total or 0, limit)):
                continue  # holds a full table or every match (the usual case)
            links = sa.select(topic_papers.c.paper_id).where(topic_papers.c.topic_id == topic_id)
            oldest = conn.scalar(
                sa.select(sa.func.min(papers.c.updated)).where(papers.c.id.in_(links))
            )
            if oldest is not None:
                floors[topic_id] = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        return floors

    def linked_among(
        self, conn: Connection, asked: Mapping[int, Sequence[str]]
    ) -> dict[int, set[str]]:
        """:meth:`linked_ids` of several topics at once (``{topic id: paper ids}``):
        the ids read in chunks for every topic together, not topic by topic."""
        found: dict[int, set[str]] = {topic_id: set() for topic_id in asked}
        ids = sorted({pid for wanted in asked.values() for pid in wanted})
        for chunk in chunks(ids, 500):
            rows = conn.execute(
                sa.select(topic_papers.c.topic_id, topic_papers.c.paper_id).where(
                    topic_papers.c.topic_id.in_(list(asked)) & topic_papers.c.paper_id.in_(chunk)
                )
            )
            for topic_id, paper_id in rows:
                found[topic_id].add(paper_id)
        return {
            topic_id: found[topic_id].intersection(wanted) for topic_id, wanted in asked.items()
        }

    def mark_evaluated(
        self, conn: Connection, topic_id: int, until: datetime, now: datetime
    ) -> None:
        """Record that the topic was matched against every paper seen up to ``until``."""
        statement = upsert(
            self.dialect,
            topic_evaluations,
            ["topic_id"],
            where=lambda new: new.evaluated_until > topic_evaluations.c.evaluated_until,
        )
        conn.execute(statement.values(topic_id=topic_id, evaluated_until=until, evaluated_at=now))

    def evaluated_until(self, conn: Connection, topic_id: int) -> datetime | None:
        """How far :meth:`mark_evaluated` recorded for the topic; ``None``: never."""
        return conn.scalar(
            sa.select(topic_evaluations.c.evaluated_until).where(
                topic_evaluations.c.topic_id == topic_id
            )
        )

    def topic_papers(self, topic_id: int, limit: int | None = None) -> list[Paper]:
        """A topic's papers, newest first (by last update, then first version, then id).

        Read by :class:`dailypapers.listedquery.PaperReader`, the outputs' reader:
        one definition of a topic's newest papers.
        """
        from dailypapers.listedquery import PaperReader

        with self.engine.connect() as conn:
            return PaperReader().newest(conn, topic_id, limit)

    def find_topic(self, name: str, query: str) -> int | None:
        with self.engine.connect() as conn:
            where = (topics.c.name == name) & (topics.c.query == query)
            found = conn.scalar(sa.select(topics.c.id).where(where))
        return None if found is None else int(found)

    def has_papers(self) -> bool:
        """Whether any paper is stored (one row read, not a count)."""
        with self.engine.connect() as conn:
            return conn.scalar(sa.select(papers.c.id).limit(1)) is not None

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(papers)) or 0)

    def stored_versions(
        self, conn: Connection, ids: Sequence[str]
    ) -> dict[str, tuple[int, datetime]]:
        """``{paper id: (stored version, updated)}`` for the ids that are stored."""
        stored: dict[str, tuple[int, datetime]] = {}
        for chunk in chunks(ids, 500):
            rows = conn.execute(
                sa.select(papers.c.id, papers.c.version, papers.c.updated).where(
                    papers.c.id.in_(chunk)
                )
            )
            stored.update({row.id: (row.version, row.updated) for row in rows})
        return stored

    # -- runs ---------------------------------------------------------------

    def start_run(
        self, command: str, started_at: datetime | None = None, owner: RunOwner | None = None
    ) -> int:
        """Record a run as ``running``, owned by ``owner`` (default: this process)."""
        owner = owner or RunOwner.current()
        with self.transaction() as conn:
            statement = runs.insert().values(
                command=command,
                started_at=started_at or utcnow(),
                status=RunStatus.RUNNING.value,
                host=owner.host,
                pid=owner.pid,
                lock=owner.lock,
            )
            return int(conn.execute(statement.returning(runs.c.id)).scalar_one())

    def finish_run(self, run_id: int, status: str, **fields: Any) -> None:
        """Record how a run ended (``requests``, ``bytes``, ``new_papers``, ``error``...)."""
        with self.transaction() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(status=str(status), finished_at=utcnow(), **fields)
            )

    def mark_interrupted(self, holding: str | Path | None = None) -> int:
        """Mark runs left ``running`` by a process that is provably gone; returns how many.

        Runs of other hosts, of live processes of this host (a harvest beside
        an update, another project's update on a shared store) and runs with
        no recorded owner (older than migration 6) are left alone. ``holding``
        is the lock file this process holds: a run recorded under it has ended.
        """
        held = None if holding is None else path_text(holding)
        with self.transaction() as conn:
            rows = conn.execute(
                sa.select(runs.c.id, runs.c.host, runs.c.pid, runs.c.lock).where(
                    (runs.c.status == RunStatus.RUNNING.value) & runs.c.host.is_not(None)
                )
            ).all()
            gone = [row.id for row in rows if owner_gone(row.host, row.pid, row.lock, held)]
            for chunk in chunks(gone, 500):
                conn.execute(
                    runs.update()
                    .where(runs.c.id.in_(chunk) & (runs.c.status == RunStatus.RUNNING.value))
                    .values(
                        status=RunStatus.INTERRUPTED.value,
                        error="the process stopped before finishing",
                    )
                )
            return len(gone)

    def last_runs(self, limit: int = 10) -> list[RunRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(limit))
            return [RunRecord(**row._mapping) for row in rows]


def open_store(url: str, *, migrate: bool = True, check: bool = False) -> Store:
    """Open (and by default migrate) the database at a SQLAlchemy URL.

    A SQLite file is checked read-only before anything writes to it (at
    once with ``check``): a damaged one raises :class:`StoreError` (one line,
    how to recover). Reads do not wait for the check, which reads the whole
    file; a damaged page they meet raises the same error.
    """
    engine = _engine(url)
    store = Store(engine, sqlite_path(url))
    try:
        if check:
            store.check_integrity()
        if migrate:
            store.migrate()
        else:
            with engine.connect() as conn:
                store._check_ours(conn)
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        raise StoreError(f"cannot use {_describe_url(engine)}: {_first_line(exc)}") from None
    except StoreError as exc:
        engine.dispose()
        if isinstance(exc.__cause__, sa.exc.DBAPIError):  # a migration's: name the store
            cause = str(exc).removeprefix("database error: ")  # with database_error's hint
            raise StoreError(f"cannot use {_describe_url(engine)}: {cause}") from None
        raise
    return store


def _engine(url: str) -> Engine:
    if (path := sqlite_path(url)) is not None:
        _sqlite_file(path)
    try:
        backend = sa.engine.make_url(url).get_backend_name()
        if backend not in SUPPORTED_DIALECTS:
            raise StoreError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
        # PostgreSQL: a connection the server dropped (a restart, an idle timeout) is
        # replaced when taken from the pool, so a run can still record how it ended.
        engine = sa.create_engine(url, pool_pre_ping=backend == "postgresql")
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:  # ValueError: "[::1/db"
        shown = _masked(url)
        named = f" {shown!r}" if shown else ""
        raise StoreError(f"bad store URL{named}: {_first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        if path is not None:
            sa.event.listen(engine, "handle_error", _damage_reporter(path))
    return engine


def _sqlite_file(path: Path) -> None:
    """Make the SQLite file's folder; one line for what SQLite says only "unable to open"."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot make the store's folder {path.parent}: {exc.strerror}") from None
    if path.exists() and not path.is_file():  # SQLite: "unable to open", "disk I/O error"
        kind = "a folder" if path.is_dir() else "a named pipe, socket or device"
        raise StoreError(
            f"{path.resolve()} is {kind}, not a SQLite database file; move it away, "
            "or name a file in [store] url"
        )


def _damage_reporter(path: Path) -> Callable[[sa.engine.ExceptionContext], None]:
    """Turn SQLite's "malformed" / "not a database" errors into the one-line StoreError."""

    def report(context: sa.engine.ExceptionContext) -> None:
        error = context.original_exception
        if getattr(error, "sqlite_errorname", "") in DAMAGED:
            raise StoreError(damage_message(path, str(error)))

    return report


def _sqlite_begin(conn: Connection) -> None:
    writing = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def _is_retryable(exc: sa.exc.DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN comes too late to take the write lock
    # up front; :func:`_sqlite_begin` emits BEGIN instead (SQLAlchemy's recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    try:
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        page_size = cursor.execute("PRAGMA page_size").fetchone()[0]
    except dbapi_connection.DatabaseError:
        pass  # not a database: the first real statement reports it (_damage_reporter)
    else:
        if pages * page_size < SMALL_STORE_BYTES:
            cursor.execute(f"PRAGMA cache_size=-{SMALL_STORE_CACHE_KIB}")
    cursor.close()


def _masked(url: str) -> str:
    try:
        return _shown(sa.engine.make_url(url))
    except (sa.exc.ArgumentError, ValueError):
        return ""  # not shown: a part of it could be a password


def _describe_url(engine: Engine) -> str:
    return _shown(engine.url)


def _shown(url: sa.URL) -> str:
    """``url`` as messages show it: its password hidden, in the user part or given as a
    query parameter (``?password=``, ``sslpassword``, libpq's ``passfile`` path too)."""
    hidden = {
        key: "***"
        for key in url.query
        if any(word in key.lower() for word in ("password", "secret", "passfile", "token"))
    }
    shown = url.update_query_dict(hidden).render_as_string(hide_password=True)
    return shown.replace("%2A%2A%2A", "***")


def database_error(exc: sa.exc.DBAPIError) -> str:
    """One line for a database error (the driver's first line: no SQL, no parameters)."""
    line = f"database error: {_first_line(exc)}"
    if getattr(exc.orig, "sqlite_errorname", "") == "SQLITE_BUSY":
        line += " (another process kept the store busy past the 30 s wait; try again)"
    elif getattr(exc.orig, "sqlstate", None) == "42501":  # insufficient_privilege
        line += (
            " (the database user needs to create tables: make it the database's owner,"
            " or GRANT CREATE ON SCHEMA public TO it)"
        )
    return line


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _upsert_newer(dialect: str) -> Any:
    """INSERT a paper, or replace the stored row when this one is a newer version.

    Atomic in the database, so concurrent runs sharing one store (PostgreSQL)
    cannot downgrade a paper or collide on a new one.
    """

    def newer(excluded: Any) -> Any:
        return (excluded.version > papers.c.version) | (
            (excluded.version == papers.c.version) & (excluded.updated > papers.c.updated)
        )

    return upsert(dialect, papers, ["id"], keep=["first_seen"], where=newer)


def _newer(paper: Paper, stored: tuple[int, datetime]) -> bool:
    return (paper.version, paper.updated) > stored


def stored_papers(conn: Connection, ids: Sequence[str]) -> list[Paper]:
    """The stored papers with these ids, in id order (unknown ids are skipped)."""
    found: list[Paper] = []
    for chunk in chunks(sorted(ids), 500):
        query = sa.select(papers).where(papers.c.id.in_(chunk)).order_by(papers.c.id)
        found.extend(paper_from_row(row._mapping) for row in conn.execute(query))
    return found
