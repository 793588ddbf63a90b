"""Topics by example (``like = [...]``): what the config may say, checked cheaply.

A topic by example names no keywords: ``like`` lists arXiv ids
(``"2505.07271"``) and library collections (``"collection:Reward models"``,
a Zotero collection or any ``collections`` of an imported library item).
Each run the day's papers of its categories (or of the config's archives)
are scored against those examples with the default ranking method, and the
topic keeps its ``top`` best and/or those scoring at least ``min_score``
(:mod:`dailypapers.rank.like`). This module only validates (the config
imports it; it imports nothing heavy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dailypapers.models import InvalidArxivId, split_id


class Topic(Protocol):
    """What of a configured topic the checks read (``dailypapers.config.Topic``)."""

    @property
    def like(self) -> list[str] | None: ...
    @property
    def query(self) -> str | None: ...
    @property
    def categories(self) -> list[str]: ...
    @property
    def top(self) -> int | None: ...
    @property
    def min_score(self) -> float | None: ...


COLLECTION = "collection:"
MAX_EXAMPLES = 500


def collection_of(example: str) -> str | None:
    """The collection an example names (``collection:NAME``), or ``None`` for an arXiv id."""
    if example.lower().startswith(COLLECTION):
        return example[len(COLLECTION) :].strip()
    return None


def arxiv_ids(examples: Sequence[str]) -> list[str]:
    """The arXiv ids (no version) among ``examples``, in order."""
    return [split_id(e)[0] for e in examples if collection_of(e) is None]


def collections(examples: Sequence[str]) -> list[str]:
    return [name for e in examples if (name := collection_of(e)) is not None]


def example_problem(examples: Sequence[str]) -> str | None:
    """Why ``like`` is not a list of arXiv ids and ``collection:NAME`` entries (or ``None``)."""
    if not examples:
        return 'must list at least one arXiv id or "collection:NAME"'
    if len(examples) > MAX_EXAMPLES:
        return f"at most {MAX_EXAMPLES} examples"
    for example in examples:
        name = collection_of(example)
        if name is not None:
            if not name or not name.isprintable():
                return f"{example!r}: give the collection's name after 'collection:'"
            continue
        try:
            split_id(example)
        except InvalidArxivId:
            return (
                f'{example[:60]!r} is neither an arXiv id (e.g. 2505.07271) nor "collection:NAME"'
            )
    return None


def topic_problem(topic: Topic, archives: Sequence[str]) -> tuple[str, str] | None:
    """``(key, message)`` when a topic mixes ``like`` with a query or lacks a scope."""
    if topic.like is None:
        for key in ("top", "min_score"):
            if getattr(topic, key) is not None:
                return key, "only a topic by example (like = [...]) keeps a top or min_score"
        return None
    if topic.query is not None:
        return "like", "give either query or like, not both (like replaces the keywords)"
    if not topic.categories and not archives:
        return "like", "a topic by example needs categories (or archives) to draw papers from"
    return None
