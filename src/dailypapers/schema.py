"""Every table and migration of the store, and how a paper maps to its row.

The schema evolves through numbered, idempotent migrations recorded in
``schema_migrations`` (:data:`MIGRATIONS`); :meth:`dailypapers.store.Store.migrate`
applies them. Tables: papers, topics and their links, runs (with their owner),
the notification outbox (migration 2), the full-text index (migration 3,
:mod:`dailypapers.fts`), what fetching remembers (migration 4,
:mod:`dailypapers.fetchstate`), harvests and topic evaluations (migration 5),
run owners (migration 6), fetch totals (migration 7), TL;DR summaries (migration 8,
:mod:`dailypapers.summarystore`), the reader's library and ranking caches
(migration 9, :mod:`dailypapers.rank.libstore`), PostgreSQL's field-exact index
(migration 12, :mod:`dailypapers.fts`), notification streaks (migration 13,
:mod:`dailypapers.notify.listing`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers import fts
from dailypapers.models import (
    Author,
    Paper,
    StoredValueError,
    stored_value_error,
    stored_value_problem,
)


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


class RunStatus(StrEnum):
    """How a run ended (the ``runs.status`` column, and the reports' ``status``)."""

    RUNNING = "running"
    UPDATED = "updated"
    NOTHING_NEW = "nothing new"
    NO_ANNOUNCEMENT = "no announcement"
    RENDERED = "rendered"
    NOTIFIED = "notified"
    COMPLETE = "complete"
    DRY_RUN = "dry run"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


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
    # Who runs it (migration 6): only a run whose owner is provably gone is
    # ever marked interrupted by another process.
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("lock", sa.Text),
)
_RUN_OWNER_COLUMNS = ("host", "pid", "lock")

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

# Written by versions before 13 only (the first run each channel *kind* was owed);
# read once per project to adopt it (:mod:`dailypapers.notify.listing`).
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
    # The destination (``email:3f2a...``, :func:`dailypapers.notify.channel.destination_key`);
    # a bare kind (``email``) in rows written before migration 13.
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=False),
)

# Who is owed what (migration 13, :mod:`dailypapers.notify.listing`): per project (its
# run lock's path, hashed) and item (``topic:ID`` or a destination such as
# ``email:3f2a...``), the first run of the current unbroken streak of the project's
# notification runs that listed it (``listed_from``) and the last (``listed_run``).
notify_listings = sa.Table(
    "notify_listings",
    metadata,
    sa.Column("project", sa.String(32), primary_key=True),
    sa.Column("item", sa.String(64), primary_key=True),
    sa.Column("listed_from", sa.Integer, nullable=False),
    sa.Column("listed_run", sa.Integer, nullable=False),
    sa.Column("listed_at", UTCDateTime, nullable=False),
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

# What fetching remembers between runs (migration 4; see :mod:`dailypapers.fetchstate`).
topic_fetch_state = sa.Table(
    "topic_fetch_state",
    metadata,
    sa.Column(
        "topic_id", sa.Integer, sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    # arXiv's totalResults for the topic's query at that fetch (migration 7);
    # NULL when the source does not report it.
    sa.Column("total_results", sa.Integer, nullable=True),
)

fetch_markers = sa.Table(
    "fetch_markers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# ``scope`` names the set of topics a source works for (several configs can
# share one store): one config's pending ids and markers are never another's.
pending_papers = sa.Table(
    "pending_papers",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),
    sa.Column("paper_id", sa.String(64), primary_key=True),
    sa.Column("since", UTCDateTime, nullable=False),
)

backfill_windows = sa.Table(
    "backfill_windows",
    metadata,
    sa.Column(
        "topic_id", sa.Integer, sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("first_day", sa.Date, primary_key=True),
    sa.Column("last_day", sa.Date, primary_key=True),
    sa.Column("papers", sa.Integer, nullable=False),
    sa.Column("done_at", UTCDateTime, nullable=False),
)

# TL;DRs (migration 8; see :mod:`dailypapers.summarystore`): one row per attempt's
# outcome for a paper version, model, prompt and language.
paper_summaries = sa.Table(
    "paper_summaries",
    metadata,
    sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("prompt_hash", sa.String(32), primary_key=True),
    sa.Column("language", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tldr", sa.Text),
    sa.Column("motivation", sa.Text),
    sa.Column("method", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("tokens_in", sa.Integer, nullable=False, default=0),
    sa.Column("tokens_out", sa.Integer, nullable=False, default=0),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

FETCH_STATE_TABLES = [topic_fetch_state, fetch_markers, pending_papers, backfill_windows]

# The reader's library and ranking caches (migration 9, :mod:`dailypapers.rank.libstore`).
library_files = sa.Table(
    "library_files",
    metadata,
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("imported_at", UTCDateTime, nullable=False),
)

library_items = sa.Table(
    "library_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "path",
        sa.String(1024),
        sa.ForeignKey("library_files.path", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("abstract", sa.Text, nullable=False),
    sa.Column("arxiv_id", sa.String(64)),
    sa.Column("doi", sa.Text),
    sa.Column("added", UTCDateTime),
    sa.Column("collections", sa.JSON, nullable=False),
    sa.Column("paper_id", sa.String(64)),  # the stored paper it matched, if any
    sa.Column("terms", sa.JSON, nullable=False),  # term counts of its own text
)

paper_terms = sa.Table(
    "paper_terms",
    metadata,
    sa.Column("paper_id", sa.String(64), sa.ForeignKey("papers.id"), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("terms", sa.JSON, nullable=False),
)

rank_terms = sa.Table(
    "rank_terms",
    metadata,
    sa.Column("term", sa.String(128), primary_key=True),
    sa.Column("df", sa.Integer, nullable=False),
)

rank_corpus = sa.Table(
    "rank_corpus",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("documents", sa.Integer, nullable=False),
    sa.Column("total_length", sa.BigInteger, nullable=False),
)

LIBRARY_TABLES = [library_files, library_items, paper_terms, rank_terms, rank_corpus]

# Vectors from an embeddings endpoint (migration 10, :mod:`dailypapers.rank.embedstore`):
# ``key`` is a paper id (``version`` its version) or ``text:`` plus the digest
# of a library item's own text (version 0); one row per key and model.
text_embeddings = sa.Table(
    "text_embeddings",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("vector", sa.JSON, nullable=False),
)


papers_last_seen = sa.Index("ix_papers_last_seen", papers.c.last_seen)
# Covers "when was each of these papers last updated": a cold local topic
# orders its full-text candidates by it without reading the papers' rows.
papers_id_updated = sa.Index("ix_papers_id_updated", papers.c.id, papers.c.updated)


def _m001_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=[papers, topics, topic_papers, runs])


def _m002_notify_outbox(conn: Connection) -> None:
    metadata.create_all(conn, tables=[notify_outbox, notify_channels, notify_deliveries])


def _m003_full_text_search(conn: Connection) -> None:
    """The full-text index (:mod:`dailypapers.fts`), filled from the stored papers.

    Its own part only: PostgreSQL's field-exact index is migration 12's, which
    creates and fills it once (an old store is not filled twice on upgrade).
    """
    fts.create(conn)
    reindex_search(conn, fields=False)


def reindex_search(conn: Connection, *, fields: bool = True) -> int:
    """Rebuild the full-text index entry of every stored paper; returns how many.

    ``fields=False``: not PostgreSQL's field-exact index (:func:`fts.index_papers`).
    """
    if not fts.supported(conn.dialect.name):
        return 0
    return fts.reindex_all(conn, all_papers(conn), fields=fields)


def _m004_fetch_state(conn: Connection) -> None:
    """Migration 4: create the tables; topics that already have papers count as fetched."""
    metadata.create_all(conn, tables=FETCH_STATE_TABLES)
    done = sa.select(topic_fetch_state.c.topic_id)
    latest = (
        sa.select(
            topic_papers.c.topic_id,
            sa.func.max(topic_papers.c.matched_at).label("fetched_at"),
            sa.literal("api").label("source"),
        )
        .where(topic_papers.c.topic_id.not_in(done))
        .group_by(topic_papers.c.topic_id)
    )
    conn.execute(
        topic_fetch_state.insert().from_select(["topic_id", "fetched_at", "source"], latest)
    )


def _m005_harvest(conn: Connection) -> None:
    metadata.create_all(conn, tables=[harvests, topic_evaluations])
    papers_last_seen.create(conn, checkfirst=True)


def _m006_run_owner(conn: Connection) -> None:
    """The owner columns of ``runs`` (a new store has them from migration 1)."""
    existing = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
    preparer = conn.dialect.identifier_preparer
    for name in _RUN_OWNER_COLUMNS:
        if name not in existing:
            column = runs.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {preparer.quote(name)} {kind}")


def _m007_fetch_totals(conn: Connection) -> None:
    """Remember arXiv's total at each topic's last fetch (a new store has it from migration 4)."""
    existing = {c["name"] for c in sa.inspect(conn).get_columns("topic_fetch_state")}
    if "total_results" not in existing:
        conn.exec_driver_sql("ALTER TABLE topic_fetch_state ADD COLUMN total_results INTEGER")


def _m008_summaries(conn: Connection) -> None:
    metadata.create_all(conn, tables=[paper_summaries])


def _m009_library(conn: Connection) -> None:
    metadata.create_all(conn, tables=LIBRARY_TABLES)


def _m010_embeddings(conn: Connection) -> None:
    metadata.create_all(conn, tables=[text_embeddings])


def _m011_papers_id_updated(conn: Connection) -> None:
    papers_id_updated.create(conn, checkfirst=True)


def _m012_field_index(conn: Connection) -> None:
    """PostgreSQL's field-exact index (:func:`dailypapers.fts.create_fields`), filled
    from every stored paper, its GIN index built once after the fill. Nothing on SQLite
    (FTS5 already matches a column exactly)."""
    if conn.dialect.name != fts.POSTGRESQL:
        return
    fts.create_fields(conn, index=False)
    for batch in all_papers(conn):
        fts.index_fields(conn, batch)
    fts.create_fields(conn)


LEGACY_ITEM = "legacy"  # a project's notification state from before migration 13


def project_key(lock: str) -> str:
    """A project's key in ``notify_listings``: its run lock's path (``runs.lock``), hashed."""
    return hashlib.sha256(lock.encode("utf-8", "backslashreplace")).hexdigest()[:32]


def _m013_notify_listings(conn: Connection) -> None:
    """Deliveries keyed by destination: the streaks table. The kind-keyed rows of older
    versions (``notify_deliveries.channel`` = ``email``, ``notify_channels``) stay as they
    are: a project's first notification step adopts them for its destinations of that
    kind (:mod:`dailypapers.notify.listing`), since only the config knows the destination.
    Each project that ran before gets a :data:`LEGACY_ITEM` listing, so only its very
    next step continues the old state; a project that first ran afterwards never does."""
    metadata.create_all(conn, tables=[notify_listings])
    last = sa.func.max(runs.c.id).label("last")
    projects = conn.execute(
        sa.select(runs.c.lock, last).where(runs.c.lock.is_not(None)).group_by(runs.c.lock)
    ).all()
    rows = [
        {
            "project": project_key(row.lock),
            "item": LEGACY_ITEM,
            "listed_from": 0,
            "listed_run": int(row.last),
            "listed_at": datetime.now(UTC),
        }
        for row in projects
    ]
    existing = {
        row.project
        for row in conn.execute(
            sa.select(notify_listings.c.project).where(notify_listings.c.item == LEGACY_ITEM)
        )
    }
    rows = [row for row in rows if row["project"] not in existing]
    if rows:
        conn.execute(notify_listings.insert(), rows)


FULL_TEXT_MIGRATION = 3
FIELD_INDEX_MIGRATION = 12
Migration = Callable[[Connection], None]
MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial", _m001_initial),
    (2, "notify_outbox", _m002_notify_outbox),
    (3, "full_text_search", _m003_full_text_search),
    (4, "fetch_state", _m004_fetch_state),
    (5, "harvest_state", _m005_harvest),
    (6, "run_owner", _m006_run_owner),
    (7, "fetch_totals", _m007_fetch_totals),
    (8, "summaries", _m008_summaries),
    (9, "library", _m009_library),
    (10, "embeddings", _m010_embeddings),
    (11, "papers_id_updated", _m011_papers_id_updated),
    (12, "field_index", _m012_field_index),
    (13, "notify_listings", _m013_notify_listings),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def paper_row(paper: Paper, now: datetime) -> dict[str, Any]:
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


def all_papers(conn: Connection, size: int = 2000) -> Iterator[list[Paper]]:
    """Every stored paper, in batches (keyset paging by id)."""
    last = ""
    while True:
        query = sa.select(papers).where(papers.c.id > last).order_by(papers.c.id).limit(size)
        batch = [paper_from_row(row._mapping) for row in conn.execute(query)]
        if not batch:
            return
        yield batch
        last = batch[-1].id


def find_damaged(
    conn: Connection, topic_id: int | None = None, only: Sequence[str] | None = None
) -> StoredValueError | None:
    """The first stored paper (of ``topic_id``; of the ``only`` ids; else of all) with a
    value no reader can use.

    Read when reading or rendering papers failed: each column as the driver
    returns it, unconverted, so the failing paper and column can be named.
    """
    if only is None:
        return next(iter_damaged(conn, topic_id), None)
    for start in range(0, len(only), _ONLY_CHUNK):
        part = only[start : start + _ONLY_CHUNK]
        if found := next(iter_damaged(conn, topic_id, part), None):
            return found
    return None


_ONLY_CHUNK = 500  # ids a query names at a time


def has_library(conn: Connection) -> bool:
    """True when any library entry is stored (``[library] paths`` or ``library import``).

    Here rather than in ``rank.libstore``, so that an update without a
    library asks this without loading the ranking's modules.
    """
    return conn.scalar(sa.select(library_items.c.id).limit(1)) is not None


def suspect_ids(conn: Connection) -> list[str] | None:
    """Ids of the papers the database itself finds may hold a damaged value, by its own
    type and JSON checks (a superset of what the readers refuse; ``None``: no such
    checks for this database). Confirm each with :func:`find_damaged`."""
    sql = _SUSPECTS.get(conn.dialect.name)
    return None if sql is None else [str(i) for i in conn.scalars(sa.text(sql))]


def iter_damaged(
    conn: Connection, topic_id: int | None = None, only: Sequence[str] | None = None
) -> Iterator[StoredValueError]:
    """Each stored paper's first damaged value (of ``topic_id``; of the ``only`` ids)."""
    raw = [_unconverted(conn, column) for column in papers.c if column.name in _READ]
    query = sa.select(*raw, topics.c.name if topic_id is not None else sa.null())
    if only is not None:
        query = query.where(papers.c.id.in_(only))
    if topic_id is not None:
        query = query.join_from(papers, topic_papers, topic_papers.c.paper_id == papers.c.id)
        query = query.join(topics, topics.c.id == topic_papers.c.topic_id)
        query = query.where(topic_papers.c.topic_id == topic_id)
    for *values, topic in conn.execute(query):
        for column, value in zip(_READ, values, strict=True):
            if problem := stored_value_problem(column, value):
                yield stored_value_error(values[0], column, value, problem, topic)
                break


def _unconverted(conn: Connection, column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """``column`` as its stored value: a PostgreSQL time as text, since its driver
    cannot load ``infinity`` or a year past 9999 as a datetime (SQLite stores text)."""
    if conn.dialect.name != "sqlite" and isinstance(column.type, UTCDateTime):
        return sa.cast(column, sa.Text).label(column.name)
    return sa.type_coerce(column, sa.String)


# The columns a Paper is read from (not first_seen, last_seen), the id first.
_READ = tuple(c.name for c in papers.c if c.name not in ("first_seen", "last_seen"))


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


_TEXT_OR_NULL = "IN ('text', 'null')"
_SQLITE_SUSPECTS = f"""
SELECT id FROM papers WHERE NOT (
  typeof(id) = 'text' AND typeof(version) = 'integer' AND version BETWEEN 1 AND 10000
  AND typeof(title) = 'text' AND typeof(abstract) = 'text'
  AND typeof(primary_category) = 'text' AND typeof(comment) {_TEXT_OR_NULL}
  AND typeof(journal_ref) {_TEXT_OR_NULL} AND typeof(doi) {_TEXT_OR_NULL}
  AND datetime(published) IS NOT NULL AND datetime(updated) IS NOT NULL
  AND substr(published, 1, 4) BETWEEN '1900' AND '9900'
  AND substr(updated, 1, 4) BETWEEN '1900' AND '9900'
  AND typeof(authors) = 'text' AND json_valid(authors) AND json_type(authors) = 'array'
  AND typeof(categories) = 'text' AND json_valid(categories)
  AND json_type(categories) = 'array'
  AND NOT EXISTS (SELECT 1 FROM json_each(
    CASE WHEN json_valid(categories) THEN categories ELSE '[]' END) WHERE type <> 'text')
  AND NOT EXISTS (SELECT 1 FROM json_each(
    CASE WHEN json_valid(authors) THEN authors ELSE '[]' END) AS a
    WHERE a.type <> 'object' OR json_type(a.value, '$.name') IS NOT 'text'
      OR json_type(a.value, '$.affiliations') NOT IN ('array', 'null')
      OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(a.value, '$.affiliations')
        = 'array' THEN json_extract(a.value, '$.affiliations') ELSE '[]' END)
        WHERE type <> 'text'))
)
"""
# PostgreSQL's columns hold their types; only the JSON values' shapes can be wrong.
_POSTGRESQL_SUSPECTS = """
SELECT id FROM papers WHERE version NOT BETWEEN 1 AND 10000
  OR EXTRACT(YEAR FROM published) NOT BETWEEN 1900 AND 9900
  OR EXTRACT(YEAR FROM updated) NOT BETWEEN 1900 AND 9900
  OR json_typeof(authors) <> 'array' OR json_typeof(categories) <> 'array'
  OR EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(categories) = 'array'
    THEN categories ELSE '[]' END) AS c WHERE json_typeof(c) <> 'string')
  OR EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(authors) = 'array'
    THEN authors ELSE '[]' END) AS a
    WHERE json_typeof(a) <> 'object' OR json_typeof(a -> 'name') IS DISTINCT FROM 'string'
      OR coalesce(json_typeof(a -> 'affiliations'), 'null') NOT IN ('array', 'null')
      OR EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(a -> 'affiliations')
        = 'array' THEN a -> 'affiliations' ELSE '[]' END) AS f
        WHERE json_typeof(f) <> 'string'))
"""
_SUSPECTS = {"sqlite": _SQLITE_SUSPECTS, "postgresql": _POSTGRESQL_SUSPECTS}
