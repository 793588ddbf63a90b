"""Rank stored papers for the reader: the one entry point every output uses.

``for_you(store, ...)`` analyses what changed (cached per paper version),
scores the candidate papers against the library with the default method
and returns them best first, each with a ``because``: the library items
and the shared terms that drove its score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from dailypapers.config import Config
from dailypapers.models import Paper
from dailypapers.rank import libstore
from dailypapers.rank.library import LibraryError
from dailypapers.rank.methods import DEFAULT, METHODS, Method
from dailypapers.rank.score import LibraryItem, Scores, explain, order
from dailypapers.rank.vectors import Corpus, term_counts
from dailypapers.rank.weights import TermMatrix, term_matrix
from dailypapers.schema import has_library
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


def for_you(
    store: Store,
    config: Config | None = None,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    min_score: float = 0.0,
    method: str = DEFAULT,
    warn: Callable[[str], None] | None = None,
) -> list[Scored]:
    """Papers updated since ``since`` (default: the newest day), best first;
    none that shares nothing with the library (score 0).

    With ``config``, its ``[library] paths`` are re-imported first when their
    bytes changed. A file that cannot be read raises; with ``warn``, when a
    library was imported before, it is one warning line instead and the
    ranking uses the library as last imported (a file being edited, or
    missing for a day, does not empty the published "For you" list). Empty
    without a library.
    """
    if config is not None and config.library_paths:
        _reimport(store, config.library_paths, warn)
    store.write(libstore.refresh_terms)
    with store.reading() as conn:
        start = since or _newest_day(conn)
        if start is None:
            return []
        candidates = stored_papers(conn, libstore.ids_updated_since(conn, start))
    ranked = rank_papers(store, candidates, method=method, config=config)
    kept = [s for s in ranked if s.score > 0 and s.score >= min_score]  # 0: nothing in common
    return kept[:limit] if limit is not None else kept


def _reimport(store: Store, paths: Sequence[Path], warn: Callable[[str], None] | None) -> None:
    if warn is None:
        libstore.import_files(store, paths, utcnow(), only_changed=True)  # raises
        return
    reason = libstore.reimport_changed(store, paths)
    if reason is None:
        return
    if not _has_library(store):  # nothing to rank with: the caller skips, with the reason
        raise LibraryError(reason)
    warn(f"library not re-imported ({reason}); ranked with the library as last imported")


def _has_library(store: Store) -> bool:
    with store.reading() as conn:
        return has_library(conn)


def similar(store: Store, paper_id: str, *, limit: int = 10) -> list[Scored]:
    """Stored papers most like one paper (the paper as a one-item library)."""
    store.write(libstore.refresh_terms)
    with store.reading() as conn:
        corpus = libstore.corpus(conn)
        terms = libstore.cached_terms(conn, [paper_id])
        if paper_id not in terms:
            return []
        cached = libstore.cached_terms(conn, libstore.all_ids_but(conn, paper_id))
        keys = sorted(cached)
        scored = _Scoring([Held(paper_id, "", terms[paper_id])], [cached[k] for k in keys])
        scored.run(METHODS[DEFAULT], corpus)
        scores = scored.result.scores
        best = [i for i in order(scores, keys)[:limit] if scores[i] > 0]
        found = {p.id: p for p in stored_papers(conn, [keys[i] for i in best])}
    return [
        Scored(found[keys[i]], float(scores[i]), {"items": [paper_id], "terms": scored.terms(i)})
        for i in best
    ]


@dataclass(frozen=True, slots=True)
class Held:
    """A library item's name and term counts (its own, or its stored paper's)."""

    key: str
    title: str
    counts: Mapping[str, int]


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
    library = _library_items(rows, cached)
    owned = {r.paper_id for r in rows if r.paper_id} | {r.arxiv_id for r in rows if r.arxiv_id}
    fresh = [p for p in candidates if p.id not in owned]
    scored = score_papers(fresh, cached, library, chosen, corpus)
    if config is not None and config.settings.embeddings is not None:
        from dailypapers.rank.embeddings import rerank

        scored = rerank(config, store, scored)
    return scored


def _library_items(
    rows: Sequence[libstore.LibraryRow], cached: dict[str, dict[str, int]]
) -> list[Held]:
    """The library as scored: one item a paper (the same paper in two files, or as
    ``2505.07271`` and ``2505.07271v2`` in one, would weigh twice), its first row
    that has terms (an id list's row has none when the paper is not stored)."""
    seen: set[str] = set()
    found = []
    for row in rows:
        paper = row.paper_id or row.arxiv_id
        counts = cached.get(row.paper_id or "") or row.terms
        if not counts or paper in seen:
            continue
        if paper is not None:
            seen.add(paper)
        found.append(Held(row.key, row.title, counts))
    return found


def score_papers(
    candidates: Sequence[Paper],
    terms: Mapping[str, Mapping[str, int]],
    library: Sequence[Held],
    method: Method,
    corpus: Corpus,
) -> list[Scored]:
    """Score papers whose term counts are known; the pure core of ranking."""
    counts = [terms.get(p.id) or term_counts(p.title, p.abstract) for p in candidates]
    scored = _Scoring(library, counts)
    scored.run(method, corpus)
    scores = scored.result.scores
    result = []
    for i in order(scores, [p.id for p in candidates]):
        items = scored.reasons(i)
        because = {"items": [item.key for item in items], "terms": scored.terms(i, items)}
        result.append(Scored(candidates[i], float(scores[i]), because))
    return result


@dataclass(slots=True)
class _Scoring:
    """One library and some candidates over one vocabulary, weighted and scored."""

    library: Sequence[Held]
    candidates: Sequence[Mapping[str, int]]
    matrix: TermMatrix = field(init=False)
    weighted: Any = None
    result: Scores = field(init=False)
    items: list[LibraryItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.matrix = term_matrix([*(h.counts for h in self.library), *self.candidates])

    def run(self, method: Method, corpus: Corpus) -> None:
        self.weighted = method.weigh(self.matrix, corpus)
        size = len(self.library)
        self.result = method.scores(self.weighted[:size], self.weighted[size:])
        self.items = [
            LibraryItem(h.key, h.title, self.matrix.vector(self.weighted, row))
            for row, h in enumerate(self.library)
        ]

    def reasons(self, candidate: int) -> list[LibraryItem]:
        near = self.result.near(candidate)[:REASONS]
        return [self.items[row] for _, row in near] or self.items[:REASONS]

    def terms(self, candidate: int, items: Sequence[LibraryItem] | None = None) -> list[str]:
        vector = self.matrix.vector(self.weighted, len(self.library) + candidate)
        return [term for term, _ in explain(vector, self.items if items is None else items)]


def _newest_day(conn: Connection) -> datetime | None:
    newest = libstore.newest_update(conn)
    return newest - WINDOW if newest is not None else None


def is_stored(store: Store, paper_id: str) -> bool:
    with store.reading() as conn:
        return libstore.is_stored(conn, paper_id)
