"""What the ``library``, ``rank`` and ``similar`` commands do (the CLI stays thin)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from dailypapers.config import Config
from dailypapers.models import InvalidArxivId, counted, split_id
from dailypapers.rank import api, libstore
from dailypapers.rank.library import LibraryError
from dailypapers.store import Store, utcnow

__all__ = [
    "LibraryError",
    "import_library",
    "list_lines",
    "ranked",
    "remove_library",
    "render",
    "similar_to",
]


def import_library(store: Store, paths: Sequence[Path], *, only_changed: bool = False) -> list[str]:
    """Import files in one transaction; one line per file."""
    now = utcnow()
    results = libstore.import_files(store, paths, now, only_changed=only_changed)
    return [
        f"{r.path}: {counted(r.items, 'item')}, {r.matched} matched stored papers"
        if r.changed
        else f"{r.path}: unchanged"
        for r in results
    ]


def remove_library(store: Store, paths: Sequence[Path], configured: Sequence[Path]) -> list[str]:
    """Remove imported files and their items in one transaction; one line per file.

    A file of ``[library] paths`` is refused: the next update would import it again.
    """
    keys = [libstore.file_key(path) for path in paths]
    listed = {libstore.file_key(path) for path in configured}
    for path, key in zip(paths, keys, strict=True):
        if key in listed:
            raise LibraryError(
                f"{path}: listed in [library] paths: remove it there (each update imports it)"
            )
    removed = store.write(lambda conn: libstore.remove_files(conn, keys))
    return [f"{r.path}: removed, {counted(r.items, 'item')}" for r in removed]


def sync_configured(store: Store, config: Config) -> list[str]:
    """Re-import the ``[library] paths`` files whose bytes changed (each update)."""
    paths = config.library_paths
    return import_library(store, paths, only_changed=True) if paths else []


def list_lines(store: Store) -> list[str]:
    with store.reading() as conn:
        rows = libstore.library(conn)
    if not rows:
        return ["library is empty: dailypapers library import FILE..."]
    return [
        f"{(row.added.date().isoformat() if row.added else '-'):10}  {row.key[:40]:40}"
        f"  {row.title[:80]}"
        for row in rows
    ]


def stats_lines(store: Store) -> list[str]:
    with store.reading() as conn:
        rows = libstore.library(conn)
        files = libstore.files(conn)
    lines = [
        f"{path}: {counted(items, 'item')}, {matched} matched stored papers,"
        f" imported {at:%Y-%m-%d %H:%M} UTC"
        for path, items, matched, at in files
    ]
    matched = sum(1 for row in rows if row.paper_id)
    with_arxiv = sum(1 for row in rows if row.arxiv_id)
    lines.append(
        f"{counted(len(rows), 'item')} in {counted(len(files), 'file')}; "
        f"{matched} matched stored papers, {with_arxiv} with an arXiv id"
    )
    return lines


def ranked(store: Store, config: Config, *, since: datetime | None, limit: int) -> list[api.Scored]:
    return api.for_you(store, config, since=since, limit=limit)


def similar_to(store: Store, arxiv_id: str, *, limit: int) -> list[api.Scored]:
    try:
        paper_id = split_id(arxiv_id)[0]
    except InvalidArxivId as exc:
        raise LibraryError(str(exc)) from None
    found = api.similar(store, paper_id, limit=limit)
    if not found and not api.is_stored(store, paper_id):
        raise LibraryError(f"{paper_id} is not in the store")
    return found


def render(scored: Sequence[api.Scored], *, as_json: bool, explain: bool) -> str:
    if as_json:
        return json.dumps(
            [{**s.as_json(), "title": s.paper.title} for s in scored], ensure_ascii=False, indent=2
        )
    if not scored:
        return (
            "nothing ranked: no library imported, no new papers,"
            " or none has anything in common with the library (score 0)"
        )
    lines = []
    for position, item in enumerate(scored, 1):
        lines.append(f"{position:3}. {item.score:.3f}  {item.paper.id}  {_plain(item.paper.title)}")
        if explain:
            items = ", ".join(item.because.get("items", []))
            terms = ", ".join(item.because.get("terms", []))
            lines.append(f"      because: {items}; terms: {terms}")
    return "\n".join(lines)


def _plain(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in " ".join(text.split()))[:160]
