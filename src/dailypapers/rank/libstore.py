"""The library and the ranking caches in the store (tables of migration 9, schema.py).

Tables:

* ``library_files``: each imported file, with the digest of its bytes (a
  ``[library] paths`` file is re-imported only when the digest changed);
* ``library_items``: its entries in file order, with the stored paper they
  matched (by arXiv id, then DOI, then normalised title) and their own
  title/abstract for those that matched nothing;
* ``paper_terms``: the analysed term counts of each paper version, so a
  second run analyses nothing that did not change;
* ``rank_terms`` / ``rank_corpus``: document frequencies over every stored
  paper (the idf of ranking), kept up to date as ``paper_terms`` changes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.masking import short
from dailypapers.models import readable, stored_value_error, stored_value_problem
from dailypapers.rank.library import Entry, LibraryError, normalise_title, read_library, reason
from dailypapers.rank.vectors import Corpus, term_counts
from dailypapers.schema import (
    library_files,
    library_items,
    paper_terms,
    papers,
    rank_corpus,
    rank_terms,
)
from dailypapers.store import Store, utcnow

_BATCH = 500
MAX_REASON = 300  # characters of a failure's reason in a warning line

# --- library -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    path: str
    items: int
    matched: int
    changed: bool


def digest(path: Path) -> str:
    """The file's bytes, with an SQLite write-ahead log beside it (Zotero's newest items).

    Read a megabyte at a time (a library of hundreds of MB is never held in
    memory); a file that cannot be read is a one-line :class:`LibraryError`.
    """
    hashed = hashlib.sha256()
    wal = path.with_name(path.name + "-wal")
    parts = [path]
    if path.suffix.lower() in (".sqlite", ".db") and wal.is_file():
        parts.append(wal)
    try:
        for part in parts:
            with part.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    hashed.update(chunk)
    except OSError as exc:
        raise LibraryError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return hashed.hexdigest()


@dataclass(frozen=True, slots=True)
class ReadFile:
    """A library file as read, before anything is written: its entries and their terms.

    ``entries`` is ``None`` for a file unchanged since its last import.
    """

    key: str
    sha: str
    entries: list[Entry] | None
    terms: list[dict[str, int]]


def import_files(
    store: Store, paths: Sequence[Path], now: datetime, *, only_changed: bool = False
) -> list[ImportResult]:
    """Read every file, then replace their items in one transaction.

    The files are read and analysed before the transaction begins: a big or
    slow file no longer holds the store's write lock (another run waiting
    for it failed with "database is locked"). A file that cannot be read
    raises before anything is written.
    """
    work = read_files(store, paths, only_changed=only_changed)
    return store.write(lambda conn: save_files(conn, work, now))


def reimport_changed(store: Store, paths: Sequence[Path]) -> str | None:
    """Re-import the files whose bytes changed; ``None``, or the one-line reason a
    file could not be read (then nothing is re-imported: the library stays as it was)."""
    try:
        import_files(store, paths, utcnow(), only_changed=True)
    except (LibraryError, OSError) as exc:
        return short(exc, MAX_REASON)
    return None


def read_files(
    store: Store, paths: Sequence[Path], *, only_changed: bool = False
) -> list[ReadFile]:
    """Read and analyse each file (no transaction); unchanged ones with ``only_changed``."""
    with store.reading() as conn:
        stored = dict(conn.execute(sa.select(library_files.c.path, library_files.c.digest)).all())
    work = []
    for path in paths:
        key = file_key(path)
        try:
            sha = digest(path) if path.is_file() else ""
        except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
            raise LibraryError(f"{path}: cannot read: {reason(exc)}") from None
        if only_changed and stored.get(key) == sha:
            work.append(ReadFile(key, sha, None, []))
            continue
        entries = read_library(path)
        terms = [dict(term_counts(e.title, e.abstract)) for e in entries]
        work.append(ReadFile(key, sha, entries, terms))
    return work


def save_files(conn: Connection, work: Sequence[ReadFile], now: datetime) -> list[ImportResult]:
    """Replace the items of the files read (inside the caller's transaction)."""
    results = []
    for read in work:
        if read.entries is None:
            where = library_files.c.path == read.key
            count = conn.scalar(sa.select(library_files.c.item_count).where(where))
            results.append(ImportResult(read.key, int(count or 0), 0, changed=False))
            continue
        results.append(_replace_file(conn, read, now))
    return results


def _replace_file(conn: Connection, read: ReadFile, now: datetime) -> ImportResult:
    key, entries = read.key, read.entries or []
    conn.execute(library_items.delete().where(library_items.c.path == key))
    conn.execute(library_files.delete().where(library_files.c.path == key))
    conn.execute(
        library_files.insert().values(
            path=key, digest=read.sha, item_count=len(entries), imported_at=now
        )
    )
    matches = match_papers(conn, entries)
    rows = [
        _item_row(key, position, entry, matches.get(position), read.terms[position])
        for position, entry in enumerate(entries)
    ]
    for start in range(0, len(rows), _BATCH):
        conn.execute(library_items.insert(), rows[start : start + _BATCH])
    return ImportResult(key, len(entries), len(matches), changed=True)


def remove_files(conn: Connection, keys: Sequence[str]) -> list[ImportResult]:
    """Remove imported files and their items (inside the caller's transaction).

    Every key must name an imported file (as :func:`files` lists them);
    otherwise nothing is removed.
    """
    counts = dict(
        conn.execute(
            sa.select(library_files.c.path, library_files.c.item_count).where(
                library_files.c.path.in_(keys)
            )
        ).all()
    )
    if missing := [key for key in keys if key not in counts]:
        raise LibraryError(
            f"{missing[0]}: not in the library ('dailypapers library stats' lists its files)"
        )
    conn.execute(library_items.delete().where(library_items.c.path.in_(keys)))
    conn.execute(library_files.delete().where(library_files.c.path.in_(keys)))
    return [ImportResult(key, int(counts[key]), 0, changed=True) for key in dict.fromkeys(keys)]


def file_key(path: Path) -> str:
    """How the store names an imported file: its absolute path, links resolved."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise LibraryError(f"{path}: cannot read: {reason(exc)}") from None


def _item_row(
    path: str, position: int, entry: Entry, paper_id: str | None, terms: dict[str, int]
) -> dict[str, object]:
    return {
        "path": path,
        "position": position,
        "key": entry.key,
        "title": entry.title,
        "abstract": entry.abstract,
        "arxiv_id": entry.arxiv_id,
        "doi": entry.doi,
        "added": entry.added,
        "collections": list(entry.collections),
        "paper_id": paper_id,
        "terms": terms,
    }


def match_papers(conn: Connection, entries: Sequence[Entry]) -> dict[int, str]:
    """``{entry position: stored paper id}`` by arXiv id, then DOI, then title."""
    ids = {e.arxiv_id for e in entries if e.arxiv_id}
    dois = {e.doi for e in entries if e.doi}
    known_ids = _existing(conn, papers.c.id, papers.c.id, sorted(ids))
    by_doi = {doi.lower(): pid for doi, pid in _existing_pairs(conn, papers.c.doi, sorted(dois))}
    # an entry with an arXiv id is that paper or none: another of its title is not it
    wanted_titles = {normalise_title(e.title) for e in entries if e.title and not e.arxiv_id}
    by_title: dict[str, str] = {}
    if wanted_titles - {""}:
        query = sa.select(papers.c.id, papers.c.title).order_by(papers.c.id)
        for pid, title in conn.execute(query):
            norm = normalise_title(title)
            if norm in wanted_titles:
                by_title.setdefault(norm, pid)
    found = {}
    for position, entry in enumerate(entries):
        pid = (
            (entry.arxiv_id if entry.arxiv_id in known_ids else None)
            or by_doi.get(entry.doi or "")
            or (None if entry.arxiv_id else by_title.get(normalise_title(entry.title)))
        )
        if pid:
            found[position] = pid
    return found


def _existing(
    conn: Connection, column: sa.Column[str], result: sa.Column[str], values: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _BATCH):
        chunk = values[start : start + _BATCH]
        found.update(conn.scalars(sa.select(result).where(column.in_(chunk))))
    return found


def _existing_pairs(
    conn: Connection, column: sa.Column[str | None], values: Sequence[str]
) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    lowered = sa.func.lower(column)
    for start in range(0, len(values), _BATCH):
        chunk = values[start : start + _BATCH]
        rows = conn.execute(sa.select(column, papers.c.id).where(lowered.in_(chunk)))
        pairs.extend((str(doi), str(pid)) for doi, pid in rows)
    return pairs


@dataclass(frozen=True, slots=True)
class LibraryRow:
    key: str
    title: str
    paper_id: str | None
    arxiv_id: str | None
    added: datetime | None
    path: str
    collections: tuple[str, ...]
    terms: dict[str, int]


def library(conn: Connection) -> list[LibraryRow]:
    """Every library item, newest added first (undated ones in file order after)."""
    rows = conn.execute(
        sa.select(library_items).order_by(library_items.c.path, library_items.c.position)
    ).all()
    items = [
        LibraryRow(
            key=row.arxiv_id or row.doi or row.key,
            title=row.title,
            paper_id=row.paper_id,
            arxiv_id=row.arxiv_id,
            added=row.added,
            path=row.path,
            collections=tuple(row.collections or ()),
            terms=dict(row.terms or {}),
        )
        for row in rows
    ]
    dated = sorted((i for i in items if i.added), key=_added, reverse=True)
    return dated + [i for i in items if not i.added]


def _added(row: LibraryRow) -> datetime:
    assert row.added is not None
    return row.added


def files(conn: Connection) -> list[tuple[str, int, int, datetime]]:
    """Each imported file: path, items, items matched to a stored paper, when imported."""
    matched: dict[str, int] = dict(
        conn.execute(
            sa.select(library_items.c.path, sa.func.count())
            .where(library_items.c.paper_id.is_not(None))
            .group_by(library_items.c.path)
        ).all()
    )
    rows = conn.execute(sa.select(library_files).order_by(library_files.c.path))
    return [
        (row.path, row.item_count, int(matched.get(row.path, 0)), row.imported_at) for row in rows
    ]


# --- term cache and document frequencies ---------------------------------------


def refresh_terms(conn: Connection, batch: int = _BATCH) -> int:
    """Analyse every stored paper whose version has no cached terms; returns how many.

    Stale papers are read ``batch`` at a time in id order (keyset pages), so a
    first run over a large store holds one batch of abstracts, not all of them.
    """
    totals = _Totals()
    after = ""
    unmatched = _Unmatched.load(conn)
    unmatched.match_stored_ids(conn)
    while rows := _stale_rows(conn, after, batch):
        upserts = [totals.analyse(row) for row in rows]
        ids = [u["paper_id"] for u in upserts]
        conn.execute(paper_terms.delete().where(paper_terms.c.paper_id.in_(ids)))
        conn.execute(paper_terms.insert(), upserts)
        unmatched.match(conn, rows)
        after = rows[-1].id
    unmatched.finish(conn)
    if totals.papers:
        _add_frequencies(conn, totals.df, totals.documents, totals.length)
    return totals.papers


def _stale_rows(conn: Connection, after: str, limit: int) -> Sequence[Any]:
    """The next ``limit`` papers (by id, past ``after``) whose terms are missing or stale."""
    stale = (
        sa.select(
            papers.c.id,
            papers.c.version,
            papers.c.title,
            papers.c.abstract,
            papers.c.doi,
            paper_terms.c.terms,
        )
        .outerjoin(paper_terms, paper_terms.c.paper_id == papers.c.id)
        .where(sa.or_(paper_terms.c.version.is_(None), paper_terms.c.version != papers.c.version))
        .where(papers.c.id > after)
        .order_by(papers.c.id)
        .limit(limit)
    )
    return conn.execute(stale).all()


@dataclass(slots=True)
class _Unmatched:
    """Library items no stored paper matched yet, by arXiv id, DOI and title.

    A paper stored after its item was imported (an id list read before the
    update that brought the paper; a journal version's BibTeX entry) is
    matched when its terms are first analysed, and an item's arXiv id is
    looked up each time (a lookup by key, which also mends stores written
    before): before, such an item never matched, counted by its title alone,
    and its paper was recommended to the reader who holds it. An item with
    an arXiv id matches by that id or its DOI, never by title (another
    paper of the same title would take it for good); a title match waits
    until every new paper was seen, so a DOI match in a later batch wins, and
    of two papers of one title the first seen does, as at import.
    """

    by_id: dict[str, list[int]] = field(default_factory=dict)
    by_doi: dict[str, list[int]] = field(default_factory=dict)
    by_title: dict[str, list[int]] = field(default_factory=dict)
    titled: dict[int, str] = field(default_factory=dict)  # item: paper, linked by finish()
    linked: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, conn: Connection) -> _Unmatched:
        found = cls()
        columns = (library_items.c.id, library_items.c.arxiv_id, library_items.c.doi)
        query = sa.select(*columns, library_items.c.title).where(library_items.c.paper_id.is_(None))
        for item, arxiv_id, doi, title in conn.execute(query):
            if arxiv_id:
                found.by_id.setdefault(arxiv_id, []).append(item)
            if doi:
                found.by_doi.setdefault(doi, []).append(item)
            if not arxiv_id and (key := normalise_title(title or "")):
                found.by_title.setdefault(key, []).append(item)
        return found

    def match_stored_ids(self, conn: Connection) -> None:
        stored = _existing(conn, papers.c.id, papers.c.id, sorted(self.by_id))
        self._link(conn, {item: pid for pid in sorted(stored) for item in self.by_id[pid]})

    def match(self, conn: Connection, rows: Sequence[Any]) -> None:
        """Link the items these newly analysed papers match by DOI; note title matches."""
        links: dict[int, str] = {}
        for row in rows:
            for item in self.by_doi.get((row.doi or "").lower(), []) if self.by_doi else []:
                links.setdefault(item, row.id)
            for item in self.by_title.get(normalise_title(row.title or ""), []):
                self.titled.setdefault(item, row.id)
        self._link(conn, links)

    def finish(self, conn: Connection) -> None:
        """Link the items matched by title alone (after every new paper was seen)."""
        self._link(conn, self.titled)

    def _link(self, conn: Connection, links: Mapping[int, str]) -> None:
        fresh = {item: paper for item, paper in links.items() if item not in self.linked}
        if not fresh:
            return
        conn.execute(
            library_items.update()
            .where(library_items.c.id == sa.bindparam("item"))
            .values(paper_id=sa.bindparam("paper")),
            [{"item": item, "paper": paper} for item, paper in fresh.items()],
        )
        self.linked.update(fresh)


@dataclass(slots=True)
class _Totals:
    """Changes to the document frequencies while papers are (re-)analysed."""

    df: Counter[str] = field(default_factory=Counter)
    documents: int = 0
    length: int = 0
    papers: int = 0

    def analyse(self, row: Any) -> dict[str, Any]:
        if not readable(row.version, row.title, row.abstract):  # another tool's value
            column, value = next(
                (name, getattr(row, name))
                for name in ("version", "title", "abstract")
                if stored_value_problem(name, getattr(row, name))
            )
            problem = stored_value_problem(column, value) or "unreadable"
            raise stored_value_error(row.id, column, value, problem)
        counts = term_counts(row.title, row.abstract)
        if row.terms is not None:
            old = dict(row.terms)
            self.df.subtract(old.keys())
            self.documents -= 1
            self.length -= sum(old.values())
        self.df.update(counts.keys())
        self.documents += 1
        self.length += sum(counts.values())
        self.papers += 1
        return {"paper_id": row.id, "version": row.version, "terms": dict(counts)}


def _add_frequencies(conn: Connection, df: Counter[str], documents: int, length: int) -> None:
    changed = {term: delta for term, delta in df.items() if delta}
    existing: dict[str, int] = {}
    terms = sorted(changed)
    for start in range(0, len(terms), _BATCH):
        chunk = terms[start : start + _BATCH]
        existing.update(
            conn.execute(
                sa.select(rank_terms.c.term, rank_terms.c.df).where(rank_terms.c.term.in_(chunk))
            ).all()
        )
    updates = [{"t": t, "d": existing[t] + changed[t]} for t in terms if t in existing]
    inserts = [{"term": t, "df": changed[t]} for t in terms if t not in existing]
    if updates:
        conn.execute(
            rank_terms.update()
            .where(rank_terms.c.term == sa.bindparam("t"))
            .values(df=sa.bindparam("d")),
            updates,
        )
    if inserts:
        conn.execute(rank_terms.insert(), inserts)
    row = conn.execute(sa.select(rank_corpus).where(rank_corpus.c.id == 1)).first()
    if row is None:
        conn.execute(rank_corpus.insert().values(id=1, documents=documents, total_length=length))
    else:
        conn.execute(
            rank_corpus.update()
            .where(rank_corpus.c.id == 1)
            .values(documents=row.documents + documents, total_length=row.total_length + length)
        )


def corpus(conn: Connection) -> Corpus:
    """Document frequencies over every stored paper (after :func:`refresh_terms`)."""
    row = conn.execute(sa.select(rank_corpus).where(rank_corpus.c.id == 1)).first()
    frequencies: Counter[str] = Counter(
        dict(conn.execute(sa.select(rank_terms.c.term, rank_terms.c.df)).all())
    )
    if row is None:
        return Corpus(frequencies=frequencies)
    return Corpus(documents=row.documents, total_length=row.total_length, frequencies=frequencies)


def cached_terms(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, int]]:
    wanted = sorted(set(ids))
    found: dict[str, dict[str, int]] = {}
    for start in range(0, len(wanted), _BATCH):
        chunk = wanted[start : start + _BATCH]
        rows = conn.execute(
            sa.select(paper_terms.c.paper_id, paper_terms.c.terms).where(
                paper_terms.c.paper_id.in_(chunk)
            )
        )
        found.update((pid, dict(terms)) for pid, terms in rows)
    return found


def ids_updated_since(conn: Connection, since: datetime) -> list[str]:
    return sorted(conn.scalars(sa.select(papers.c.id).where(papers.c.updated >= since)))


def all_ids_but(conn: Connection, paper_id: str) -> list[str]:
    return sorted(conn.scalars(sa.select(papers.c.id).where(papers.c.id != paper_id)))


def newest_update(conn: Connection) -> datetime | None:
    newest: datetime | None = conn.scalar(sa.select(sa.func.max(papers.c.updated)))
    return newest


def is_stored(conn: Connection, paper_id: str) -> bool:
    return conn.scalar(sa.select(papers.c.id).where(papers.c.id == paper_id)) is not None
