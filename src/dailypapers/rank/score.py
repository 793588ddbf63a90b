"""Score candidate papers against a reader's library.

Two methods share one inverted index over the candidates:

* ``mean``: one profile per reader (the mean of the library's vectors),
  cosine with each candidate (``tfidf-mean``, the baseline, uses this with
  plain tf-idf vectors);
* ``knn``: each candidate's similarity to its ``k`` nearest library items,
  each weighted by the item's recency in the library (date added): the
  ``r``-th newest item weighs ``1 / (1 + decay * log2(1 + r))``.

Every score keeps the library items that drove it, so it can explain itself
(:func:`explain`).
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

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
    """An inverted index over the candidate vectors (term -> postings)."""

    vectors: Sequence[Vector]
    postings: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        postings: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, vector in enumerate(self.vectors):
            for term, weight in vector.items():
                postings[term].append((index, weight))
        self.postings = dict(postings)

    def similarities(self, vector: Vector) -> dict[int, float]:
        """Dot product of ``vector`` with every candidate sharing a term with it."""
        found: defaultdict[int, float] = defaultdict(float)
        for term, weight in vector.items():
            for index, other in self.postings.get(term, ()):
                found[index] += weight * other
        return found


def recency_weights(count: int, decay: float) -> list[float]:
    """Weights of library items ordered newest (date added) first."""
    return [1.0 / (1.0 + decay * math.log2(1 + rank)) for rank in range(count)]


def mean_scores(index: CandidateIndex, library: Sequence[LibraryItem]) -> list[float]:
    """Cosine of each candidate with the library's mean profile."""
    profile: defaultdict[str, float] = defaultdict(float)
    for item in library:
        for term, weight in item.vector.items():
            profile[term] += weight
    scores = [0.0] * len(index.vectors)
    for position, value in index.similarities(normalised(dict(profile))).items():
        scores[position] = value
    return scores


def knn_neighbours(
    index: CandidateIndex, library: Sequence[LibraryItem], k: int, decay: float
) -> list[list[Neighbour]]:
    """For each candidate its ``k`` best library items by weighted similarity."""
    heaps: list[list[Neighbour]] = [[] for _ in index.vectors]
    for position, (item, weight) in enumerate(
        zip(library, recency_weights(len(library), decay), strict=True)
    ):
        for candidate, similarity in index.similarities(item.vector).items():
            heap = heaps[candidate]
            entry = (similarity * weight, position)
            if len(heap) < k:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)
    return [sorted(heap, reverse=True) for heap in heaps]


def knn_scores(neighbours: Sequence[Sequence[Neighbour]], k: int) -> list[float]:
    """The mean weighted similarity of each candidate's ``k`` nearest items."""
    return [sum(s for s, _ in near) / k for near in neighbours]


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
