"""Any text a paper can carry, through every renderer (hypothesis).

For arbitrary Unicode titles, abstracts, authors, comments and journal
references (control characters and markup included): the Atom feed stays
well-formed XML, the site and the e-mail's HTML gain no element, attribute or
script that a plain paper does not produce, the site's embedded data reads
back intact, and the GitHub issue's table keeps its columns.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import cmarkgfm
import lxml.html
from cmarkgfm.cmark import Options
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from dailypapers.models import Author, Paper
from dailypapers.render.atom import render_feed
from dailypapers.render.catalog import Catalog, TopicListing
from dailypapers.render.digest import Digest, Entry, TopicDigest, render_html, render_issue
from dailypapers.render.site import site_files

WHEN = datetime(2025, 5, 12, 17, 59, tzinfo=UTC)
HOSTILE = [
    "<script>alert(1)</script>",
    "</script>",
    "<img src=x onerror=alert(1)>",
    "</p></details>",
    "javascript:alert(1)",
    '"',
    "'",
    "&",
    "&lt;",
    "&#0;",
    "]]>",
    "<!--",
    "-->",
    "|",
    "\\",
    "\x00",
    "\x01",
    "\x0b",
    "\x1b",
    "\ufffe",
    "\ud7ff",
    "\u2028",
    "\u202e",
    "\r\n",
    "$x$",
    "{{ x }}",
    "{% raw %}",
    "https://github.com/a/b",
    "ICML 2025",
]
texts = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.characters(codec="utf-8")), max_size=25
).map("".join)


def paper(title: str, abstract: str, author: str, comment: str, journal: str) -> Paper:
    return Paper(
        id="2505.07818",
        version=2,
        title=title or "t",
        abstract=abstract,
        authors=(Author(author or "A"), Author("B. Author")),
        categories=("cs.LG", "stat.ML"),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
        comment=comment or None,
        journal_ref=journal or None,
    )


PLAIN = paper("Plain title", "Plain abstract.", "Ada Lovelace", "10 pages", "J. Plain 1")


def catalog(item: Paper) -> Catalog:
    topic = '<b>Reward</b> & "Model"'
    return Catalog("Daily Papers", [TopicListing(topic, "reward", "ti:x", [item])])


def visible(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable() and not ch.isspace())


def same_files(found: list[tuple[str | None, str | None]]) -> list[tuple[str | None, str]]:
    """Script elements with the content hash cut from their file names."""
    return [(kind, re.sub(r"-[0-9a-f]{10}\.js$", ".js", src or "")) for kind, src in found]


def shape(html: str) -> set[tuple[str, tuple[str, ...]]]:
    """Every element as (tag, its attribute names): what markup a page has."""
    root = lxml.html.document_fromstring(html)
    return {(el.tag, tuple(sorted(el.attrib))) for el in root.iter() if isinstance(el.tag, str)}


def scripts(html: str) -> list[tuple[str | None, str | None]]:
    root = lxml.html.document_fromstring(html)
    return [(s.get("type"), s.get("src")) for s in root.iter("script")]


profile = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@profile
@given(st.tuples(texts, texts, texts, texts, texts))
def test_atom_feed_stays_well_formed(fields: tuple[str, str, str, str, str]) -> None:
    item = paper(*fields)
    document = render_feed(catalog(item), [item], name="t", file_name="t.xml", subtitle="s")
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False))
    entry = root.find("{http://www.w3.org/2005/Atom}entry")
    assert entry is not None
    assert entry.findtext("{http://www.w3.org/2005/Atom}id") == "https://arxiv.org/abs/2505.07818"


@profile
@given(st.tuples(texts, texts, texts, texts, texts))
def test_site_gains_no_markup_and_keeps_its_data(fields: tuple[str, str, str, str, str]) -> None:
    item = paper(*fields)
    site = site_files(catalog(item))
    page = site["index.html"].decode("utf-8")
    plain = site_files(catalog(PLAIN))["index.html"].decode("utf-8")
    assert shape(page) <= shape(plain)
    assert same_files(scripts(page)) == same_files(scripts(plain))
    cards = lxml.html.document_fromstring(page).xpath('//li[contains(@class, "paper")]/@id')
    assert cards == [f"paper-{item.id}"]
    [shared] = [content for path, content in site.items() if path.startswith("assets/papers-")]
    [shown] = json.loads(shared.decode().removeprefix("window.DAILYPAPERS_PAPERS = ")[:-2])
    assert visible(shown["title"]) == visible(item.title)  # the text, whatever its spacing


@profile
@given(st.tuples(texts, texts, texts, texts, texts))
def test_email_html_gains_no_markup(fields: tuple[str, str, str, str, str]) -> None:
    def digest(item: Paper) -> Digest:
        topic = TopicDigest('<i>T</i> & "x"', (Entry(item, revision=True),))
        return Digest("Daily Papers", date(2025, 5, 12), (topic,), link="https://x.test/")

    html = render_html(digest(paper(*fields)))
    assert shape(html) <= shape(render_html(digest(PLAIN)))
    root = lxml.html.document_fromstring(html)
    assert not list(root.iter("script"))
    assert not [
        a
        for el in root.iter()
        if isinstance(el.tag, str)
        for a in el.attrib
        if a.lower().startswith("on")
    ]


@profile
@given(texts, texts)
def test_issue_table_keeps_its_columns(title: str, comment: str) -> None:
    item = paper(title, "a", "b", comment, "")
    topic = TopicDigest("T", (Entry(item),))
    _, body = render_issue(Digest("Daily Papers", date(2025, 5, 12), (topic,)))
    html = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
    assert len(re.findall(r"<th[ >]", html)) == len(re.findall(r"<td[ >]", html)) == 3
    assert "<script" not in html and "<img" not in html
