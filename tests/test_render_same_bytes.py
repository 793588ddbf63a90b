"""The faster renderers write the same bytes as the code they replaced (issue 12, item 4).

Each fast path is compared with the slower reference it replaced (kept here):
the regexes of the README's cell escaping, the text cleaners, lxml's
serialisation of an Atom entry, the site template's card loop, strftime.
Speed itself is measured by ``bench/render_memory.py``, not here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from dailypapers.config import load_config
from dailypapers.links import labels
from dailypapers.listedquery import PaperReader
from dailypapers.models import Author, Paper, format_timestamp, one_line, strip_controls
from dailypapers.offline.corpus import hostile_papers
from dailypapers.pipeline import save_all, sections
from dailypapers.publish.tree import publish_tree
from dailypapers.render import atom, jsonout, markdown, site
from dailypapers.render.catalog import Catalog, build_catalog, paper_record
from dailypapers.render.ranked import Pick, Ranking
from dailypapers.render.site import card_html, paper_data
from dailypapers.sources import TopicFetch, plan_topics
from dailypapers.store import open_store

# Text that exercises every escape: markup, entities, schemes, addresses,
# backslashes, controls, bidi overrides, what XML forbids, odd case folding.
PIECES = [
    "&",
    "&amp;",
    "&#12;",
    "&#x1F;",
    "<",
    ">",
    "</p></details>",
    "|",
    "\\",
    "`",
    "[",
    "]",
    ":",
    "ftp:",
    "FTP:",
    "mailto:",
    "maılto:",
    "xmpp:",
    "xftp:",
    "@",
    "a@b.co",
    "x.y+z@w-v.org",
    "@b.",
    " ",
    "  ",
    "\n",
    "\t",
    "\r",
    "\x0b",
    "\x0c",
    "\x00",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\u202e",
    "\u2067",
    "\ufffe",
    "\uffff",
    "\u00a0",
    "\u2028",
    "\u0130",
    "\u212a",
    "é",
    "😀",
    '"',
    "'",
    "]]>",
    "word",
    "GitHub",
    "https://github.com/a/b",
]
TEXT = st.lists(st.sampled_from(PIECES) | st.text(max_size=5), max_size=12).map("".join)

_ENTITY = re.compile(r"&(?=#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_OLD_AUTOLINK = re.compile(r"(?i)\b(ftp|mailto|xmpp):")
_OLD_EMAIL_AT = re.compile(r"(?<=[\w.+-])@(?=[\w-]+\.)")
_BACKSLASH = re.compile(r"\\(?=$|[|<>\[\]&])")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def old_escape_cell(text: str, *, brackets: bool = False, backticks: bool = False) -> str:
    text = _ENTITY.sub("&amp;", text)
    if backticks:
        text = text.replace("`", "&#96;")
    text = _OLD_AUTOLINK.sub(r"\1&#58;", text)
    text = _BACKSLASH.sub("&#92;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    text = _OLD_EMAIL_AT.sub("<!-- -->@", text)
    if brackets:
        text = text.replace("[", "\\[").replace("]", "\\]")
    return text


def old_strip_controls(text: str | None) -> str:
    return _CONTROL.sub("", text or "")


def old_xml_text(text: str | None) -> str:
    return old_strip_controls(_NOT_XML.sub("", text or ""))


@settings(max_examples=400)
@given(TEXT, st.booleans(), st.booleans())
def test_escape_cell_is_the_regex_version(text: str, brackets: bool, backticks: bool) -> None:
    expected = old_escape_cell(text, brackets=brackets, backticks=backticks)
    assert markdown.escape_cell(text, brackets=brackets, backticks=backticks) == expected


@settings(max_examples=400)
@given(TEXT | st.text())
def test_text_cleaners_are_the_regex_versions(text: str) -> None:
    assert strip_controls(text) == old_strip_controls(text)
    assert one_line(text) == " ".join(old_strip_controls(text).split())
    assert atom.xml_text(text) == old_xml_text(text)


def test_the_fast_paths_are_taken_and_left() -> None:
    assert markdown.escape_cell("see ftp://x and FTP:y, mail a@b.co") == (
        "see ftp&#58;//x and FTP&#58;y, mail a<!-- -->@b.co"
    )
    assert one_line("  two\nlines ") == "two lines"
    assert one_line("one line") == "one line"
    assert strip_controls("a\x00b\x7fc") == "abc"
    assert atom.xml_text("a\x0bb\u202ec\ud800") == "abc"


def test_timestamps_are_strftime() -> None:
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11))]
    for year in (1, 999, 1000, 1991, 2025, 9999):
        for zone in zones:
            value = datetime(year, 6, 15, 23, 59, 58, 123456, tzinfo=zone)
            expected = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert format_timestamp(value) == expected


# --- Atom entries: the same bytes as lxml's tree -----------------------------------


def lxml_entry(paper: Paper, topic_names: Sequence[str]) -> bytes:
    """The entry as the feeds built it before: an lxml tree, serialised."""
    ns = atom.ATOM

    def text(parent: etree._Element, tag: str, value: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ns}}}{tag}")
        element.text = old_xml_text(value)
        return element

    def link(parent: etree._Element, rel: str, href: str, kind: str, title: str = "") -> None:
        element = etree.SubElement(parent, f"{{{ns}}}link")
        element.set("rel", rel)
        element.set("type", kind)
        element.set("href", old_xml_text(href))
        if title:
            element.set("title", title)

    entry = etree.Element(f"{{{ns}}}entry", nsmap={None: ns})
    text(entry, "id", f"https://arxiv.org/abs/{paper.id}")
    text(entry, "title", " ".join(old_xml_text(paper.title).split()))
    text(entry, "updated", paper.updated.strftime("%Y-%m-%dT%H:%M:%SZ"))
    text(entry, "published", paper.published.strftime("%Y-%m-%dT%H:%M:%SZ"))
    for author in paper.author_names:
        text(etree.SubElement(entry, f"{{{ns}}}author"), "name", author)
    for term, scheme in [(c, atom.ARXIV_SCHEME) for c in paper.categories] + [
        (t, atom.TOPIC_SCHEME) for t in topic_names
    ]:
        element = etree.SubElement(entry, f"{{{ns}}}category")
        element.set("term", old_xml_text(term))
        element.set("scheme", scheme)
    link(entry, "alternate", paper.abs_url, "text/html")
    link(entry, "related", paper.pdf_url, "application/pdf", title="PDF")
    for found in labels(paper).links:
        link(entry, "related", found.url, "text/html", title=found.label)
    text(entry, "summary", paper.tldr or paper.abstract).set("type", "text")
    html = old_xml_text(atom.entry_html(paper))
    text(entry, "content", html).set("type", "html")
    data = bytes(etree.tostring(entry, encoding="UTF-8", pretty_print=True))
    return data.replace(f' xmlns="{ns}"'.encode(), b"", 1)


def a_paper(title: str, abstract: str, extra: str, version: int = 1) -> Paper:
    when = datetime(2025, 5, 12, 17, 59, 58, tzinfo=UTC)
    return Paper(
        id="2505.07263",
        version=version,
        title=title,
        abstract=abstract,
        authors=(Author(extra), Author("Ada Lovelace", ("Somewhere",))),
        categories=("cs.CL", extra),
        primary="cs.CL",
        published=when - timedelta(days=version - 1),
        updated=when,
        comment=f"Accepted at ICML 2025 {extra} https://github.com/a/b" if extra else None,
        journal_ref=extra or None,
        tldr=extra or None,
    )


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT, TEXT, st.integers(1, 3))
def test_an_entry_is_what_lxml_wrote(title: str, abstract: str, extra: str, version: int) -> None:
    paper = a_paper(title, abstract, extra, version)
    try:
        assert atom._entry_bytes(paper, ["Topic", extra]) == lxml_entry(paper, ["Topic", extra])
    finally:
        labels.cache_clear()
        atom.entry_html.cache_clear()


def test_hostile_entries_are_what_lxml_wrote() -> None:
    for paper in hostile_papers():
        assert atom._entry_bytes(paper, ["C++", "<b>"]) == lxml_entry(paper, ["C++", "<b>"])


# --- Site cards: the same bytes as the template's loop ------------------------------

OLD_LOOP = """
{%- for p in papers -%}
<li class="paper{{ ' is-new' if p.new }}"{% if p.score is not none %} data-score="{{ p.score }}"{% endif %}><h2><a href="{{ p.abs_url }}">{{ p.title }}</a></h2>
{%- if p.tldr %}<p class="tldr">TL;DR: {{ p.tldr }}{% endif -%}
<p>{{ p.updated }}
{%- if p.new %} <span class="badge new">new</span>{% endif %}
{%- if p.score is not none %} <span class="badge score">score {{ p.score }}</span>{% endif %}
{%- if p.revised %} <span class="badge revised">revised v{{ p.version }} (first {{ p.published }})</span>{% endif %}
{%- if p.venue %} <span class="badge venue">{{ p.venue }}</span>{% endif %}
{%- if not topic %}{% for slug in p.topics %} <span class="badge topic">{{ topic_names[slug] }}</span>{% endfor %}{% endif %}
{%- for c in p.categories %} <b>{{ c }}</b>{% endfor %} <a href="{{ p.pdf_url }}">PDF</a>
{%- for link in p.links %} <a href="{{ link.url }}">{{ link.label }}</a>{% endfor %}<p>{{ p.authors }}
{%- if p.comment %}<p class="comment">Comment: {{ p.comment }}{% endif %}
{%- if p.journal_ref %}<p class="comment journal">Journal: {{ p.journal_ref }}{% endif %}<p>{{ p.abstract }}
{%- endfor -%}
"""  # noqa: E501 (the template's own lines)


def old_cards(cards: list[dict[str, Any]], topic: str | None, names: dict[str, str]) -> str:
    environment = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    template = environment.from_string(OLD_LOOP)
    return template.render(papers=cards, topic=topic, topic_names=names)


@settings(max_examples=400)
@given(st.lists(TEXT | st.sampled_from(["", " ", "A B", "A ", " B", "É. Noël"]), max_size=6))
def test_the_authors_line_is_each_name_collapsed(names: list[str]) -> None:
    assert site._authors_line(names) == ", ".join(markdown.collapse(name) for name in names)
    assert site._authors_line(["Ada Lovelace", "É. Noël"]) == "Ada Lovelace, É. Noël"


@pytest.mark.parametrize("index", [True, False])
def test_cards_are_what_the_template_wrote(index: bool) -> None:
    names = {"c": "C++ <b>", "a": "A & 'B'"}
    papers = [*hostile_papers(), a_paper("T", "A", "x\"<'&", 2), a_paper("T", "A", "", 1)]
    variants = [(False, None), (True, 0.5), (False, 0.1234), (True, None)]
    cards, written = [], []
    for n, paper in enumerate(papers):
        new, score = variants[n % len(variants)]
        slugs = ("c", "a") if n % 2 else ("a",)
        view = paper_data(paper)
        cards.append({**view.card, "topics": slugs, "new": new, "score": score})
        shown = [names[slug] for slug in slugs] if index else []
        written.append(card_html(view, new=new, score=score, topics=shown))
    assert "".join(written) == old_cards(cards, None if index else "c", names)
    paper_data.cache_clear()


# --- papers.json: the same bytes as json.dumps of the records ------------------------


def old_render_json(catalog: Catalog) -> str:
    """``papers.json`` as it was written before: every record a dict, then ``json.dumps``."""
    document = jsonout.papers_document(catalog)
    marker = "papers-marker-"
    papers: list[list[Any]] = []
    for number, topic in enumerate(document["topics"]):
        papers.append(topic["papers"])
        topic["papers"] = f"{marker}{number}"
    text = json.dumps(document, ensure_ascii=False, indent=2)

    def lines(records: list[Any]) -> str:
        if not records:
            return "[]"
        inner = ",\n        ".join(json.dumps(r, ensure_ascii=False) for r in records)
        return f"[\n        {inner}\n      ]"

    return re.sub(f'"{marker}(\\d+)"', lambda m: lines(papers[int(m[1])]), text) + "\n"


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT, TEXT, st.integers(1, 3))
def test_a_json_line_is_json_dumps_of_the_record(
    title: str, abstract: str, extra: str, version: int
) -> None:
    paper = a_paper(title, abstract, extra, version).with_changes(doi=extra or None)
    try:
        assert jsonout.paper_line(paper) == json.dumps(paper_record(paper), ensure_ascii=False)
    finally:
        labels.cache_clear()


@pytest.mark.parametrize("ranked", [False, True])
def test_papers_json_is_what_json_dumps_wrote(ranked: bool) -> None:
    papers = [*hostile_papers(), a_paper("T", "A", "x\"<'&\u2028", 2), a_paper("T", "A", "", 1)]
    scores = {p.id: 1 / (n + 3) for n, p in enumerate(papers) if n % 3}
    ranking = Ranking([Pick(p, 0.123456) for p in papers[:3]], scores) if ranked else None
    topics = [("A <b>", "q & r", papers), ("B", "", papers[1::2]), ("Empty", "x", [])]
    catalog = build_catalog('T "&', topics, ranking)
    try:
        assert jsonout.render_json(catalog) == old_render_json(catalog)
    finally:
        labels.cache_clear()


# --- Reading the listed papers --------------------------------------------------


def test_the_reader_reads_what_the_store_lists_and_shares_papers(
    tmp_path: Path, store_url: str
) -> None:
    (tmp_path / "papers.toml").write_text(
        f'[[topics]]\nname = "A"\n\n[[topics]]\nname = "B"\n\n[store]\nurl = "{store_url}"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "papers.toml")
    # PostgreSQL refuses NUL in text (arXiv's XML cannot carry one either).
    papers = [p.with_changes(abstract=p.abstract.replace("\x00", "")) for p in hostile_papers()]
    when = datetime(2025, 6, 2, 12, tzinfo=UTC)
    plans = plan_topics(config)
    fetched = [TopicFetch(plans[0], papers), TopicFetch(plans[1], papers[1:])]
    with open_store(config.db_url) as store:
        save_all(store, fetched, when)
        listed = sections(config, store)
        ids = [store.find_topic(plan.topic.name, plan.query_string) for plan in plans]
        expected = [store.topic_papers(i, 100) for i in ids if i is not None]
        with store.reading() as conn:
            alone = PaperReader().newest(conn, ids[1] or 0, 2)
    assert [list(s.papers) for s in listed] == expected
    assert len(listed[0].papers) == len(papers) > len(listed[1].papers) > 0
    shared = {id(p) for p in listed[0].papers}
    assert all(id(p) in shared for p in listed[1].papers)  # one object a paper
    assert alone == expected[1][:2]


# --- Publishing: the site's copy of the feeds -----------------------------------


def test_a_file_published_elsewhere_is_hard_linked(tmp_path: Path) -> None:
    feeds = {"a.xml": b"<feed>a</feed>", "b.xml": b"<feed>b</feed>"}
    assert publish_tree(tmp_path / "feeds", feeds, owned=lambda _: True)
    (tmp_path / "feeds" / "b.xml").write_bytes(b"changed")  # not what the site carries
    site = {"index.html": b"i", **{f"feeds/{n}": c for n, c in feeds.items()}}
    same = {f"feeds/{n}": tmp_path / "feeds" / n for n in [*feeds, "gone.xml"]}
    site["feeds/gone.xml"] = b"never published"
    assert publish_tree(tmp_path / "site", site, owned=lambda _: True, same_as=same)
    linked = (tmp_path / "site" / "feeds" / "a.xml").stat()
    assert linked.st_ino == (tmp_path / "feeds" / "a.xml").stat().st_ino
    for name in ("b.xml", "gone.xml"):  # another size, or missing: written
        assert (tmp_path / "site" / "feeds" / name).stat().st_nlink == 1
    assert {
        p.relative_to(tmp_path / "site").as_posix(): p.read_bytes()
        for p in (tmp_path / "site").rglob("*")
        if p.is_file()
    } == site
