"""Whether a run needs to ask arXiv anything: skip the days arXiv has not announced.

arXiv announces Sunday to Thursday at 20:00 US Eastern, not on its holidays
(:mod:`dailypapers.arxiv.calendar`). Before fetching, the pipeline decides:

* ``SKIP``: every topic was fetched before and the last successful fetch
  started at least ``[arxiv] index_lag_hours`` after arXiv's last announcement, so nothing
  can have been announced since: the run ends with "no announcement today"
  and sends no request.
* ``PROBE``: the last announcement is recent (within the index lag of now,
  or of the last run), so the API may not show it yet: one request of one
  entry (the archives' newest paper) tells whether anything changed.
* ``FETCH``: an announcement happened since the last run (an ordinary day,
  a missed day, a new topic): fetch at once, without the extra request.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from dailypapers.config import Config
from dailypapers.fetchstate import warm_topic_ids
from dailypapers.sources import TopicPlan
from dailypapers.store import Store, runs

FETCHING_COMMANDS = ("update", "fetch")
SUCCESS_STATUSES = ("updated", "nothing new", "no announcement")


class Decision(enum.Enum):
    """What the run does before fetching."""

    SKIP = "skip"
    PROBE = "probe"
    FETCH = "fetch"


def last_successful_fetch(store: Store) -> datetime | None:
    """When the last ``update``/``fetch`` that ended well started."""
    query = sa.select(sa.func.max(runs.c.started_at)).where(
        runs.c.command.in_(FETCHING_COMMANDS) & runs.c.status.in_(SUCCESS_STATUSES)
    )
    with store.engine.connect() as conn:
        value: datetime | None = conn.scalar(query)
    return value


def decide(
    config: Config, store: Store, plans: Sequence[TopicPlan], now: datetime, *, force: bool
) -> Decision:
    """Skip, probe or fetch (see the module docstring); ``force`` always fetches."""
    if force or not _all_warm(store, plans):
        return Decision.FETCH
    last = last_successful_fetch(store)
    if last is None:
        return Decision.FETCH
    announced = config.calendar.last_announcement(now)
    grace = config.index_lag
    if last >= announced + grace:
        return Decision.SKIP
    if last >= announced or now < announced + grace:
        return Decision.PROBE
    return Decision.FETCH


def _all_warm(store: Store, plans: Sequence[TopicPlan]) -> bool:
    warm = warm_topic_ids(store)
    for plan in plans:
        topic_id = store.find_topic(plan.topic.name, plan.query_string)
        if topic_id is None or topic_id not in warm:
            return False
    return True
