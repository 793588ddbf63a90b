"""The stemmer in use (PyStemmer, through snowballstemmer) stems as Snowball's own code.

Stored full-text terms and queries must agree whatever backend an install
has, so the fast C stemmer is checked against the pure-Python algorithm.
"""

from __future__ import annotations

import pytest
from snowballstemmer.english_stemmer import EnglishStemmer

from dailypapers.arxiv import query
from dailypapers.arxiv.query import analyze

WORDS = (
    "Reasoning reasoned models modelling generalization generalisation sparsity "
    "transformers attention diffusion distillation RLHF rewards probabilistic "
    "naïve Schrödinger équations coöperative Bayesian kernels estimators "
    "hypotheses fairly happily running runner relational conditionally"
)


def test_the_stems_are_snowballs() -> None:
    reference = EnglishStemmer()
    words = WORDS.lower().split()
    expected = [reference.stemWord(w) for w in analyze_words(words)]
    assert analyze(" ".join(words)) == expected
    assert analyze("Reasoning models") == ["reason", "model"]


def test_only_one_cache_of_stems_is_kept() -> None:
    # PyStemmer's own cache (10,000 words) duplicated _STEMS and, purging,
    # made a real-text cold start's 21,000 distinct words 2.5x slower to stem.
    assert getattr(query._stemmer(), "maxCacheSize", 0) == 0


def test_the_cache_of_stems_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    stems = query._StemCache()
    monkeypatch.setattr(query, "MAX_STEMS", 3)
    words = ["reasoning", "models", "rewards", "kernels", "estimators"]
    assert [stems[w] for w in words] == [query._STEMS[w] for w in words]
    assert len(stems) <= 3 and stems.misses == 5
    assert stems["estimators"] == "estim" and stems.misses == 5  # kept: no second stemming


def analyze_words(words: list[str]) -> list[str]:
    """``analyze``'s folding without its stemming (accents off, lower case)."""
    import unicodedata

    folded = []
    for word in words:
        decomposed = unicodedata.normalize("NFKD", word)
        folded.append("".join(c for c in decomposed if not unicodedata.combining(c)))
    return folded
