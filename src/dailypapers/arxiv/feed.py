"""arXiv's announcement (listing) feed: what was announced today, for whole archives.

``https://rss.arxiv.org/atom/cs+stat`` lists one announcement: every new
submission, cross-list and replacement of those archives (at most 2000
items), refreshed at midnight US Eastern after the 20:00 announcement and
empty on days without one. Its entries differ from the query API's:

* ``<id>`` is ``oai:arXiv.org:2508.13426v1`` (the version is the announced one);
* ``<summary>`` starts ``arXiv:2508.13426v1 Announce Type: new`` then
  ``Abstract: ...``; ``arxiv:announce_type`` is ``new``, ``cross``,
  ``replace`` or ``replace-cross``;
* the authors are one comma-separated ``dc:creator``;
* ``<published>`` is the feed's date (midnight US Eastern after the
  announcement), not a submission time; there is no comment, journal
  reference or DOI.

So a :class:`FeedEntry` carries a :class:`Paper` whose dates are that
announcement date and whose optional fields are empty: good for deciding
which topics a paper belongs to, not for storing (see
:mod:`dailypapers.sources.feed`). Format: https://info.arxiv.org/help/rss.html
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dailypapers.arxiv.atom import BadEntry, parse_xml
from dailypapers.arxiv.calendar import EASTERN
from dailypapers.arxiv.errors import AtomParseError
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
from dailypapers.names import DEFAULT_FEED_URL as DEFAULT_FEED_URL  # re-exported

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
ARXIV = "http://arxiv.org/schemas/atom"
DC = "http://purl.org/dc/elements/1.1/"
NAMESPACES = {"atom": ATOM, "arxiv": ARXIV, "dc": DC}
FEED_LIMIT = 2000  # arXiv's feeds carry at most this many items
ANNOUNCE_TYPES = frozenset({"new", "cross", "replace", "replace-cross"})

_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*[\w-]+\s*(?:Abstract:\s*)?", re.DOTALL)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One announced paper, as far as the feed describes it."""

    paper: Paper
    announce_type: str


@dataclass(frozen=True, slots=True)
class Listing:
    """One announcement feed: its date (``None`` when empty) and entries."""

    day: date | None
    entries: tuple[FeedEntry, ...]
    skipped: int = 0  # entries that could not be read (each named by a warning)

    @property
    def possibly_truncated(self) -> bool:
        """True when the feed may not show every paper announced: it is full (arXiv may
        have left items out), or an entry could not be read."""
        return len(self.entries) >= FEED_LIMIT or self.skipped > 0


def listing_url(base: str, archives: Sequence[str]) -> str:
    """The feed for ``archives`` (or categories), joined with ``+``: ``.../atom/cs+stat``."""
    if not archives:
        raise ValueError("a listing feed needs at least one archive or category")
    return base.rstrip("/") + "/" + "+".join(archives)


def announcement_evening(day: date) -> date:
    """The US Eastern date of the announcement a feed dated ``day`` carries."""
    return day - timedelta(days=1)


def feed_day(evening: date) -> date:
    """The date of the feed that carries the announcement of ``evening``."""
    return evening + timedelta(days=1)


def parse_listing(content: bytes) -> Listing:
    """Parse an announcement feed; raises :class:`AtomParseError` when it is not one."""
    root = parse_xml(content)
    if root.tag != f"{{{ATOM}}}feed":
        raise AtomParseError("not an Atom feed: root element is not <feed>")
    skipped: list[BadEntry] = []
    entries = tuple(_sane_entries(root.iterfind("atom:entry", NAMESPACES), skipped))
    day = None
    if entries:
        day = entries[0].paper.published.astimezone(EASTERN).date()
    return Listing(day, entries, len(skipped))


def _sane_entries(elements: Iterable[Any], skipped: list[BadEntry]) -> Iterator[FeedEntry]:
    """Each entry; one that cannot be read (an id that is none, no title, an unknown
    announce type, an absurd version or date) is skipped with a warning naming it and
    added to ``skipped``: retrying would read the same entry, and the rest of the
    listing is good (the API fills what a skipped entry may have held)."""
    for position, element in enumerate(elements, 1):
        try:
            yield _entry(element, position)
        except BadEntry as exc:
            log.warning("skipped a bad arXiv feed entry: %s", exc)
            skipped.append(exc)


def _entry(element: Any, position: int) -> FeedEntry:
    raw_id = _text(element, "atom:id") or ""
    where = f"feed entry {position} ({raw_id or 'no id'})"
    try:
        paper_id, version = split_id(raw_id)
    except InvalidArxivId:
        raise BadEntry(f"{where}: <id> is not an arXiv id"[:200]) from None
    if version is not None and not 1 <= version <= MAX_VERSION:
        raise BadEntry(f"{where}: absurd version v{version}"[:200])
    kind = _text(element, "arxiv:announce_type") or ""
    if kind not in ANNOUNCE_TYPES:
        raise BadEntry(f"{where}: unknown announce type {kind[:40]!r}"[:200])
    title = _text(element, "atom:title")
    if not title:
        raise BadEntry(f"{where} has no <title>"[:200])
    when = _published(element, where)
    categories = tuple(
        dict.fromkeys(
            term.strip()
            for term in (c.get("term") for c in element.iterfind("atom:category", NAMESPACES))
            if term and term.strip()
        )
    )
    paper = Paper(
        id=paper_id,
        version=version or 1,
        title=" ".join(title.split()),
        abstract=_PREFIX.sub("", _text(element, "atom:summary") or "", count=1).strip(),
        authors=tuple(Author(name) for name in split_creators(_text(element, "dc:creator"))),
        categories=categories,
        primary=categories[0] if categories else "",
        published=when,
        updated=when,
    )
    return FeedEntry(bounded(paper), kind)


def split_creators(text: str | None) -> list[str]:
    """``"A. One, B. Two and C. Three"`` -> the names (arXiv joins them with commas)."""
    if not text:
        return []
    names = re.split(r",\s*|\s+and\s+", text.strip())
    return [" ".join(name.split()) for name in names if name.strip()]


def _published(element: Any, where: str) -> datetime:
    text = _text(element, "atom:published") or _text(element, "atom:updated")
    if not text:
        raise BadEntry(f"{where} has no <published>"[:200])
    try:
        return parse_timestamp(text)
    except TimestampOutOfRange:
        raise BadEntry(f"{where}: <published> out of range: {text[:40]!r}") from None
    except ValueError:
        raise BadEntry(f"{where}: <published> is not a timestamp: {text[:40]!r}"[:200]) from None


def _text(parent: Any, path: str) -> str | None:
    element = parent.find(path, NAMESPACES)
    if element is None:
        return None
    return "".join(element.itertext()).strip() or None
