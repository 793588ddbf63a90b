"""Full-text candidate queries, without SQLAlchemy: what :mod:`dailypapers.fts` indexes, asked.

A query tree (:mod:`dailypapers.arxiv.query`) becomes a superset of its
matches (:func:`candidates`), written as an FTS5 ``MATCH`` string or a
PostgreSQL ``tsquery`` literal. Split from :mod:`dailypapers.fts` (which
re-exports all of it) so that a read-only search can load it without the
store's libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dailypapers.arxiv import query as q

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


def supported(dialect: str) -> bool:
    """Whether ``dialect`` has a full-text index (others search by scanning)."""
    return dialect in (SQLITE, POSTGRESQL)


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


# With ``categories=False``, an OR of at most this many categories (a topic's
# own ``categories``) still narrows; a longer one (an archive filter) does not.
FEW_CATEGORIES = 3


def candidates(node: q.Node, *, categories: bool = True) -> Candidates:
    """A superset of the papers matching ``node``, as an index query.

    Terms become phrases of their stems; ``ANDNOT`` keeps only its left side
    (excluding on an approximate right side could drop a true match);
    ``id:`` and date ranges narrow nothing; ``rn:`` and terms without word
    characters match nothing, as in :func:`query.matches`. With
    ``categories=False`` category terms narrow nothing either, unless
    :data:`FEW_CATEGORIES` or fewer are ORed together: a topic's archive
    filter (46 categories for cs + stat) costs the index more than it saves
    when nearly every stored paper passes it, a topic's own one or two
    categories do not.
    """
    if isinstance(node, q.Term):
        return _term_candidates(node)
    if isinstance(node, q.DateRange):
        return Const.EVERYTHING
    if isinstance(node, q.AndNot):
        return candidates(_leftmost(node), categories=categories)
    operands = _operands(node)
    if not categories and _many_categories(node, operands):
        return Const.EVERYTHING
    parts = [candidates(child, categories=categories) for child in operands]
    return _combine(AllOf if isinstance(node, q.And) else AnyOf, parts)


def _many_categories(node: q.Node, operands: list[q.Node]) -> bool:
    """Whether ``node`` is an OR of more than :data:`FEW_CATEGORIES` categories."""
    return (
        isinstance(node, q.Or)
        and len(operands) > FEW_CATEGORIES
        and all(isinstance(o, q.Term) and o.field == "cat" for o in operands)
    )


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
        lexemes = [f"{quote_lexeme(token)}{weight}" for token in dict.fromkeys(found.tokens)]
        return lexemes[0] if len(lexemes) == 1 else "(" + " & ".join(lexemes) + ")"
    glue = " & " if isinstance(found, AllOf) else " | "
    return "(" + glue.join(tsquery_expression(_indexable(p)) for p in found.parts) + ")"


def field_lexeme(column: str, token: str) -> str:
    """A lexeme of PostgreSQL's field-exact index: the column, a dot, the token."""
    return f"{column}.{token}"


def field_tsquery(found: Indexed) -> str:
    """The ``tsquery`` literal for a candidate query over field-tagged lexemes.

    Each field's tokens are their own lexemes (``ti.spars``), so the GIN
    index answers a field term exactly, with no weight to recheck in the
    row (:func:`tsquery_expression` cannot tell ``ti:`` from ``abs:``). A
    phrase is an AND of its lexemes in one column, and a phrase of any
    column (``all:``) one such AND per column: a phrase never crosses fields
    in the local query engine either.
    """
    if isinstance(found, Phrase):
        columns = COLUMNS if found.column is None else (found.column,)
        tokens = list(dict.fromkeys(found.tokens))
        per_column = [_all_lexemes(column, tokens) for column in columns]
        return per_column[0] if len(per_column) == 1 else "(" + " | ".join(per_column) + ")"
    glue = " & " if isinstance(found, AllOf) else " | "
    return "(" + glue.join(field_tsquery(_indexable(p)) for p in found.parts) + ")"


def _all_lexemes(column: str, tokens: list[str]) -> str:
    lexemes = [quote_lexeme(field_lexeme(column, token)) for token in tokens]
    return lexemes[0] if len(lexemes) == 1 else "(" + " & ".join(lexemes) + ")"


def _indexable(found: Candidates) -> Indexed:
    if isinstance(found, Const):  # simplification removes constants from compounds
        raise ValueError(f"{found} has no index expression")
    return found


def quote_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
