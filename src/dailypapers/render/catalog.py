"""What the feeds, ``papers.json`` and the site show: topics with their papers.

Built once per render from the store (the same rows as the README), so every
output agrees. Nothing here reads the clock: the only time an output shows
is derived from the data (the newest paper's ``updated``), which keeps the
outputs byte-identical when the data did not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dailypapers.links import labels
from dailypapers.models import Paper, format_timestamp
from dailypapers.render.slugs import slug_map

if TYPE_CHECKING:
    from dailypapers.render.ranked import Ranking


@dataclass(frozen=True)
class TopicListing:
    """One topic: its name, file-name slug, effective arXiv query and papers (newest first)."""

    name: str
    slug: str
    query: str
    papers: Sequence[Paper]

    @property
    def updated(self) -> datetime | None:
        return max((p.updated for p in self.papers), default=None)


@dataclass(frozen=True)
class Catalog:
    """Every configured topic, in config order, under the project's title."""

    title: str
    topics: Sequence[TopicListing]
    ranking: Ranking | None = None  # the "For you" list and scores (with a library)
    # Ids of the papers new since the previous update (see :func:`newly_listed` in
    # :mod:`dailypapers.listing`): the site's "new" badge.
    new: frozenset[str] = frozenset()
    _topics_of: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _papers: list[Paper] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found: dict[str, dict[str, None]] = {}
        for topic in self.topics:
            for paper in topic.papers:
                found.setdefault(paper.id, {})[topic.slug] = None
        object.__setattr__(self, "_topics_of", {k: tuple(v) for k, v in found.items()})
        unique = {p.id: p for topic in self.topics for p in topic.papers}
        object.__setattr__(
            self, "_papers", sorted(unique.values(), key=newest_first_key, reverse=True)
        )

    @property
    def updated(self) -> datetime | None:
        """When the newest paper was last updated (``None`` when there are none)."""
        return max((t.updated for t in self.topics if t.updated), default=None)

    def papers(self) -> list[Paper]:
        """Every listed paper once, newest first (last update, first version, id): a new list
        (sorted once, when the catalog is built)."""
        return list(self._papers)

    def topics_of(self, paper: Paper) -> tuple[str, ...]:
        """Slugs of the topics listing ``paper``, in config order."""
        return self._topics_of.get(paper.id, ())


def newest_first_key(paper: Paper) -> tuple[datetime, datetime, str]:
    """Sort key of the store's order (use with ``reverse=True``)."""
    return (paper.updated, paper.published, paper.id)


def build_catalog(
    title: str,
    topics: Iterable[tuple[str, str, Sequence[Paper]]],
    ranking: Ranking | None = None,
    new: frozenset[str] = frozenset(),
) -> Catalog:
    """A :class:`Catalog` from ``(name, query, papers)`` per topic, slugs assigned."""
    items = list(topics)
    slugs = slug_map(name for name, _, _ in items)
    return Catalog(
        title,
        [TopicListing(name, slugs[name], query, papers) for name, query, papers in items],
        ranking,
        new,
    )


def paper_record(paper: Paper) -> dict[str, Any]:
    """Every field of a paper plus its URLs and labels, JSON-ready (stable key order)."""
    return {
        **paper.to_dict(),
        "versioned_id": paper.versioned_id,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        **labels(paper).to_dict(),
        "tldr": paper.tldr,
    }


def timestamp(value: datetime | None) -> str | None:
    """``2025-05-12T17:59:58Z`` or ``None``."""
    return None if value is None else format_timestamp(value)
