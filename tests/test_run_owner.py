"""A run marks interrupted only the runs whose owner is provably gone.

``update`` holds ``run.lock``, ``harvest`` holds ``harvest.lock`` and other
projects sharing a store hold their own locks: their runs may be in flight
while an update starts and ends, and must stay ``running`` (the local
source's watermark waits for them).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dailypapers import schema as store_module
from dailypapers.arxiv import query as q
from dailypapers.config import Config, load_config
from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.pipeline import run_update
from dailypapers.sources import FetchContext, TopicFetch, TopicPlan, plan_topics
from dailypapers.sources.local import LocalSource
from dailypapers.store import RunOwner, Store, open_store

NOW = datetime(2025, 5, 15, 12, 0, tzinfo=UTC)
WAIT = 60.0  # a safety bound only: every wait below is released by an event


def make_config(directory: Path, db: str, topic: str = "Reasoning") -> Config:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "papers.toml"
    path.write_text(
        f'max_papers = 500\noutputs = ["readme"]\n[[topics]]\nname = "{topic}"\n'
        f'\n[store]\nurl = "{db}"\n',
        encoding="utf-8",
    )
    return load_config(path)


class HeldSource:
    """Another project's source: returns its papers once the test releases it."""

    name = "local"

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = papers
        self.entered = threading.Event()
        self.release = threading.Event()

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> list[TopicFetch]:
        self.entered.set()
        assert self.release.wait(WAIT), "the test never released the held run"
        return [TopicFetch(plan, list(self.papers)) for plan in plans]

    def close(self) -> None:
        """Nothing to release."""


def matching(config: Config) -> list[Paper]:
    """The demo corpus's papers that the config's one topic matches."""
    matches = q.compile_query(plan_topics(config)[0].query)
    found = [p for p in demo_corpus() if matches(q.Document.from_paper(p))]
    assert len(found) > 10
    return found


def running(store: Store) -> list[str]:
    return [r.command for r in store.last_runs(50) if r.status == "running"]


def test_a_run_of_another_project_in_flight_keeps_running(tmp_path: Path, store_url: str) -> None:
    ours = make_config(tmp_path / "ours", store_url)
    papers = matching(ours)
    theirs = make_config(tmp_path / "theirs", store_url, topic="Vision")
    harvested, late = papers[: len(papers) // 2], papers[len(papers) // 2 :]
    with open_store(store_url) as store, store.transaction() as conn:
        store.save_papers(conn, harvested, NOW - timedelta(minutes=30))
    held = HeldSource(late)
    # Their update started an hour ago: it will store its papers as seen then.
    their_run = threading.Thread(
        target=run_update,
        args=(theirs,),
        kwargs={"now": NOW - timedelta(hours=1), "source_factory": lambda c: held},
    )
    their_run.start()
    try:
        assert held.entered.wait(WAIT)
        report = run_update(ours, now=NOW, source_factory=lambda c: LocalSource())
        assert report.status == "updated", report.error
        with open_store(store_url) as store:
            assert running(store) == ["update"]
    finally:
        held.release.set()
        their_run.join(WAIT)
    later = NOW + timedelta(minutes=5)
    report = run_update(ours, now=later, source_factory=lambda c: LocalSource())
    assert report.status == "updated", report.error
    # The same README as a project that found every paper stored before it ran.
    reference = make_config(tmp_path / "reference", f"sqlite:///{tmp_path / 'reference.db'}")
    with open_store(reference.db_url) as store, store.transaction() as conn:
        store.save_papers(conn, papers, NOW - timedelta(minutes=30))
    run_update(reference, now=later, source_factory=lambda c: LocalSource())
    expected = reference.readme_path.read_text(encoding="utf-8")
    assert expected.count("| **[") == len(papers)
    assert ours.readme_path.read_text(encoding="utf-8") == expected


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'papers.db'}") as opened:
        yield opened


def test_only_runs_of_gone_owners_are_marked(store: Store, tmp_path: Path) -> None:
    here = RunOwner.current()
    lock = str(tmp_path / "run.lock")
    alive = store.start_run("harvest", owner=RunOwner(here.host, here.pid, "harvest.lock"))
    elsewhere = store.start_run("update", owner=RunOwner(here.host + "-other", dead_pid()))
    crashed = store.start_run("update", owner=RunOwner(here.host, dead_pid(), lock))
    assert store.mark_interrupted(lock) == 1
    status = {r.id: r.status for r in store.last_runs(10)}
    assert status == {alive: "running", elsewhere: "running", crashed: "interrupted"}


def test_a_run_under_the_lock_now_held_has_ended(store: Store, tmp_path: Path) -> None:
    lock = str(tmp_path / "run.lock")
    here = RunOwner.current()
    # A pid is reused after a reboot: the lock this process holds proves the run ended.
    reused = store.start_run("update", owner=RunOwner(here.host, 1, lock))
    assert store.mark_interrupted() == 0
    assert store.mark_interrupted(lock) == 1
    assert store.last_runs(1)[0].id == reused and store.last_runs(1)[0].status == "interrupted"


def test_migration_6_adds_the_owner_to_an_older_store(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:5])
        patch.setattr(store_module, "SCHEMA_VERSION", 5)
        with open_store(store_url) as old, old.engine.begin() as conn:
            for column in ("host", "pid", "lock"):  # the runs table as migration 1 made it
                conn.exec_driver_sql(f'ALTER TABLE runs DROP COLUMN "{column}"')
            conn.exec_driver_sql(
                "INSERT INTO runs (command, started_at, status, requests, bytes, new_papers,"
                " revised_papers) VALUES ('update', '2025-01-01 00:00:00', 'running', 0, 0, 0, 0)"
            )
    with open_store(store_url) as store:
        assert store.schema_version() == store_module.SCHEMA_VERSION  # 6 and later
        assert store.mark_interrupted() == 0  # no recorded owner: nothing proves it gone
        store.start_run("update", owner=RunOwner(RunOwner.current().host, dead_pid()))
        assert store.mark_interrupted() == 1
        assert [r.status for r in store.last_runs(2)] == ["interrupted", "running"]
