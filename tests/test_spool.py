"""A run hands each topic's papers to a spool on disk as it arrives; one transaction stores them.

Memory: the API source yields each topic before it asks for the next, and
the pipeline keeps no fetched paper of an earlier topic while it fetches the
next one. Safety: a run that fails after some topics were spooled (a source
error, Ctrl-C) stores nothing, publishes nothing and leaves no spool file.
"""

from __future__ import annotations

import errno
import gc
import os
import sys
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy.pool import QueuePool

from dailypapers import pipeline
from dailypapers.arxiv.client import ArxivClient
from dailypapers.config import Config, load_config
from dailypapers.fetchstate import warm_topic_ids
from dailypapers.models import Author, Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update, save_all
from dailypapers.sources import FetchContext, SourceError, TopicFetch, TopicPlan, plan_topics
from dailypapers.sources.api import ApiSource, scan_policy
from dailypapers.spool import Spool
from dailypapers.store import SAVE_BATCH, open_store

NOW = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)  # a Wednesday
TOPICS = ("Reward Model", "Reasoning", "Diffusion")


class Traced(Paper):
    """A paper a weak reference can follow (``Paper`` has slots, so it cannot)."""


def paper(number: int, version: int = 1, cls: type[Paper] = Paper) -> Paper:
    when = NOW - timedelta(hours=number)
    return cls(
        id=f"2505.{number:05d}",
        version=version,
        title=f"Paper {number}",
        abstract="An abstract. " * 50,
        authors=(Author("Ada Lovelace", ("Analytical Engines",)), Author("Alan Turing")),
        categories=("cs.LG", "cs.AI"),
        primary="cs.LG",
        published=when - timedelta(days=version - 1),
        updated=when,
        comment="10 pages",
    )


def make_config(tmp_path: Path, api_url: str = "http://127.0.0.1:9/api/query") -> Config:
    topics = "".join(f'[[topics]]\nname = "{name}"\n\n' for name in TOPICS)
    text = f'{topics}[arxiv]\napi_url = "{api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 2\n'
    path = tmp_path / "papers.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def spool_descriptors(folder: Path) -> list[str]:
    """Open files of this process inside ``folder`` (the spool has no name: ``#N (deleted)``)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


class Watched(ApiSource):
    """The API source, noting whether it still holds the topic it handed over last."""

    previous: weakref.ref[TopicFetch] | None = None
    freed_before_next: list[bool]

    def fetch_one(self, plan: TopicPlan, context: FetchContext) -> TopicFetch:
        if self.previous is not None:
            gc.collect()
            self.freed_before_next = [
                *getattr(self, "freed_before_next", []),
                self.previous() is None,
            ]
        return super().fetch_one(plan, context)


class GeneratedSource:
    """Yields topic ``i``'s papers (numbers ``100 i ...``), failing at topic ``fail_at``."""

    name = "api"

    def __init__(
        self,
        per_topic: int,
        fail_at: int | None = None,
        error: BaseException | None = None,
        watch: Path | None = None,
    ):
        self.watch = watch or Path(tempfile.gettempdir())  # where the spool should be
        self.per_topic = per_topic
        self.fail_at = fail_at
        self.error = error or SourceError("topic 'Diffusion': arXiv answered 503")
        self.handed: list[weakref.ref[Paper]] = []
        self.freed_before_next: list[bool] = []
        self.spool_seen: list[str] = []  # open files in ``watch`` as each topic began
        self.temp_seen: list[str] = []  # and in the system's temporary folder
        self.closed = False

    def fetch(self, plans: Sequence[TopicPlan], context: FetchContext) -> Iterator[TopicFetch]:
        for index, plan in enumerate(plans):
            gc.collect()
            self.freed_before_next.append(all(ref() is None for ref in self.handed))
            self.spool_seen.extend(spool_descriptors(self.watch))
            self.temp_seen.extend(spool_descriptors(Path(tempfile.gettempdir())))
            if index == self.fail_at:
                raise self.error
            yield TopicFetch(plan, self.papers(index))

    def papers(self, index: int) -> list[Paper]:
        papers = [paper(100 * index + n, cls=Traced) for n in range(self.per_topic)]
        self.handed = [weakref.ref(p) for p in papers]
        return papers

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder (where the spool goes), empty and this test's own."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def stored(config: Config) -> tuple[int, set[int]]:
    """Papers in the store, and the topics ``update`` has fetched."""
    with open_store(config.db_url) as store:
        return store.count_papers(), warm_topic_ids(store)


def published_once(tmp_path: Path) -> tuple[Config, bytes, tuple[int, set[int]]]:
    """A project after one complete update: its config, README bytes and ``stored``."""
    config = make_config(tmp_path)
    first = GeneratedSource(per_topic=5)
    assert run_update(config, now=NOW, force=True, source_factory=lambda c: first).saved.new == 15
    return config, config.readme_path.read_bytes(), stored(config)


# -- the API source hands over each topic before it asks for the next --------


def test_the_api_source_yields_each_topic_before_asking_for_the_next(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        config = make_config(tmp_path, server.api_url)
        client = ArxivClient(
            server.api_url, delay=0, backoff=0, transport=httpx.HTTPTransport(verify=False)
        )
        source = Watched(client, scan_policy(config))
        plans = plan_topics(config)
        with open_store(config.db_url) as store:
            context = FetchContext(store, 100, config.settings.archives, now=NOW)
            handed = iter(source.fetch(plans, context))
            first = next(handed)
            asked = {r.params["search_query"] for r in server.requests}
            assert first.plan == plans[0] and first.papers
            assert asked == {plans[0].query_string}
            assert context.stats.requests == len(server.requests)  # counted as it goes
            source.previous = weakref.ref(first)
            del first
            second = next(handed)
            assert second.plan == plans[1] and source.freed_before_next == [True]
            rest = list(handed)
        source.close()
    assert [item.plan for item in rest] == plans[2:]
    assert {r.params["search_query"] for r in server.requests} == {p.query_string for p in plans}


# -- the pipeline keeps no earlier topic's papers while it fetches the next ---


def test_an_update_holds_one_topic_of_papers_at_a_time(tmp_path: Path, spool_dir: Path) -> None:
    config = make_config(tmp_path)
    source = GeneratedSource(per_topic=30, watch=config.state_dir)
    report = run_update(config, now=NOW, force=True, source_factory=lambda c: source)
    assert report.status == "updated", report.error
    assert report.saved.new == 90
    # Before every topic after the first, the previous topic's papers were gone.
    assert source.freed_before_next == [True, True, True]
    assert stored(config)[0] == 90
    # Spooled in the state folder (on disk beside the lock), not in TMPDIR.
    assert sys.platform != "linux" or source.spool_seen
    assert source.temp_seen == [] and list(spool_dir.iterdir()) == []


def test_papers_shared_by_topics_are_stored_once_at_their_newest_version(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    plans = plan_topics(config)
    shared_old, shared_new = paper(1), paper(1, version=2)
    fetched = [
        TopicFetch(plans[0], [shared_old, paper(2)]),
        TopicFetch(plans[1], [shared_new, paper(3)]),
        TopicFetch(plans[2], [shared_old]),
    ]
    with open_store(config.db_url) as store:
        saved = save_all(store, fetched, NOW)
        # linked: papers newly linked to a topic, each once (5 links of 3 papers)
        assert (saved.new, saved.revised, saved.linked) == (3, 0, 3)
        with store.reading() as conn:
            assert store.stored_versions(conn, ["2505.00001"])["2505.00001"][0] == 2


# -- a failed run stores nothing and leaves no spool behind -------------------


@pytest.mark.parametrize(
    "error", [SourceError("topic 'Diffusion': arXiv answered 503"), KeyboardInterrupt()]
)
def test_a_run_failing_after_topics_were_spooled_changes_nothing(
    tmp_path: Path, spool_dir: Path, error: BaseException
) -> None:
    config, readme, before = published_once(tmp_path)
    failing = GeneratedSource(per_topic=40, fail_at=2, error=error, watch=config.state_dir)
    later = NOW + timedelta(days=1)
    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            run_update(config, now=later, force=True, source_factory=lambda c: failing)
    else:
        report = run_update(config, now=later, force=True, source_factory=lambda c: failing)
        assert report.status == "failed" and "503" in (report.error or "")
    assert failing.closed
    assert sys.platform != "linux" or failing.spool_seen  # the two topics were on disk
    assert stored(config) == before
    assert config.readme_path.read_bytes() == readme
    assert list(spool_dir.iterdir()) == []
    assert spool_descriptors(config.state_dir) == []


class FullDisk:
    """A spool file on a disk with ``room`` bytes left: a bigger write fails (ENOSPC)."""

    def __init__(self, real: IO[bytes], room: int) -> None:
        self.real, self.room = real, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.real.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_full_disk_under_the_spool_is_one_line_naming_it_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, readme, before = published_once(tmp_path)
    real = tempfile.TemporaryFile
    opened: list[str] = []

    def full(dir: str | Path | None = None) -> FullDisk:
        opened.append(str(dir))
        return FullDisk(real(dir=dir), room=60_000)  # full in topic 2 (40 x 1 kB a topic)

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    failing = GeneratedSource(per_topic=40)
    report = run_update(
        config, now=NOW + timedelta(days=1), force=True, source_factory=lambda c: failing
    )
    assert opened == [str(config.state_dir)]  # the state folder, not TMPDIR
    assert report.status == "failed"
    assert report.error == (
        f"cannot write the run's spool of fetched papers in {config.state_dir}: "
        "No space left on device"
    )
    assert failing.closed
    assert stored(config) == before
    assert config.readme_path.read_bytes() == readme
    assert spool_descriptors(config.state_dir) == []


# -- the spool itself ---------------------------------------------------------


def test_the_spool_reads_back_each_paper_once_in_id_order_and_in_bounded_batches(
    spool_dir: Path,
) -> None:
    plan = plan_topics(make_config(spool_dir))[0]
    with Spool() as spool:
        spool.add(TopicFetch(plan, [paper(n) for n in (5, 3, 1)]))
        spool.add(TopicFetch(plan, [paper(3, version=2), paper(4)], total=7))
        first = list(spool.batches(2))
        spool.add(TopicFetch(plan, [paper(2)]))  # written after the end, not over a record
        again = list(spool.batches(2))
        assert [[p.id[-1] for p in batch] for batch in first] == [["1", "3"], ["4", "5"]]
        assert [p.version for p in first[0]] == [1, 2]
        assert [[p.id[-1] for p in batch] for batch in again] == [["1", "2"], ["3", "4"], ["5"]]
        assert again[0][0] == paper(1)
        assert [len(t.papers) for t in spool.topics] == [3, 2, 1]
        assert spool.topics[1].total == 7
        assert spool.ids() == {paper(n).id for n in range(1, 6)}
    assert spool_descriptors(spool_dir) == []


def test_every_field_of_a_paper_comes_back_from_the_spool(spool_dir: Path) -> None:
    plan = plan_topics(make_config(spool_dir))[0]
    odd = Paper(
        id="2501.00001",
        version=3,
        title="T\u0000 é 模型",
        abstract="a\nb",
        authors=(Author("A", ("Lab 1", "Lab 2")), Author("B")),
        categories=("cs.LG", "stat.ML"),
        primary="cs.LG",
        published=datetime(2025, 1, 1, tzinfo=UTC),
        updated=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        comment="c",
        journal_ref="j",
        doi="10.1/x",
        tldr="t",
    )
    papers = [*demo_corpus()[:50], odd]
    with Spool() as spool:
        spool.add(TopicFetch(plan, papers))
        back = [p for batch in spool.batches(500) for p in batch]
    assert back == sorted(papers, key=lambda p: p.id)
    assert all(type(p) is Paper and all(type(a) is Author for a in p.authors) for p in back)


# -- between the fetch and the render ----------------------------------------


def test_releasing_idle_connections_keeps_every_store_usable(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    plan = plan_topics(config)[0]
    with open_store(config.db_url) as store:
        save_all(store, [TopicFetch(plan, [paper(1), paper(2)])], NOW)
        pool = store.engine.pool
        assert isinstance(pool, QueuePool) and pool.checkedin() >= 1
        store.release_idle()
        assert store.engine.pool is not pool  # the idle connections were closed
        assert store.count_papers() == 2
    with open_store("sqlite:///:memory:") as memory:
        save_all(memory, [TopicFetch(plan, [paper(1), paper(2)])], NOW)
        memory.release_idle()
        assert memory.count_papers() == 2  # an in-memory database kept its one connection


def test_an_update_saves_its_spool_in_small_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fails on the old code (one batch of up to 500): a batch's papers, rows and index
    rows are what the save holds at once (docs/benchmarks.md, "issue 12, lean 2")."""
    config = make_config(tmp_path)
    plans = plan_topics(config)
    batch = pipeline.SPOOL_BATCH
    assert batch < SAVE_BATCH
    fetched = [TopicFetch(plans[0], [paper(n) for n in range(1, 2 * batch + 51)])]
    sizes: list[int] = []
    with open_store(config.db_url) as store:
        real = store.save_papers

        def counted(conn: Any, batch: Sequence[Paper], *args: Any, **kwargs: Any) -> Any:
            sizes.append(len(batch))
            return real(conn, batch, *args, **kwargs)

        monkeypatch.setattr(store, "save_papers", counted)
        saved = save_all(store, fetched, NOW)
    assert sizes == [batch, batch, 50]
    assert (saved.new, saved.linked) == (2 * batch + 50, 2 * batch + 50)
