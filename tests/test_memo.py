"""The per-render memo: keyed on (id, version), never shared between different papers."""

from __future__ import annotations

from datetime import UTC, datetime

from dailypapers.memo import per_paper
from dailypapers.models import Author, Paper

WHEN = datetime(2025, 5, 1, tzinfo=UTC)


def make(title: str) -> Paper:
    return Paper(
        id="2505.00001",
        version=1,
        title=title,
        abstract="a",
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
    )


def test_a_paper_is_computed_once_until_cleared() -> None:
    calls: list[str] = []

    @per_paper
    def title_of(paper: Paper) -> str:
        calls.append(paper.title)
        return paper.title

    paper = make("One")
    assert [title_of(paper), title_of(paper)] == ["One", "One"]
    assert calls == ["One"]
    title_of.cache_clear()
    title_of(paper)
    assert calls == ["One", "One"]


def test_another_paper_with_the_same_id_and_version_gets_its_own_value() -> None:
    @per_paper
    def title_of(paper: Paper) -> str:
        return paper.title

    assert title_of(make("One")) == "One"
    assert title_of(make("Two")) == "Two"  # e.g. another test's or store's paper
