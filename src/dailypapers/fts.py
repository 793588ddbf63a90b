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
``paper_search_fts`` (FTS5, columns ``ti abs au co jr cat``). Every write to
``papers`` must be followed by :func:`index_papers` for the same ids, in the
same transaction (``Store.save_papers`` does this).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.arxiv import query as q
from dailypapers.models import Paper

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
COLUMNS = ("ti", "abs", "au", "co", "jr", "cat")
# PostgreSQL tells fields apart by lexeme weight (four of them): co, jr and
# cat share D, so a co: term also finds jr/cat matches (more candidates only).
PG_WEIGHTS = {"ti": "A", "au": "B", "abs": "C", "co": "D", "jr": "D", "cat": "D"}
# bm25 column weights for ranking (SQLite), in COLUMNS order: a title hit
# counts most, then authors, then the abstract.
BM25_WEIGHTS = (6.0, 1.0, 3.0, 0.5, 0.5, 0.2)
# Longer "words" (base64 blobs, runs of digits) are not indexed; a query term
# that contains one is not used to narrow candidates (PostgreSQL caps lexemes).
MAX_TOKEN = 100
_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
_MAX_POSITIONS_PER_LEXEME = 255
_BATCH = 500


def supported(dialect: str) -> bool:
    """Whether ``dialect`` has a full-text index (others search by scanning)."""
    return dialect in (SQLITE, POSTGRESQL)


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


def create(conn: Connection) -> None:
    """Create the index tables for this connection's dialect (idempotent)."""
    ddl = {SQLITE: _SQLITE_DDL, POSTGRESQL: _POSTGRESQL_DDL}.get(conn.dialect.name, ())
    for statement in ddl:
        conn.execute(sa.text(statement))


# --- indexing ----------------------------------------------------------------


def _tokens(text: str | None) -> list[str]:
    return [token for token in q.analyze(text or "") if len(token) <= MAX_TOKEN]


def field_tokens(paper: Paper) -> dict[str, list[str]]:
    """The analysed tokens of each indexed field, as the local query engine sees them."""
    return {
        "ti": _tokens(paper.title),
        "abs": _tokens(paper.abstract),
        "au": [t for name in paper.author_names for t in _tokens(name)],
        "co": _tokens(paper.comment),
        "jr": _tokens(paper.journal_ref),
        "cat": [t for category in paper.categories for t in _tokens(category)],
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
    return " ".join(f"{_quote_lexeme(token)}:{','.join(p)}" for token, p in positions.items())


def _quote_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def index_papers(conn: Connection, papers: Sequence[Paper]) -> None:
    """(Re)index ``papers`` as stored; call after every write to ``papers``."""
    dialect = conn.dialect.name
    for start in range(0, len(papers), _BATCH):
        batch = papers[start : start + _BATCH]
        if dialect == SQLITE:
            _index_sqlite(conn, batch)
        elif dialect == POSTGRESQL:
            _index_postgresql(conn, batch)


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


def _index_postgresql(conn: Connection, papers: Sequence[Paper]) -> None:
    upsert = sa.text(
        "INSERT INTO paper_search (paper_id, vector) VALUES (:pid, CAST(:vector AS tsvector))"
        " ON CONFLICT (paper_id) DO UPDATE SET vector = excluded.vector"
    )
    rows = [{"pid": p.id, "vector": tsvector_literal(field_tokens(p))} for p in papers]
    conn.execute(upsert, rows)


# --- candidate queries ---------------------------------------------------------


class Const(Enum):
    """A candidate set that needs no index: every paper, or none."""

    EVERYTHING = "everything"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive tokens in one column (``column`` None: in any column)."""

    column: str | None
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every part matches."""

    parts: tuple[Candidates, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Some part matches."""

    parts: tuple[Candidates, ...]


Candidates = Const | Phrase | AllOf | AnyOf
Indexed = Phrase | AllOf | AnyOf  # a candidate set the index can answer


def candidates(node: q.Node, *, categories: bool = True) -> Candidates:
    """A superset of the papers matching ``node``, as an index query.

    Terms become phrases of their stems; ``ANDNOT`` keeps only its left side
    (excluding on an approximate right side could drop a true match);
    ``id:`` and date ranges narrow nothing; ``rn:`` and terms without word
    characters match nothing, as in :func:`query.matches`. With
    ``categories=False`` category terms narrow nothing either: a topic's
    archive filter (46 categories for cs + stat) costs the index more than
    it saves when nearly every stored paper passes it.
    """
    if isinstance(node, q.Term):
        if node.field == "cat" and not categories:
            return Const.EVERYTHING
        return _term_candidates(node)
    if isinstance(node, q.DateRange):
        return Const.EVERYTHING
    if isinstance(node, q.AndNot):
        return candidates(_leftmost(node), categories=categories)
    parts = [candidates(child, categories=categories) for child in _operands(node)]
    return _combine(AllOf if isinstance(node, q.And) else AnyOf, parts)


def _leftmost(node: q.AndNot) -> q.Node:
    current: q.Node = node
    while isinstance(current, q.AndNot):
        current = current.left
    return current


def _operands(node: q.And | q.Or) -> list[q.Node]:
    """The operands of a chain of the same operator, flattened (no deep recursion)."""
    kind = type(node)
    found: list[q.Node] = []
    stack: list[q.Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, kind):
            stack += [current.right, current.left]
        else:
            found.append(current)
    return found


def _term_candidates(term: q.Term) -> Candidates:
    if term.field == "rn":
        return Const.NOTHING
    if term.field == "id":
        return Const.EVERYTHING
    tokens = tuple(q.analyze(term.text))
    if not tokens:
        # cat: compares the raw text, so a symbol-only category may still match.
        return Const.EVERYTHING if term.field == "cat" else Const.NOTHING
    if any(len(token) > MAX_TOKEN for token in tokens):
        return Const.EVERYTHING
    return Phrase(None if term.field == "all" else term.field, tokens)


def _combine(kind: type[AllOf] | type[AnyOf], parts: list[Candidates]) -> Candidates:
    """AND (``AllOf``) or OR (``AnyOf``) of ``parts``, constants simplified away."""
    absorbing, neutral = (Const.NOTHING, Const.EVERYTHING)
    if kind is AnyOf:
        absorbing, neutral = neutral, absorbing
    if absorbing in parts:
        return absorbing
    kept = tuple(dict.fromkeys(p for p in parts if p is not neutral))
    if not kept:
        return neutral
    return kept[0] if len(kept) == 1 else kind(kept)


def with_phrase_boost(found: Indexed) -> Indexed:
    """For ranking plain words: the same set, but papers with the words as a phrase first.

    ``reward model`` → ``"reward model" OR ("reward" AND "model")``: the
    phrase implies every word, so the set is unchanged, and bm25/ts_rank
    count the phrase as one more hit.
    """
    if not isinstance(found, AllOf) or len(found.parts) < 2:
        return found
    words = [p for p in found.parts if isinstance(p, Phrase) and p.column is None]
    if len(words) != len(found.parts):
        return found
    return AnyOf((Phrase(None, tuple(t for w in words for t in w.tokens)), found))


def fts5_expression(found: Indexed) -> str:
    """The FTS5 MATCH string for a candidate query."""
    if isinstance(found, Phrase):
        phrase = '"' + " ".join(t.replace('"', '""') for t in found.tokens) + '"'
        return phrase if found.column is None else f"{found.column} : {phrase}"
    glue = " AND " if isinstance(found, AllOf) else " OR "
    return "(" + glue.join(fts5_expression(_indexable(p)) for p in found.parts) + ")"


def tsquery_expression(found: Indexed) -> str:
    """The ``tsquery`` literal for a candidate query.

    A phrase becomes an AND of its lexemes rather than ``<->``: positions are
    capped in a ``tsvector``, so adjacency is not trusted for candidates.
    """
    if isinstance(found, Phrase):
        weight = "" if found.column is None else f":{PG_WEIGHTS[found.column]}"
        lexemes = [f"{_quote_lexeme(token)}{weight}" for token in dict.fromkeys(found.tokens)]
        return lexemes[0] if len(lexemes) == 1 else "(" + " & ".join(lexemes) + ")"
    glue = " & " if isinstance(found, AllOf) else " | "
    return "(" + glue.join(tsquery_expression(_indexable(p)) for p in found.parts) + ")"


def _indexable(found: Candidates) -> Indexed:
    if isinstance(found, Const):  # simplification removes constants from compounds
        raise ValueError(f"{found} has no index expression")
    return found


def reindex_all(conn: Connection, rows: Iterable[Sequence[Paper]]) -> int:
    """Index every batch of papers in ``rows`` and drop index rows of no paper; returns a count."""
    count = 0
    for batch in rows:
        index_papers(conn, batch)
        count += len(batch)
    if conn.dialect.name == SQLITE:
        orphans = "DELETE FROM paper_search_fts WHERE rowid NOT IN (SELECT id FROM paper_search)"
        conn.execute(sa.text(orphans))
    return count


# --- queries -----------------------------------------------------------------


def index_counts(conn: Connection, *, every_table: bool = True) -> tuple[int, list[int]]:
    """Stored papers, and the rows of each index table (``paper_search`` first).

    ``every_table=False`` counts ``paper_search`` only (on SQLite, counting
    the FTS5 table reads the whole index).
    """
    stored = int(conn.execute(sa.text("SELECT count(*) FROM papers")).scalar() or 0)
    tables = ["paper_search"]
    if every_table and conn.dialect.name == SQLITE:
        tables.append("paper_search_fts")
    indexed = [
        int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0) for t in tables
    ]
    return stored, indexed


def _candidates_sql(conn: Connection, found: Indexed, what: str) -> tuple[str, str]:
    if conn.dialect.name == POSTGRESQL:
        sql = f"SELECT {what} FROM paper_search WHERE vector @@ CAST(:match AS tsquery)"
        return sql, tsquery_expression(found)
    sql = (
        f"SELECT {what} FROM paper_search_fts"
        " JOIN paper_search AS s ON s.id = paper_search_fts.rowid"
        " WHERE paper_search_fts MATCH :match"
    )
    return sql, fts5_expression(found)


def candidate_ids(conn: Connection, found: Indexed) -> list[str]:
    """Ids of every paper the index query ``found`` selects (unranked)."""
    sql, match = _candidates_sql(conn, found, "paper_id")
    return list(conn.scalars(sa.text(sql), {"match": match}))


def candidate_count(conn: Connection, found: Indexed) -> int:
    """How many papers the index query ``found`` selects."""
    if conn.dialect.name == POSTGRESQL:
        sql, match = _candidates_sql(conn, found, "count(*)")
    else:  # the index alone: no join to the id table for a count
        sql = "SELECT count(*) FROM paper_search_fts WHERE paper_search_fts MATCH :match"
        match = fts5_expression(found)
    return int(conn.scalar(sa.text(sql), {"match": match}) or 0)
