"""Score candidate papers against a reader's library (sparse matrices).

Two methods share one sparse matrix of the candidates:

* ``mean``: one profile per reader (the mean of the library's vectors),
  cosine with each candidate (``tfidf-mean``, the baseline, uses this with
  plain tf-idf vectors);
* ``knn``: the mean of each candidate's similarity to its ``k`` nearest
  library items, each item optionally weighted by its recency in the
  library (date added): the ``r``-th newest weighs
  ``1 / (1 + decay * log2(1 + r))``.

Every score keeps the library items that drove it, so it can explain
itself (:func:`explain`). Vectors are plain dicts; each call maps them onto
a vocabulary of the terms the candidates use (library terms no candidate
has cannot add to any dot product).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from dailypapers.rank.vectors import Vector, normalised

Neighbour = tuple[float, int]  # (weighted similarity, library item index)


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One library entry as a vector; ``key`` names it (arXiv id, DOI or title)."""

    key: str
    title: str
    vector: Vector


@dataclass(slots=True)
class CandidateIndex:
    """The candidate vectors as a sparse matrix over their own vocabulary."""

    vectors: Sequence[Vector]
    vocabulary: dict[str, int] = field(default_factory=dict)
    matrix: Any = None  # scipy CSR, candidates x vocabulary

    def __post_init__(self) -> None:
        self.matrix = self.rows(self.vectors, grow=True)

    def rows(self, vectors: Sequence[Vector], *, grow: bool = False) -> Any:
        """A CSR matrix of ``vectors`` (terms outside the vocabulary dropped)."""
        indices: list[int] = []
        data: list[float] = []
        pointers = [0]
        vocabulary = self.vocabulary
        for vector in vectors:
            for term, weight in vector.items():
                column = vocabulary.get(term)
                if column is None and grow:
                    column = vocabulary[term] = len(vocabulary)
                if column is not None:
                    indices.append(column)
                    data.append(weight)
            pointers.append(len(indices))
        shape = (len(vectors), max(len(vocabulary), 1))
        return sparse.csr_matrix((np.array(data, float), indices, pointers), shape=shape)

    def similarities(self, vectors: Sequence[Vector]) -> Any:
        """Dot products, ``len(vectors)`` x candidates, as a dense array."""
        if not vectors or not self.vectors:
            return np.zeros((len(vectors), len(self.vectors)))
        return (self.rows(vectors) @ self.matrix.T).toarray()


def recency_weights(count: int, decay: float) -> Any:
    """Weights of library items ordered newest (date added) first."""
    return 1.0 / (1.0 + decay * np.log2(1.0 + np.arange(count)))


def mean_scores(index: CandidateIndex, library: Sequence[LibraryItem]) -> list[float]:
    """Cosine of each candidate with the library's mean profile."""
    profile: defaultdict[str, float] = defaultdict(float)
    for item in library:
        for term, weight in item.vector.items():
            profile[term] += weight
    return [float(v) for v in index.similarities([normalised(dict(profile))])[0]]


def knn_neighbours(
    index: CandidateIndex, library: Sequence[LibraryItem], k: int, decay: float
) -> tuple[list[float], list[list[Neighbour]]]:
    """Each candidate's score (mean of its ``k`` best weighted similarities) and those items."""
    count = len(index.vectors)
    if not library or not count:
        return [0.0] * count, [[] for _ in range(count)]
    weighted = index.similarities([item.vector for item in library])
    if decay:
        weighted *= recency_weights(len(library), decay)[:, None]
    depth = min(k, len(library))
    best = np.argsort(-weighted, axis=0, kind="stable")[:depth]  # depth x candidates
    values = np.take_along_axis(weighted, best, axis=0)
    scores = (values.sum(axis=0) / k).tolist()
    near = [
        [(float(values[r, c]), int(best[r, c])) for r in range(depth) if values[r, c] > 0]
        for c in range(count)
    ]
    return scores, near


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
