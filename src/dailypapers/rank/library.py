"""Read a reader's library: BibTeX, RIS, CSL JSON, ``zotero.sqlite``, arXiv id lists.

Every reader returns :class:`Entry` objects in the file's order; an entry
knows its arXiv id, DOI, title, abstract and (when the format has it) the
date it was added. A malformed file raises :class:`LibraryError` with one
line naming the file and the entry; nothing is returned half-read.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dailypapers.deadline import RunDeadlineExceeded
from dailypapers.models import HIDDEN, split_id

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_FIELD = 20_000
_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv(?:\.org/(?:abs|pdf)/|:\s*)|10\.48550/arxiv\.)"
    r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[a-z]{2})?/\d{7})",
    re.IGNORECASE,
)
_DOI = re.compile(r"10\.\d{4,9}/\S+")


class LibraryError(Exception):
    """A library file that cannot be read (the message is one line)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One library item as the file describes it."""

    key: str
    title: str
    abstract: str = ""
    arxiv_id: str | None = None
    doi: str | None = None
    added: datetime | None = None
    collections: tuple[str, ...] = ()


def normalise_title(title: str) -> str:
    """Lower-case letters and digits only, accents folded (for matching titles)."""
    folded = unicodedata.normalize("NFKD", title)
    return "".join(c for c in folded.lower() if c.isalnum())


MAX_KEY = 200


def _clean(text: object, limit: int = MAX_FIELD) -> str:
    """One line, bounded, without hidden characters (printed as they are, they would
    drive the terminal in `library list` and `rank`)."""
    value = str(text or "")[: limit * 2]  # bounded before any work on it
    return " ".join(HIDDEN.sub("", value).split())[:limit]


def _arxiv_id(*texts: object) -> str | None:
    for text in texts:
        if not text:
            continue
        value = str(text).strip()
        try:
            return split_id(value)[0]
        except ValueError:  # InvalidArxivId, or a version of thousands of digits
            match = _ARXIV_IN_TEXT.search(value)
            if match:
                return match.group(1)
    return None


def _doi(*texts: object) -> str | None:
    for text in texts:
        match = _DOI.search(str(text or ""))
        if match:
            doi = match.group(0).rstrip(".,;").lower()
            return None if doi.startswith("10.48550/arxiv.") else doi
    return None


def _entry(key: str, fields: Mapping[str, Any], added: datetime | None = None) -> Entry:
    title = _clean(fields.get("title"))
    arxiv = _arxiv_id(
        fields.get("arxiv"), fields.get("url"), fields.get("extra"), fields.get("doi")
    )
    if not title and not arxiv:
        raise LibraryError(f"entry {key}: no title and no arXiv id")
    return Entry(
        key=_clean(key, MAX_KEY) or "?",
        title=title,
        abstract=_clean(fields.get("abstract")),
        arxiv_id=arxiv,
        doi=_doi(fields.get("doi")),
        added=added,
    )


# --- formats -----------------------------------------------------------------


# The fields an entry is read from (the others are not converted: pylatexenc reads
# a value character by character, ~10 ms for an abstract).
_BIBTEX_FIELDS = frozenset(
    [
        "title",
        "abstract",
        "eprint",
        "archiveprefix",
        "arxivid",
        "doi",
        "url",
        "journal",
        "howpublished",
        "note",
    ]
)
# What pylatexenc's text conversion changes (macros, groups, math, comments,
# specials, ligatures): a value without any is its own text (checked on 54,000
# real titles and abstracts), so it skips the conversion.
_LATEX = re.compile(r"[\\{}$%~&#^_]|--|''|``|[!?]`")
_COMMENT = re.compile(r"(?<!\\)%")  # arXiv's own BibTeX writes "80%" unescaped


def _latex_text(latex: Any, value: str) -> str:
    """A BibTeX value as plain text: LaTeX accents, braces and escapes read.

    The conversion's time grows with the square of a value: it is cut first.
    A bare ``%`` is a percent sign here, not the comment that cut the title
    ``80% Visual Tokens`` to ``80``.
    """
    value = value[: MAX_FIELD * 2]
    if not _LATEX.search(value):
        return value
    return str(latex.latex_to_text(_COMMENT.sub(r"\\%", value)))


def read_bibtex(text: str) -> list[Entry]:
    """BibTeX (bibtexparser 2); LaTeX accents and braces become plain text."""
    import bibtexparser
    from pylatexenc.latex2text import LatexNodes2Text

    # bibtexparser logs each aborted block (several lines); the one-line error below says it.
    quiet = logging.getLogger("bibtexparser")
    quiet.propagate, quiet.handlers = False, [logging.NullHandler()]
    library = bibtexparser.parse_string(text)
    if library.failed_blocks:
        block = library.failed_blocks[0]
        raise LibraryError(f"entry at line {block.start_line + 1}: not valid BibTeX")
    if not library.entries and text.strip():
        raise LibraryError("no BibTeX entry found")
    latex = LatexNodes2Text()
    entries = []
    for item in library.entries:
        try:
            fields: dict[str, Any] = {
                name: _latex_text(latex, str(f.value))
                for k, f in item.fields_dict.items()
                if (name := k.lower()) in _BIBTEX_FIELDS
            }
        except RecursionError:
            key = _clean(item.key, MAX_KEY)
            raise LibraryError(f"entry {key}: braces nested too deeply") from None
        eprint = (
            fields.get("eprint")
            if "arxiv" in fields.get("archiveprefix", "arxiv").lower()
            else None
        )
        fields["arxiv"] = eprint or fields.get("arxivid")
        fields["extra"] = " ".join(fields.get(k, "") for k in ("journal", "howpublished", "note"))
        entries.append(_entry(item.key, fields))
    return entries


_RIS_START = re.compile(r"^TY  -", re.MULTILINE)
_RIS_END = re.compile(r"^ER  -", re.MULTILINE)


def read_ris(text: str) -> list[Entry]:
    """RIS (rispy): ``TI``/``T1``, ``AB``, ``DO``, ``UR``, ``DA`` (added, when a date)."""
    import rispy

    try:
        records = rispy.loads(text)
    except RunDeadlineExceeded:  # the run's own deadline, not the file's fault
        raise
    except Exception as exc:  # rispy raises bare IOError/ValueError subclasses
        raise LibraryError(f"not valid RIS: {_first_line(exc)}") from None
    starts, ends = len(_RIS_START.findall(text)), len(_RIS_END.findall(text))
    if starts > ends:  # rispy drops a record that is not ended: a cut file imports less
        raise LibraryError(
            f"{starts} records start ('TY  - ') but {ends} end ('ER  - '): the file is cut short"
        )
    if not records and text.strip():
        raise LibraryError("no RIS record found (records start with 'TY  - ')")
    entries = []
    for number, record in enumerate(records, 1):
        title = record.get("title") or record.get("primary_title") or ""
        urls = record.get("urls") or []
        fields = {
            "title": title,
            "abstract": record.get("abstract", ""),
            "doi": record.get("doi"),
            "url": " ".join(urls) if isinstance(urls, list) else urls,
            "extra": " ".join(  # Google Scholar: "JO  - arXiv preprint arXiv:2305.18290"
                str(value)
                for name in ("journal_name", "secondary_title", "type_of_work", "notes")
                for value in _listed(record.get(name))
            ),
        }
        entries.append(_entry(f"#{number}", fields, _date(record.get("access_date"))))
    return entries


def _listed(value: object) -> list[object]:
    """A field's values: none, one, or a list's (RIS notes, a CSL title given as a list)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def read_csl_json(text: str) -> list[Entry]:
    """CSL JSON (Zotero, Better BibTeX): a list of items."""
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise LibraryError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise LibraryError("not valid JSON: nested too deeply") from None
    if not isinstance(items, list):
        raise LibraryError("CSL JSON must be a list of items")
    entries = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise LibraryError(f"entry #{number}: not an object")
        key = str(item.get("id") or f"#{number}")
        fields = {
            "title": item.get("title"),
            "abstract": item.get("abstract"),
            "doi": item.get("DOI"),
            "url": item.get("URL"),
            "extra": " ".join(
                str(value)
                for name in ("number", "note", "container-title")
                for value in _listed(item.get(name))
            ),
        }
        entries.append(_entry(key, fields, _csl_date(item.get("accessed"))))
    return entries


def read_id_list(text: str) -> list[Entry]:
    """One arXiv id or abs/pdf URL a line; ``#`` starts a comment."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        arxiv_id = _arxiv_id(value)  # also arXiv:ID and 10.48550/arXiv.ID, as in a .bib
        if arxiv_id is None:
            raise LibraryError(f"line {number}: not an arXiv id or URL")
        entries.append(Entry(key=arxiv_id, title="", arxiv_id=arxiv_id))
    return entries


_ZOTERO_ITEMS = """
SELECT items.itemID, items.key, items.dateAdded
FROM items JOIN itemTypes USING (itemTypeID)
WHERE itemTypes.typeName NOT IN ('attachment', 'note', 'annotation')
  AND items.itemID NOT IN (SELECT itemID FROM deletedItems)
ORDER BY items.dateAdded DESC, items.itemID DESC
"""
_ZOTERO_FIELDS = """
SELECT itemData.itemID, fields.fieldName, itemDataValues.value
FROM itemData JOIN fields USING (fieldID) JOIN itemDataValues USING (valueID)
WHERE fields.fieldName IN ('title', 'abstractNote', 'DOI', 'url', 'extra', 'archiveID')
"""
_ZOTERO_COLLECTIONS = """
SELECT collectionItems.itemID, collections.collectionName
FROM collectionItems JOIN collections USING (collectionID)
"""


def _copy_database(path: Path, folder: Path) -> Path:
    """Copy ``path`` and its write-ahead log (recent writes Zotero has not checkpointed).

    The ``-shm`` index is not copied: SQLite rebuilds it from the log, while a
    copy taken a moment apart from the log's could point at frames it lacks.
    """
    copy = folder / "zotero.sqlite"
    shutil.copyfile(path, copy)
    wal = path.with_name(path.name + "-wal")
    if wal.is_file():
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    return copy


def read_zotero(path: Path) -> list[Entry]:
    """Zotero's own database, read from a copy (Zotero keeps it locked)."""
    with tempfile.TemporaryDirectory() as folder:
        copy = _copy_database(path, Path(folder))
        try:  # closed before the folder goes (Windows cannot remove an open file)
            with closing(sqlite3.connect(f"file:{copy}?mode=ro", uri=True)) as db:
                rows = db.execute(_ZOTERO_ITEMS).fetchall()
                fields: dict[int, dict[str, str]] = {}
                for item_id, name, value in db.execute(_ZOTERO_FIELDS):
                    fields.setdefault(item_id, {})[name] = value
                collections: dict[int, list[str]] = {}
                for item_id, name in db.execute(_ZOTERO_COLLECTIONS):
                    if isinstance(name, str):  # a NULL or odd value names no collection
                        collections.setdefault(item_id, []).append(HIDDEN.sub("", name)[:MAX_KEY])
        except sqlite3.DatabaseError as exc:
            raise LibraryError(f"not a Zotero database: {exc}") from None
    entries = []
    for item_id, key, added in rows:
        data = fields.get(item_id, {})
        mapped = {
            "title": data.get("title"),
            "abstract": data.get("abstractNote"),
            "doi": data.get("DOI"),
            "url": data.get("url"),
            "extra": f"{data.get('archiveID', '')} {data.get('extra', '')}",
        }
        if not mapped["title"] and not _arxiv_id(mapped["url"], mapped["extra"]):
            continue  # Zotero keeps title-less stubs (e.g. web snapshots)
        entry = _entry(str(key), mapped, _date(added))
        entries.append(_with_collections(entry, collections.get(item_id, [])))
    return entries


def _with_collections(entry: Entry, names: Iterable[str]) -> Entry:
    from dataclasses import replace

    return replace(entry, collections=tuple(sorted(names)))


# --- dispatch ----------------------------------------------------------------

_TEXT_READERS: dict[str, Callable[[str], list[Entry]]] = {
    ".bib": read_bibtex,
    ".bibtex": read_bibtex,
    ".ris": read_ris,
    ".json": read_csl_json,
    ".txt": read_id_list,
    ".list": read_id_list,
}


def read_library(path: Path) -> list[Entry]:
    """Read one library file, chosen by its extension; errors name the file."""
    try:
        status = _stat(path)
        if not stat.S_ISREG(status.st_mode):  # a pipe would block, a device never end
            raise LibraryError("not a regular file")
        if status.st_size > MAX_FILE_BYTES:
            raise LibraryError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        if path.suffix.lower() in (".sqlite", ".db"):
            wal = path.with_name(path.name + "-wal")  # copied with it (read_zotero)
            if wal.is_file() and wal.stat().st_size > MAX_FILE_BYTES:
                raise LibraryError(f"its -wal is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            return read_zotero(path)
        reader = _TEXT_READERS.get(path.suffix.lower(), read_id_list)
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # bounded, whatever the size said
        if len(raw) > MAX_FILE_BYTES:
            raise LibraryError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        return reader(decoded(raw))
    except LibraryError as exc:
        raise LibraryError(f"{path}: {exc}") from None
    except OSError as exc:
        raise LibraryError(f"{path}: cannot read: {reason(exc)}") from None


def _stat(path: Path) -> os.stat_result:
    """``path.stat()``; a path no system call takes (a NUL byte in it) is a LibraryError."""
    try:
        return path.stat()
    except ValueError as exc:  # "embedded null byte"
        raise LibraryError(f"cannot read: {_first_line(exc)}") from None


def decoded(raw: bytes) -> str:
    """A library file's text: UTF-8 (with or without a BOM), UTF-16 with its BOM, else
    Windows-1252 (older BibTeX tools write Latin-1: byte E9 is "é", where UTF-8
    with replacements stored a title no paper's matches)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _date(value: object) -> datetime | None:
    text = str(value or "").strip().replace("/", "-")
    for length, fmt in ((19, "%Y-%m-%d %H:%M:%S"), (10, "%Y-%m-%d")):
        try:
            return datetime.strptime(text[:length], fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def _csl_date(value: object) -> datetime | None:
    """CSL's ``{"date-parts": [[y, m, d]]}`` (or ``raw``); ``None`` when it is anything else."""
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    first = parts[0] if isinstance(parts, list) and parts else None
    if isinstance(first, list) and len(first) == 3:
        try:
            year, month, day = (int(p) for p in first)
            return datetime(year, month, day, tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):  # 1e400, a 20-digit year...
            return None
    return _date(value.get("raw"))


def reason(exc: BaseException) -> str:
    """Why reading failed, in one line: the system's words, else the error's first line."""
    return getattr(exc, "strerror", None) or _first_line(exc)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
