"""`update --source local` with full-text candidates: the same answer as the full scan."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.arxiv import query as q
from dailypapers.config import Config, load_config
from dailypapers.harvest import HarvestRequest, run_harvest
from dailypapers.offline.corpus import demo_corpus, make_paper
from dailypapers.offline.fake_oai import FakeOai
from dailypapers.pipeline import run_update
from dailypapers.schema import paper_row
from dailypapers.sources import FetchContext, TopicPlan, open_source, plan_topics
from dailypapers.sources.local import CandidateFinder, LocalSource, newest_key, scan_everything
from dailypapers.sources.local_index import IndexFinder
from dailypapers.store import open_store, papers

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
TOPICS = """
[[topics]]
name = "Reward Model"

[[topics]]
name = "Vision"
query = 'abs:benchmarks AND (ti:segmentation OR ti:detector)'
categories = ["cs.CV", "cs.LG"]
exclude = ["federated"]

[[topics]]
name = "Recent"
query = 'submittedDate:[202504010000 TO 202506010000]'
"""


@pytest.fixture(scope="module")
def oai() -> Iterator[FakeOai]:
    with FakeOai(demo_corpus(), page_size=200) as fake:
        yield fake


def harvested(directory: Path, oai: FakeOai, db: str) -> Config:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "papers.toml"
    path.write_text(
        f'max_papers = 50\n{TOPICS}\n[arxiv]\nsource = "local"\n'
        f'[oai]\nurl = "{oai.url}"\ndelay = 0\n\n[store]\nurl = "{db}"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    run_harvest(config, HarvestRequest("", "arXivRaw"))
    return config


def test_the_local_source_uses_the_index_and_answers_as_the_scan(
    tmp_path: Path, oai: FakeOai, store_url: str
) -> None:
    indexed = harvested(tmp_path / "index", oai, store_url)
    scanned = harvested(tmp_path / "scan", oai, f"sqlite:///{tmp_path / 'scan.db'}")
    default = open_source(indexed)
    assert isinstance(default, LocalSource) and isinstance(default.finder, IndexFinder)
    # The demo corpus is small: every topic is over the default 5% share; take them all.
    index = IndexFinder(max_share=1.0)
    answered: list[int] = []

    def counting(conn: Connection, plan: TopicPlan, since: datetime | None) -> Iterable[str] | None:
        ids = index(conn, plan, since)
        answered.append(-1 if ids is None else len(ids))
        return ids

    # first_pass=0: no shared pass over the newest papers first (it would
    # answer every topic of so small a store), every topic asks the index.
    finder, scan = LocalSource(counting, first_pass=0), LocalSource()
    assert run_update(indexed, now=DAY1, source_factory=lambda c: finder).status == "updated"
    run_update(scanned, now=DAY1, source_factory=lambda c: scan)
    assert indexed.readme_path.read_text() == scanned.readme_path.read_text()
    # The keyword topics were answered from their candidates; "Recent" (only
    # an archive filter, which the index leaves to the exact match) by the scan.
    assert len(answered) == 3 and sorted(n >= 0 for n in answered) == [False, True, True]


def test_an_incomplete_index_is_not_trusted(tmp_path: Path, oai: FakeOai) -> None:
    config = harvested(tmp_path, oai, f"sqlite:///{tmp_path / 'state.db'}")
    sneaked = make_paper(
        random.Random(1),
        77777,
        datetime(2025, 5, 13, tzinfo=UTC),
        title="A Reward Model Written Around the Store",
        abstract="Inserted without Store.save_papers, so without an index entry.",
        categories=("cs.LG",),
    )
    with open_store(config.db_url) as store, store.transaction() as conn:
        conn.execute(papers.insert(), [paper_row(sneaked, DAY1)])
    run_update(config, now=DAY1)
    assert "A Reward Model Written Around the Store" in config.readme_path.read_text()


def test_finder_names_every_match_or_leaves_the_topic_to_the_scan(
    tmp_path: Path, oai: FakeOai
) -> None:
    config = harvested(tmp_path, oai, f"sqlite:///{tmp_path / 'state.db'}")
    finder, broad = IndexFinder(max_share=1.0), IndexFinder(max_share=0.05)
    plans = plan_topics(config)
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        for plan in plans:
            named = finder(conn, plan, None)
            matching = {p.id for p in demo_corpus() if q.matches(plan.query, p)}
            if named is None:  # only its archive filter: categories are left to the scan
                assert plan.topic.name == "Recent"
                continue
            assert matching and matching <= set(named), plan.topic.name
        reward = plans[0]
        assert finder(conn, reward, DAY1) is None  # incremental: the scan is cheaper
        assert broad(conn, reward, None) is None  # over 5% of the store: scanned


@pytest.mark.parametrize("limit", [3, 20])
def test_cold_topics_get_the_same_papers_however_the_work_is_split(
    tmp_path: Path, oai: FakeOai, store_url: str, limit: int
) -> None:
    """A first pass of any length, then the index or the rest of the scan: the same
    newest matches as evaluating every paper (on SQLite and PostgreSQL alike)."""
    config = harvested(tmp_path, oai, store_url)
    plans = plan_topics(config)
    expected = {
        plan.topic.name: sorted(
            (p for p in demo_corpus() if q.matches(plan.query, p)), key=newest_key, reverse=True
        )[:limit]
        for plan in plans
    }
    assert all(expected.values())
    finders: list[CandidateFinder] = [
        scan_everything,
        IndexFinder(1.0),
        IndexFinder(1.0, first=2),  # PostgreSQL: the older candidates read on demand
        IndexFinder(1.0, window=40),  # PostgreSQL: the newest 40 papers' candidates first
        IndexFinder(1.0, first=2, window=40),
        IndexFinder(1.0, window=1),
        IndexFinder(0.02),
    ]
    with open_store(config.db_url) as store:
        for first_pass in (0, 1, 7, 60, 10**6):
            for finder in finders:
                source = LocalSource(finder, batch_size=16, first_pass=first_pass)
                fetched = source.fetch(plans, FetchContext(store, limit, config.settings.archives))
                got = {f.plan.topic.name: [p.id for p in f.papers] for f in fetched}
                want = {name: [p.id for p in papers] for name, papers in expected.items()}
                assert got == want, (first_pass, finder)


def test_a_background_count_waiting_on_a_lock_gives_up_and_the_run_counts_itself(
    tmp_path: Path, oai: FakeOai, store_url: str
) -> None:
    """PostgreSQL: the count beside the shared pass waits at most its lock timeout
    (a Ctrl-C's cleanup waits for it); the finder then counts on the run's connection."""
    if not store_url.startswith("postgresql"):
        pytest.skip("the count runs in a thread on PostgreSQL only")
    config = harvested(tmp_path, oai, store_url)
    finder = IndexFinder(lock_timeout_ms=100)
    with open_store(config.db_url) as store:
        holder = store.engine.connect()
        try:
            holder.execute(sa.text("LOCK TABLE paper_fields IN ACCESS EXCLUSIVE MODE"))
            finder.prepare(store)
            settling = threading.Thread(target=finder.settle, daemon=True)
            settling.start()
            settling.join(timeout=20)
            assert not settling.is_alive()  # gave up, instead of waiting for the lock
        finally:
            holder.rollback()
            holder.close()
        with store.reading() as conn:
            assert finder.complete(conn)
