"""``dailypapers doctor``: check a store's health and say how to repair it."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from dailypapers import doctorchecks, fts
from dailypapers.models import counted
from dailypapers.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
    owner_gone,
    reindex_search,
)


@dataclass(frozen=True)
class Finding:
    """One check's result: ``ok``, or a problem with how to repair it."""

    check: str
    ok: bool
    detail: str
    repair: str = ""


Check = Callable[[Store, Connection], Finding]


def check_schema(store: Store, conn: Connection) -> Finding:
    if not doctorchecks.has_table(conn, "schema_migrations"):
        return Finding("schema", False, "no dailypapers tables yet", "run dailypapers update")
    versions = doctorchecks.applied_migrations(conn)
    expected = [version for version, _, _ in MIGRATIONS]
    if versions == expected:
        return Finding("schema", True, f"version {SCHEMA_VERSION}, all migrations applied")
    return Finding(
        "schema",
        False,
        f"migrations applied: {versions}, expected {expected}",
        "run any dailypapers command (it migrates), or --repair",
    )


def check_integrity(store: Store, conn: Connection) -> Finding:
    if store.dialect != "sqlite":
        return Finding("integrity", True, "checked by PostgreSQL itself")
    result = doctorchecks.sqlite_integrity(conn)
    if result == "ok":
        return Finding("integrity", True, "SQLite integrity_check: ok")
    return Finding(
        "integrity",
        False,
        f"SQLite integrity_check: {result}",
        "restore .dailypapers/papers.db from a backup, or delete it: the next update "
        "refetches (history before it is lost)",
    )


def check_orphans(store: Store, conn: Connection) -> Finding:
    count = doctorchecks.orphan_link_count(conn)
    if not count:
        return Finding("foreign keys", True, "every topic link points at a paper and a topic")
    return Finding(
        "foreign keys",
        False,
        f"{counted(count, 'topic link')} {'points' if count == 1 else 'point'} "
        "at a missing paper or topic",
        "dailypapers doctor --repair deletes them",
    )


def check_runs(store: Store, conn: Connection) -> Finding:
    """Runs marked ``running`` whose process is provably gone fail; live ones are news.

    Before, a run in progress (an update beside ``doctor``) failed the check as
    "killed or crashed". Runs of another host, or recorded by a version before
    their owners were, cannot be told apart from live ones: in progress.
    """
    owners = doctorchecks.running_owners(conn)
    if not owners:
        return Finding("runs", True, "no run left unfinished")
    stuck = [owner for owner in owners if owner_gone(*owner, None)]
    if not stuck:
        pids = sorted(str(pid) for host, pid, _ in owners if host == socket.gethostname())
        here = f" (this host: pid {', '.join(pids)})" if pids else ""
        return Finding("runs", True, f"{counted(len(owners), 'run')} in progress{here}")
    return Finding(
        "runs",
        False,
        f"{counted(len(stuck), 'run')} never finished (killed or crashed)",
        "harmless: a run's store writes are one transaction, kept if it committed before "
        "it stopped, rolled back if not; the next run of that kind or --repair marks them",
    )


def check_search_index(store: Store, conn: Connection) -> Finding:
    if not fts.supported(store.dialect) or not doctorchecks.has_table(conn, "paper_search"):
        return Finding("search index", True, "none on this database")
    stored, indexed = fts.index_counts(conn)
    if all(count == stored for count in indexed):
        return Finding("search index", True, f"all {stored} papers indexed")
    return Finding(
        "search index",
        False,
        f"{stored} papers, {min(indexed)} indexed (written around Store.save_papers?)",
        "dailypapers doctor --repair rebuilds the index",
    )


def check_values(store: Store, conn: Connection) -> Finding:
    count, shown = doctorchecks.damaged_values(conn)
    if not count:
        return Finding("stored values", True, "every paper's values are readable")
    more = f" and {count - len(shown)} more" if count > len(shown) else ""
    return Finding(
        "stored values",
        False,
        f"{counted(count, 'paper')} {'holds' if count == 1 else 'hold'} a value no "
        f"dailypapers wrote: {'; '.join(shown)}{more}",
        "correct each value (another tool wrote it), or restore the store from a backup",
    )


CHECKS: list[Check] = [
    check_schema,
    check_integrity,
    check_orphans,
    check_values,
    check_runs,
    check_search_index,
]


def diagnose(store: Store) -> list[Finding]:
    """Run every check; never modifies the store."""
    with store.reading() as conn:
        schema = check_schema(store, conn)
        if not schema.ok and "no dailypapers tables" in schema.detail:
            return [schema]
        return [check(store, conn) for check in CHECKS]


MIGRATING = (
    "dailypapers: applying the store's pending migrations first (on PostgreSQL the "
    "field index of migration 12 takes minutes for a million papers)"
)


def repair(store: Store, notice: Callable[[str], None] | None = None) -> list[str]:
    """Apply the safe repairs; returns what was done.

    ``notice`` hears, before a migration that may take long, that it starts.
    """
    done = []
    if notice is not None:
        with store.reading() as conn:
            if (
                doctorchecks.has_table(conn, "schema_migrations")
                and not check_schema(store, conn).ok
            ):
                notice(MIGRATING)
    applied = store.migrate()
    if applied:
        done.append(f"applied migrations: {', '.join(applied)}")
    with store.transaction() as conn:
        if removed := doctorchecks.delete_orphan_links(conn):
            done.append(f"deleted {counted(removed, 'orphan topic link')}")
        if not check_search_index(store, conn).ok:
            if check_values(store, conn).ok:
                done.append(f"rebuilt the search index of {reindex_search(conn)} papers")
            else:  # the index reads every paper's text: "unexpected error: TypeError" before
                done.append(
                    "search index not rebuilt: a stored value is not dailypapers' "
                    "(see 'stored values'); correct it, then run --repair again"
                )
    if marked := store.mark_interrupted():
        done.append(f"marked {counted(marked, 'unfinished run')} as interrupted")
    return done
