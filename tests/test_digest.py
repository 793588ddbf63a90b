"""Digest rendering: the reference's issue style, escaping, and every channel's size limit."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import cmarkgfm
from cmarkgfm.cmark import Options

from dailypapers.models import Author, Paper
from dailypapers.notify.webhook import chat_payload
from dailypapers.render.digest import (
    GITHUB_BODY_LIMIT,
    Digest,
    Entry,
    TopicDigest,
    render_chat,
    render_html,
    render_issue,
    render_text,
    subject,
)

HOSTILE = Paper(
    id="2505.00001",
    version=2,
    title="Breaking | tables ] with [links] </p></details><script>alert(1)</script>",
    abstract="ignored in digests",
    authors=(Author("Ann <b>Bold</b>"), Author("Bo | Pipe"), Author("C"), Author("D")),
    categories=("cs.CL",),
    primary="cs.CL",
    published=datetime(2025, 5, 1, tzinfo=UTC),
    updated=datetime(2025, 5, 12, tzinfo=UTC),
    comment="Accepted at </p></details> | <img src=x onerror=alert(1)> NeurIPS 2025 \\",
)


def paper(n: int, comment_words: int = 40) -> Paper:
    return HOSTILE.with_changes(
        id=f"2505.{n:05d}",
        version=1,
        title=f"Paper {n}: " + "a long title " * 10,
        comment="comment " * comment_words,
        updated=HOSTILE.updated - timedelta(minutes=n),
    )


def digest(topics: list[TopicDigest], **kwargs: object) -> Digest:
    return Digest("Daily Papers", date(2026, 8, 1), tuple(topics), **kwargs)  # type: ignore[arg-type]


def html_of(markdown: str) -> str:
    return str(
        cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    )


def test_issue_in_the_reference_style() -> None:
    d = digest([TopicDigest("Reward Model", (Entry(paper(3)), Entry(HOSTILE, revision=True)))])
    title, body = render_issue(d)
    assert title == "Latest 2 Papers - August 1, 2026"
    assert "## Reward Model\n| **Title** | **Date** | **Comment** |\n| --- | --- | --- |\n" in body
    assert "Abstract" not in body and "ignored in digests" not in body
    assert render_issue(digest([TopicDigest("T", (Entry(paper(1)),))]))[0].startswith(
        "Latest 1 Paper - "
    )


def test_hostile_text_cannot_break_the_issue_table() -> None:
    d = digest([TopicDigest("Reward Model", (Entry(HOSTILE, revision=True), Entry(paper(2))))])
    html = html_of(render_issue(d)[1])
    assert html.count("<tr>") == 3 and html.count("<td>") == 6
    assert "<script" not in html and "<img" not in html
    assert "(revised, v2)" in html
    tags = set(re.findall(r"</?([a-z0-9]+)", html))
    assert tags <= {"h2", "table", "thead", "tbody", "tr", "th", "td", "strong", "a", "em"} | {
        "details",
        "summary",
        "p",
    }


def test_email_parts_escape_and_mark_revisions() -> None:
    d = digest(
        [TopicDigest("Reward Model", (Entry(HOSTILE, revision=True),))],
        link="https://github.com/lab/papers#readme",
    )
    html, text = render_html(d), render_text(d)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Ann &lt;b&gt;Bold&lt;/b&gt;, Bo | Pipe, C, et al." in html
    assert "[revised, v2]" in text and "<em>(revised, v2)</em>" in html
    assert (
        "https://arxiv.org/abs/2505.00001v2" in text
        and "https://arxiv.org/abs/2505.00001v2" in html
    )
    assert subject(d) == "Daily Papers: 1 new paper (August 1, 2026)"


def test_a_huge_issue_is_shrunk_below_githubs_limit_with_a_readme_link() -> None:
    topics = [
        TopicDigest(f"Topic {t}", tuple(Entry(paper(t * 100 + n, 60)) for n in range(100)))
        for t in range(20)
    ]
    d = digest(topics, link="https://github.com/lab/papers#readme")
    title, body = render_issue(d)
    assert len(body) <= GITHUB_BODY_LIMIT
    rows = body.count("\n| **[")
    assert 20 <= rows < 2000
    assert title == f"Latest {rows} Papers - August 1, 2026"
    assert body.count("more new papers in the [README](https://github.com/lab/papers#readme)") == 20
    html = html_of(body)
    assert html.count("<td>") == 3 * rows
    assert rows % 20 == 0  # the same number from each topic, and as many as fit:
    assert len(render_issue(d.capped(rows // 20 + 1), limit=10**9)[1]) > GITHUB_BODY_LIMIT


def test_even_too_many_topics_never_exceed_the_limit() -> None:
    topics = [TopicDigest(f"Topic {t} " + "x" * 200, (Entry(paper(t)),)) for t in range(1000)]
    title, body = render_issue(digest(topics, link="https://example.org/readme"))
    assert title == "Latest 1000 Papers - August 1, 2026"
    assert len(body) <= GITHUB_BODY_LIMIT
    assert body.endswith("… cut to fit; all papers: https://example.org/readme\n")


def test_chat_text_respects_max_chars() -> None:
    topics = [
        TopicDigest(f"Topic {t}", tuple(Entry(paper(n)) for n in range(50))) for t in range(3)
    ]
    text = render_chat(digest(topics), 1500)
    assert len(text) <= 1500
    assert "... and" in text and text.startswith("Daily Papers: ")


def test_a_paper_cannot_reference_other_issues_from_the_issue() -> None:
    # GitHub links #N, owner/repo#N, GH-N and issue URLs and announces them in
    # the other issue's timeline; a paper's comment must not post there daily.
    comment = "Fixes torvalds/linux#1, see #2, GH-3, https://github.com/python/cpython/issues/4"
    item = paper(1).with_changes(comment=comment, tldr="Also octo/repo#5.")
    body = render_issue(digest([TopicDigest("T", (Entry(item),))]))[1]
    assert not re.search(r"(?<!&)#\d|GH-\d|/issues/\d", body)
    assert "#\u200d1" in body and "GH-\u200d3" in body and "octo/repo#\u200d5" in body


def test_chat_renders_no_markdown_link_image_or_fence_from_a_paper() -> None:
    title = "[arxiv.org/abs/2505.00001](https://evil.example/x) ![](https://t.example/p.png) ```"
    item = paper(1).with_changes(title=title)
    payload = chat_payload(digest([TopicDigest("T", (Entry(item),))]), 4000)
    for key in ("text", "content"):
        text = str(payload[key])
        assert "](" not in text and "![" not in text and "```" not in text
        assert "arxiv.org/abs/2505.00001" in text  # the words stay, readable
