"""The embeddings cache in the store (table ``text_embeddings``, migration 10).

One vector per text and model: a paper's at its version (a revised paper is
embedded again), a library item's own text under the digest of that text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.schema import library_items, papers, text_embeddings

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Text:
    """A text to embed: its cache key, version and words."""

    key: str
    version: int
    text: str


def text_key(text: str) -> str:
    return "text:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def cached(conn: Connection, texts: Sequence[Text], model: str) -> dict[str, list[float]]:
    """``{key: vector}`` of the texts whose cached vector is at their version."""
    wanted = {t.key: t.version for t in texts}
    keys = sorted(wanted)
    found: dict[str, list[float]] = {}
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start : start + _BATCH]
        rows = conn.execute(
            sa.select(text_embeddings.c.key, text_embeddings.c.version, text_embeddings.c.vector)
            .where(text_embeddings.c.model == model)
            .where(text_embeddings.c.key.in_(chunk))
        )
        found.update((key, list(vector)) for key, version, vector in rows if wanted[key] == version)
    return found


def save(
    conn: Connection, texts: Iterable[Text], vectors: Mapping[str, list[float]], model: str
) -> None:
    """Store new vectors (replacing older versions of the same keys)."""
    rows = [
        {"key": t.key, "model": model, "version": t.version, "vector": vectors[t.key]}
        for t in texts
        if t.key in vectors
    ]
    if not rows:
        return
    keys = [row["key"] for row in rows]
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start : start + _BATCH]
        conn.execute(
            text_embeddings.delete()
            .where(text_embeddings.c.model == model)
            .where(text_embeddings.c.key.in_(chunk))
        )
    for start in range(0, len(rows), _BATCH):
        conn.execute(text_embeddings.insert(), rows[start : start + _BATCH])


@dataclass(frozen=True, slots=True)
class LibraryText:
    """A library item as the ranking names it (``key``) with the text to embed."""

    key: str
    text: Text


def library_texts(conn: Connection) -> list[LibraryText]:
    """Every library item's text: its stored paper's (at its version), else its own."""
    rows = conn.execute(
        sa.select(
            library_items.c.key,
            library_items.c.arxiv_id,
            library_items.c.doi,
            library_items.c.title,
            library_items.c.abstract,
            papers.c.id,
            papers.c.version,
            papers.c.title.label("paper_title"),
            papers.c.abstract.label("paper_abstract"),
        ).select_from(library_items.outerjoin(papers, papers.c.id == library_items.c.paper_id))
    ).all()
    found = []
    for row in rows:
        key = row.arxiv_id or row.doi or row.key
        if row.id is not None:
            text = Text(row.id, row.version, joined(row.paper_title, row.paper_abstract))
        else:
            own = joined(row.title, row.abstract)
            if not own:
                continue  # an id alone, not stored: nothing to embed (nor to rank by)
            text = Text(text_key(own), 0, own)
        found.append(LibraryText(key, text))
    return found


def joined(title: str, abstract: str | None) -> str:
    return f"{title}\n\n{abstract or ''}".strip()
