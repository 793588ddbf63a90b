"""Digests ranked for the reader: a "For you" section first, and ``[notify] min_score``.

Only with a library (a :class:`~dailypapers.rank.foryou.Ranking`): the
pending papers of the day's "For you" list come first, best first; with
``min_score``, every section keeps only the papers scoring at least that,
and the rest are counted as left out (each channel says how many: "... and
N more"). Without a library the digest is untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dailypapers.render.digest import Entry, TopicDigest
from dailypapers.render.markdown import FOR_YOU
from dailypapers.render.ranked import Ranking


def ranked_sections(
    sections: Sequence[TopicDigest], ranking: Ranking, min_score: float | None
) -> list[TopicDigest]:
    """``sections`` with "For you" first and, with ``min_score``, low scores left out."""
    entries = {e.paper.id: e for section in sections for e in section.entries}
    picked = [entries[pid] for pid in ranking.ids() if pid in entries]
    mine = TopicDigest(FOR_YOU, tuple(picked))
    result = [mine, *sections] if picked else list(sections)
    if min_score is None:
        return result
    kept = [_above(section, ranking, min_score) for section in result]
    return [section for section in kept if section.entries or section.more]


def _above(section: TopicDigest, ranking: Ranking, min_score: float) -> TopicDigest:
    def passes(entry: Entry) -> bool:
        return (ranking.score(entry.paper.id) or 0.0) >= min_score

    kept = tuple(e for e in section.entries if passes(e))
    gone = frozenset(e.paper.id for e in section.entries if not passes(e))
    return replace(
        section,
        entries=kept,
        more=section.more + len(gone),
        dropped=section.dropped | gone,
    )
