"""Stored TL;DRs (migration 8): one row per paper version, model, prompt and language.

A row is written once per attempt: ``ok`` with the validated text and the
endpoint's token counts, or ``failed`` with a one-line reason (the model's
answer is never kept when it failed validation, so it is never rendered).
``attempts`` counts answers that failed validation: after
:data:`MAX_INVALID` such answers a paper is not asked for again under the
same key. Transport failures (endpoint down, 429, 5xx, timeouts) do not
count: the paper is simply still pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from dailypapers.schema import paper_summaries, papers
from dailypapers.sql import chunks
from dailypapers.store import Store

MAX_INVALID = 3
OK = "ok"
FAILED = "failed"


@dataclass(frozen=True)
class Key:
    """What a summary depends on besides the paper version."""

    model: str
    prompt_hash: str
    language: str

    def where(self) -> sa.ColumnElement[bool]:
        c = paper_summaries.c
        return (
            (c.model == self.model)
            & (c.prompt_hash == self.prompt_hash)
            & (c.language == self.language)
        )


#: A key's prompt when the prompt file cannot be read: any prompt's newest TL;DR.
ANY_PROMPT = ""


@dataclass(frozen=True)
class Outcome:
    """One attempt's result for one paper version."""

    paper_id: str
    version: int
    ok: bool
    tldr: str | None = None
    motivation: str | None = None
    method: str | None = None
    result: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    invalid: bool = False  # the endpoint answered, but not a valid summary
    error: str | None = None


def tldrs(conn: Connection, key: Key, versions: dict[str, int]) -> dict[str, str]:
    """``{paper id: tldr}`` of the ``ok`` summaries of exactly these versions (with
    :data:`ANY_PROMPT`, the newest under any prompt)."""
    found: dict[str, str] = {}
    c = paper_summaries.c
    where = key.where()
    if key.prompt_hash == ANY_PROMPT:  # the newest of each version's summaries wins below
        where = (c.model == key.model) & (c.language == key.language)
    for chunk in chunks(list(versions)):
        rows = conn.execute(
            sa.select(c.paper_id, c.version, c.tldr)
            .where(where & (c.status == OK) & c.paper_id.in_(chunk))
            .order_by(c.updated_at)
        )
        found.update(
            {r.paper_id: r.tldr for r in rows if r.tldr and versions.get(r.paper_id) == r.version}
        )
    return found


def tldrs_for_rendering(store: Store, key: Key, versions: dict[str, int]) -> dict[str, str]:
    """:func:`tldrs`, or none when the store cannot say: rendering never fails for a TL;DR."""
    try:
        with store.reading() as conn:
            return tldrs(conn, key, versions)
    except SQLAlchemyError:
        return {}


def settled(conn: Connection, key: Key, versions: dict[str, int]) -> set[str]:
    """Ids whose version needs no request: summarised, or given up after invalid answers."""
    done: set[str] = set()
    c = paper_summaries.c
    for chunk in chunks(list(versions)):
        rows = conn.execute(
            sa.select(c.paper_id, c.version, c.status, c.attempts).where(
                key.where() & c.paper_id.in_(chunk)
            )
        )
        for r in rows:
            if versions.get(r.paper_id) == r.version and (
                r.status == OK or r.attempts >= MAX_INVALID
            ):
                done.add(r.paper_id)
    return done


def first_seen(conn: Connection, ids: Sequence[str]) -> dict[str, datetime]:
    """When the store first saw each paper (the pending queue's order)."""
    found: dict[str, datetime] = {}
    for chunk in chunks(list(ids)):
        rows = conn.execute(
            sa.select(papers.c.id, papers.c.first_seen).where(papers.c.id.in_(chunk))
        )
        found.update({r.id: r.first_seen.replace(tzinfo=None) for r in rows})
    return found


def record(conn: Connection, key: Key, outcome: Outcome, now: datetime) -> bool:
    """Store one attempt; an ``ok`` row is never replaced by a later failure.

    Returns whether this attempt gave the paper up (its :data:`MAX_INVALID`-th
    invalid answer: it is not asked for again under this key).
    """
    c = paper_summaries.c
    ident = key.where() & (c.paper_id == outcome.paper_id) & (c.version == outcome.version)
    existing = conn.execute(sa.select(c.status, c.attempts).where(ident)).first()
    if existing is not None and existing.status == OK:
        return False
    attempts = (existing.attempts if existing else 0) + (1 if outcome.invalid else 0)
    values = {
        "status": OK if outcome.ok else FAILED,
        "tldr": outcome.tldr,
        "motivation": outcome.motivation,
        "method": outcome.method,
        "result": outcome.result,
        "tokens_in": outcome.tokens_in,
        "tokens_out": outcome.tokens_out,
        "attempts": attempts,
        "error": outcome.error,
        "updated_at": now,
    }
    if existing is None:
        conn.execute(
            paper_summaries.insert().values(
                paper_id=outcome.paper_id,
                version=outcome.version,
                model=key.model,
                prompt_hash=key.prompt_hash,
                language=key.language,
                **values,
            )
        )
    else:
        conn.execute(paper_summaries.update().where(ident).values(**values))
    return not outcome.ok and outcome.invalid and attempts == MAX_INVALID
