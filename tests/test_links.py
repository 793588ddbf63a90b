"""Code/project links, venues and the revised label, read from a paper's own text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dailypapers.links import Link, classify, find_links, find_venue, labels
from dailypapers.models import Author, Paper

T0 = datetime(2025, 5, 1, tzinfo=UTC)


def paper(
    abstract: str = "", comment: str | None = None, journal_ref: str | None = None, version: int = 1
) -> Paper:
    return Paper(
        "2505.00001", version, "T", abstract, (Author("A"),), ("cs.LG",), "cs.LG", T0, T0,
        comment, journal_ref,
    )  # fmt: skip


def test_code_and_project_links_in_abstract_and_comment() -> None:
    found = find_links(
        paper(
            "Code: https://github.com/foo/bar. Data at huggingface.co/datasets/x/y, "
            "demo on https://foo.github.io/proj/). Mirror \\url{https://gitlab.com/g/p.git}.",
            comment="Project page: https://example.org/p?a=1 (see https://github.com/foo/bar)",
        )
    )
    assert found == (
        Link("github", "https://github.com/foo/bar"),
        Link("huggingface", "https://huggingface.co/datasets/x/y"),
        Link("project", "https://foo.github.io/proj/"),
        Link("gitlab", "https://gitlab.com/g/p"),
        Link("project", "https://example.org/p?a=1"),
    )


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "https://arxiv.org/abs/2501.00001",
        "https://doi.org/10.1/x",
        "https://github.com/",
        "https://github.com",
        "https://localhost/x",
        "ftp://github.com/a/b",
    ],
)
def test_what_is_not_a_code_or_project_link(raw: str) -> None:
    assert not find_links(paper(raw))


def test_a_bracket_that_belongs_to_the_url_is_kept() -> None:
    assert classify("https://en.wikipedia.org/wiki/Foo_(bar))") == Link(
        "project", "https://en.wikipedia.org/wiki/Foo_(bar)"
    )


def test_links_are_capped_and_deduplicated_case_insensitively() -> None:
    text = " ".join(f"https://github.com/o/r{n} https://GitHub.com/o/r{n}" for n in range(9))
    found = find_links(paper(text))
    assert len(found) == 6 and len({link.url.lower() for link in found}) == 6


@pytest.mark.parametrize(
    ("comment", "journal_ref", "venue"),
    [
        ("Accepted at ICML 2025, 9 pages", None, "ICML 2025"),
        ("NeurIPS 2024 (Spotlight)", None, "NeurIPS 2024 (Spotlight)"),
        ("Findings of EMNLP 2024", None, "EMNLP 2024 (Findings)"),
        ("Camera-ready for ICLR'25", None, "ICLR 2025"),
        ("accepted by TPAMI", None, "TPAMI"),
        ("Submitted to NeurIPS 2025", None, None),
        ("Under review at ICLR 2026; 12 pages", None, None),
        (
            "Submitted to NeurIPS 2025; accepted at the ICML 2025 workshop",
            None,
            "ICML 2025 (Workshop)",
        ),
        ("we beat the ACL baseline", None, None),
        ("RSS feed included", None, None),
        ("10 pages", "Phys. Rev. D 110, 012345 (2024)", "Phys. Rev. D 110, 012345 (2024)"),
        (None, "Proceedings of CVPR 2023, pp. 1-10", "CVPR 2023"),
        (None, None, None),
    ],
)
def test_venue(comment: str | None, journal_ref: str | None, venue: str | None) -> None:
    assert find_venue(paper(comment=comment, journal_ref=journal_ref)) == venue


def test_labels_mark_revisions_and_serialise() -> None:
    found = labels(paper("https://github.com/a/b", comment="ICML 2025", version=2))
    assert found.to_dict() == {
        "links": [{"kind": "github", "label": "GitHub", "url": "https://github.com/a/b"}],
        "venue": "ICML 2025",
        "revised": True,
    }
    assert not labels(paper()).revised


def test_digests_show_code_links_and_venue_escaped() -> None:
    from datetime import date

    from dailypapers.offline.corpus import hostile_papers
    from dailypapers.render.digest import Digest, Entry, TopicDigest, render_html, render_text

    hostile, plain = hostile_papers()
    digest = Digest("Daily", date(2025, 5, 12), (TopicDigest("T", (Entry(hostile), Entry(plain))),))
    text = render_text(digest)
    assert "  GitHub: https://github.com/evil/repo\n" in text
    assert "  Venue: NeurIPS 2024\n" in text and "  Venue: ICML 2025\n" in text
    html = render_html(digest)
    assert '<a href="https://github.com/good/repo">GitHub</a>' in html
    assert "<strong>NeurIPS 2024</strong>" in html
    assert "<script" not in html and "<img" not in html and "<svg" not in html
    assert 'href="javascript' not in html and "&lt;img src=x onerror=alert(3)&gt;" in html
