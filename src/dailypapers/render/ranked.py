"""What the outputs show of the reader's ranking: the "For you" picks and scores.

Plain data (computed by :mod:`dailypapers.rank.foryou`), so renderers need
nothing of the ranking machinery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dailypapers.models import Paper


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
    scores: Mapping[str, float] = field(default_factory=dict)

    def ids(self) -> list[str]:
        return [pick.paper.id for pick in self.picks]

    def score(self, paper_id: str) -> float | None:
        """The paper's score, rounded as written (``None``: not ranked, e.g. the library's own)."""
        value = self.scores.get(paper_id)
        return None if value is None else round(value, 4)

    def plus(self, scores: Mapping[str, float]) -> Ranking:
        """This ranking with more papers' scores (its own win where both have one)."""
        return Ranking(self.picks, {**scores, **self.scores})
