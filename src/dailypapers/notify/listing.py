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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from dailypapers import outboxstate
from dailypapers.config import Config
from dailypapers.notify.channel import UNSET
from dailypapers.schema import LEGACY_ITEM, project_key
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
    return project_key(lock), lock


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
    recorded (and earlier deliveries adopted) in one transaction when ``record``.

    ``registering_run``: this run, where a new streak starts, or earlier when the
    project's runs since its previous step (one that died before notifying, say)
    queued papers; ``None``: the latest run that queued papers, so "configure,
    then ``notify``" sends the latest batch.
    """
    project, lock = project_of(config)
    with store.reading() as conn:
        known = outboxstate.listings(conn, project)
        previous = max((streak.listed_run for streak in known.values()), default=None)
        if registering_run is None:
            start = outboxstate.latest_queued_run(conn) or 0
        elif previous is None:
            start = registering_run
        else:
            start = outboxstate.first_run_after(conn, lock, previous) or registering_run
        upgraded = set(known) == {LEGACY_ITEM}
        kinds = set(destinations.values()) if upgraded else set()
        legacy = {kind: outboxstate.channel_since(conn, kind) for kind in kinds}
    usable = {key: kind for key, kind in destinations.items() if not key.endswith(UNSET)}
    unset = set(destinations.values()) - set(usable.values())
    if upgraded:
        listing = _legacy(topic_ids, usable, start, legacy)
    else:
        listing = _streaks(known, previous, topic_ids, usable, start, unset)
    if record and listing.froms:
        store.write(lambda conn: _record(conn, project, listing, run_id))
    return listing


def _legacy(
    topic_ids: Sequence[int],
    destinations: Mapping[str, str],
    start: int,
    legacy: Mapping[str, int | None],
) -> Listing:
    """A project's first step on a store from before 13 continues everything: topics
    from the beginning, destinations from their kind's old registration (adopting its
    deliveries); a kind it never registered starts at ``start``."""
    froms = {topic_key(t): 0 for t in topic_ids}
    adopted: dict[str, str] = {}
    for key, kind in destinations.items():
        since = legacy.get(kind)
        froms[key] = start if since is None else since
        if since is not None:
            adopted[key] = kind
    return Listing(froms, start, adopted)


def _streaks(
    known: Mapping[str, outboxstate.Listed],
    previous: int | None,
    topic_ids: Sequence[int],
    destinations: Mapping[str, str],
    start: int,
    unset: set[str],
) -> Listing:
    """Continue what the previous step listed and start the rest at ``start``.

    A destination that replaces the one of its kind the previous step listed (the
    recipients or URL changed) continues that one's streak and counts its
    deliveries, so what it had not sent yet is sent, once. A destination of a kind
    this step cannot name (``unset``: ``kind:unset``, its variable is missing) is
    not listed; the one the previous step listed is carried on, so a run without
    the variable loses nothing of it. A destination the config left out is not
    (added back, it starts afresh).
    """
    current = {key: s for key, s in known.items() if s.listed_run == previous}
    froms: dict[str, int] = {}
    adopted: dict[str, str] = {}
    for key in [topic_key(t) for t in topic_ids]:
        streak = current.get(key)
        froms[key] = start if streak is None else streak.listed_from
    for key, streak in current.items():
        if _kind(key) in unset:
            froms[key] = streak.listed_from  # carried on while its variable is missing
    for key, kind in destinations.items():
        streak = current.get(key)
        replaced = [
            (other, s)
            for other, s in current.items()
            if other != key and _kind(other) == kind and other not in destinations
        ]
        if streak is not None:
            froms[key] = streak.listed_from
        elif replaced:
            other, s = replaced[0]
            froms[key] = s.listed_from
            adopted[key] = other
        else:
            froms[key] = start
    return Listing(froms, start, adopted)


def _kind(item: str) -> str:
    return item.partition(":")[0]


def _record(conn: Connection, project: str, listing: Listing, run_id: int) -> None:
    outboxstate.record_listings(conn, project, listing.froms, run_id, utcnow())
    for destination, source in listing.adopted.items():
        outboxstate.adopt_deliveries(conn, source, destination)
