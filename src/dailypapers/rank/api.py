"""Rank stored papers for the reader: the one entry point every output uses.

``for_you(store, ...)`` analyses what changed (cached per paper version),
scores the candidate papers against the library with the default method
and returns them best first, each with a ``because``: the library items
and the shared terms that drove its score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from dailypapers.config import Config
from dailypapers.models import Paper
from dailypapers.rank import libstore
from dailypapers.rank.methods import DEFAULT, METHODS, Method
from dailypapers.rank.score import CandidateIndex, LibraryItem, explain, order
from dailypapers.rank.vectors import Corpus
from dailypapers.store import Store, stored_papers, utcnow

WINDOW = timedelta(days=1)
REASONS = 3


@dataclass(frozen=True, slots=True)
class Scored:
    """One paper with its score and why (``because``: items, then terms)."""

    paper: Paper
    score: float
    because: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"id": self.paper.id, "score": round(self.score, 4), "because": self.because}


def has_library(store: Store) -> bool:
    with store.reading() as conn:
        return libstore.library_size(conn) > 0


def for_you(
    store: Store,
    config: Config | None = None,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    min_score: float = 0.0,
    method: str = DEFAULT,
) -> list[Scored]:
    """Papers updated since ``since`` (default: the newest day), best first.

    With ``config``, its ``[library] paths`` are re-imported first when their
    bytes changed. Empty without a library.
    """
    if config is not None and config.library_paths:
        paths, now = config.library_paths, utcnow()
        store.write(lambda conn: libstore.import_files(conn, paths, now, only_changed=True))
    store.write(libstore.refresh_terms)
    with store.reading() as conn:
        start = since or _newest_day(conn)
        if start is None:
            return []
        candidates = stored_papers(conn, libstore.ids_updated_since(conn, start))
    ranked = rank_papers(store, candidates, method=method, config=config)
    kept = [s for s in ranked if s.score >= min_score]
    return kept[:limit] if limit is not None else kept


def similar(store: Store, paper_id: str, *, limit: int = 10) -> list[Scored]:
    """Stored papers most like one paper (the paper as a one-item library)."""
    store.write(libstore.refresh_terms)
    with store.reading() as conn:
        corpus = libstore.corpus(conn)
        terms = libstore.cached_terms(conn, [paper_id])
        if paper_id not in terms:
            return []
        ids = libstore.all_ids_but(conn, paper_id)
        cached = libstore.cached_terms(conn, ids)
        method = METHODS[DEFAULT]
        item = LibraryItem(paper_id, "", method.library_vector(terms[paper_id], corpus))
        keys = sorted(cached)
        index = CandidateIndex([method.candidate_vector(cached[k], corpus) for k in keys])
        scores, _ = method.neighbours(index, [item])
        best = [i for i in order(scores, keys)[:limit] if scores[i] > 0]
        found = {p.id: p for p in stored_papers(conn, [keys[i] for i in best])}
    return [
        Scored(
            found[keys[i]],
            scores[i],
            {"items": [paper_id], "terms": _terms(index.vectors[i], [item])},
        )
        for i in best
    ]


def rank_papers(
    store: Store,
    candidates: Sequence[Paper],
    *,
    method: str = DEFAULT,
    config: Config | None = None,
) -> list[Scored]:
    """Score ``candidates`` against the library, best first (none without a library).

    With ``config``'s ``[embeddings]``, ranked again by the endpoint's vectors
    (:mod:`dailypapers.rank.embeddings`; offline when it fails).
    """
    chosen = METHODS[method]
    with store.reading() as conn:
        rows = libstore.library(conn)
        if not rows or not candidates:
            return []
        corpus = libstore.corpus(conn)
        cached = libstore.cached_terms(
            conn, [p.id for p in candidates] + [r.paper_id for r in rows if r.paper_id]
        )
    library = _library_items(rows, cached, chosen, corpus)
    owned = {r.paper_id for r in rows if r.paper_id} | {r.arxiv_id for r in rows if r.arxiv_id}
    fresh = [p for p in candidates if p.id not in owned]
    scored = score_papers(fresh, cached, library, chosen, corpus)
    if config is not None and config.settings.embeddings is not None:
        from dailypapers.rank.embeddings import rerank

        scored = rerank(config, store, scored)
    return scored


def _library_items(
    rows: Sequence[libstore.LibraryRow],
    cached: dict[str, dict[str, int]],
    method: Method,
    corpus: Corpus,
) -> list[LibraryItem]:
    items = []
    for row in rows:
        counts = cached.get(row.paper_id or "") or row.terms
        if counts:
            items.append(LibraryItem(row.key, row.title, method.library_vector(counts, corpus)))
    return items


def score_papers(
    candidates: Sequence[Paper],
    terms: dict[str, dict[str, int]],
    library: Sequence[LibraryItem],
    method: Method,
    corpus: Corpus,
) -> list[Scored]:
    """Score papers whose term counts are known; the pure core of ranking."""
    from dailypapers.rank.vectors import term_counts

    counts = [terms.get(p.id) or term_counts(p.title, p.abstract) for p in candidates]
    index = CandidateIndex([method.candidate_vector(c, corpus) for c in counts])
    scores, near = method.neighbours(index, library)
    result = []
    for i in order(scores, [p.id for p in candidates]):
        items = [library[position] for _, position in near[i][:REASONS]] or list(library[:REASONS])
        because = {"items": [item.key for item in items], "terms": _terms(index.vectors[i], items)}
        result.append(Scored(candidates[i], scores[i], because))
    return result


def _terms(vector: dict[str, float], items: Sequence[LibraryItem]) -> list[str]:
    return [term for term, _ in explain(vector, items)]


def _newest_day(conn: Connection) -> datetime | None:
    newest = libstore.newest_update(conn)
    return newest - WINDOW if newest is not None else None


def is_stored(store: Store, paper_id: str) -> bool:
    with store.reading() as conn:
        return libstore.is_stored(conn, paper_id)
