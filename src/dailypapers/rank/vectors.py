"""Sparse term vectors of papers: the project's analyzer, idf, BM25 weights.

A paper's text is its title and abstract only (never authors), analysed by
:func:`dailypapers.arxiv.query.analyze` (accent-folded, lower-cased,
Snowball-stemmed), so ranking sees the very stems search matches. Title
tokens count :data:`TITLE_WEIGHT` times. A vector is a plain ``dict`` from
term to weight, L2-normalised. Weighting works on many papers at once: a
:class:`TermMatrix` (term counts, one CSR row per paper) becomes a matrix of
weighted, normalised rows, so ``rank`` and the benchmark share one code path
and neither loops in Python over terms.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from scipy import sparse

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
class TermMatrix:
    """Term counts of many papers: one CSR row per paper over ``terms``."""

    matrix: Any  # scipy CSR, papers x terms, float64 counts
    terms: list[str]

    def rows(self, positions: Any) -> TermMatrix:
        return TermMatrix(self.matrix[positions], self.terms)

    def vector(self, weighted: Any, row: int) -> Vector:
        """Row ``row`` of a weighted matrix over these terms, as a dict."""
        start, end = weighted.indptr[row], weighted.indptr[row + 1]
        columns, values = weighted.indices[start:end], weighted.data[start:end]
        return {self.terms[c]: float(v) for c, v in zip(columns, values, strict=True)}


@dataclass(slots=True)
class MatrixBuilder:
    """Collects term counts row by row (compact arrays, not dicts) into a :class:`TermMatrix`."""

    columns: dict[str, int] = field(default_factory=dict)
    indices: array[int] = field(default_factory=lambda: array("i"))
    data: array[float] = field(default_factory=lambda: array("d"))
    pointers: array[int] = field(default_factory=lambda: array("q", [0]))

    def add(self, counts: Mapping[str, int]) -> None:
        columns = self.columns
        self.indices.extend([columns.setdefault(term, len(columns)) for term in counts])
        self.data.extend(map(float, counts.values()))
        self.pointers.append(len(self.indices))

    def build(self) -> TermMatrix:
        shape = (len(self.pointers) - 1, max(len(self.columns), 1))
        matrix = sparse.csr_matrix(
            (
                np.frombuffer(self.data, dtype=np.float64),
                np.frombuffer(self.indices, dtype=np.int32),
                np.frombuffer(self.pointers, dtype=np.int64),
            ),
            shape=shape,
        )
        matrix.sort_indices()
        return TermMatrix(matrix, list(self.columns))


def term_matrix(documents: Iterable[Mapping[str, int]]) -> TermMatrix:
    builder = MatrixBuilder()
    for counts in documents:
        builder.add(counts)
    return builder.build()


@dataclass(slots=True)
class Corpus:
    """Document frequencies of the papers a store holds (idf comes from here)."""

    documents: int = 0
    total_length: int = 0
    frequencies: Counter[str] | None = None
    _aligned: tuple[Sequence[str], Any] | None = field(default=None, repr=False)
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

    @classmethod
    def of(cls, counts: TermMatrix) -> Corpus:
        """The corpus of the papers (rows) of ``counts``, its frequencies kept as an array."""
        df = np.diff(sparse.csc_matrix(counts.matrix).indptr).astype(np.float64)
        corpus = cls(counts.matrix.shape[0], int(counts.matrix.sum()))
        corpus._aligned = (counts.terms, df)
        return corpus

    def _frequencies(self) -> Counter[str]:
        if self.frequencies is None:
            self.frequencies = Counter()
            if self._aligned is not None:
                terms, df = self._aligned
                self.frequencies.update({t: int(n) for t, n in zip(terms, df, strict=True) if n})
                self._aligned = None
        return self.frequencies

    @property
    def average_length(self) -> float:
        return self.total_length / self.documents if self.documents else 1.0

    def idfs(self, terms: Sequence[str]) -> Any:
        """Smoothed inverse document frequencies (always > 0) of ``terms``, as an array.

        Memoised for the same term list (the benchmark weighs its whole corpus
        with one vocabulary several times).
        """
        memo = self._memo
        if memo is None or memo[0] is not terms or memo[1] != self.documents:
            if self._aligned is not None and self._aligned[0] is terms:
                df = self._aligned[1]
            else:
                frequencies = self._frequencies()
                df = np.fromiter((frequencies.get(t, 0) for t in terms), np.float64, len(terms))
            idf = np.log((1 + self.documents) / (1 + df)) + 1.0
            memo = self._memo = (terms, self.documents, idf)
        return memo[2]


def normalised_rows(matrix: Any) -> Any:
    """``matrix`` (CSR) with every non-empty row scaled to unit length."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ matrix


def unigram_mask(terms: Sequence[str]) -> Any:
    return np.fromiter((" " not in t for t in terms), np.float64, len(terms))


def tfidf(counts: TermMatrix, corpus: Corpus) -> Any:
    """Raw tf times smoothed idf, rows L2-normalised (the plain baseline)."""
    return normalised_rows(counts.matrix.multiply(corpus.idfs(counts.terms)).tocsr())


@dataclass(frozen=True, slots=True)
class Bm25:
    """BM25 term weights (saturated tf, length-normalised), rows L2-normalised."""

    k1: float = 1.2
    b: float = 0.75

    def __call__(self, counts: TermMatrix, corpus: Corpus) -> Any:
        matrix = counts.matrix.tocsr(copy=True)
        lengths = np.asarray(matrix.sum(axis=1)).ravel()
        norms = self.k1 * (1 - self.b + self.b * lengths / corpus.average_length)
        tf = matrix.data
        per_entry = np.repeat(norms, np.diff(matrix.indptr))
        idf = corpus.idfs(counts.terms)[matrix.indices]
        matrix.data = tf * (self.k1 + 1) / (tf + per_entry) * idf
        return normalised_rows(matrix)
