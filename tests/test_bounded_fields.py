"""A paper's fields are bounded where they are read: arXiv's API, its feed, OAI-PMH.

Before, one hostile entry with a 4 MB comment made a 9 MB e-mail (refused by
servers that cap message size, every run until newer papers pushed it out)
and emptied the GitHub issue and chat message of every topic.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dailypapers.arxiv.atom import parse_feed
from dailypapers.models import FIELD_LIMITS, MAX_AUTHORS, MAX_NAME, Author, Paper, bounded
from dailypapers.offline.fake_arxiv import feed_xml

WHEN = datetime(2025, 5, 20, 10, tzinfo=UTC)


def paper(**changes: object) -> Paper:
    base = Paper(
        id="2505.00001",
        version=1,
        title="A title",
        abstract="An abstract.",
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
        comment="9 pages",
        journal_ref="ICML 2025",
        doi="10.1000/xyz",
    )
    return base.with_changes(**changes)


def test_an_ordinary_paper_is_the_same_object() -> None:
    ordinary = paper()
    assert bounded(ordinary) is ordinary


def test_every_field_is_cut_to_its_limit() -> None:
    huge = paper(
        title="t" * 10_000,
        abstract="a" * 4_000_000,
        comment="c" * 4_000_000,
        journal_ref="j" * 50_000,
        doi="10.1/" + "d" * 1000,
        authors=tuple(Author("n" * 2000, ("x" * 2000,) * 50) for _ in range(MAX_AUTHORS + 5)),
    )
    cut = bounded(huge)
    for name, limit in FIELD_LIMITS:
        value = getattr(cut, name)
        assert len(value) == limit and value.endswith("…"), name
    assert cut.doi is None  # a cut DOI would point to another paper
    assert len(cut.authors) == MAX_AUTHORS
    first = cut.authors[0]
    assert len(first.name) == MAX_NAME and len(first.affiliations) == 20
    assert all(len(text) == MAX_NAME for text in first.affiliations)


def test_the_api_parser_bounds_what_it_reads() -> None:
    page = feed_xml(
        [paper(comment="c" * 4_000_000)],
        total_results=1,
        start_index=0,
        items_per_page=1,
        query_string="search_query=x",
    )
    (parsed,) = parse_feed(page).papers
    assert len(parsed.comment or "") == dict(FIELD_LIMITS)["comment"]
