"""The run's "For you" list: ranked once per ``update``, shown by every output.

Only when a library is configured (``[library] paths``) or imported; without
one :func:`compute` returns ``None`` and no output changes by a byte. A
failure (a malformed library file, say) prints one line on stderr and the run
goes on without ranking: ranking never blocks publishing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from dailypapers.config import Config
from dailypapers.models import Paper
from dailypapers.store import Store

MAX_REASON = 300
T = TypeVar("T")


@dataclass(frozen=True)
class Pick:
    """One paper of the "For you" list: its score and ``because`` (items, terms)."""

    paper: Paper
    score: float
    because: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"id": self.paper.id, "score": round(self.score, 4), "because": self.because}


@dataclass(frozen=True)
class Ranking:
    """The day's papers best first (``picks``) and the score of every ranked paper."""

    picks: Sequence[Pick]
    scores: dict[str, float] = field(default_factory=dict)

    def ids(self) -> list[str]:
        return [pick.paper.id for pick in self.picks]

    def score(self, paper_id: str) -> float | None:
        value = self.scores.get(paper_id)
        return None if value is None else round(value, 4)

    def with_scores_of(self, store: Store, papers: Sequence[Paper]) -> Ranking:
        """This ranking plus the scores of ``papers`` (the topics' listed papers)."""
        from dailypapers.rank.api import rank_papers

        unique = list({p.id: p for p in papers}.values())
        scored = _guarded(lambda: rank_papers(store, unique)) or []
        return Ranking(self.picks, {**{s.paper.id: s.score for s in scored}, **self.scores})


def configured(config: Config, store: Store) -> bool:
    """True when a library is configured or imported."""
    from dailypapers.rank.api import has_library

    return bool(config.library_paths) or has_library(store)


def compute(config: Config, store: Store, *, limit: int | None = None) -> Ranking | None:
    """The "For you" list (changed library files re-imported first); ``None`` without a library.

    On failure: one line on stderr, and ``None``.
    """

    def rank() -> Ranking | None:
        from dailypapers.rank.api import for_you

        if not configured(config, store):
            return None
        found = for_you(store, config, limit=limit or config.settings.max_papers)
        picks = [Pick(s.paper, s.score, s.because) for s in found]
        return Ranking(picks, {p.paper.id: p.score for p in picks})

    return _guarded(rank)


def _guarded(work: Callable[[], T]) -> T | None:
    try:
        return work()
    except Exception as exc:  # ranking must never fail the run that stored the papers
        reason = " ".join(str(exc).split())[:MAX_REASON] or type(exc).__name__
        print(f"for you: skipped ({reason})", file=sys.stderr)
        return None
