"""The run's "For you" list: ranked once per ``update``, shown by every output.

Only when a library is configured (``[library] paths``) or imported; without
one :func:`compute` returns ``None`` and no output changes by a byte. A
library file that cannot be re-read (malformed after an edit, missing) is one
line on stderr and the library as last imported ranks; any other failure is
one line and the run goes on without ranking: ranking never blocks publishing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from dailypapers.config import Config
from dailypapers.deadline import RunDeadlineExceeded
from dailypapers.masking import short
from dailypapers.models import Paper
from dailypapers.render.ranked import Pick, Ranking
from dailypapers.schema import has_library
from dailypapers.store import Store

__all__ = ["Pick", "Ranking", "compute", "configured", "with_scores_of"]

MAX_REASON = 300
T = TypeVar("T")


def with_scores_of(
    ranking: Ranking, store: Store, papers: Sequence[Paper], config: Config | None = None
) -> Ranking:
    """``ranking`` plus the scores of ``papers`` (the topics' listed papers)."""
    from dailypapers.rank.api import rank_papers

    unique = list({p.id: p for p in papers}.values())
    scored = _guarded(lambda: rank_papers(store, unique, config=config)) or []
    return ranking.plus({s.paper.id: s.score for s in scored})


def configured(config: Config, store: Store) -> bool:
    """True when a library is configured or imported.

    Asks the library's table directly: the ranking's modules (and numpy,
    scipy) are loaded only when there is something to rank.
    """
    if config.library_paths:
        return True
    with store.reading() as conn:
        return has_library(conn)


def compute(config: Config, store: Store, *, limit: int | None = None) -> Ranking | None:
    """The "For you" list (changed library files re-imported first); ``None`` without a library.

    On failure: one line on stderr, and ``None``.
    """

    def rank() -> Ranking | None:
        if not configured(config, store):
            return None
        from dailypapers.rank.api import for_you

        found = for_you(store, config, limit=limit or config.settings.max_papers, warn=_warn)
        picks = [Pick(s.paper, s.score, s.because) for s in found]
        return Ranking(picks, {p.paper.id: p.score for p in picks})

    return _guarded(rank)


def _warn(line: str) -> None:
    print(f"for you: {line}", file=sys.stderr)


def _guarded(work: Callable[[], T]) -> T | None:
    try:
        return work()
    except RunDeadlineExceeded:  # the run's own deadline: the run stops, not the ranking
        raise
    except Exception as exc:  # ranking must never fail the run that stored the papers
        reason = short(exc, MAX_REASON) or type(exc).__name__
        print(f"for you: skipped ({reason})", file=sys.stderr)
        return None
