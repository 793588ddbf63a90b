"""The ranking methods by name: what ``rank`` ships and the benchmark measures.

A method turns term counts into vectors (``tfidf`` or ``bm25``) and scores
a day's candidates against the library (``mean`` profile or ``knn``).
:data:`DEFAULT` is the method chosen by ``bench/rank_bench.py`` (see
docs/benchmarks.md); ``tfidf-mean`` is the baseline it is measured against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dailypapers.rank import score as s
from dailypapers.rank.vectors import Bm25, Corpus, Vector, pruned, tfidf, unigrams

Weighting = Callable[[Mapping[str, int], Corpus], Vector]


@dataclass(frozen=True, slots=True)
class Method:
    """How to weight terms and how to score candidates against a library."""

    name: str
    weighting: Weighting
    kind: str  # "mean", "knn" or "hybrid" (their mean)
    k: int = 1
    decay: float = 0.0
    keep: int = 0  # library vectors keep their heaviest terms (0: all)
    bigrams: bool = True

    def candidate_vector(self, counts: Mapping[str, int], corpus: Corpus) -> Vector:
        return self.weighting(counts if self.bigrams else unigrams(counts), corpus)

    def library_vector(self, counts: Mapping[str, int], corpus: Corpus) -> Vector:
        return pruned(self.candidate_vector(counts, corpus), self.keep)

    def neighbours(
        self, index: s.CandidateIndex, library: Sequence[s.LibraryItem]
    ) -> tuple[list[float], list[list[s.Neighbour]]]:
        """Each candidate's score and the library items behind it (best first)."""
        if self.kind == "mean":
            return s.mean_scores(index, library), [[] for _ in index.vectors]
        scores, near = s.knn_neighbours(index, library, self.k, self.decay)
        if self.kind == "hybrid":
            profile = s.mean_scores(index, library)
            scores = [(a + b) / 2 for a, b in zip(scores, profile, strict=True)]
        return scores, near


BM25 = Bm25()
METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method("tfidf-mean", tfidf, "mean", bigrams=False),
        Method("bm25-mean", BM25, "mean"),
        Method("bm25-knn", BM25, "knn", k=3),
        Method("bm25-knn-unigrams", BM25, "knn", k=3, bigrams=False),
        Method("bm25-knn-recency", BM25, "knn", k=3, decay=0.5),
    )
}
BASELINE = "tfidf-mean"
DEFAULT = "bm25-knn"
