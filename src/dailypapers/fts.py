"""The full-text index of the store: SQLite FTS5 or PostgreSQL ``tsvector``.

The index holds each paper's text *already analysed* by
:func:`dailypapers.arxiv.query.analyze` (accent-folded, lower-cased, split on
non-word characters, Snowball-stemmed), never raw text. The database's own
tokenizer therefore only splits on the spaces we put between tokens (FTS5's
``ascii`` tokenizer; PostgreSQL gets ready-made lexemes), and a query term is
looked up by the very stems the local query engine compares. That is what
makes :func:`candidates` safe: every paper that :func:`query.matches` accepts
is among the candidates (no false negatives); the exact matcher then drops
the extra ones (phrases across authors, ``ANDNOT``, ``id:``, dates...).

Tables (migration 3): ``paper_search`` maps papers to the index
(SQLite: ``id INTEGER PRIMARY KEY`` = the FTS rowid, stable across VACUUM;
PostgreSQL: the ``tsvector`` itself, with a GIN index) and, on SQLite,
``paper_search_fts`` (FTS5, columns ``ti abs au co jr cat``); on PostgreSQL
also ``paper_fields`` (migration 12), field-tagged lexemes that the local
source's candidate queries read (exact per field). Every write to
``papers`` must be followed by :func:`index_papers` for the same ids, in the
same transaction (``Store.save_papers`` does this).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.arxiv import query as q
from dailypapers.ftsquery import (
    BM25_WEIGHTS,
    COLUMNS,
    MAX_TOKEN,
    PG_WEIGHTS,
    POSTGRESQL,
    SQLITE,
    AllOf,
    AnyOf,
    Candidates,
    Const,
    Indexed,
    Phrase,
    candidates,
    field_lexeme,
    field_tsquery,
    fts5_expression,
    quote_lexeme,
    supported,
    tsquery_expression,
    with_phrase_boost,
)
from dailypapers.models import Paper

_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
_MAX_POSITIONS_PER_LEXEME = 255
_BATCH = 500

# --- schema ------------------------------------------------------------------

_SQLITE_DDL = (
    "CREATE TABLE IF NOT EXISTS paper_search ("
    " id INTEGER PRIMARY KEY,"
    " paper_id VARCHAR(64) NOT NULL UNIQUE REFERENCES papers (id))",
    "CREATE VIRTUAL TABLE IF NOT EXISTS paper_search_fts"
    f" USING fts5({', '.join(COLUMNS)}, tokenize='ascii')",
)
_POSTGRESQL_DDL = (
    "CREATE TABLE IF NOT EXISTS paper_search ("
    " paper_id VARCHAR(64) PRIMARY KEY REFERENCES papers (id),"
    " vector TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_paper_search_vector ON paper_search USING GIN (vector)",
)
# PostgreSQL's field-exact index (migration 12): the candidates of a cold
# local topic. ``terms`` holds field-tagged lexemes (``ti.spars``, no
# positions), so a ``ti:`` term is answered by the GIN index alone; the row
# keeps only the id and the update time (the terms go out of line, into the
# TOAST table, which no query reads), so reading thousands of candidates'
# ``(id, updated)`` touches few pages.
_POSTGRESQL_FIELDS_DDL = (
    "CREATE TABLE IF NOT EXISTS paper_fields ("
    " paper_id VARCHAR(64) PRIMARY KEY REFERENCES papers (id),"
    " updated TIMESTAMP NOT NULL,"
    " terms TSVECTOR NOT NULL)"
    " WITH (toast_tuple_target = 128)",
    "ALTER TABLE paper_fields ALTER COLUMN terms SET STORAGE EXTERNAL",
)
_POSTGRESQL_FIELDS_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_paper_fields_terms ON paper_fields USING GIN (terms)"
)


def create(conn: Connection) -> None:
    """Create the index tables of migration 3 for this connection's dialect (idempotent).

    Not ``paper_fields``: that is migration 12's (:func:`create_fields`).
    """
    ddl = {SQLITE: _SQLITE_DDL, POSTGRESQL: _POSTGRESQL_DDL}.get(conn.dialect.name, ())
    for statement in ddl:
        conn.execute(sa.text(statement))


def create_fields(conn: Connection, *, index: bool = True) -> None:
    """PostgreSQL's field-exact index (idempotent; nothing elsewhere). ``index=False``
    leaves out the GIN index (build it after a bulk fill: faster than row by row)."""
    if conn.dialect.name != POSTGRESQL:
        return
    for statement in (*_POSTGRESQL_FIELDS_DDL, *((_POSTGRESQL_FIELDS_INDEX,) if index else ())):
        conn.execute(sa.text(statement))


# --- indexing ----------------------------------------------------------------


def _tokens(text: str | None) -> list[str]:
    tokens = q.analyze(text or "")
    if tokens and max(map(len, tokens)) > MAX_TOKEN:  # rare: checked in C, filtered if so
        return [token for token in tokens if len(token) <= MAX_TOKEN]
    return tokens


def field_tokens(paper: Paper) -> dict[str, list[str]]:
    """The analysed tokens of each indexed field, as the local query engine sees them."""
    return {
        "ti": _tokens(paper.title),
        "abs": _tokens(paper.abstract),
        "au": _tokens(" ".join(paper.author_names)),  # a space separates: the same tokens
        "co": _tokens(paper.comment),
        "jr": _tokens(paper.journal_ref),
        "cat": _tokens(" ".join(paper.categories)),
    }


def tsvector_literal(fields: dict[str, list[str]]) -> str:
    """A ``tsvector`` literal of ready-made lexemes, weighted by field.

    Built by hand so that PostgreSQL's parser and dictionaries never touch
    the tokens (its own stemming and stop words would disagree with ours).
    """
    positions: dict[str, list[str]] = {}
    position = 0
    for field in COLUMNS:
        weight = PG_WEIGHTS[field]
        for token in fields[field]:
            position = min(position + 1, _MAX_POSITION)
            slots = positions.setdefault(token, [])
            if len(slots) < _MAX_POSITIONS_PER_LEXEME:
                slots.append(f"{position}{weight}")
    return " ".join(f"{quote_lexeme(token)}:{','.join(p)}" for token, p in positions.items())


def index_papers(conn: Connection, papers: Sequence[Paper], *, fields: bool = True) -> None:
    """(Re)index ``papers`` as stored; call after every write to ``papers``.

    ``fields=False`` leaves out PostgreSQL's field-exact index (migration 3
    on an old store, before migration 12 has made and filled it).
    """
    dialect = conn.dialect.name
    for start in range(0, len(papers), _BATCH):
        batch = papers[start : start + _BATCH]
        if dialect == SQLITE:
            _index_sqlite(conn, batch)
        elif dialect == POSTGRESQL:
            _index_postgresql(conn, batch, fields=fields)


def _index_sqlite(conn: Connection, papers: Sequence[Paper]) -> None:
    ids = [paper.id for paper in papers]
    conn.execute(
        sa.text("INSERT INTO paper_search (paper_id) VALUES (:pid) ON CONFLICT DO NOTHING"),
        [{"pid": pid} for pid in ids],
    )
    select = sa.text("SELECT id, paper_id FROM paper_search WHERE paper_id IN :ids")
    select = select.bindparams(sa.bindparam("ids", expanding=True))
    rowids = {pid: rowid for rowid, pid in conn.execute(select, {"ids": ids})}
    delete = sa.text("DELETE FROM paper_search_fts WHERE rowid IN :rowids")
    delete = delete.bindparams(sa.bindparam("rowids", expanding=True))
    conn.execute(delete, {"rowids": list(rowids.values())})
    names = ", ".join(COLUMNS)
    values = ", ".join(f":{c}" for c in COLUMNS)
    insert = sa.text(f"INSERT INTO paper_search_fts (rowid, {names}) VALUES (:rowid, {values})")
    rows = []
    for paper in papers:
        fields = field_tokens(paper)
        rows.append({"rowid": rowids[paper.id], **{c: " ".join(fields[c]) for c in COLUMNS}})
    conn.execute(insert, rows)


def field_terms_literal(fields: dict[str, list[str]]) -> str:
    """The ``tsvector`` literal of the field-exact index: each field's tokens, tagged."""
    lexemes = dict.fromkeys(field_lexeme(column, t) for column in COLUMNS for t in fields[column])
    return " ".join(quote_lexeme(lexeme) for lexeme in lexemes)


def _index_postgresql(conn: Connection, papers: Sequence[Paper], *, fields: bool) -> None:
    upsert = sa.text(
        "INSERT INTO paper_search (paper_id, vector) VALUES (:pid, CAST(:vector AS tsvector))"
        " ON CONFLICT (paper_id) DO UPDATE SET vector = excluded.vector"
    )
    analysed = [(paper, field_tokens(paper)) for paper in papers]
    conn.execute(upsert, [{"pid": p.id, "vector": tsvector_literal(f)} for p, f in analysed])
    if fields:
        _index_fields(conn, analysed)


def index_fields(conn: Connection, papers: Sequence[Paper]) -> None:
    """(Re)index ``papers`` in PostgreSQL's field-exact index only (migration 12)."""
    for start in range(0, len(papers), _BATCH):
        _index_fields(conn, [(p, field_tokens(p)) for p in papers[start : start + _BATCH]])


def _index_fields(conn: Connection, analysed: Sequence[tuple[Paper, dict[str, list[str]]]]) -> None:
    upsert = sa.text(
        "INSERT INTO paper_fields (paper_id, updated, terms)"
        " VALUES (:pid, :updated, CAST(:terms AS tsvector))"
        " ON CONFLICT (paper_id) DO UPDATE SET updated = excluded.updated, terms = excluded.terms"
    )
    rows = [
        {"pid": p.id, "updated": _naive_utc(p.updated), "terms": field_terms_literal(fields)}
        for p, fields in analysed
    ]
    conn.execute(upsert, rows)


def _naive_utc(moment: datetime) -> datetime:
    """As ``papers`` stores times (``schema.UTCDateTime``): UTC, without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def reindex_all(conn: Connection, rows: Iterable[Sequence[Paper]], *, fields: bool = True) -> int:
    """Index every batch of papers in ``rows`` and drop index rows of no paper; returns a count.

    ``fields``: as :func:`index_papers`.
    """
    count = 0
    for batch in rows:
        index_papers(conn, batch, fields=fields)
        count += len(batch)
    if conn.dialect.name == SQLITE:
        orphans = "DELETE FROM paper_search_fts WHERE rowid NOT IN (SELECT id FROM paper_search)"
        conn.execute(sa.text(orphans))
    return count


# --- queries -----------------------------------------------------------------


def index_counts(conn: Connection, *, every_table: bool = True) -> tuple[int, list[int]]:
    """Stored papers, and the rows of each index table (``paper_search`` first).

    ``every_table=False`` counts ``paper_search`` only (on SQLite, counting
    the FTS5 table reads the whole index). PostgreSQL's field-exact index is
    counted when it exists (a store opened without migrating may predate it).
    """
    tables = ["paper_search"]
    if every_table and conn.dialect.name == SQLITE:
        tables.append("paper_search_fts")
    elif every_table and sa.inspect(conn).has_table("paper_fields"):
        tables.append("paper_fields")
    return _count(conn, "papers"), [_count(conn, table) for table in tables]


def candidate_counts(conn: Connection) -> tuple[int, int]:
    """Stored papers, and the rows of the table candidate queries read
    (``paper_search`` on SQLite, the field-exact ``paper_fields`` on PostgreSQL)."""
    table = "paper_fields" if conn.dialect.name == POSTGRESQL else "paper_search"
    return _count(conn, "papers"), _count(conn, table)


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def candidates_sql(conn: Connection, found: Indexed, what: str, join: str = "") -> tuple[str, str]:
    """``SELECT <what>`` of the index rows (``s``, with ``s.paper_id``) that ``found``
    selects, with ``join`` before the condition, and the statement's ``:match`` parameter.

    On PostgreSQL ``s`` is the field-exact index (``paper_fields``, which
    also has ``s.updated``): its GIN index answers the query alone, where
    ``paper_search``'s weights would need every row rechecked.
    """
    if conn.dialect.name == POSTGRESQL:
        sql = f"SELECT {what} FROM paper_fields AS s{join} WHERE s.terms @@ CAST(:match AS tsquery)"
        return sql, field_tsquery(found)
    sql = (
        f"SELECT {what} FROM paper_search_fts"
        f" JOIN paper_search AS s ON s.id = paper_search_fts.rowid{join}"
        " WHERE paper_search_fts MATCH :match"
    )
    return sql, fts5_expression(found)


def candidate_ids(conn: Connection, found: Indexed) -> list[str]:
    """Ids of every paper the index query ``found`` selects (unranked)."""
    sql, match = candidates_sql(conn, found, "s.paper_id")
    return list(conn.scalars(sa.text(sql), {"match": match}))


def candidate_count(conn: Connection, found: Indexed, most: int | None = None) -> int:
    """How many papers the index query ``found`` selects (counting stops past ``most``).

    With ``most``, a broad query stops being counted once it is known to
    select more than that (a third of a million papers would otherwise be
    counted to learn that a cold local topic is better scanned).
    """
    if conn.dialect.name == POSTGRESQL:
        sql, match = candidates_sql(conn, found, "1")
    else:  # the index alone: no join to the id table for a count
        sql = "SELECT 1 FROM paper_search_fts WHERE paper_search_fts MATCH :match"
        match = fts5_expression(found)
    capped = "" if most is None else f" LIMIT {int(most) + 1}"
    sql = f"SELECT count(*) FROM ({sql}{capped}) AS candidates"
    return int(conn.scalar(sa.text(sql), {"match": match}) or 0)


# The candidate queries (dailypapers.ftsquery) are re-exported: one API for the index.
__all__ = [
    "BM25_WEIGHTS",
    "COLUMNS",
    "MAX_TOKEN",
    "PG_WEIGHTS",
    "POSTGRESQL",
    "SQLITE",
    "AllOf",
    "AnyOf",
    "Candidates",
    "Const",
    "Indexed",
    "Phrase",
    "candidate_count",
    "candidate_counts",
    "candidate_ids",
    "candidates",
    "candidates_sql",
    "create",
    "create_fields",
    "field_lexeme",
    "field_terms_literal",
    "field_tokens",
    "field_tsquery",
    "fts5_expression",
    "index_counts",
    "index_fields",
    "index_papers",
    "reindex_all",
    "supported",
    "tsquery_expression",
    "tsvector_literal",
    "with_phrase_boost",
]
