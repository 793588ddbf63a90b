"""The history: papers, which topics matched them, and every run (SQLAlchemy Core).

SQLite by default (``.dailypapers/papers.db``); any SQLAlchemy URL works, and
PostgreSQL is supported for shared deployments. The schema evolves through
numbered, idempotent migrations recorded in ``schema_migrations``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from dailypapers import fts
from dailypapers.models import Author, Paper

SUPPORTED_DIALECTS = ("sqlite", "postgresql")
# PostgreSQL aborts one of two conflicting transactions with these SQLSTATEs
# (serialization_failure, deadlock_detected); running it again is the cure.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
WRITE_ATTEMPTS = 5
_MIGRATION_LOCK = 0x6461696C79  # "daily": the advisory lock serialising migrations
_WRITE_OPTION = "dailypapers_write"

T = TypeVar("T")
log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database cannot be used (not ours, corrupt, unreachable); one line."""


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, stored as naive UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = sa.MetaData()

schema_migrations = sa.Table(
    "schema_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

papers = sa.Table(
    "papers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("primary_category", sa.String(32), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("journal_ref", sa.Text),
    sa.Column("doi", sa.Text),
    sa.Column("published", UTCDateTime, nullable=False),
    sa.Column("updated", UTCDateTime, nullable=False, index=True),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
)

topics = sa.Table(
    "topics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name", "query", name="uq_topics_name_query"),
)

topic_papers = sa.Table(
    "topic_papers",
    metadata,
    sa.Column(
        "topic_id", sa.Integer, sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id"), primary_key=True),
    sa.Column("matched_at", UTCDateTime, nullable=False),
    sa.Index("ix_topic_papers_paper", "paper_id"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("command", sa.String(32), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("bytes", sa.Integer, nullable=False, default=0),
    sa.Column("new_papers", sa.Integer, nullable=False, default=0),
    sa.Column("revised_papers", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
)

# Notification outbox (migration 2): every paper version a run stores new
# for a topic is queued once; a channel's deliveries are recorded only after
# the channel confirmed, so what failed stays pending for the next run.
notify_outbox = sa.Table(
    "notify_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False, index=True),
    sa.Column(
        "topic_id", sa.Integer, sa.ForeignKey("topics.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("revision", sa.Boolean, nullable=False, default=False),
    sa.Column("queued_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("topic_id", "paper_id", "version", name="uq_notify_outbox_item"),
)

notify_channels = sa.Table(
    "notify_channels",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("since_run", sa.Integer, nullable=False),
    sa.Column("registered_at", UTCDateTime, nullable=False),
)

notify_deliveries = sa.Table(
    "notify_deliveries",
    metadata,
    sa.Column(
        "outbox_id",
        sa.Integer,
        sa.ForeignKey("notify_outbox.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=False),
)


harvests = sa.Table(
    "harvests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("set_spec", sa.String(64), nullable=False),  # "" harvests every set
    sa.Column("metadata_prefix", sa.String(32), nullable=False),
    sa.Column("from_date", sa.Date),
    sa.Column("until_date", sa.Date),
    sa.Column("status", sa.String(16), nullable=False),  # running, complete
    sa.Column("token", sa.Text),  # the last resumption token, committed with its page
    sa.Column("cursor", sa.Integer, nullable=False, default=0),  # records received so far
    sa.Column("complete_list_size", sa.Integer),
    sa.Column("pages", sa.Integer, nullable=False, default=0),
    sa.Column("papers", sa.Integer, nullable=False, default=0),  # new or revised in the store
    sa.Column("deleted", sa.Integer, nullable=False, default=0),
    sa.Column("last_datestamp", sa.Date),  # the newest record datestamp committed
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
)

# How far the local source has evaluated a topic: every paper whose
# ``last_seen`` is at or before ``evaluated_until`` was matched against it.
topic_evaluations = sa.Table(
    "topic_evaluations",
    metadata,
    sa.Column(
        "topic_id", sa.Integer, sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("evaluated_until", UTCDateTime, nullable=False),
    sa.Column("evaluated_at", UTCDateTime, nullable=False),
)

papers_last_seen = sa.Index("ix_papers_last_seen", papers.c.last_seen)


def _m001_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=[papers, topics, topic_papers, runs])


def _m002_notify_outbox(conn: Connection) -> None:
    metadata.create_all(conn, tables=[notify_outbox, notify_channels, notify_deliveries])


def _m003_full_text_search(conn: Connection) -> None:
    """The full-text index (:mod:`dailypapers.fts`), filled from the stored papers."""
    fts.create(conn)
    reindex_search(conn)


def reindex_search(conn: Connection) -> int:
    """Rebuild the full-text index entry of every stored paper; returns how many."""
    if not fts.supported(conn.dialect.name):
        return 0
    return fts.reindex_all(conn, _all_papers(conn))


def _m004_fetch_state(conn: Connection) -> None:
    from dailypapers import fetchstate  # its tables live beside the code that uses them

    fetchstate.migrate(conn)


def _m005_harvest(conn: Connection) -> None:
    metadata.create_all(conn, tables=[harvests, topic_evaluations])
    papers_last_seen.create(conn, checkfirst=True)


def _m008_library(conn: Connection) -> None:
    from dailypapers.rank import libstore  # its tables live beside the code that uses them

    libstore.migrate(conn)


_FULL_TEXT_MIGRATION = 3
Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial", _m001_initial),
    (2, "notify_outbox", _m002_notify_outbox),
    (3, "full_text_search", _m003_full_text_search),
    (4, "fetch_state", _m004_fetch_state),
    (5, "harvest_state", _m005_harvest),
    (8, "library", _m008_library),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass(frozen=True)
class SaveResult:
    """What storing one topic's fetched papers changed."""

    new: int = 0
    revised: int = 0
    linked: int = 0

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


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """A dailypapers database. Open with :func:`open_store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._search_index: bool | None = None  # migration 3 applied (None: not known yet)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
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
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
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
                with self.transaction() as conn:
                    return work(conn)
            except sa.exc.DBAPIError as exc:
                if attempt == attempts or not _is_retryable(exc):
                    raise StoreError(f"database error: {_first_line(exc)}") from exc
                log.warning("transaction aborted (%s), retrying", _first_line(exc))
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)
        raise AssertionError("unreachable")

    # -- schema -------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied (idempotent)."""
        with self.transaction() as conn:
            if self.dialect == "postgresql":
                # Two processes opening a new database at once: one migrates, one waits.
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            self._check_ours(conn)
            metadata.create_all(conn, tables=[schema_migrations])
            done = set(conn.scalars(sa.select(schema_migrations.c.version)))
            applied = []
            for version, name, migration in MIGRATIONS:
                if version not in done:
                    migration(conn)
                    conn.execute(
                        schema_migrations.insert().values(
                            version=version, name=name, applied_at=utcnow()
                        )
                    )
                    applied.append(name)
                    done.add(version)
            self._search_index = _FULL_TEXT_MIGRATION in done
        return applied

    def _has_search_index(self, conn: Connection) -> bool:
        if self._search_index is None:  # opened without migrating
            self._search_index = sa.inspect(conn).has_table("paper_search")
        return self._search_index

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            version = conn.scalar(sa.select(sa.func.max(schema_migrations.c.version)))
        return int(version or 0)

    def _check_ours(self, conn: Connection) -> None:
        names = set(sa.inspect(conn).get_table_names())
        if names and "schema_migrations" not in names:
            raise StoreError(
                f"{_describe_url(self.engine)} is not a dailypapers database "
                f"(it has other tables: {', '.join(sorted(names)[:3])}); refusing to touch it"
            )
        if "schema_migrations" in names:
            newest = conn.scalar(sa.select(sa.func.max(schema_migrations.c.version))) or 0
            if newest > SCHEMA_VERSION:
                raise StoreError(
                    f"database schema version {newest} is newer than this dailypapers "
                    f"understands ({SCHEMA_VERSION}); upgrade dailypapers"
                )

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
        conn.execute(_insert_ignore(self.dialect, topics).values(**values))
        return int(conn.execute(sa.select(topics.c.id).where(where)).scalar_one())

    def known_versions(self, conn: Connection, topic_id: int) -> dict[str, int]:
        """``{paper id: stored version}`` for every paper linked to a topic."""
        rows = conn.execute(
            sa.select(papers.c.id, papers.c.version)
            .join(topic_papers, topic_papers.c.paper_id == papers.c.id)
            .where(topic_papers.c.topic_id == topic_id)
        )
        return {row.id: row.version for row in rows}

    def save_papers(self, conn: Connection, fetched: Sequence[Paper], now: datetime) -> SaveResult:
        """Insert new papers, replace older versions, touch ``last_seen`` of the rest."""
        latest: dict[str, Paper] = {}
        for paper in fetched:
            if paper.id not in latest or paper.is_newer_than(latest[paper.id]):
                latest[paper.id] = paper
        stored = self._stored_versions(conn, list(latest))
        new = [p for p in latest.values() if p.id not in stored]
        revised = [p for p in latest.values() if p.id in stored and _newer(p, stored[p.id])]
        if new or revised:
            # Rows in id order: concurrent writers then lock them in the same order.
            rows = sorted((_row(p, now) for p in new + revised), key=lambda row: row["id"])
            conn.execute(_upsert_newer(self.dialect), rows)
            if self._has_search_index(conn):
                # Index what the upsert left in the table (a concurrent run may have won).
                fts.index_papers(conn, stored_papers(conn, [row["id"] for row in rows]))
        seen = sorted(pid for pid in latest if pid in stored)
        for chunk in _chunks(seen, 500):
            conn.execute(papers.update().where(papers.c.id.in_(chunk)).values(last_seen=now))
        return SaveResult(new=len(new), revised=len(revised))

    def link(self, conn: Connection, topic_id: int, paper_ids: Iterable[str], now: datetime) -> int:
        """Link papers to a topic; returns how many links are new."""
        ids = sorted(set(paper_ids))
        existing: set[str] = set()
        for chunk in _chunks(ids, 500):
            existing.update(
                conn.scalars(
                    sa.select(topic_papers.c.paper_id).where(
                        (topic_papers.c.topic_id == topic_id) & topic_papers.c.paper_id.in_(chunk)
                    )
                )
            )
        rows = [
            {"topic_id": topic_id, "paper_id": pid, "matched_at": now}
            for pid in ids
            if pid not in existing
        ]
        if rows:
            conn.execute(_insert_ignore(self.dialect, topic_papers), rows)
        return len(rows)

    def mark_evaluated(
        self, conn: Connection, topic_id: int, until: datetime, now: datetime
    ) -> None:
        """Record that the topic was matched against every paper seen up to ``until``."""
        module = postgresql if self.dialect == "postgresql" else sqlite
        statement = module.insert(topic_evaluations).values(
            topic_id=topic_id, evaluated_until=until, evaluated_at=now
        )
        excluded = statement.excluded
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[topic_evaluations.c.topic_id],
                set_={"evaluated_until": excluded.evaluated_until, "evaluated_at": now},
                where=excluded.evaluated_until > topic_evaluations.c.evaluated_until,
            )
        )

    def evaluated_until(self, conn: Connection, topic_id: int) -> datetime | None:
        """How far :meth:`mark_evaluated` recorded for the topic; ``None``: never."""
        return conn.scalar(
            sa.select(topic_evaluations.c.evaluated_until).where(
                topic_evaluations.c.topic_id == topic_id
            )
        )

    def topic_papers(self, topic_id: int, limit: int | None = None) -> list[Paper]:
        """A topic's papers, newest first (by last update, then first version, then id)."""
        query = (
            sa.select(papers)
            .join(topic_papers, topic_papers.c.paper_id == papers.c.id)
            .where(topic_papers.c.topic_id == topic_id)
            .order_by(papers.c.updated.desc(), papers.c.published.desc(), papers.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [paper_from_row(row._mapping) for row in conn.execute(query)]

    def find_topic(self, name: str, query: str) -> int | None:
        with self.engine.connect() as conn:
            where = (topics.c.name == name) & (topics.c.query == query)
            found = conn.scalar(sa.select(topics.c.id).where(where))
        return None if found is None else int(found)

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(papers)) or 0)

    def _stored_versions(self, conn: Connection, ids: list[str]) -> dict[str, tuple[int, datetime]]:
        stored: dict[str, tuple[int, datetime]] = {}
        for chunk in _chunks(ids, 500):
            rows = conn.execute(
                sa.select(papers.c.id, papers.c.version, papers.c.updated).where(
                    papers.c.id.in_(chunk)
                )
            )
            stored.update({row.id: (row.version, row.updated) for row in rows})
        return stored

    # -- runs ---------------------------------------------------------------

    def start_run(self, command: str, started_at: datetime | None = None) -> int:
        with self.transaction() as conn:
            statement = runs.insert().values(
                command=command, started_at=started_at or utcnow(), status="running"
            )
            return int(conn.execute(statement.returning(runs.c.id)).scalar_one())

    def finish_run(self, run_id: int, status: str, **fields: Any) -> None:
        """Record how a run ended (``requests``, ``bytes``, ``new_papers``, ``error``...)."""
        with self.transaction() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=utcnow(), **fields)
            )

    def mark_interrupted(self) -> int:
        """Mark runs left ``running`` by a killed process; call while holding the run lock."""
        with self.transaction() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.status == "running")
                .values(status="interrupted", error="the process stopped before finishing")
            )
            return int(result.rowcount or 0)

    def last_runs(self, limit: int = 10) -> list[RunRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(limit))
            return [RunRecord(**row._mapping) for row in rows]


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open (and by default migrate) the database at a SQLAlchemy URL."""
    engine = _engine(url)
    store = Store(engine)
    try:
        if migrate:
            store.migrate()
        else:
            with engine.connect() as conn:
                store._check_ours(conn)
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        raise StoreError(f"cannot use {_describe_url(engine)}: {_first_line(exc)}") from None
    except StoreError:
        engine.dispose()
        raise
    return store


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for other databases and in-memory SQLite)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return Path(url.removeprefix("sqlite:///"))
    return None


def _engine(url: str) -> Engine:
    if (path := sqlite_path(url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        backend = sa.engine.make_url(url).get_backend_name()
        if backend not in SUPPORTED_DIALECTS:
            raise StoreError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"bad store URL {_masked(url)!r}: {_first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


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
    cursor.close()


def _masked(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.split("@")[-1]


def _describe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _insert_ignore(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def _upsert_newer(dialect: str) -> Any:
    """INSERT a paper, or replace the stored row when this one is a newer version.

    Atomic in the database, so concurrent runs sharing one store (PostgreSQL)
    cannot downgrade a paper or collide on a new one.
    """
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(papers)
    excluded = statement.excluded
    content = [c.name for c in papers.columns if c.name not in ("id", "first_seen")]
    newer = (excluded.version > papers.c.version) | (
        (excluded.version == papers.c.version) & (excluded.updated > papers.c.updated)
    )
    return statement.on_conflict_do_update(
        index_elements=[papers.c.id],
        set_={name: excluded[name] for name in content},
        where=newer,
    )


def _newer(paper: Paper, stored: tuple[int, datetime]) -> bool:
    return (paper.version, paper.updated) > stored


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _row(paper: Paper, now: datetime) -> dict[str, Any]:
    return {
        "id": paper.id,
        "version": paper.version,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": [{"name": a.name, "affiliations": list(a.affiliations)} for a in paper.authors],
        "categories": list(paper.categories),
        "primary_category": paper.primary,
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "published": paper.published,
        "updated": paper.updated,
        "first_seen": now,
        "last_seen": now,
    }


def stored_papers(conn: Connection, ids: Sequence[str]) -> list[Paper]:
    """The stored papers with these ids, in id order (unknown ids are skipped)."""
    found: list[Paper] = []
    for chunk in _chunks(sorted(ids), 500):
        query = sa.select(papers).where(papers.c.id.in_(chunk)).order_by(papers.c.id)
        found.extend(paper_from_row(row._mapping) for row in conn.execute(query))
    return found


def _all_papers(conn: Connection, size: int = 2000) -> Iterator[list[Paper]]:
    """Every stored paper, in batches (keyset paging by id)."""
    last = ""
    while True:
        query = sa.select(papers).where(papers.c.id > last).order_by(papers.c.id).limit(size)
        batch = [paper_from_row(row._mapping) for row in conn.execute(query)]
        if not batch:
            return
        yield batch
        last = batch[-1].id


def paper_from_row(row: Any) -> Paper:
    """Rebuild a :class:`Paper` from a ``papers`` row mapping."""
    return Paper(
        id=row["id"],
        version=row["version"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(Author(a["name"], tuple(a.get("affiliations", ()))) for a in row["authors"]),
        categories=tuple(row["categories"]),
        primary=row["primary_category"],
        published=row["published"],
        updated=row["updated"],
        comment=row["comment"],
        journal_ref=row["journal_ref"],
        doi=row["doi"],
    )
