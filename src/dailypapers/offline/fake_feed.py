"""The announcement feed of the fake arXiv server (``GET /atom/cs+stat``).

Built from the server's corpus exactly as arXiv builds it from its own: the
feed dated ``day`` carries the announcement of the evening before (US
Eastern), that is the submissions and replacements whose ``updated`` falls
in that announcement's window (previous 14:00 cutoff, this 14:00 cutoff],
limited to the requested archives or categories. Entries are in the real
feed's shape (see ``tests/fixtures/feed/``): ``oai:arXiv.org:IDvN`` ids,
``Announce Type`` summaries, one ``dc:creator``, new before cross-lists
before replacements, at most 2000 items; empty on days without an
announcement. Tests choose "today" with :attr:`FakeArxiv.feed_day`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, cast

from lxml import etree

from dailypapers.arxiv.calendar import EASTERN, Calendar
from dailypapers.arxiv.feed import ARXIV, ATOM, DC, FEED_LIMIT, announcement_evening, feed_day
from dailypapers.arxiv.taxonomy import archive_of
from dailypapers.models import Paper
from dailypapers.offline.faults import TEXT_TYPE, Reply

FEED_PATH = "/atom/"
_ORDER = {"new": 0, "cross": 1, "replace": 2, "replace-cross": 3}
_NSMAP = {None: ATOM, "arxiv": ARXIV, "dc": DC}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _in_spec(category: str, spec: frozenset[str]) -> bool:
    return category in spec or archive_of(category) in spec


def announce_type(paper: Paper, spec: frozenset[str]) -> str | None:
    """How ``paper`` appears in a feed for ``spec`` (None: it does not)."""
    if not any(_in_spec(c, spec) for c in paper.categories):
        return None
    kind = "new" if paper.version == 1 else "replace"
    if not _in_spec(paper.primary, spec):
        kind = "cross" if kind == "new" else "replace-cross"
    return kind


def announced(
    papers: Iterable[Paper], day: date, spec: frozenset[str], calendar: Calendar
) -> list[tuple[Paper, str]]:
    """The entries of the feed dated ``day``, in arXiv's order, at most 2000."""
    evening = announcement_evening(day)
    if not calendar.announces_on(evening):
        return []
    start, end = calendar.window(evening)
    found = []
    for paper in papers:
        kind = announce_type(paper, spec) if start < paper.updated <= end else None
        if kind is not None:
            found.append((paper, kind))
    found.sort(key=lambda item: (_ORDER[item[1]], item[0].id))
    return found[:FEED_LIMIT]


def latest_feed_day(papers: Sequence[Paper], calendar: Calendar) -> date:
    """The feed that carries the corpus's newest paper (a sensible "today")."""
    newest = max((p.updated for p in papers), default=datetime.now(UTC))
    evening = newest.astimezone(EASTERN).date()
    while not calendar.announces_on(evening) or calendar.window(evening)[1] < newest:
        evening = evening.fromordinal(evening.toordinal() + 1)
    return feed_day(evening)


def listing_xml(spec_text: str, day: date, entries: Sequence[tuple[Paper, str]]) -> bytes:
    """The feed document, shaped as ``rss.arxiv.org/atom/...`` sends it."""
    root = etree.Element(f"{{{ATOM}}}feed", nsmap=_NSMAP)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", "en-us")
    stamp = datetime.combine(day, time(0), EASTERN)
    _add(root, "id", f"http://rss.arxiv.org/atom/{spec_text}")
    _add(root, "title", f"{spec_text} updates on arXiv.org")
    _add(root, "updated", stamp.astimezone(UTC).isoformat())
    link = _add(root, "link")
    link.attrib.update(
        {
            "href": f"http://rss.arxiv.org/atom/{spec_text}",
            "rel": "self",
            "type": "application/atom+xml",
        }
    )
    _add(root, "subtitle", f"{spec_text} updates on the arXiv.org e-print archive.")
    for paper, kind in entries:
        _entry(root, paper, kind, stamp)
    etree.indent(root, space="  ")
    return cast(bytes, etree.tostring(root, xml_declaration=True, encoding="UTF-8")) + b"\n"


def _entry(root: Any, paper: Paper, kind: str, stamp: datetime) -> None:
    entry = _add(root, "entry")
    _add(entry, "id", f"oai:arXiv.org:{paper.versioned_id}")
    _add(entry, "title", paper.title)
    _add(entry, "updated", stamp.astimezone(UTC).isoformat())
    link = _add(entry, "link")
    link.attrib.update(
        {"href": f"https://arxiv.org/abs/{paper.id}", "rel": "alternate", "type": "text/html"}
    )
    summary = f"arXiv:{paper.versioned_id} Announce Type: {kind} \nAbstract: {paper.abstract}"
    _add(entry, "summary", summary)
    for category in paper.categories:
        _add(entry, "category").set("term", category)
    _add(entry, "published", stamp.isoformat())
    _add(entry, f"{{{ARXIV}}}announce_type", kind)
    _add(entry, f"{{{DC}}}rights", "http://creativecommons.org/licenses/by/4.0/")
    _add(entry, f"{{{DC}}}creator", ", ".join(paper.author_names))


def _add(parent: Any, tag: str, text: str | None = None) -> Any:
    element = etree.SubElement(parent, tag if tag.startswith("{") else f"{{{ATOM}}}{tag}")
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def spec_of(path: str) -> tuple[str, frozenset[str]]:
    """``/atom/cs+stat`` -> ``("cs+stat", {"cs", "stat"})``."""
    text = path.removeprefix(FEED_PATH).strip("/")
    return text, frozenset(part for part in text.split("+") if part)


class FeedExchange:
    """A feed request as faults see it (see :class:`dailypapers.offline.faults.Exchange`)."""

    page_size = FEED_LIMIT

    def __init__(self, path: str, papers: Sequence[Paper], day: date, calendar: Calendar):
        self.spec_text, self.spec = spec_of(path)
        self.params: Mapping[str, str] = {"feed": self.spec_text}
        self._papers, self._day, self._calendar = papers, day, calendar

    def answer(
        self, *, limit: int | None = None, shift: int = 0, total: int | None = None
    ) -> Reply:
        """The day's feed; ``limit`` caps the entries (``shift``/``total`` do not apply)."""
        if not self.spec:
            return self.error("no archive or category given")
        entries = announced(self._papers, self._day, self.spec, self._calendar)[:limit]
        return Reply(200, listing_xml(self.spec_text, self._day, entries))

    def error(self, message: str) -> Reply:
        """A plain 400, as the feed host answers a bad path."""
        return Reply(400, message.encode(), TEXT_TYPE)
