"""The default method's pieces: rank-weighted knn, idf power and bigram weight."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from dailypapers.rank import methods, score
from dailypapers.rank.vectors import Corpus
from dailypapers.rank.weights import Bm25, TermMatrix


def test_spread_knn_is_a_rank_weighted_mean_of_the_nearest() -> None:
    block = np.array([[0.9, 0.1], [0.3, 0.6], [0.0, 0.5]])  # library x candidates
    plain = score.knn_scores(block, 2, 0.0)
    spread = score.knn_scores(block, 2, 0.0, spread=True)
    w = 1.0 / (1.0 + np.log1p(np.arange(2)))  # 1, 1/(1 + ln 2)
    assert plain.scores == pytest.approx([0.6, 0.55])
    assert spread.scores == pytest.approx(
        [(0.9 * w[0] + 0.3 * w[1]) / w.sum(), 0.6 * w[0] / w.sum() + 0.5 * w[1] / w.sum()]
    )
    assert spread.best[:, 0].tolist() == [0, 1] and spread.best[:, 1].tolist() == [1, 2]


def test_spread_knn_with_fewer_items_than_k_counts_the_missing_as_zero() -> None:
    block = np.array([[1.0]])
    w = score.rank_weights(8)
    assert score.knn_scores(block, 8, 0.0, spread=True).scores == pytest.approx([1.0 / w.sum()])


def test_idf_power_and_bigram_weight() -> None:
    terms = ["reward", "model", "reward model"]
    counts = TermMatrix(sparse.csr_matrix(np.array([[1.0, 1.0, 1.0]])), terms)
    corpus = Corpus(documents=10, total_length=30, aligned=(terms, np.array([1.0, 8.0, 1.0])))
    idf = corpus.idfs(terms)
    tuned = Bm25(idf_power=1.2, bigram_weight=0.7)
    assert tuned.term_weights(terms, corpus) == pytest.approx(idf**1.2 * [1.0, 1.0, 0.7])
    row = np.asarray(tuned(counts, corpus).todense()).ravel()
    expected = idf**1.2 * [1.0, 1.0, 0.7]
    assert row == pytest.approx(expected / np.linalg.norm(expected))


def test_the_default_is_the_tuned_rank_weighted_knn() -> None:
    default = methods.METHODS[methods.DEFAULT]
    assert (default.kind, default.k, default.spread) == ("knn", 8, True)
    assert default.weighting == Bm25(idf_power=1.2, bigram_weight=0.7)
