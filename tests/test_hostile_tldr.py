"""Any text a model can answer as a TL;DR, through every renderer (hypothesis).

The renderers escape a TL;DR exactly like paper text, even before the
summariser's own cleaning: feeds stay well-formed, the site and e-mail gain
no markup, the issue and README tables keep their columns and folds.
"""

from __future__ import annotations

import re
from datetime import date

import cmarkgfm
import lxml.html
from cmarkgfm.cmark import Options
from hypothesis import given
from lxml import etree

from dailypapers.render.atom import render_feed, xml_text
from dailypapers.render.digest import Digest, Entry, TopicDigest, render_html, render_issue
from dailypapers.render.markdown import Section, render_readme, table_row
from dailypapers.render.site import site_files
from dailypapers.tldr import clean
from support.sitedata import shared_papers
from test_hostile_text import (
    PLAIN,
    catalog,
    profile,
    same_files,
    scripts,
    shape,
    texts,
    visible,
)

ATOM = "{http://www.w3.org/2005/Atom}"
PLAIN_TLDR = PLAIN.with_changes(tldr="A plain one-sentence summary.")


@profile
@given(texts)
def test_feed_summary_carries_the_tldr_as_text(tldr: str) -> None:
    item = PLAIN.with_changes(tldr=tldr or "x")
    document = render_feed(catalog(item), [item], name="t", file_name="t.xml", subtitle="s")
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False))
    entry = root.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}summary") == xml_text(item.tldr)
    content = lxml.html.fragment_fromstring(entry.findtext(f"{ATOM}content"), create_parent="div")
    assert not list(content.iter("script"))


@profile
@given(texts)
def test_site_shows_the_tldr_as_data_only(tldr: str) -> None:
    item = PLAIN.with_changes(tldr=tldr or "x")
    site = site_files(catalog(item))
    page = site["index.html"].decode("utf-8")
    plain = site_files(catalog(PLAIN_TLDR))["index.html"].decode("utf-8")
    assert shape(page) <= shape(plain)
    assert same_files(scripts(page)) == same_files(scripts(plain))
    [shown] = shared_papers(site)
    assert visible(shown["tldr"]) == visible(item.tldr or "")


@profile
@given(texts)
def test_email_and_issue_keep_their_shape(tldr: str) -> None:
    def digest(item: object) -> Digest:
        topic = TopicDigest("T", (Entry(item, revision=True),))  # type: ignore[arg-type]
        return Digest("Daily Papers", date(2025, 5, 12), (topic,), link="https://x.test/")

    item = PLAIN.with_changes(tldr=tldr or "x")
    html = render_html(digest(item))
    assert shape(html) <= shape(render_html(digest(PLAIN_TLDR)))
    _, body = render_issue(digest(item))
    rendered = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    assert len(re.findall(r"<td[ >]", rendered)) == 3
    assert "<script" not in rendered and "<img" not in rendered


@profile
@given(texts)
def test_readme_row_keeps_four_cells_and_one_fold(tldr: str) -> None:
    item = PLAIN.with_changes(tldr=tldr or "x", comment="short")
    row = table_row(item, tldr=True)
    text = render_readme("T", [Section("S", [item])], updated_on=date(2025, 5, 12), tldr=True)
    assert row in text
    html = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    assert len(re.findall(r"<td[ >]", html)) == 4
    assert html.count("<details>") == html.count("</details>") == 1
    assert "<script" not in html and "<img" not in html


def test_readme_without_the_flag_ignores_the_tldr() -> None:
    assert table_row(PLAIN_TLDR) == table_row(PLAIN)
    assert "<summary>A plain one-sentence summary.</summary>" in table_row(PLAIN_TLDR, tldr=True)


@profile
@given(texts)
def test_cleaning_leaves_one_safe_line(text: str) -> None:
    cleaned = clean(text)
    assert cleaned == cleaned.strip() and "\n" not in cleaned
    assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x1f]", cleaned)
    assert "@everyone" not in cleaned.lower()


def test_cleaning_keeps_the_joiners_scripts_need() -> None:
    persian = "می‌خواهم"  # ZWNJ inside a word
    hindi = "क्‍ष"  # ZWJ in a conjunct
    mongolian = "ᠨ᠎ᠠ"  # the vowel separator changes the letter's form
    assert clean(f"{persian} {hindi} {mongolian}") == f"{persian} {hindi} {mongolian}"
    assert clean("a​b󠁁c⁢d") == "abcd"  # hiding characters still go


@profile
@given(texts, texts)
def test_an_issue_row_keeps_its_link_whatever_its_title_and_tldr_hold(
    title: str, tldr: str
) -> None:
    # Before: a backtick in the title and another in the TL;DR made one code span
    # across them (119 of 3,000 fuzzed rows lost their arXiv link).
    item = PLAIN.with_changes(title=f"{title} ` x", tldr=f"{tldr} ` y")
    topic = TopicDigest("T", (Entry(item),))
    _, body = render_issue(Digest("Daily", date(2025, 5, 12), (topic,), link="https://x.test/"))
    html = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    assert f'<a href="https://arxiv.org/abs/{item.versioned_id}">' in html
    assert "<code>" not in html
