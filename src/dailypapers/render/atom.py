"""Atom feeds (RFC 4287): one per topic, ``<slug>.xml``, and ``all.xml`` for every topic.

With a library, ``for-you.xml`` too: the "For you" list, best first.

Entry ids are the arXiv abs URL *without* version, so a feed reader keeps one
entry per paper; a revision changes the entry's ``updated`` (and its links to
the new version). Built with lxml, so every text is escaped; characters XML
forbids (control characters in a paper's text) are dropped. Timestamps come
from the papers: the feed's ``updated`` is its newest entry's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree
from markupsafe import escape

from dailypapers.links import labels
from dailypapers.memo import per_paper
from dailypapers.models import ABS_URL, PDF_URL, Paper, drop_characters, format_timestamp
from dailypapers.render.catalog import Catalog

ATOM = "http://www.w3.org/2005/Atom"
ARXIV_SCHEME = "http://arxiv.org/schemas/atom"
TOPIC_SCHEME = "urn:dailypapers:topic"
GENERATOR_URI = "https://github.com/dailypapers/dailypapers"
ALL_FEED = "all"
FOR_YOU_FEED = "for-you"  # with a library: the "For you" list, best first
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # ``updated`` of a feed with no entries
# What :func:`xml_text` drops, in one pass: what XML 1.0 forbids (it allows tab,
# newline, carriage return, U+0020-D7FF, U+E000-FFFD and U+10000-10FFFF) and the
# controls and bidi overrides of :func:`dailypapers.models.strip_controls`.
_DROPPED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


# The same characters and the controls in ASCII text (a fast path: tens of
# thousands of texts a render).
_ASCII_DROPPED = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def xml_text(text: str | None) -> str:
    """``text`` without the characters XML 1.0 cannot carry, controls or bidi overrides."""
    return drop_characters(text, _ASCII_DROPPED, _DROPPED)


def feed_files(
    catalog: Catalog, base_url: str | None = None, *, limit: int | None = None
) -> dict[str, bytes]:
    """``{file name: Atom document}``: every topic's feed and ``all.xml``.

    ``all.xml`` holds the newest ``limit`` papers of all topics (``max_papers``;
    without it, as many as the largest topic lists).
    """
    entries = EntryCache(catalog)
    files = {
        f"{topic.slug}.xml": render_feed(
            catalog,
            topic.papers,
            name=topic.name,
            file_name=f"{topic.slug}.xml",
            subtitle=f"Newest arXiv papers for {topic.query}",
            base_url=base_url,
            entries=entries,
        )
        for topic in catalog.topics
    }
    files[f"{ALL_FEED}.xml"] = render_feed(
        catalog,
        catalog.papers()[: limit or max((len(t.papers) for t in catalog.topics), default=0)],
        name=None,
        file_name=f"{ALL_FEED}.xml",
        subtitle="Newest arXiv papers of every topic",
        base_url=base_url,
        entries=entries,
    )
    if catalog.ranking is not None:  # only with a library
        shown = {p.id: p for p in catalog.papers()}  # as the topics show them (TL;DR)
        files[f"{FOR_YOU_FEED}.xml"] = render_feed(
            catalog,
            [shown.get(pick.paper.id, pick.paper) for pick in catalog.ranking.picks],
            name="For you",
            file_name=f"{FOR_YOU_FEED}.xml",
            subtitle="The newest papers, ranked by your library (best first)",
            base_url=base_url,
            entries=entries,
        )
    return files


class EntryCache:
    """Each paper's ``<entry>``, serialised once and shared by every feed that lists it.

    A paper's entry is the same in its topic's feeds and in ``all.xml``
    (its topics are computed once, here), so feeds are assembled from these
    bytes instead of copying element trees.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._names = {topic.slug: topic.name for topic in catalog.topics}
        self._entries: dict[tuple[str, int], bytes] = {}

    def __call__(self, paper: Paper) -> bytes:
        key = (paper.id, paper.version)
        entry = self._entries.get(key)
        if entry is None:
            topics = [self._names[slug] for slug in self.catalog.topics_of(paper)]
            entry = self._entries[key] = _entry_bytes(paper, topics)
        return entry


def render_feed(
    catalog: Catalog,
    papers: Sequence[Paper],
    *,
    name: str | None,
    file_name: str,
    subtitle: str,
    base_url: str | None = None,
    entries: EntryCache | None = None,
) -> bytes:
    """One Atom feed of ``papers`` (newest first) for topic ``name`` (None: all topics)."""
    entries = entries or EntryCache(catalog)
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    self_url = f"{base_url.rstrip('/')}/{file_name}" if base_url else None
    identity = f"{catalog.title}\0{name if name is not None else '*'}"
    _text(feed, "id", self_url or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, identity)}")
    title = catalog.title if name is None else f"{catalog.title}: {name}"
    _text(feed, "title", title)
    _text(feed, "subtitle", subtitle)
    newest = max((p.updated for p in papers), default=EPOCH)
    _text(feed, "updated", format_timestamp(newest))
    _text(etree.SubElement(feed, f"{{{ATOM}}}author"), "name", catalog.title)
    generator = _text(feed, "generator", "dailypapers")
    generator.set("uri", GENERATOR_URI)
    if self_url:
        _link(feed, "self", self_url, "application/atom+xml")
    head = bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    end = head.rindex(b"</feed>")
    return b"".join([head[:end], *(entries(paper) for paper in papers), head[end:]])


def _entry_bytes(paper: Paper, topic_names: Sequence[str]) -> bytes:
    """The entry as UTF-8, as lxml serialises it (pretty-printed) in a feed.

    Written as text (one string a paper) instead of building and serialising
    an element tree: the same bytes, several times faster. Each text is
    escaped as libxml2 escapes element text or attribute values, and the
    whole entry is cleaned once (:func:`xml_text`): escaping maps characters
    that cleaning keeps to markup it keeps, so the two commute, and the
    entry's own markup has nothing to drop. The title is cleaned first (its
    whitespace is collapsed after). ``tests/test_render_same_bytes.py``
    compares this with lxml's tree.
    """
    versioned = paper.versioned_id
    authors = paper.author_names
    lines = [
        f"<entry>\n  <id>{_escape_clean(ABS_URL + paper.id)}</id>\n"
        f"  <title>{_escape_clean(' '.join(xml_text(paper.title).split()))}</title>\n"
        f"  <updated>{format_timestamp(paper.updated)}</updated>\n"
        f"  <published>{format_timestamp(paper.published)}</published>",
        *[f"  <author>\n    <name>{_escape_clean(a)}</name>\n  </author>" for a in authors],
        *[_category(category, ARXIV_SCHEME) for category in paper.categories],
        *[_category(topic, TOPIC_SCHEME) for topic in topic_names],
        _link_line("alternate", ABS_URL + versioned, "text/html"),
        _link_line("related", PDF_URL + versioned, "application/pdf", "PDF"),
        *[_link_line("related", k.url, "text/html", k.label) for k in labels(paper).links],
        f'  <summary type="text">{_escape_clean(paper.tldr or paper.abstract)}</summary>\n'
        f'  <content type="html">{_escape_clean(_entry_html(paper, authors))}</content>\n'
        "</entry>\n",
    ]
    entry = "\n".join(lines)
    return (xml_text(entry) if _needs_cleaning(paper, topic_names) else entry).encode("utf-8")


def _needs_cleaning(paper: Paper, topic_names: Sequence[str]) -> bool:
    """Whether the paper's texts (or the topic names) have anything :func:`xml_text` drops.

    Almost never: one check of all of them instead of a cleaning of the
    whole entry (the markup's "·" makes it non-ASCII, so it would take the
    slow path). Links and labels come from these texts.
    """
    texts = [paper.id, paper.title, paper.abstract, *paper.author_names, *paper.categories]
    texts += [paper.comment or "", paper.journal_ref or "", paper.tldr or "", *topic_names]
    joined = "".join(texts)
    if not joined.isascii():
        return True
    raw = joined.encode("ascii")
    return len(raw.translate(None, _ASCII_DROPPED)) != len(raw)


def _escape_clean(text: str) -> str:
    """Element text as libxml2 writes it (``&``, ``<``, ``>``, carriage return)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


# What libxml2 writes for these characters in an attribute value, in this order.
_ATTRIBUTE_ESCAPES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\n", "&#10;"),
    ("\r", "&#13;"),
    ("\t", "&#9;"),
)


def _escape_attribute(text: str) -> str:
    """An attribute value as libxml2 writes it (quotes and whitespace as references too),
    not cleaned (:func:`_entry_bytes` cleans the whole entry)."""
    for character, reference in _ATTRIBUTE_ESCAPES:
        if character in text:
            text = text.replace(character, reference)
    return text


def _category(term: str, scheme: str) -> str:
    return f'  <category term="{_escape_attribute(term)}" scheme="{scheme}"/>'


def _link_line(rel: str, href: str, kind: str, title: str | None = None) -> str:
    """A ``<link>`` as :func:`_link` builds it, as one line of the entry."""
    extra = f' title="{_escape_attribute(title)}"' if title else ""
    return f'  <link rel="{rel}" type="{kind}" href="{_escape_attribute(href)}"{extra}/>'


@per_paper
def entry_html(paper: Paper) -> str:
    """The entry's HTML body: labels, authors, comment, abstract and links, all escaped,
    without the characters XML cannot carry (:func:`xml_text`)."""
    return xml_text(_entry_html(paper, paper.author_names))


def _entry_html(paper: Paper, authors: Sequence[str]) -> str:
    """:func:`entry_html` not cleaned yet: cleaning the body after escaping its texts is
    the same as cleaning each text first (the markup has nothing to drop)."""
    found = labels(paper)
    badges = [f"Revised (v{paper.version})"] if found.revised else []
    badges += [found.venue] if found.venue else []
    parts: list[str] = []
    if badges:
        parts.append(f"<p><b>{_html(' · '.join(badges))}</b></p>")
    parts.append(f"<p>{_html(', '.join(authors))}</p>")
    parts.append(f"<p>Categories: {_html(', '.join(paper.categories))}</p>")
    if paper.comment:
        parts.append(f"<p>Comment: {_html(paper.comment)}</p>")
    if paper.tldr:
        parts.append(f"<p><b>TL;DR:</b> {_html(paper.tldr)}</p>")
    parts.append(f"<p>{_html(paper.abstract)}</p>")
    anchors = [("arXiv", paper.abs_url), ("PDF", paper.pdf_url)]
    anchors += [(link.label, link.url) for link in found.links]
    links = " · ".join(f'<a href="{_html(url)}">{_html(text)}</a>' for text, url in anchors)
    parts.append(f"<p>{links}</p>")
    return "\n".join(parts)


def _html(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return str(escape(text))
    return text  # nothing markupsafe would change


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = xml_text(text)
    return element


def _link(
    parent: etree._Element, rel: str, href: str, kind: str, *, title: str | None = None
) -> None:
    element = etree.SubElement(parent, f"{{{ATOM}}}link")
    element.set("rel", rel)
    element.set("type", kind)
    element.set("href", xml_text(href))
    if title:
        element.set("title", title)
