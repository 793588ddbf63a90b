"""The history: papers, which topics matched them, and every run (SQLAlchemy Core).

SQLite by default (``.dailypapers/papers.db``); any SQLAlchemy URL works, and
PostgreSQL is supported for shared deployments. The schema evolves through
numbered, idempotent migrations recorded in ``schema_migrations``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DatabaseError, OperationalError

from dailypapers.models import Author, Paper


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


def _m001_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=[papers, topics, topic_papers, runs])


def _m004_fetch_state(conn: Connection) -> None:
    from dailypapers import fetchstate  # its tables live beside the code that uses them

    fetchstate.migrate(conn)


Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial", _m001_initial),
    (4, "fetch_state", _m004_fetch_state),
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
        """One transaction: everything inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    # -- schema -------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied (idempotent)."""
        with self.transaction() as conn:
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
        return applied

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
        statement = topics.insert().values(name=name, query=query, created_at=utcnow())
        return int(conn.execute(statement.returning(topics.c.id)).scalar_one())

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
            conn.execute(_upsert_newer(self.dialect), [_row(p, now) for p in new + revised])
        seen = [pid for pid in latest if pid in stored]
        for chunk in _chunks(seen, 500):
            conn.execute(papers.update().where(papers.c.id.in_(chunk)).values(last_seen=now))
        return SaveResult(new=len(new), revised=len(revised))

    def link(self, conn: Connection, topic_id: int, paper_ids: Iterable[str], now: datetime) -> int:
        """Link papers to a topic; returns how many links are new."""
        ids = list(dict.fromkeys(paper_ids))
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
                conn.execute(sa.text("SELECT 1"))
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        raise StoreError(f"cannot use {_describe_url(engine)}: {_first_line(exc)}") from None
    except StoreError:
        engine.dispose()
        raise
    return store


def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"bad store URL {url!r}: {_first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
