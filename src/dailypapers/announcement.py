"""Whether a run needs to ask arXiv anything: skip the days arXiv has not announced.

arXiv announces Sunday to Thursday at 20:00 US Eastern, not on its holidays
(:mod:`dailypapers.arxiv.calendar`). Before fetching, the pipeline decides:

* ``SKIP``: every topic was fetched before, the oldest of their last fetches
  started at least ``[arxiv] index_lag_hours`` after arXiv's last announcement, so nothing
  can have been announced since: the run ends with "no announcement today"
  and sends no request.
* ``PROBE``: the last announcement is recent (within the index lag of now,
  or of the last run), so the API may not show it yet: one request of one
  entry (the archives' newest paper) tells whether anything changed. Soon
  after an announcement the probe is sent only for ``PROBE_MIN_TOPICS``
  topics or more: it saves requests only when the index has not caught up
  yet, and costs one on every other day, so for one or two topics it would
  cost more than it saves (a second run the same evening still probes).
* ``FETCH``: an announcement happened since the last run (an ordinary day,
  a missed day, a new topic): fetch at once, without the extra request.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from dailypapers.config import Config
from dailypapers.fetchstate import fetch_times, filled
from dailypapers.sources import TopicPlan
from dailypapers.store import Store

PROBE_MIN_TOPICS = 3  # a probe then saves at least 2 requests when nothing is indexed yet


class Decision(enum.Enum):
    """What the run does before fetching."""

    SKIP = "skip"
    PROBE = "probe"
    FETCH = "fetch"


def last_fetch(store: Store, plans: Sequence[TopicPlan], limit: int) -> datetime | None:
    """When these topics were all last fetched (the oldest of their last fetches).

    ``None`` when one of them never was, or holds fewer papers than a table of
    ``limit`` rows shows (``max_papers`` raised since: before, "nothing new"
    left the tables as short as before, under a header saying ``limit``). Per
    topic, not per store: configs sharing a store fetch at different times.
    """
    times = fetch_times(store)
    stamps, ids = [], []
    for plan in plans:
        topic_id = store.find_topic(plan.topic.name, plan.query_string)
        if topic_id is None or topic_id not in times:
            return None
        stamps.append(times[topic_id])
        if plan.topic.like is None:  # a topic by example keeps its `top` by score
            ids.append(topic_id)
    if len(filled(store, ids, limit)) < len(set(ids)):
        return None
    return min(stamps, default=None)


def decide(
    config: Config, store: Store, plans: Sequence[TopicPlan], now: datetime, *, force: bool
) -> Decision:
    """Skip, probe or fetch (see the module docstring); ``force`` always fetches."""
    last = None if force else last_fetch(store, plans, config.settings.max_papers)
    if last is None:
        return Decision.FETCH
    announced = config.calendar.last_announcement(now)
    grace = config.index_lag
    if last >= announced + grace:
        return Decision.SKIP
    if last >= announced:
        return Decision.PROBE
    if now < announced + grace and len(plans) >= PROBE_MIN_TOPICS:
        return Decision.PROBE
    return Decision.FETCH
