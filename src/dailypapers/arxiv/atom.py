"""Parse arXiv query API responses (Atom 1.0 with opensearch and arxiv extensions).

Elements are found by namespace and by attribute, never by position: the
backend that replaced the API on 2025-11-11 reordered the elements of an
entry. Format reference:
https://info.arxiv.org/help/api/user-manual.html#_details_of_atom_results_returned
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from dailypapers.arxiv.errors import ArxivAPIError, AtomParseError
from dailypapers.models import (
    MAX_VERSION,
    Author,
    InvalidArxivId,
    Paper,
    TimestampOutOfRange,
    bounded,
    parse_timestamp,
    split_id,
)

ATOM = "http://www.w3.org/2005/Atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV = "http://arxiv.org/schemas/atom"
NAMESPACES = {"atom": ATOM, "opensearch": OPENSEARCH, "arxiv": ARXIV}

# arXiv reports a failed query as a feed whose single entry has an id under
# https://arxiv.org/api/errors# (http:// before the 2025 backend), titled "Error".
_ERROR_ID = re.compile(r"^https?://(?:export\.)?arxiv\.org/api/errors")
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?<(?:!doctype\s+html|html)\b", re.IGNORECASE)
log = logging.getLogger(__name__)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of query results, with the opensearch paging metadata arXiv sent."""

    total_results: int
    start_index: int
    items_per_page: int
    papers: tuple[Paper, ...]


def parse_feed(content: bytes) -> FeedPage:
    """Parse one query API response body.

    Raises :class:`ArxivAPIError` for arXiv's error feed and
    :class:`AtomParseError` for anything that is not a usable arXiv feed.
    """
    root = _parse_xml(content)
    if root.tag != f"{{{ATOM}}}feed":
        raise AtomParseError(f"not an Atom feed: root element is <{etree.QName(root).localname}>")
    entries = root.findall("atom:entry", NAMESPACES)
    _raise_for_error_entry(entries)
    return FeedPage(
        total_results=_opensearch_int(root, "totalResults"),
        start_index=_opensearch_int(root, "startIndex"),
        items_per_page=_opensearch_int(root, "itemsPerPage"),
        papers=tuple(_sane_papers(entries)),
    )


def parse_xml(content: bytes) -> Any:
    """Parse an XML body from arXiv safely (no network, no entities, no DTD).

    Raises :class:`AtomParseError` for an empty, HTML or malformed body.
    """
    return _parse_xml(content)


# The size cap bounds bytes, not nodes: 60 MB of ``<a/>`` became 15 million elements,
# 2 GB parsed. A body of more than MAX_TAGS tags (``<``) is refused when they average
# under MIN_TAG_BYTES bytes each: arXiv's densest XML (a collaboration's thousand
# authors, ``<author><name>Y. Li</name></author>``) has 9 or more, and a page of 250
# such papers has about a million tags.
MAX_TAGS = 1_000_000
MIN_TAG_BYTES = 6


def _parse_xml(content: bytes) -> Any:
    if not content.strip():
        raise AtomParseError("empty response body")
    tags = content.count(b"<")
    if tags > MAX_TAGS and tags * MIN_TAG_BYTES > len(content):
        raise AtomParseError(f"{tags:,} tags of under {MIN_TAG_BYTES} bytes: not arXiv's XML")
    if _HTML_START.match(content):
        raise AtomParseError(f"got an HTML page, not an Atom feed{_html_title(content)}")
    if not content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise AtomParseError(f"not XML: {_snippet(content)}")
    # No network, no entity expansion, default size limits: the body comes
    # from the network and arXiv never needs any of these.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        recover=False,
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise AtomParseError(f"malformed XML ({exc.msg}): {_snippet(content)}") from None
    if root is None:
        raise AtomParseError("empty XML document")
    if root.getroottree().docinfo.doctype:
        raise AtomParseError("unexpected DOCTYPE in an Atom feed")
    return root


def _html_title(content: bytes) -> str:
    match = _HTML_TITLE.search(content[:4096])
    if match is None:
        return ""
    title = " ".join(match.group(1).decode("utf-8", "replace").split())
    return f" (title: {title[:80]!r})" if title else ""


def _snippet(content: bytes) -> str:
    return repr(" ".join(content[:60].decode("utf-8", "replace").split()))


def _raise_for_error_entry(entries: list[Any]) -> None:
    for entry in entries:
        if _ERROR_ID.match(_text(entry, "atom:id") or ""):
            message = _text(entry, "atom:summary") or _text(entry, "atom:title") or "unknown error"
            raise ArxivAPIError(message)


def _opensearch_int(root: Any, name: str) -> int:
    text = _text(root, f"opensearch:{name}")
    if text is None:
        raise AtomParseError(f"feed has no opensearch:{name}")
    try:
        return int(text)
    except ValueError:
        raise AtomParseError(f"opensearch:{name} is not an integer: {text[:40]!r}") from None


class BadEntry(AtomParseError):
    """One entry with absurd values (a version or date no paper has): skipped, not fatal."""


def _sane_papers(entries: list[Any]) -> Iterator[Paper]:
    """Each entry's paper; an entry with absurd values is skipped with a warning naming it."""
    for position, entry in enumerate(entries, 1):
        try:
            yield _paper(entry, position)
        except BadEntry as exc:
            log.warning("skipped a bad arXiv entry: %s", exc)


def _paper(entry: Any, position: int) -> Paper:
    # One pass over the entry's children, then dict look-ups: much cheaper
    # than a namespaced find() per field.
    kids, authors, categories = _children(entry)
    raw_id = _kid_text(kids, _A_ID)
    where = f"entry {position} ({raw_id})" if raw_id else f"entry {position}"
    if not raw_id:
        raise AtomParseError(f"{where} has no <id>")
    paper_id, version = _split_entry_id(raw_id, where)
    title = _kid_text(kids, _A_TITLE)
    if not title:
        raise AtomParseError(f"{where} has no <title>")
    terms = _categories(categories)
    paper = Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=_kid_text(kids, _A_SUMMARY) or "",
        authors=tuple(_authors(authors)),
        categories=terms,
        primary=_primary(kids.get(_X_PRIMARY), terms),
        published=_timestamp(_kid_text(kids, _A_PUBLISHED), "published", where),
        updated=_timestamp(_kid_text(kids, _A_UPDATED), "updated", where),
        comment=_kid_text(kids, _X_COMMENT),
        journal_ref=_kid_text(kids, _X_JOURNAL_REF),
        doi=_kid_text(kids, _X_DOI),
    )
    return bounded(paper)


_A_ID, _A_TITLE, _A_SUMMARY = f"{{{ATOM}}}id", f"{{{ATOM}}}title", f"{{{ATOM}}}summary"
_A_PUBLISHED, _A_UPDATED = f"{{{ATOM}}}published", f"{{{ATOM}}}updated"
_A_AUTHOR, _A_NAME, _A_CATEGORY = f"{{{ATOM}}}author", f"{{{ATOM}}}name", f"{{{ATOM}}}category"
_X_COMMENT, _X_JOURNAL_REF = f"{{{ARXIV}}}comment", f"{{{ARXIV}}}journal_ref"
_X_DOI, _X_PRIMARY = f"{{{ARXIV}}}doi", f"{{{ARXIV}}}primary_category"
_X_AFFILIATION = f"{{{ARXIV}}}affiliation"


def _children(entry: Any) -> tuple[dict[Any, Any], list[Any], list[Any]]:
    """The first child element of each tag (as ``find`` would return it), and every
    ``<author>`` and every ``<category>`` child in order (as ``iterfind`` would)."""
    kids: dict[Any, Any] = {}
    authors, categories = [], []
    for child in entry:
        tag = child.tag
        if tag == _A_AUTHOR:
            authors.append(child)
        elif tag == _A_CATEGORY:
            categories.append(child)
        kids.setdefault(tag, child)
    return kids, authors, categories


def _kid_text(kids: dict[Any, Any], tag: str) -> str | None:
    element = kids.get(tag)
    return None if element is None else (_element_text(element) or None)


def _split_entry_id(raw_id: str, where: str) -> tuple[str, int]:
    try:
        paper_id, version = split_id(raw_id)
    except InvalidArxivId:
        raise AtomParseError(f"{where}: <id> is not an arXiv abs URL") from None
    if version is None:
        raise AtomParseError(f"{where}: <id> has no version")
    if not 1 <= version <= MAX_VERSION:
        raise BadEntry(f"{where}: absurd version v{version}"[:200])
    return paper_id, version


def _authors(elements: list[Any]) -> list[Author]:
    """Each ``<author>``'s first ``<name>`` (skipped when blank) and its affiliations."""
    authors = []
    for element in elements:
        name_element, affiliations = None, []
        for child in element:  # one pass, as _children: no namespaced find() per author
            tag = child.tag
            if tag == _A_NAME:
                name_element = child if name_element is None else name_element
            elif tag == _X_AFFILIATION:
                affiliations.append(child)
        name = _element_text(name_element) if name_element is not None else ""
        if not name:
            continue
        texts = (_element_text(item) for item in affiliations)
        authors.append(Author(name, tuple(a for a in texts if a)))
    return authors


def _categories(elements: list[Any]) -> tuple[str, ...]:
    terms = (element.get("term") for element in elements)
    return tuple(dict.fromkeys(term.strip() for term in terms if term and term.strip()))


def _primary(element: Any, categories: tuple[str, ...]) -> str:
    term = (element.get("term") or "").strip() if element is not None else ""
    return term or (categories[0] if categories else "")


def _timestamp(text: str | None, name: str, where: str) -> datetime:
    if not text:
        raise AtomParseError(f"{where} has no <{name}>")
    try:
        return parse_timestamp(text)
    except TimestampOutOfRange:
        raise BadEntry(f"{where}: <{name}> out of range: {text[:40]!r}") from None
    except ValueError:
        raise AtomParseError(f"{where}: <{name}> is not a timestamp: {text[:40]!r}") from None


def _text(parent: Any, path: str) -> str | None:
    """The stripped text of the first ``path`` child, ``None`` when absent or blank."""
    element = parent.find(path, NAMESPACES)
    if element is None:
        return None
    return _element_text(element) or None


def _element_text(element: Any) -> str:
    if len(element):  # not a leaf (arXiv sends none): every piece of text, as before
        return "".join(element.itertext()).strip()
    return (element.text or "").strip()
