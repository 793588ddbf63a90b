"""Several runs sharing one database at once (a lab's shared store), on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dailypapers.config import Config, load_config
from dailypapers.fetchstate import mark_scanned, scanned_mark, write_markers
from dailypapers.models import Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import fault
from dailypapers.pipeline import RunReport, run_update
from dailypapers.schema import fetch_markers, topic_fetch_state
from dailypapers.store import SCHEMA_VERSION, Store, open_store, papers, topic_papers, topics
from support.postgres import TemporaryPostgres

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
DAY2 = datetime(2025, 5, 15, 12, 0, tzinfo=UTC)
# Four labs' configs whose topics overlap in papers (and two share a topic).
CONFIGS = [
    ['name = "Reward Model"', 'name = "Reasoning"'],
    ['name = "Reward Model"', 'name = "Alignment"\nquery = "abs:alignment OR ti:reward"'],
    ['name = "Reasoning"', 'name = "Agents"\nquery = "abs:agent OR abs:reasoning"'],
    ['name = "Benchmarks"\nquery = "abs:benchmarks"', 'name = "Models"\nquery = "abs:model"'],
]


def lab_config(directory: Path, topics_: list[str], server: FakeArxiv, db: str) -> Config:
    directory.mkdir(parents=True, exist_ok=True)
    blocks = "".join(f"[[topics]]\n{topic}\n\n" for topic in topics_)
    (directory / "papers.toml").write_text(
        f"max_papers = 50\n{blocks}"
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n\n[store]\nurl = "{db}"\n',
        encoding="utf-8",
    )
    return load_config(directory / "papers.toml")


def run_all(configs: list[Config], now: datetime) -> list[RunReport]:
    with ThreadPoolExecutor(len(configs)) as pool:
        return list(pool.map(lambda c: run_update(c, now=now, lock_timeout=5), configs))


def snapshot(url: str) -> tuple[set[tuple[str, str]], dict[str, int], int]:
    """(topic name, paper id) links, paper versions, and the number of topic rows."""
    with open_store(url) as store, store.engine.connect() as conn:
        links = conn.execute(
            sa.select(topics.c.name, topic_papers.c.paper_id).join(
                topics, topics.c.id == topic_papers.c.topic_id
            )
        )
        versions = {r.id: r.version for r in conn.execute(sa.select(papers.c.id, papers.c.version))}
        count = conn.scalar(sa.select(sa.func.count()).select_from(topics)) or 0
        return {tuple(row) for row in links}, versions, count


def revise(server: FakeArxiv) -> None:
    """New versions and arrivals that several labs' topics see."""
    top = max(server.papers, key=lambda p: p.updated)
    changed = [
        p.with_changes(version=p.version + 1, updated=top.updated + timedelta(hours=n + 1))
        for n, p in enumerate(sorted(server.papers, key=lambda p: p.updated)[-30:])
    ]
    arrivals = [
        top.with_changes(id=f"2505.9{n:04d}", updated=top.updated + timedelta(hours=40 + n))
        for n in range(10)
    ]
    server.add_papers(changed + arrivals)


def test_concurrent_updates_of_different_configs_stay_correct(
    tmp_path: Path, server: FakeArxiv, store_url: str
) -> None:
    shared = [lab_config(tmp_path / f"lab{n}", t, server, store_url) for n, t in enumerate(CONFIGS)]
    alone = [
        lab_config(tmp_path / f"solo{n}", t, server, f"sqlite:///{tmp_path / 'solo.db'}")
        for n, t in enumerate(CONFIGS)
    ]
    for day in (DAY1, DAY2):
        if day == DAY2:
            revise(server)
        reports = run_all(shared, day)
        assert [r.error for r in reports] == [None] * len(CONFIGS)
        assert all(r.status in ("updated", "nothing new") for r in reports)
        for config in alone:  # the same work, one run after the other
            run_update(config, now=day)
    links, versions, topic_rows = snapshot(store_url)
    expected_links, expected_versions, expected_topics = snapshot(alone[0].db_url)
    assert links == expected_links  # nothing lost, no duplicate (a set would hide none: PK)
    assert versions == expected_versions  # nothing downgraded
    assert topic_rows == expected_topics == 6  # "Reward Model" and "Reasoning" are shared
    current = {p.id: p.version for p in server.papers}
    assert all(current[i] == v for i, v in versions.items())
    # A run's README shows the store as it was when that run rendered: another
    # project's run committing to a shared topic a moment later shows at the next
    # render. Rendered again now, each README is a function of the store alone.
    for config, solo in zip(shared, alone, strict=True):
        for each in (config, solo):
            assert run_update(each, now=DAY2, fetch=False, force=True).error is None
        assert config.readme_path.read_bytes() == solo.readme_path.read_bytes()


@pytest.mark.parametrize("order", [(1, 0, 2, 3), (3, 2, 1, 0)])
def test_a_run_after_another_configs_commit_misses_no_revision(
    tmp_path: Path, server: FakeArxiv, store_url: str, order: tuple[int, ...]
) -> None:
    """The concurrent test's failure, in a fixed order: one config stores new
    versions of papers another config's topic links too (dated above that
    topic's last scan, below its other revisions); the other topic's scan
    must still read down to where it stopped itself, not to those dates."""
    shared = [lab_config(tmp_path / f"lab{n}", t, server, store_url) for n, t in enumerate(CONFIGS)]
    for config in shared:
        assert run_update(config, now=DAY1, render=False).error is None
    revise(server)
    for n in order:
        assert run_update(shared[n], now=DAY2, render=False).error is None
    _links, versions, _topics = snapshot(store_url)
    current = {p.id: p.version for p in server.papers}
    assert {i: v for i, v in versions.items() if current[i] != v} == {}


def test_a_run_failing_midway_advances_no_topic_mark(
    tmp_path: Path, server: FakeArxiv, store_url: str
) -> None:
    """arXiv failing on a later topic: the earlier topics' fetch state, marks
    and papers stay as they were, and the next run reads everything since."""
    config = lab_config(tmp_path / "lab", CONFIGS[2], server, store_url)
    assert run_update(config, now=DAY1, render=False).error is None
    revise(server)
    before = fetch_state(store_url)
    agents = lambda params: "agent" in params.get("search_query", "")  # noqa: E731
    server.inject(*[fault("status", code=503, when=agents)] * config.settings.arxiv.max_attempts)
    failed = run_update(config, now=DAY2, render=False)
    assert failed.status == "failed" and "503" in (failed.error or "")
    assert not server.pending_faults  # every attempt was made: "Reasoning" was fetched first
    assert fetch_state(store_url) == before
    assert run_update(config, now=DAY2, render=False).error is None
    _links, versions, _topics = snapshot(store_url)
    current = {p.id: p.version for p in server.papers}
    assert versions and {i: v for i, v in versions.items() if current[i] != v} == {}


def test_a_topics_scanned_mark_only_rises_and_a_fetch_without_one_removes_it(
    tmp_path: Path,
) -> None:
    """Two runs scanning one topic at once: the higher top stays, whichever commits last."""
    with open_store(f"sqlite:///{tmp_path / 'marks.db'}") as store:
        topic = store.write(lambda conn: store.topic_id(conn, "Reasoning", "abs:reasoning"))
        marks = []
        # A dated scan that read nothing dated (arXiv's empty answer) keeps the mark;
        # a fetch that is no dated scan (the feed alone, the local source) removes it.
        scans = [(DAY2, True), (DAY1, True), (None, True), (None, False), (DAY1, True)]
        for top, dated in scans:
            with store.transaction() as conn:
                mark_scanned(conn, store, topic, top, DAY2, dated=dated)
            with store.reading() as conn:
                marks.append(scanned_mark(conn, topic))
        assert marks == [DAY2, DAY2, DAY2, None, DAY1]
        store.write(lambda conn: write_markers(conn, store, {f"scanned:{topic}": "x"}, DAY2))
        with store.reading() as conn:
            assert scanned_mark(conn, topic) is None  # damaged: the store's dates, as before


def fetch_state(url: str) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]], dict[str, int]]:
    """What a run remembers: topics' fetch state, the markers, the papers' versions."""
    with open_store(url) as store, store.engine.connect() as conn:
        state = {tuple(row) for row in conn.execute(sa.select(topic_fetch_state))}
        markers = {tuple(row) for row in conn.execute(sa.select(fetch_markers))}
    return state, markers, snapshot(url)[1]


@pytest.fixture
def postgres_url(postgres_server: TemporaryPostgres) -> str:
    return postgres_server.create_database()


def test_a_deadlock_is_retried_not_raised(postgres_url: str) -> None:
    with open_store(postgres_url) as store:
        store.write(lambda conn: store.save_papers(conn, [_paper("A"), _paper("B")], DAY1))
        barrier = threading.Barrier(2, timeout=10)
        attempts: list[str] = []

        def touch(first: str, second: str) -> Callable[[Connection], None]:
            def work(conn: Connection) -> None:
                attempts.append(first)
                _touch(conn, first)
                if len(attempts) <= 2:  # both first attempts meet: a certain deadlock
                    barrier.wait()
                _touch(conn, second)

            return work

        with ThreadPoolExecutor(2) as pool:
            done = [
                pool.submit(store.write, touch("2505.0000A", "2505.0000B")),
                pool.submit(store.write, touch("2505.0000B", "2505.0000A")),
            ]
            for future in done:
                future.result(timeout=30)
    assert len(attempts) == 3  # PostgreSQL aborted one transaction; it ran again


def _paper(suffix: str) -> Paper:
    return Paper(
        id=f"2505.0000{suffix}",
        version=1,
        title="t",
        abstract="a",
        authors=(),
        categories=("cs.LG",),
        primary="cs.LG",
        published=DAY1,
        updated=DAY1,
    )


def _touch(conn: Connection, paper_id: str) -> None:
    conn.execute(papers.update().where(papers.c.id == paper_id).values(last_seen=DAY2))


def test_a_new_database_opened_by_many_at_once_is_migrated_once(postgres_url: str) -> None:
    def open_and_close(_: int) -> int:
        with open_store(postgres_url) as store:
            return store.schema_version()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_and_close, range(4))) == [SCHEMA_VERSION] * 4


def test_sqlite_writers_wait_for_each_other(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with open_store(url) as first, open_store(url) as second:
        holding, order = threading.Event(), []
        trying = threading.Event()  # the second writer has sent its BEGIN IMMEDIATE

        @sa.event.listens_for(second.engine, "before_cursor_execute")
        def begins(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("BEGIN IMMEDIATE"):
                trying.set()

        def slow(conn: Connection) -> None:
            first.save_papers(conn, [_paper("A")], DAY1)
            holding.set()
            assert trying.wait(30), "the second writer never began"
            order.append("first")

        def quick(conn: Connection) -> Any:
            order.append("second")
            return second.save_papers(conn, [_paper("A").with_changes(version=2)], DAY2)

        with ThreadPoolExecutor(2) as pool:
            waiting = pool.submit(first.write, slow)
            holding.wait(5)
            result = pool.submit(second.write, quick).result(timeout=30)
            waiting.result()
        assert order == ["first", "second"]  # BEGIN IMMEDIATE: the second waited
        assert (result.new, result.revised) == (0, 1)
        assert _version(second, "2505.0000A") == 2


def _version(store: Store, paper_id: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(sa.select(papers.c.version).where(papers.c.id == paper_id)) or 0)
