"""From which run each destination is owed each topic's papers (migration 13).

Deliveries are keyed by destination (:meth:`Channel.destination`: the kind
and a hash of the recipients, repository or URL), so two configs on one
store that list the same topic, each with its own recipients, each send it.

A store does not know its configs, but it knows its projects: a project is
a config's folder, identified by the path of its run lock (what its runs
record as their owner), hashed. Each notification step of a project
records every topic it lists (``topic:ID``) and every destination; one the
project's previous notification step listed continues its streak, any other
starts a streak at this run. A destination is owed a topic's items queued
from the later of the two streaks' first runs on, so:

- a new destination, or a topic or destination re-added (a query edited and
  edited back is the same topic again), is owed only what is queued from
  now on, never the items of the runs that did not list it;
- another project's listing never changes this one's: a topic one config
  dropped and another still lists is settled for the first only.

The first notification step of a project that ran before (a store written
by a version before 13) continues everything: its topics are owed as before
and each destination adopts its kind's registration and deliveries (the
kind-keyed rows), so a pending paper is still sent and a sent one never
again. A project's first step ever starts everything at this run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from dailypapers import outboxstate
from dailypapers.config import Config
from dailypapers.sqlite_health import path_text
from dailypapers.store import Store, utcnow


@dataclass(frozen=True)
class Listing:
    """Each listed item's first run owed (``topic:ID`` and destinations) for one step."""

    froms: dict[str, int]
    start: int  # what an item this step did not list starts from
    adopted: dict[str, str] = field(default_factory=dict)  # destination: its legacy kind

    def owed(self, destination: str, topic_ids: Iterable[int]) -> dict[int, int]:
        """``{topic id: first run whose items destination is owed}``."""
        first = self.froms.get(destination, self.start)
        return {t: max(first, self.froms.get(topic_key(t), self.start)) for t in topic_ids}

    def delivered_as(self, destination: str) -> list[str]:
        """The delivery keys that count as ``destination``'s (its adopted kind's too)."""
        kind = self.adopted.get(destination)
        return [destination] if kind is None else [destination, kind]


def topic_key(topic_id: int) -> str:
    return f"topic:{topic_id}"


def project_of(config: Config) -> tuple[str, str]:
    """``(key, lock path)``: the project's key in ``notify_listings`` and its runs' lock."""
    lock = path_text((config.state_dir / "run.lock").resolve())
    return hashlib.sha256(lock.encode("utf-8", "backslashreplace")).hexdigest()[:32], lock


def listed_before(config: Config, store: Store) -> bool:
    """Whether the project ever recorded a listing (a run without channels then records
    its topics, so a destination added back after it starts from now)."""
    with store.reading() as conn:
        return outboxstate.has_listings(conn, project_of(config)[0])


def take_listing(
    config: Config,
    store: Store,
    topic_ids: Sequence[int],
    destinations: Mapping[str, str],
    *,
    run_id: int,
    registering_run: int | None,
    record: bool,
) -> Listing:
    """This step's listing of ``topic_ids`` and ``destinations`` (``{key: kind}``);
    recorded (and legacy deliveries adopted) in one transaction when ``record``.

    ``registering_run``: where a new streak starts (``None``: the latest run
    that queued papers, so "configure, then ``notify``" sends the latest batch).
    """
    project, lock = project_of(config)
    with store.reading() as conn:
        known = outboxstate.listings(conn, project)
        start = registering_run
        if start is None:
            start = outboxstate.latest_queued_run(conn) or 0
        upgraded = not known and outboxstate.ran_before(conn, lock, run_id)
        kinds = set(destinations.values()) if upgraded else set()
        legacy = {kind: outboxstate.channel_since(conn, kind) for kind in kinds}
    listing = _streaks(known, topic_ids, destinations, start, legacy if upgraded else None)
    if record and listing.froms:
        store.write(lambda conn: _record(conn, project, listing, run_id))
    return listing


def _streaks(
    known: Mapping[str, outboxstate.Listed],
    topic_ids: Sequence[int],
    destinations: Mapping[str, str],
    start: int,
    legacy: Mapping[str, int | None] | None,
) -> Listing:
    """Continue what the previous step listed; start the rest at ``start``, or with
    ``legacy`` (a project's first step on a store from before 13) continue everything:
    topics from the beginning, destinations from their kind's old registration."""
    previous = max((streak.listed_run for streak in known.values()), default=None)
    froms: dict[str, int] = {}
    adopted: dict[str, str] = {}
    for key in [topic_key(t) for t in topic_ids] + list(destinations):
        streak = known.get(key)
        kind = destinations.get(key)
        since = 0 if kind is None or legacy is None else legacy.get(kind)
        if streak is not None and streak.listed_run == previous:
            froms[key] = streak.listed_from
        elif legacy is not None and since is not None:
            froms[key] = since
            if kind is not None:
                adopted[key] = kind
        else:
            froms[key] = start
    return Listing(froms, start, adopted)


def _record(conn: Connection, project: str, listing: Listing, run_id: int) -> None:
    outboxstate.record_listings(conn, project, listing.froms, run_id, utcnow())
    for destination, kind in listing.adopted.items():
        outboxstate.adopt_deliveries(conn, kind, destination)
