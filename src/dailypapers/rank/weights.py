"""Term weights of many papers at once: count matrices, BM25 and tf-idf.

A :class:`TermMatrix` (term counts, one CSR row per paper) becomes a matrix
of weighted, unit-length rows, so ``rank`` and the benchmark share one code
path and neither loops in Python over terms.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from dailypapers.rank.vectors import Corpus, Vector


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


def corpus_of(counts: TermMatrix) -> Corpus:
    """The corpus of the papers (rows) of ``counts``, its frequencies kept as an array."""
    df = np.diff(sparse.csc_matrix(counts.matrix).indptr).astype(np.float64)
    return Corpus(counts.matrix.shape[0], int(counts.matrix.sum()), aligned=(counts.terms, df))


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
    """BM25 term weights (saturated tf, length-normalised), rows L2-normalised.

    ``idf_power`` raises idf (rare terms weigh more); bigrams' weights are
    multiplied by ``bigram_weight``.
    """

    k1: float = 1.2
    b: float = 0.75
    idf_power: float = 1.0
    bigram_weight: float = 1.0

    def term_weights(self, terms: Sequence[str], corpus: Corpus) -> Any:
        idf = corpus.idfs(terms)
        if self.idf_power != 1.0:
            idf = idf**self.idf_power
        if self.bigram_weight != 1.0:
            unigrams = unigram_mask(terms)
            idf = idf * (unigrams + (1.0 - unigrams) * self.bigram_weight)
        return idf

    def __call__(self, counts: TermMatrix, corpus: Corpus) -> Any:
        matrix = counts.matrix.tocsr(copy=True)
        lengths = np.asarray(matrix.sum(axis=1)).ravel()
        norms = self.k1 * (1 - self.b + self.b * lengths / corpus.average_length)
        tf = matrix.data
        per_entry = np.repeat(norms, np.diff(matrix.indptr))
        idf = self.term_weights(counts.terms, corpus)[matrix.indices]
        matrix.data = tf * (self.k1 + 1) / (tf + per_entry) * idf
        return normalised_rows(matrix)
