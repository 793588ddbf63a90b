"""The ranking methods by name: what ``rank`` ships and the benchmark measures.

A method turns term counts into vectors (``tfidf`` or ``bm25``) and scores
a day's candidates against the library (``mean`` profile or ``knn``).
:data:`DEFAULT` is the method chosen by ``bench/rank_bench.py`` (see
docs/benchmarks.md); ``tfidf-mean`` is the baseline it is measured against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scipy import sparse

from dailypapers.rank import score as s
from dailypapers.rank.vectors import Corpus
from dailypapers.rank.weights import Bm25, TermMatrix, tfidf, unigram_mask

Weighting = Callable[[TermMatrix, Corpus], Any]


@dataclass(frozen=True, slots=True)
class Method:
    """How to weight terms and how to score candidates against a library."""

    name: str
    weighting: Weighting
    kind: str  # "mean", "knn" or "hybrid" (their mean)
    k: int = 1
    decay: float = 0.0
    bigrams: bool = True
    spread: bool = False  # knn: rank-weighted mean of the k nearest

    def weigh(self, counts: TermMatrix, corpus: Corpus) -> Any:
        """Weighted, unit-length rows (CSR) of the papers in ``counts``."""
        if not self.bigrams:
            kept = sparse.csr_matrix(counts.matrix.multiply(unigram_mask(counts.terms)))
            kept.eliminate_zeros()
            counts = TermMatrix(kept, counts.terms)
        return self.weighting(counts, corpus)

    def score(self, block: Any, norm: float) -> s.Scores:
        """Scores from ``library x candidates`` similarities; ``norm``: :func:`s.profile_norm`."""
        if self.kind == "mean":
            return s.mean_scores(block, norm)
        near = s.knn_scores(block, self.k, self.decay, self.spread)
        if self.kind == "hybrid":
            profile = s.mean_scores(block, norm).scores
            return s.Scores((near.scores + profile) / 2, near.best, near.values)
        return near

    def scores(self, library: Any, candidates: Any) -> s.Scores:
        """Score weighted candidate rows against weighted library rows."""
        return self.score(s.similarities(library, candidates), s.profile_norm(library))


BM25 = Bm25()
# idf ** 1.2 and bigrams at 0.7: chosen with bench/rank_bench.py (docs/benchmarks.md)
BM25_TUNED = Bm25(idf_power=1.2, bigram_weight=0.7)
METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method("tfidf-mean", tfidf, "mean", bigrams=False),
        Method("bm25-mean", BM25, "mean"),
        Method("bm25-knn3", BM25, "knn", k=3),
        Method("bm25-knn", BM25_TUNED, "knn", k=8, spread=True),
        Method("bm25-knn-unigrams", BM25, "knn", k=3, bigrams=False),
        Method("bm25-knn-recency", BM25, "knn", k=3, decay=0.5),
    )
}
BASELINE = "tfidf-mean"
DEFAULT = "bm25-knn"
