"""The README renderer: the reference format byte for byte, and unbreakable cells."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from dailypapers.models import Author, Paper
from dailypapers.offline.reference import read_readme, reference_papers, reference_text
from dailypapers.render.markdown import (
    Section,
    collapse,
    comment_cell,
    readme_parts,
    render_readme,
    render_section,
    same_but_date,
    table_row,
)

HEADER = "| a | b | c | d |\n| --- | --- | --- | --- |\n"


def gfm(row: str) -> str:
    """HTML of a one-row table, rendered by GitHub's own cmark-gfm (raw HTML kept)."""
    return str(
        cmarkgfm.github_flavored_markdown_to_html(
            HEADER + row + "\n", options=Options.CMARK_OPT_UNSAFE
        )
    )


WHEN = datetime(2025, 5, 12, 17, 59, tzinfo=UTC)


def paper(**changes: object) -> Paper:
    base = Paper(
        id="2505.07818",
        version=1,
        title="A Title",
        abstract="An abstract.",
        authors=(Author("A. Author"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
    )
    return base.with_changes(**changes)


def test_golden_reference_round_trip() -> None:
    """Parse the reference README, render its papers, get the reference back exactly."""
    text = reference_text()
    readme = read_readme(text)
    sections = [Section(name, papers) for name, papers in reference_papers(readme).items()]
    rendered = render_readme(
        readme.title,
        sections,
        updated_on=readme.updated_on,
        max_papers=100,
        link_base="http://arxiv.org/abs/",
    )
    assert rendered == text


def test_reference_has_what_the_golden_test_relies_on() -> None:
    readme = read_readme(reference_text())
    assert [name for name, _ in readme.sections] == ["Reward Model", "Reasoning"]
    rows = [row for _, rows in readme.sections for row in rows]
    assert len(rows) == 40
    assert {row.version for row in rows} == {1, 2}
    assert any(len(row.comment) > 20 for row in rows)
    assert any(0 < len(row.comment) <= 20 for row in rows)


def test_v2_rows_show_their_revision_date() -> None:
    papers = reference_papers()["Reward Model"]
    revised = next(p for p in papers if p.id == "2505.02835")
    assert revised.version == 2
    assert "| 2025-05-09 |" in table_row(revised, "http://arxiv.org/abs/")


def test_comment_folding_rule() -> None:
    assert comment_cell(paper(comment=None)) == ""
    assert comment_cell(paper(comment="ICML 2025")) == "ICML 2025"
    assert comment_cell(paper(comment="x" * 20)) == "x" * 20
    assert comment_cell(paper(comment="Accepted by IJCAI 2025")) == (
        "<details><summary>Accep...</summary><p>Accepted by IJCAI 2025</p></details>"
    )


def test_whitespace_collapses() -> None:
    assert collapse("  Reward\n  Models\tand\r\n  more ") == "Reward Models and more"
    row = table_row(paper(title="Two\nLines", abstract="a\n\n  b"))
    assert "Two Lines" in row and "<p>a b</p>" in row


def test_date_is_the_last_updated_date_and_link_the_version() -> None:
    later = datetime(2025, 5, 14, 1, 0, tzinfo=UTC)
    row = table_row(paper(version=3, updated=later))
    assert row.startswith("| **[A Title](https://arxiv.org/abs/2505.07818v3)** | 2025-05-14 |")


def count_cells(row: str) -> int:
    return gfm(row).count("<td")


HOSTILE = [
    "a | b || c",
    "</p></details> escaped",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "p<0.01 and |x| > 3",
    "ends with a backslash \\",
    "backslash before pipe \\| here",
    "]( http://evil ) [link]",
    "&lt;entity&gt; &amp; R&D",
    "line\nbreak\r\nand\u2028separator",
    "`code | with pipe`",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_never_breaks_the_row(text: str) -> None:
    row = table_row(paper(title=text, abstract=text, comment=text + " and twenty more chars"))
    assert "\n" not in row
    assert count_cells(row) == 4
    html = gfm(row)
    assert "<script>" not in html and "<img" not in html
    assert html.count("<details>") == 2 and html.count("</details>") == 2


def test_escaping_is_visible_text_not_markup() -> None:
    row = table_row(paper(abstract="x </p></details> <b>y</b> a|b"))
    assert "&lt;/p&gt;&lt;/details&gt; &lt;b&gt;y&lt;/b&gt; a\\|b" in row


def test_latex_and_unicode_pass_through() -> None:
    text = r"We get $\mathcal{O}(n^2)$ and 8.4\% — naïve 模型 🙂"
    row = table_row(paper(abstract=text))
    assert f"<p>{text}</p>" in row


def test_same_but_date() -> None:
    sections = [Section("T", [paper()])]
    one = render_readme("X", sections, updated_on=date(2025, 1, 1))
    two = render_readme("X", sections, updated_on=date(2025, 1, 2))
    assert one != two and same_but_date(one, two)
    assert not same_but_date(one, render_readme("X", [], updated_on=date(2025, 1, 1)))


def test_empty_topic_renders_a_header_only_table() -> None:
    text = render_readme("X", [Section("Empty", [])], updated_on=date(2025, 1, 1))
    assert text.endswith(
        "## Empty\n| **Title** | **Date** | **Abstract** | **Comment** |\n"
        "| --- | --- | --- | --- |\n\n"
    )


def test_the_readme_streams_a_row_at_a_time_and_joins_to_the_rendered_text() -> None:
    """No part holds a whole table: a 100-paper topic's text is never one string twice over."""
    papers = [paper(id=f"2505.{n:05d}", title=f"Title {n}") for n in range(100)]
    sections = [Section("Busy", papers), Section("Empty", [])]
    parts = list(readme_parts("X", sections, updated_on=date(2025, 1, 1)))
    assert "".join(parts) == render_readme("X", sections, updated_on=date(2025, 1, 1))
    longest_row = max(len(table_row(p)) for p in papers)
    assert max(len(part) for part in parts[1:]) <= max(longest_row + 1, len(HEADER) * 4)
    assert sum("2505." in part for part in parts) == len(papers)
    joined = "".join(parts)
    assert render_section(sections[0]) in joined
    rows = [joined.index(table_row(p) + "\n") for p in papers]  # each row whole, in order
    assert rows == sorted(rows) and joined.count("## Empty") == 1


def test_max_papers_in_intro() -> None:
    text = render_readme("X", [], updated_on=date(2025, 1, 1), max_papers=25)
    assert "up to a maximum of 25 papers." in text


any_text = st.text(st.characters(codec="utf-8"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(title=any_text, abstract=any_text, comment=any_text)
def test_any_text_keeps_four_cells_and_intact_folds(
    title: str, abstract: str, comment: str
) -> None:
    row = table_row(paper(title=title or "t", abstract=abstract, comment=comment))
    assert "\n" not in row and "\r" not in row
    assert count_cells(row) == 4
    html = gfm(row)
    opened = html.count("<details>")
    assert opened == html.count("</details>") == (2 if len(collapse(comment)) > 20 else 1)
    assert (
        re.search(
            r"<(?!/?(details|summary|p|strong|a|td|tr|th|thead|tbody|table|em|code|"
            r"del|s)\b)[a-zA-Z]",
            html,
        )
        is None
    )
