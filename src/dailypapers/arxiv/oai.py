"""Parse arXiv's OAI-PMH ``ListRecords`` answers, streaming, in three metadata formats.

OAI-PMH 2.0 (https://www.openarchives.org/OAI/openarchivesprotocol.html):
records carry a header (identifier, datestamp, sets, ``status="deleted"``)
and metadata; a page ends with a ``resumptionToken`` (empty on the last
page); failures are ``<error code="...">`` elements. arXiv's formats
(https://info.arxiv.org/help/oa/index.html, and arXiv/oaipmh's templates):

* ``arXivRaw``: every version as ``<version version="vN"><date>RFC 2822
  date</date>``; authors as one TeX string. Exact versions and timestamps.
* ``arXiv``: ``<created>``/``<updated>`` dates only (no time, no version
  number); structured ``<authors><author><keyname><forenames>``.
* ``oai_dc``: Dublin Core; category names instead of codes. Read for
  completeness (the legacy endpoint's default), lossy.

:class:`PageParser` is fed the body in chunks (lxml's pull parser) and frees
each record once converted, so memory stays flat whatever the number of
records; more than :data:`MAX_RECORD_ELEMENTS` elements in one record or
between two (whatever their names) are refused as garbled.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree
from pylatexenc.latex2text import LatexNodes2Text

from dailypapers.arxiv.errors import ArxivError, one_line
from dailypapers.models import (
    MAX_NAME,
    MAX_VERSION,
    MAX_YEAR,
    MIN_YEAR,
    Author,
    InvalidArxivId,
    Paper,
    bounded,
    split_id,
)
from dailypapers.names import OAI_FORMATS

OAI = "http://www.openarchives.org/OAI/2.0/"
ARXIV_FORMAT = "http://arxiv.org/OAI/arXiv/"
ARXIV_RAW = "http://arxiv.org/OAI/arXivRaw/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
FORMATS = OAI_FORMATS

_RECORD = f"{{{OAI}}}record"
_TOKEN = f"{{{OAI}}}resumptionToken"
_ERROR = f"{{{OAI}}}error"
_ROOT = f"{{{OAI}}}OAI-PMH"
_AUTHOR_SPLIT = re.compile(r",|\band\b")
# Elements a page may hold between two records' ends (one record's and the siblings
# before it): records are freed as they end, but siblings of other names and one
# record's children were held (60 MB of ``<a/>``: 2 GB). arXiv's largest records
# (about 5,000 authors, 3 elements each in the ``arXiv`` format) have some 15,000.
MAX_RECORD_ELEMENTS = 100_000
# Skipped records that make a page garbled, when they are most of it (a changed format).
UNREADABLE_PAGE = 10
_TEX_NAME = 4 * MAX_NAME  # of an author's TeX source: room for accents' markup

log = logging.getLogger(__name__)


class OaiParseError(ArxivError):
    """A response body is not a usable OAI-PMH answer (garbled, truncated, HTML...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(one_line(reason))


class AbsurdValue(ValueError):
    """A version or date no paper has (out of range, unparsable, overflowing)."""


class BadRecord(OaiParseError):
    """One record that cannot be read (absurd values, no title, a bad id...): skipped
    with a warning, the rest of its page kept.

    Not a garbled page (retrying would fetch the same record again, and the
    harvest could never pass it), and not worth the whole page: the API's and
    the announcement feed's bad entries are skipped the same way. A page whose
    records are mostly unreadable (:data:`UNREADABLE_PAGE` or more) is not
    what was asked for, and fails as garbled.
    """

    def __init__(self, identifier: str, reason: str) -> None:
        self.identifier = one_line(identifier)[:200]
        super().__init__(f"record {self.identifier}: {reason}")


class OaiError(ArxivError):
    """The repository answered with an OAI-PMH error (``badArgument``, ...)."""

    def __init__(self, code: str, message: str, url: str | None = None) -> None:
        self.code, self.message, self.url = code, one_line(message), url
        super().__init__(f"OAI-PMH error {code}: {self.message}" if self.message else code)

    def __str__(self) -> str:
        text = f"OAI-PMH error {self.code}"
        text += f": {self.message}" if self.message else ""
        return f"{text} for {self.url}" if self.url else text


@dataclass(frozen=True, slots=True)
class OaiRecord:
    """One record: its header, and the paper (``None`` for a deleted record)."""

    identifier: str
    datestamp: date
    paper: Paper | None


@dataclass
class OaiPage:
    """What one ``ListRecords`` answer held besides its records.

    ``token`` is ``None`` on the last page (absent or empty element).
    ``no_records`` is the ``noRecordsMatch`` error: an empty, complete list.
    ``skipped`` names the records dropped for absurd values (:class:`BadRecord`).
    """

    token: str | None = None
    cursor: int | None = None
    complete_list_size: int | None = None
    no_records: bool = False
    records: list[OaiRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class PageParser:
    """Incremental parser of one ``ListRecords`` answer.

    ``feed(chunk)`` returns the records completed by that chunk; ``close()``
    checks the document ended properly and returns the page's token. An
    OAI-PMH error other than ``noRecordsMatch`` raises :class:`OaiError`.
    """

    def __init__(self) -> None:
        self._parser = etree.XMLPullParser(
            events=("end",),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        self.page = OaiPage()
        self._started = False
        self._read = 0  # record elements, skipped ones included
        self._elements = 0  # elements ended since the last record's end
        self._first_skip = ""

    def feed(self, chunk: bytes) -> list[OaiRecord]:
        """Parse more of the body; returns the records it completed."""
        if not self._started and chunk.strip():
            self._started = True
            _reject_html(chunk)
        try:
            self._parser.feed(chunk)
            return list(self._events())
        except etree.XMLSyntaxError as exc:
            raise OaiParseError(f"malformed XML ({exc.msg})") from None

    def close(self) -> OaiPage:
        """Finish the document; raises :class:`OaiParseError` if it was cut short."""
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise OaiParseError(f"malformed or truncated XML ({exc.msg})") from None
        if root is None or root.tag != _ROOT:
            name = "nothing" if root is None else f"<{etree.QName(root).localname}>"
            raise OaiParseError(f"not an OAI-PMH response: root element is {name}")
        skipped = len(self.page.skipped)
        if skipped >= UNREADABLE_PAGE and 2 * skipped > self._read:
            raise OaiParseError(
                f"{skipped} of {self._read} records unreadable (the first: {self._first_skip}): "
                "not the format asked for"
            )
        return self.page

    def _events(self) -> Iterator[OaiRecord]:
        for _event, element in self._parser.read_events():
            self._elements += 1
            if self._elements > MAX_RECORD_ELEMENTS:  # bytes are capped, nodes were not
                raise OaiParseError(
                    f"more than {MAX_RECORD_ELEMENTS:,} elements in one record or between "
                    "two: not arXiv's"
                )
            if element.tag == _RECORD:
                self._elements = 0
                self._read += 1
                try:
                    yield _record(element)
                except BadRecord as exc:
                    log.warning("skipped a bad OAI-PMH %s", exc)
                    self.page.skipped.append(exc.identifier)
                    self._first_skip = self._first_skip or str(exc)[:200]
                _free(element)
            elif element.tag == _TOKEN:
                self._token(element)
            elif element.tag == _ERROR:
                self._error(element)

    def _token(self, element: Any) -> None:
        self.page.token = (element.text or "").strip() or None
        self.page.cursor = _int_or_none(element.get("cursor"))
        self.page.complete_list_size = _int_or_none(element.get("completeListSize"))

    def _error(self, element: Any) -> None:
        code = element.get("code", "unknown")
        if code == "noRecordsMatch":
            self.page.no_records = True
            return
        raise OaiError(code, "".join(element.itertext()))


def parse_page(content: bytes | Iterable[bytes]) -> OaiPage:
    """Parse a whole ``ListRecords`` answer (bytes, or chunks) into an :class:`OaiPage`."""
    parser = PageParser()
    records = []
    for chunk in [content] if isinstance(content, bytes) else content:
        records += parser.feed(chunk)
    page = parser.close()
    page.records = records
    return page


def _reject_html(chunk: bytes) -> None:
    head = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise OaiParseError("got an HTML page, not an OAI-PMH response")
    if not head.startswith(b"<"):
        raise OaiParseError(f"not XML: {head[:60].decode('utf-8', 'replace')!r}")


def _free(element: Any) -> None:
    # The classic iterparse idiom: drop the record and the siblings before it.
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


# --- records -------------------------------------------------------------------


def _record(element: Any) -> OaiRecord:
    header = element.find(f"{{{OAI}}}header")
    if header is None:
        raise BadRecord("(no header)", "a record without a header")
    identifier = _text(header, f"{{{OAI}}}identifier") or ""
    datestamp = _datestamp(_text(header, f"{{{OAI}}}datestamp"), identifier)
    if header.get("status") == "deleted":
        return OaiRecord(identifier, datestamp, None)
    metadata = element.find(f"{{{OAI}}}metadata")
    body = None if metadata is None or len(metadata) == 0 else metadata[0]
    if body is None:
        raise BadRecord(identifier, "no metadata")
    reader = _READERS.get(body.tag)
    if reader is None:  # every record of the page alike: the answer is not what was asked
        raise OaiParseError(f"record {identifier}: unknown metadata format <{body.tag}>")
    try:
        paper = reader(body)
    except (ValueError, InvalidArxivId, RecursionError) as exc:
        # One record's own fault (an id that is none, no title, TeX nested past
        # Python's stack): the same record comes back on every retry, so it is
        # skipped with its warning, not retried until the run fails every time.
        raise BadRecord(identifier, str(exc) or type(exc).__name__) from None
    return OaiRecord(identifier, datestamp, bounded(paper))


def _datestamp(text: str | None, identifier: str) -> date:
    try:
        return _day(text or "")
    except AbsurdValue:
        raise BadRecord(identifier, f"bad datestamp {(text or '')[:40]!r}") from None


def _day(text: str) -> date:
    """An ISO date within MIN_YEAR..MAX_YEAR, else :class:`AbsurdValue`."""
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        raise AbsurdValue(f"bad date {text[:40]!r}") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise AbsurdValue(f"date out of range {text[:40]!r}")
    return day


def _text(parent: Any, tag: str) -> str | None:
    element = parent.find(tag)
    if element is None:
        return None
    return "".join(element.itertext()).strip() or None


def _required(parent: Any, tag: str) -> str:
    value = _text(parent, tag)
    if value is None:
        raise ValueError(f"missing <{etree.QName(tag).localname}>")
    return value


def _paper_id(text: str) -> str:
    paper_id, _version = split_id(text)
    return paper_id


def _midnight(text: str) -> datetime:
    return datetime.combine(_day(text), datetime.min.time(), UTC)


def _categories(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys((text or "").split()))


def _arxiv(body: Any) -> Paper:
    ns = f"{{{ARXIV_FORMAT}}}"
    created = _midnight(_required(body, ns + "created"))
    updated_text = _text(body, ns + "updated")
    categories = _categories(_text(body, ns + "categories"))
    # This format has no version number: a paper with <updated> is at least
    # v2, and a lower bound is safe (any exact version later replaces it).
    return Paper(
        id=_paper_id(_required(body, ns + "id")),
        version=2 if updated_text else 1,
        title=_required(body, ns + "title"),
        abstract=_text(body, ns + "abstract") or "",
        authors=tuple(_structured_author(a, ns) for a in body.iterfind(f"{ns}authors/{ns}author")),
        categories=categories,
        primary=categories[0] if categories else "",
        published=created,
        updated=_midnight(updated_text) if updated_text else created,
        comment=_text(body, ns + "comments"),
        journal_ref=_text(body, ns + "journal-ref"),
        doi=_text(body, ns + "doi"),
    )


def _structured_author(element: Any, ns: str) -> Author:
    parts = (_text(element, ns + name) for name in ("forenames", "keyname", "suffix"))
    affiliations = ("".join(a.itertext()).strip() for a in element.iterfind(ns + "affiliation"))
    return Author(" ".join(p for p in parts if p), tuple(a for a in affiliations if a))


def _arxiv_raw(body: Any) -> Paper:
    ns = f"{{{ARXIV_RAW}}}"
    versions = sorted(_versions(body, ns))
    if not versions:
        raise ValueError("no <version> entries")
    categories = _categories(_text(body, ns + "categories"))
    return Paper(
        id=_paper_id(_required(body, ns + "id")),
        version=versions[-1][0],
        title=_required(body, ns + "title"),
        abstract=_text(body, ns + "abstract") or "",
        authors=tuple(Author(name) for name in split_authors(_text(body, ns + "authors") or "")),
        categories=categories,
        primary=categories[0] if categories else "",
        published=versions[0][1],
        updated=versions[-1][1],
        comment=_text(body, ns + "comments"),
        journal_ref=_text(body, ns + "journal-ref"),
        doi=_text(body, ns + "doi"),
    )


def _versions(body: Any, ns: str) -> Iterator[tuple[int, datetime]]:
    for element in body.iterfind(ns + "version"):
        label = element.get("version", "")
        if not re.fullmatch(r"v\d{1,5}", label) or not 1 <= int(label[1:]) <= MAX_VERSION:
            raise AbsurdValue(f"bad version label {label[:40]!r}")
        yield int(label[1:]), _rfc2822(_required(element, ns + "date"))


_RFC2822_YEAR = re.compile(r"\d{1,2}\s+[A-Za-z]{3}\s+(\d{4})\b")


def _rfc2822(text: str) -> datetime:
    year = _RFC2822_YEAR.search(text)
    if year and not MIN_YEAR <= int(year.group(1)) <= MAX_YEAR:
        # Checked before parsing: the email module reads a year below 100
        # ("0001") as this century's.
        raise AbsurdValue(f"version date out of range {text[:40]!r}")
    try:
        when = parsedate_to_datetime(text)
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise AbsurdValue(f"bad version date {text[:40]!r}") from None
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        raise AbsurdValue(f"version date out of range {text[:40]!r}")
    return when


_LATEX = LatexNodes2Text()


def split_authors(text: str) -> list[str]:
    """arXivRaw's author string as names: ``"A. B{\\"o}hm, C. Dee and E. Eff"``.

    Names are separated by commas and "and" outside parentheses;
    parenthesised affiliations are dropped; TeX accents become Unicode (as
    the query API shows names).
    """
    names: list[str] = []
    current: list[str] = []
    depth = 0
    for piece in re.split(r"(\(|\)|,|\band\b)", text):
        if piece == "(":
            depth += 1
        elif piece == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and _AUTHOR_SPLIT.fullmatch(piece):
            names.append("".join(current))
            current = []
        elif depth == 0:
            current.append(piece)
    names.append("".join(current))
    # Cut before the TeX conversion, whose time grows with the name (a hostile 10 MB
    # "name" took minutes); ``bounded`` cuts the converted name again.
    return [_untex(" ".join(name[:_TEX_NAME].split())) for name in names if name.strip()]


@functools.lru_cache(maxsize=1 << 16)
def _untex(name: str) -> str:
    # Names repeat across a harvest and TeX conversion is slow: cache it.
    if "\\" not in name and "{" not in name:
        return name
    return " ".join(_LATEX.latex_to_text(name).split())


def _oai_dc(body: Any) -> Paper:
    texts = {name: _all_texts(body, f"{{{DC}}}{name}") for name in ("description", "date")}
    identifiers = [i for i in _all_texts(body, f"{{{DC}}}identifier") if "arxiv.org/abs/" in i]
    if not identifiers or not texts["date"]:
        raise ValueError("no arXiv identifier or no date")
    comments = [d.removeprefix("Comment:").strip() for d in texts["description"][1:]]
    dates = sorted(texts["date"])
    return Paper(
        id=_paper_id(identifiers[0]),
        version=2 if len(dates) > 1 else 1,  # a lower bound, as for the arXiv format
        title=_required(body, f"{{{DC}}}title"),
        abstract=texts["description"][0] if texts["description"] else "",
        authors=tuple(Author(_first_last(c)) for c in _all_texts(body, f"{{{DC}}}creator")),
        categories=(),  # Dublin Core carries category names, not codes
        primary="",
        published=_midnight(dates[0]),
        updated=_midnight(dates[-1]),
        comment=comments[0] if comments else None,
    )


def _all_texts(body: Any, tag: str) -> list[str]:
    found = ("".join(element.itertext()).strip() for element in body.iterfind(tag))
    return [text for text in found if text]


def _first_last(creator: str) -> str:
    last, _, first = creator.partition(",")
    return f"{first.strip()} {last.strip()}".strip()


_READERS = {
    f"{{{ARXIV_FORMAT}}}arXiv": _arxiv,
    f"{{{ARXIV_RAW}}}arXivRaw": _arxiv_raw,
    f"{{{OAI_DC}}}dc": _oai_dc,
}

__all__ = [
    "FORMATS",
    "AbsurdValue",
    "BadRecord",
    "OaiError",
    "OaiPage",
    "OaiParseError",
    "OaiRecord",
    "PageParser",
    "parse_page",
    "split_authors",
]
