"""Sparse term vectors of papers: the project's analyzer, idf, BM25 weights.

A paper's text is its title and abstract only (never authors), analysed by
:func:`dailypapers.arxiv.query.analyze` (accent-folded, lower-cased,
Snowball-stemmed), so ranking sees the very stems search matches. Title
tokens count :data:`TITLE_WEIGHT` times. A vector is a plain ``dict`` from
term to weight. This module stays free of numpy and scipy (the store's term
cache imports it on every update); weighting many papers at once lives in
:mod:`dailypapers.rank.weights`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

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
    (``"reward model"``: the key holds one space); :func:`unigram_mask` drops them.
    """
    counts: Counter[str] = Counter()
    for weight, text in ((TITLE_WEIGHT, title[:MAX_TEXT]), (1, (abstract or "")[:MAX_TEXT])):
        tokens = [t for t in analyze(text) if MIN_TOKEN <= len(t) <= MAX_TOKEN and not t.isdigit()]
        kept = [t if t not in STOP else "" for t in tokens]
        terms = [t for t in kept if t]
        terms += [f"{a} {b}" for a, b in pairwise(kept) if a and b]
        for _ in range(weight):
            counts.update(terms)  # counted in C, once per unit of weight
    return counts


@dataclass(slots=True)
class Corpus:
    """Document frequencies of the papers a store holds (idf comes from here)."""

    documents: int = 0
    total_length: int = 0
    frequencies: Counter[str] | None = None
    # document frequencies as an array beside their terms (see weights.corpus_of)
    aligned: tuple[Sequence[str], Any] | None = field(default=None, repr=False)
    _memo: tuple[object, int, Any] | None = field(default=None, repr=False)

    def add(self, counts: Mapping[str, int]) -> None:
        """Count one more document."""
        frequencies = self._frequencies()
        self.documents += 1
        self.total_length += sum(counts.values())
        frequencies.update(counts.keys())

    def add_all(self, documents: Iterable[Mapping[str, int]]) -> Corpus:
        for counts in documents:
            self.add(counts)
        return self

    def _frequencies(self) -> Counter[str]:
        if self.frequencies is None:
            self.frequencies = Counter()
            if self.aligned is not None:
                terms, df = self.aligned
                self.frequencies.update({t: int(n) for t, n in zip(terms, df, strict=True) if n})
                self.aligned = None
        return self.frequencies

    @property
    def average_length(self) -> float:
        return self.total_length / self.documents if self.documents else 1.0

    def idfs(self, terms: Sequence[str]) -> Any:
        """Smoothed inverse document frequencies (always > 0) of ``terms``, as an array.

        Memoised for the same term list (the benchmark weighs its whole corpus
        with one vocabulary several times).
        """
        import numpy as np

        memo = self._memo
        if memo is None or memo[0] is not terms or memo[1] != self.documents:
            if self.aligned is not None and self.aligned[0] is terms:
                df = self.aligned[1]
            else:
                frequencies = self._frequencies()
                df = np.fromiter((frequencies.get(t, 0) for t in terms), np.float64, len(terms))
            idf = np.log((1 + self.documents) / (1 + df)) + 1.0
            memo = self._memo = (terms, self.documents, idf)
        return memo[2]
