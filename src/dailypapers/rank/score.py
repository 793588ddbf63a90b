"""Score candidate papers against a reader's library, from a similarity matrix.

Library items and candidates are rows of weighted, unit-length sparse
matrices (:mod:`dailypapers.rank.vectors`); their dot products form one
dense ``library x candidates`` block, and a method reads its scores off it:

* ``mean``: the cosine of each candidate with the library's mean profile,
  ``sum(similarities) / |sum of library vectors|`` (``tfidf-mean``, the
  baseline, uses this with plain tf-idf vectors);
* ``knn``: the mean of each candidate's similarity to its ``k`` nearest
  library items, each item optionally weighted by its recency in the
  library (date added): the ``r``-th newest weighs
  ``1 / (1 + decay * log2(1 + r))``; with ``spread``, the ``j``-th nearest
  (0-based) counts ``1 / (1 + ln(1 + j))`` in a weighted mean instead of
  all ``k`` equally (the nearest item leads, the others still count).

``rank`` scores one library against one day's papers; the benchmark stacks
many readers' libraries into one product and hands each reader's block to
the same functions. Every score keeps the library items that drove it, so
it can explain itself (:func:`explain`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dailypapers.rank.vectors import Vector

Neighbour = tuple[float, int]  # (weighted similarity, library item index)


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One library entry as a vector; ``key`` names it (arXiv id, DOI or title)."""

    key: str
    title: str
    vector: Vector


@dataclass(frozen=True, slots=True)
class Scores:
    """Each candidate's score and, best first, the library items behind it."""

    scores: Any  # (candidates,)
    best: Any  # (depth x candidates) library rows, best first
    values: Any  # (depth x candidates) their weighted similarities

    def near(self, candidate: int) -> list[Neighbour]:
        column = zip(self.values[:, candidate], self.best[:, candidate], strict=True)
        return [(float(value), int(row)) for value, row in column if value > 0]


def recency_weights(count: int, decay: float) -> Any:
    """Weights of library items ordered newest (date added) first."""
    return 1.0 / (1.0 + decay * np.log2(1.0 + np.arange(count)))


def rank_weights(count: int) -> Any:
    """Weights of the nearest, second nearest... library items (``spread`` knn)."""
    return 1.0 / (1.0 + np.log1p(np.arange(count)))


def similarities(library: Any, candidates: Any) -> Any:
    """Dot products of two row-normalised CSR matrices: library x candidates, dense."""
    return np.asarray((library @ candidates.T).todense())


def profile_norm(library: Any) -> float:
    """Length of the sum of the library's vectors (CSR rows), in O(non-zeros)."""
    columns, inverse = np.unique(library.indices, return_inverse=True)
    summed = np.bincount(inverse, weights=library.data, minlength=len(columns))
    return float(np.sqrt(summed @ summed))


def mean_scores(block: Any, norm: float) -> Scores:
    """Cosine of each candidate with the library's mean profile."""
    scores = block.sum(axis=0) / norm if norm else np.zeros(block.shape[1])
    empty = np.zeros((0, block.shape[1]))
    return Scores(scores, empty.astype(np.intp), empty)


def knn_scores(block: Any, k: int, decay: float, spread: bool = False) -> Scores:
    """Each candidate's score: the (``spread``: rank-weighted) mean of its ``k`` best."""
    count = block.shape[1]
    if not block.shape[0] or not count:
        empty = np.zeros((0, count))
        return Scores(np.zeros(count), empty.astype(np.intp), empty)
    weighted = block * recency_weights(block.shape[0], decay)[:, None] if decay else block
    depth = min(k, block.shape[0])
    if depth < block.shape[0]:
        top = np.argpartition(-weighted, depth - 1, axis=0)[:depth]
        part = np.take_along_axis(weighted, top, axis=0)
        inner = np.argsort(-part, axis=0, kind="stable")
        best = np.take_along_axis(top, inner, axis=0)
    else:
        best = np.argsort(-weighted, axis=0, kind="stable")
    values = np.take_along_axis(weighted, best, axis=0)
    if spread:
        ranks = rank_weights(k)
        return Scores(ranks[:depth] @ values / ranks.sum(), best, values)
    return Scores(values.sum(axis=0) / k, best, values)


def order(scores: Sequence[float], keys: Sequence[str]) -> list[int]:
    """Candidate positions, best first (ties by key, so runs are reproducible)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], keys[i]))


def explain(
    candidate: Vector, items: Sequence[LibraryItem], terms: int = 5
) -> list[tuple[str, float]]:
    """The terms shared with ``items`` that weigh most in the similarity."""
    shared: defaultdict[str, float] = defaultdict(float)
    for item in items:
        for term, weight in item.vector.items():
            if term in candidate:
                shared[term] += weight * candidate[term]
    best = sorted(shared.items(), key=lambda pair: (-pair[1], pair[0]))[:terms]
    return [(term, round(value, 4)) for term, value in best]
