"""Sparse term vectors of papers: the project's analyzer, idf, BM25 weights.

A paper's text is its title and abstract only (never authors), analysed by
:func:`dailypapers.arxiv.query.analyze` (accent-folded, lower-cased,
Snowball-stemmed), so ranking sees the very stems search matches. Title
tokens count :data:`TITLE_WEIGHT` times. A vector is a plain ``dict`` from
term to weight, L2-normalised; pruning keeps its heaviest terms, which keeps
dot products cheap (rare terms have short posting lists).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from dailypapers.arxiv.query import analyze

Vector = dict[str, float]

TITLE_WEIGHT = 2
MAX_TEXT = 20_000  # characters of title + abstract analysed (hostile input is bounded)
MIN_TOKEN, MAX_TOKEN = 2, 30
# Stems too common in arXiv abstracts to say anything about a topic; idf
# lowers them anyway, this only keeps them out of explanations and pruning.
STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "that",
        "the",
        "their",
        "these",
        "this",
        "to",
        "we",
        "which",
        "with",
        "not",
        "but",
        "also",
        "such",
        "use",
        "using",
        "show",
        "propos",
        "base",
        "new",
        "paper",
        "approach",
        "method",
        "result",
        "import",
        "while",
        "both",
        "more",
        "than",
        "into",
        "over",
        "across",
    )
)


def term_counts(title: str, abstract: str | None) -> Counter[str]:
    """Term frequencies of a paper's title (weighted) and abstract.

    Terms are stems and, for adjacent stems that are not stop words, bigrams
    (``"reward model"``: the key holds one space); :func:`unigrams` drops them.
    """
    counts: Counter[str] = Counter()
    for weight, text in ((TITLE_WEIGHT, title[:MAX_TEXT]), (1, (abstract or "")[:MAX_TEXT])):
        tokens = [t for t in analyze(text) if MIN_TOKEN <= len(t) <= MAX_TOKEN and not t.isdigit()]
        for token in tokens:
            if token not in STOP:
                counts[token] += weight
        for first, second in pairwise(tokens):
            if first not in STOP and second not in STOP:
                counts[f"{first} {second}"] += weight
    return counts


def unigrams(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` without its bigrams."""
    return {term: count for term, count in counts.items() if " " not in term}


@dataclass(slots=True)
class Corpus:
    """Document frequencies of the papers a store holds (idf comes from here)."""

    documents: int = 0
    total_length: int = 0
    frequencies: Counter[str] | None = None
    _memo: dict[str, tuple[float, int]] = field(default_factory=dict, repr=False)

    def add(self, counts: Mapping[str, int]) -> None:
        """Count one more document."""
        if self.frequencies is None:
            self.frequencies = Counter()
        self.documents += 1
        self.total_length += sum(counts.values())
        self.frequencies.update(counts.keys())

    def add_all(self, documents: Iterable[Mapping[str, int]]) -> Corpus:
        for counts in documents:
            self.add(counts)
        return self

    @property
    def average_length(self) -> float:
        return self.total_length / self.documents if self.documents else 1.0

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (always > 0)."""
        df = self.frequencies[term] if self.frequencies is not None else 0
        return math.log((1 + self.documents) / (1 + df)) + 1.0

    def idfs(self, terms: Iterable[str]) -> dict[str, float]:
        """:meth:`idf` of many terms (memoised until the corpus changes)."""
        memo = self._memo
        if memo.get("", (0.0, -1))[1] != self.documents:
            memo.clear()
            memo[""] = (0.0, self.documents)
        found = {}
        for term in terms:
            if term not in memo:
                memo[term] = (self.idf(term), 0)
            found[term] = memo[term][0]
        return found


def normalised(vector: Vector) -> Vector:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {t: w / norm for t, w in vector.items()} if norm else {}


def pruned(vector: Vector, keep: int) -> Vector:
    """The ``keep`` heaviest terms of ``vector``, normalised again."""
    if keep <= 0 or len(vector) <= keep:
        return vector
    heaviest = sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:keep]
    return normalised(dict(heaviest))


def tfidf(counts: Mapping[str, int], corpus: Corpus) -> Vector:
    """Raw tf times smoothed idf, L2-normalised (the plain baseline)."""
    idf = corpus.idfs(counts)
    return normalised({t: c * idf[t] for t, c in counts.items()})


@dataclass(frozen=True, slots=True)
class Bm25:
    """BM25 term weights (saturated tf, length-normalised) as a vector."""

    k1: float = 1.2
    b: float = 0.75

    def __call__(self, counts: Mapping[str, int], corpus: Corpus) -> Vector:
        length = sum(counts.values())
        norm = self.k1 * (1 - self.b + self.b * length / corpus.average_length)
        idf, top = corpus.idfs(counts), self.k1 + 1
        return normalised({t: c * top / (c + norm) * idf[t] for t, c in counts.items()})


def dot(small: Mapping[str, float], large: Mapping[str, float]) -> float:
    if len(small) > len(large):
        small, large = large, small
    return sum(w * large.get(t, 0.0) for t, w in small.items())
