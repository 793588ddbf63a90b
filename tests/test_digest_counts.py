"""E-mail digests: the subject counts what the body lists and counts; a venue shows once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from dailypapers.models import Author, Paper
from dailypapers.render.digest import (
    Digest,
    Entry,
    TopicDigest,
    render_chat,
    render_html,
    render_text,
    subject,
)

BASE = Paper(
    id="2505.00000",
    version=1,
    title="A paper",
    abstract="About things.",
    authors=(Author("Ann"),),
    categories=("cs.CL",),
    primary="cs.CL",
    published=datetime(2025, 5, 1, tzinfo=UTC),
    updated=datetime(2025, 5, 12, tzinfo=UTC),
)


def paper(n: int, **changes: object) -> Paper:
    return BASE.with_changes(
        id=f"2505.{n:05d}",
        title=f"Paper number {n}",
        updated=BASE.updated - timedelta(minutes=n),
        **changes,
    )


def listed_and_counted(text: str) -> tuple[int, int]:
    listed = len(set(re.findall(r"^\* Paper number (\d+)", text, re.MULTILINE)))
    counted = sum(int(n) for n in re.findall(r"\.\.\. and (\d+) more new paper", text))
    return listed, counted


def test_subject_counts_what_a_capped_body_lists_and_counts() -> None:
    one = TopicDigest("One", tuple(Entry(paper(n)) for n in (1, 2, 3, 4)))
    two = TopicDigest("Two", tuple(Entry(paper(n)) for n in (5, 6, 7)))
    digest = Digest("Daily Papers", date(2026, 8, 1), (one, two)).capped(2)
    text = render_text(digest)
    listed, counted = listed_and_counted(text)
    assert (listed, counted) == (4, 3)
    assert subject(digest) == "Daily Papers: 7 new papers (August 1, 2026)"
    assert text.startswith("Daily Papers: 7 new papers, August 1, 2026")
    assert "7 new papers, August 1, 2026." in render_html(digest)
    assert render_chat(digest, 3500).startswith("Daily Papers: 7 new papers")


def test_a_paper_in_two_topics_counts_once() -> None:
    shared = Entry(paper(1))
    digest = Digest(
        "Daily Papers",
        date(2026, 8, 1),
        (TopicDigest("One", (shared, Entry(paper(2)))), TopicDigest("Two", (shared,))),
    )
    assert digest.total == 2 and subject(digest).startswith("Daily Papers: 2 new papers")
    assert digest.capped(1).total == 2


def test_a_venue_named_in_the_comment_is_not_repeated() -> None:
    accepted = paper(1, comment="Accepted at ICLR 2025 (Oral)")
    text, html = (
        render(Digest("D", date(2026, 8, 1), (TopicDigest("T", (Entry(accepted),)),)))
        for render in (render_text, render_html)
    )
    assert text.count("ICLR") == 1 and "Venue:" not in text
    assert html.count("ICLR") == 1


def test_a_venue_from_the_journal_reference_is_shown_once() -> None:
    published = paper(1, journal_ref="NeurIPS 2024, pages 1-12")
    digest = Digest("D", date(2026, 8, 1), (TopicDigest("T", (Entry(published),)),))
    text, html = render_text(digest), render_html(digest)
    assert text.count("NeurIPS") == 1 and "  Venue: NeurIPS 2024" in text
    assert html.count("NeurIPS") == 1
