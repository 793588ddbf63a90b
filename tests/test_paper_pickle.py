"""Papers pickle as plain tuples (the run's spool): every field comes back."""

from __future__ import annotations

import pickle
from dataclasses import fields
from datetime import UTC, datetime

from dailypapers.models import Author, Paper


def test_a_paper_comes_back_from_pickle_field_for_field() -> None:
    paper = Paper(
        id="2505.07818",
        version=3,
        title="Sparse Verifiers",
        abstract="An abstract.",
        authors=(Author("Ada Lovelace", ("Analytical Engines Ltd",)), Author("Alan Turing")),
        categories=("cs.LG", "cs.AI"),
        primary="cs.LG",
        published=datetime(2025, 5, 1, 12, tzinfo=UTC),
        updated=datetime(2025, 5, 14, 9, 30, tzinfo=UTC),
        comment="12 pages",
        journal_ref="J. Tests 1",
        doi="10.1000/test",
        tldr="A TL;DR.",
    )
    back = pickle.loads(pickle.dumps(paper, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == paper and hash(back) == hash(paper)
    for name in (f.name for f in fields(Paper)):
        assert getattr(back, name) == getattr(paper, name), name
    assert back.authors[0].affiliations == ("Analytical Engines Ltd",)
    assert back.with_changes(tldr=None).tldr is None
