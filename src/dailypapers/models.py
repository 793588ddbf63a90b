"""The data model shared by every layer: one arXiv paper, as arXiv describes it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

ABS_URL = "https://arxiv.org/abs/"
PDF_URL = "https://arxiv.org/pdf/"

# New-style ids (0704.0001, 2505.07818) and old-style ids (astro-ph/0601001,
# math.GT/0309136), each optionally followed by a version suffix.
_ID_RE = re.compile(
    r"^(?P<id>(?:\d{4}\.\d{4,5})|(?:[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}))(?:v(?P<v>\d+))?$"
)

_ARXIV_PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)  # arXiv:2505.07271, as papers cite it


class InvalidArxivId(ValueError):
    """Raised when a string is not an arXiv identifier."""


def split_id(text: str) -> tuple[str, int | None]:
    """Split ``"2505.07818v2"`` (or ``arXiv:2505.07818v2``, or an abs/pdf URL of it)
    into ``("2505.07818", 2)``.

    The version is ``None`` when the string has none.
    """
    tail = text.strip()
    for marker in ("/abs/", "/pdf/", "oai:arXiv.org:"):
        if marker in tail:
            tail = tail.split(marker, 1)[1]
    tail = _ARXIV_PREFIX.sub("", tail)
    tail = tail.removesuffix(".pdf")
    match = _ID_RE.match(tail)
    if match is None:
        raise InvalidArxivId(f"not an arXiv identifier: {text!r}")
    version = match.group("v")
    return match.group("id"), int(version) if version else None


@dataclass(frozen=True, slots=True)
class Author:
    """One author of a paper, with the affiliations arXiv lists for them."""

    name: str
    affiliations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper at one version.

    ``id`` never carries a version (``2505.07818``); ``version`` holds it.
    ``published`` is when version 1 was submitted, ``updated`` when this
    version was; both are timezone-aware UTC datetimes.
    """

    id: str
    version: int
    title: str
    abstract: str
    authors: tuple[Author, ...]
    categories: tuple[str, ...]
    primary: str
    published: datetime
    updated: datetime
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    # Not arXiv's: the TL;DR of this version (``[summaries]``), attached for
    # rendering only (:func:`dailypapers.summaries.attach`); never in ``papers``.
    tldr: str | None = None

    @property
    def versioned_id(self) -> str:
        return f"{self.id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"{ABS_URL}{self.versioned_id}"

    @property
    def pdf_url(self) -> str:
        return f"{PDF_URL}{self.versioned_id}"

    @property
    def author_names(self) -> tuple[str, ...]:
        return tuple([author.name for author in self.authors])

    def is_newer_than(self, other: Paper) -> bool:
        """True when this is a later revision of ``other`` (same id)."""
        return (self.version, self.updated) > (other.version, other.updated)

    def with_changes(self, **changes: Any) -> Paper:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reverses it."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "abstract": self.abstract,
            "authors": [
                {"name": a.name, "affiliations": list(a.affiliations)} for a in self.authors
            ],
            "categories": list(self.categories),
            "primary": self.primary,
            "published": format_timestamp(self.published),
            "updated": format_timestamp(self.updated),
            "comment": self.comment,
            "journal_ref": self.journal_ref,
            "doi": self.doi,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        authors = tuple(_author_from_json(item) for item in data.get("authors", []))
        categories = tuple(data.get("categories", ()))
        return cls(
            id=data["id"],
            version=int(data.get("version", 1)),
            title=data["title"],
            abstract=data.get("abstract", ""),
            authors=authors,
            categories=categories,
            primary=data.get("primary") or (categories[0] if categories else ""),
            published=parse_timestamp(data["published"]),
            updated=parse_timestamp(data.get("updated") or data["published"]),
            comment=data.get("comment"),
            journal_ref=data.get("journal_ref"),
            doi=data.get("doi"),
        )


def _author_from_json(item: str | dict[str, Any]) -> Author:
    if isinstance(item, str):
        return Author(item)
    return Author(item["name"], tuple(item.get("affiliations", ())))


# What a paper's fields may hold. arXiv's own are far shorter (a title of a few
# hundred characters, an abstract of at most 1,920, the largest author lists a
# few thousand names): a longer value is hostile, and is cut where it is read,
# so that no output (an e-mail, an issue, a chat message) is flooded by it.
FIELD_LIMITS = (("title", 1_000), ("abstract", 6_000), ("comment", 2_000), ("journal_ref", 1_000))
MAX_AUTHORS, MAX_NAME, MAX_AFFILIATIONS = 10_000, 500, 20


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, marked with "…" where cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded(paper: Paper) -> Paper:
    """``paper`` with every field within :data:`FIELD_LIMITS` and the author limits."""
    changes: dict[str, Any] = {}
    for name, limit in FIELD_LIMITS:
        value = getattr(paper, name)
        if value is not None and len(value) > limit:
            changes[name] = cut(value, limit)
    if paper.doi is not None and len(paper.doi) > 200:
        changes["doi"] = None  # a cut DOI would point elsewhere
    authors = paper.authors
    if len(authors) > MAX_AUTHORS or any(
        len(a.name) > MAX_NAME
        or len(a.affiliations) > MAX_AFFILIATIONS
        or any(len(text) > MAX_NAME for text in a.affiliations)
        for a in authors
    ):
        changes["authors"] = tuple(
            Author(
                cut(a.name, MAX_NAME),
                tuple(cut(text, MAX_NAME) for text in a.affiliations[:MAX_AFFILIATIONS]),
            )
            for a in authors[:MAX_AUTHORS]
        )
    return paper.with_changes(**changes) if changes else paper


# C0 and C1 controls (whitespace aside), the bidi overrides and isolates that
# make text display in another order than it reads (U+202A-202E, U+2066-2069;
# the marks U+200E, U+200F and U+061C are text, and kept), and lone surrogates
# (no output's encoding can write one: a JSON "\\ud800" stored by another tool).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


# Those, and the invisible characters that can hide text: the zero-width space,
# the direction marks (U+200E, U+200F, U+061C), the word joiner and invisible
# operators (U+2060-2064), the soft hyphen, the BOM, interlinear annotation
# marks (U+FFF9-FFFB) and the tag characters (U+E0000-E007F, the usual way to
# smuggle words past a reader; an emoji subdivision flag loses its region):
# what text from a model, a server's error or a library file never needs (one
# line of it kept). The joiners U+200C and U+200D are letters' business (Persian,
# Devanagari, emoji sequences), and U+180E Mongolian's: kept.
HIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ud800-\udfff\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)

# The same controls in ASCII text (a fast path: renderers clean 10,000s of texts).
_ASCII_CONTROLS = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
# ASCII text without these bytes (and without double, leading or trailing
# spaces) is already one line.
_ASCII_BREAKS = bytes([*range(0x00, 0x20), 0x7F])


def drop_characters(text: str | None, ascii_bytes: bytes, pattern: re.Pattern[str]) -> str:
    """``text`` without what ``pattern`` matches; ``ascii_bytes`` are its ASCII matches.

    ASCII text (almost every text) is cleaned with ``bytes.translate``, tens
    of thousands of times a render; the rest with the pattern.
    """
    if not text:
        return ""
    if text.isascii():
        raw = text.encode("ascii")
        kept = raw.translate(None, ascii_bytes)
        return text if len(kept) == len(raw) else kept.decode("ascii")
    return pattern.sub("", text)


def strip_controls(text: str | None) -> str:
    """``text`` without control characters and bidi overrides (whitespace kept)."""
    return drop_characters(text, _ASCII_CONTROLS, _CONTROL)


def one_line(text: str | None) -> str:
    """One line of displayable text: controls dropped, whitespace runs collapsed."""
    if text and text.isascii():
        raw = text.encode("ascii")
        if (
            len(raw.translate(None, _ASCII_BREAKS)) == len(raw)
            and "  " not in text
            and text[0] != " "
            and text[-1] != " "
        ):
            return text
    return " ".join(strip_controls(text).split())


# Dates outside these years are absurd for arXiv (founded 1991) and would
# overflow date arithmetic (year 1 minus a day, year 9999 plus an offset).
MIN_YEAR, MAX_YEAR = 1900, 9900
MAX_VERSION = 10_000  # arXiv's most revised papers have a few dozen versions


class TimestampOutOfRange(ValueError):
    """A well-formed timestamp whose date is absurd (issue 11: year 1, year 9999)."""


def counted(count: int, word: str) -> str:
    """``1 topic``, ``2 topics``: a count and its noun (English plural with ``s``)."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or offset) into an aware UTC datetime.

    Raises ``ValueError`` for text that is not a timestamp and
    :class:`TimestampOutOfRange` for a date outside ``MIN_YEAR``..``MAX_YEAR``.
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise TimestampOutOfRange(f"date out of range: {text.strip()[:40]!r}") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise TimestampOutOfRange(f"date out of range: {text.strip()[:40]!r}")
    return value


@functools.lru_cache(maxsize=1 << 12)
def format_timestamp(value: datetime) -> str:
    """The arXiv form, ``2025-05-12T17:59:58Z``.

    Memoised: equal datetimes are the same instant, whatever their zone, so
    they have the same text (a render formats each paper's dates in several
    outputs, and a first version's two dates are one).
    """
    value = value.astimezone(UTC)
    if value.year < 1000:  # strftime's %Y is not zero-padded there
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The same text as strftime, without its cost (every paper has two, in three outputs).
    return f"{value.isoformat(timespec='seconds')[:19]}Z"


class StoredValueError(Exception):
    """A stored paper holds a value dailypapers never writes (another tool, a damaged file).

    The message is one line naming the paper, its topic when known, the column
    and what is wrong, and how to get rid of the row.
    """


# What reading or rendering a damaged stored value raises (a bug raises these too:
# only a value :func:`stored_value_problem` finds wrong becomes a StoredValueError).
DAMAGE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    OverflowError,
)


def readable(version: Any, *texts: Any) -> bool:
    """Whether a stored version is a number and the texts are text (``None`` allowed).

    The readers' cheap check of what SQLite's loose column types let another
    tool store (a number or bytes for a title); :func:`stored_value_problem`
    names the column when it fails.
    """
    if type(version) is not int:
        return False
    return all(text is None or type(text) is str for text in texts)


_JSON_COLUMNS = ("authors", "categories")
_DATE_COLUMNS = ("published", "updated")
_TEXT_COLUMNS = ("id", "title", "abstract", "primary_category")
_OPTIONAL_TEXT = ("comment", "journal_ref", "doi")


def stored_value_problem(column: str, value: Any) -> str | None:
    """What is wrong with a ``papers`` column's stored value, or ``None`` when it is readable.

    ``value`` as the database driver returns it: JSON columns as text (SQLite)
    or parsed (PostgreSQL), times as text or datetimes.
    """
    if column in _TEXT_COLUMNS or (column in _OPTIONAL_TEXT and value is not None):
        return None if isinstance(value, str) else "not text"
    if column == "version":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_VERSION
        return None if ok else "not a version number"
    if column in _DATE_COLUMNS:
        return _date_problem(value)
    if column in _JSON_COLUMNS:
        return _json_problem(column, value)
    return None


def _date_problem(value: Any) -> str | None:
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return "not a date and time"
    return None if MIN_YEAR <= when.year <= MAX_YEAR else "a date out of range"


def _json_problem(column: str, value: Any) -> str | None:
    import json

    try:
        parsed = json.loads(value) if isinstance(value, str | bytes) else value
    except ValueError:
        return "not JSON"
    if not isinstance(parsed, list):
        return "not a JSON list"
    if column == "categories":
        return None if all(isinstance(c, str) for c in parsed) else "a list of non-text"
    for author in parsed:
        if not isinstance(author, dict) or not isinstance(author.get("name"), str):
            return "an author without a name"
        if not all(isinstance(a, str) for a in author.get("affiliations") or ()):
            return "an affiliation that is not text"
    return None


def stored_value_error(
    paper_id: Any, column: str, value: Any, problem: str, topic: str | None = None
) -> StoredValueError:
    """The one line for a damaged value: the paper (and topic), the column, the value, the fix."""
    shown = " ".join(repr(value).split())
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    where = f' of topic "{one_line(topic)[:80]}"' if topic else ""
    return StoredValueError(
        f"stored paper {one_line(str(paper_id))[:80]}{where}: column {column} holds {shown}, "
        f"{problem} (written by another tool?); no output was changed. 'dailypapers doctor' "
        "lists every such value: correct it, or restore the store from a backup"
    )
