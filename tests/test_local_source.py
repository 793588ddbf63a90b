"""`update --source local`: topics answered from the harvested store, equal to the API's answer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Connection

from dailypapers.cli import cli
from dailypapers.config import Config, load_config
from dailypapers.github_actions import commit_message, outputs
from dailypapers.harvest import HarvestRequest, run_harvest
from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_oai import FakeOai
from dailypapers.pipeline import run_update
from dailypapers.sources import TopicPlan
from dailypapers.sources.local import LocalSource
from dailypapers.store import open_store, papers, runs, topic_evaluations

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
DAY2 = datetime(2025, 5, 15, 12, 0, tzinfo=UTC)
TOPICS = """
[[topics]]
name = "Reward Model"

[[topics]]
name = "Reasoning"

[[topics]]
name = "Vision"
query = 'abs:benchmarks AND (ti:segmentation OR ti:detector)'
categories = ["cs.CV", "cs.LG"]
exclude = ["federated"]
"""


@pytest.fixture
def corpus() -> list[Paper]:
    return demo_corpus()


@pytest.fixture
def arxiv(corpus: list[Paper]) -> Iterator[FakeArxiv]:
    with FakeArxiv(corpus) as fake:
        yield fake


@pytest.fixture
def oai(corpus: list[Paper]) -> Iterator[FakeOai]:
    with FakeOai(corpus, page_size=200) as fake:
        yield fake


def make_config(
    directory: Path, arxiv: FakeArxiv, oai: FakeOai, db: str, extra: str = ""
) -> Config:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "papers.toml"
    path.write_text(
        f"max_papers = 60\n{extra}\n{TOPICS}\n"
        f'[arxiv]\napi_url = "{arxiv.api_url}"\ndelay = 0\nbackoff = 0\n\n'
        f'[oai]\nurl = "{oai.url}"\ndelay = 0\n\n[store]\nurl = "{db}"\n',
        encoding="utf-8",
    )
    return load_config(path)


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'state.db'}"


def test_same_readme_as_the_api_source(
    tmp_path: Path, arxiv: FakeArxiv, oai: FakeOai, store_url: str
) -> None:
    via_api = make_config(tmp_path / "api", arxiv, oai, sqlite_url(tmp_path / "api"))
    via_local = make_config(tmp_path / "local", arxiv, oai, store_url)
    api_report = run_update(via_api, now=DAY1)
    assert api_report.status == "updated"
    assert run_harvest(via_local, HarvestRequest("", "arXivRaw")).status == "complete"
    arxiv.reset_log()
    report = run_update(via_local, now=DAY1, source_factory=lambda c: LocalSource())
    assert report.status == "updated", report.error
    assert report.requests == 0 and arxiv.requests == []
    # The same count of new papers everywhere (before: the local headline counted a
    # paper of two topics twice, and GitHub's `new` output and commit message said 0).
    assert report.headline() == api_report.headline()
    assert outputs(report)["new"] == outputs(api_report)["new"] == str(api_report.saved.new)
    assert commit_message(report) == commit_message(api_report)
    api_readme = via_api.readme_path.read_text(encoding="utf-8")
    assert 0 < _vision_rows(api_readme) < 60  # a narrow topic, and two full tables
    assert api_readme.count("| **[") == 2 * 60 + _vision_rows(api_readme)
    assert via_local.readme_path.read_text(encoding="utf-8") == api_readme


def _vision_rows(readme: str) -> int:
    return readme.split("## Vision", 1)[1].count("| **[")


def test_incremental_runs_evaluate_only_what_changed(
    tmp_path: Path, arxiv: FakeArxiv, oai: FakeOai, corpus: list[Paper], store_url: str
) -> None:
    via_api = make_config(tmp_path / "api", arxiv, oai, sqlite_url(tmp_path / "api"))
    config = make_config(tmp_path / "local", arxiv, oai, store_url)
    run_update(via_api, now=DAY1)
    run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    source = LocalSource()
    run_update(config, now=DAY1, source_factory=lambda c: source)
    # A cold topic wants its newest tables only: the scan (newest first) stops
    # once every table is full, before it has looked at every stored paper.
    assert 0 < source.evaluated < 3 * sum(1 for p in corpus if _in_cs(p))
    top = max(corpus, key=lambda p: p.updated)
    arrival = top.with_changes(id="2505.99999", title="Reward Model Arrives", version=1)
    revision = next(p for p in corpus if p.id == "2505.06601")
    revision = revision.with_changes(version=2, updated=top.updated + timedelta(hours=3))
    for fake in (arxiv, oai):
        fake.add_papers([arrival.with_changes(updated=top.updated + timedelta(hours=1)), revision])
    run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        newest = conn.scalar(sa.select(sa.func.max(papers.c.last_seen)))
        where = papers.c.last_seen == newest
        changed = int(conn.scalar(sa.select(sa.func.count()).where(where).select_from(papers)) or 0)
    source = LocalSource()
    report = run_update(config, now=DAY2, source_factory=lambda c: source)
    assert report.status == "updated" and report.saved.linked == 1
    # Only the papers the second harvest stored or touched are looked at again.
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        marks = conn.execute(sa.select(topic_evaluations.c.evaluated_until)).scalars().all()
    assert source.evaluated == 3 * changed and changed < len(corpus) // 10
    assert marks == [newest] * 3
    run_update(via_api, now=DAY2)
    assert config.readme_path.read_text() == via_api.readme_path.read_text()


def _in_cs(paper: Paper) -> bool:
    return any(c.startswith("cs.") for c in paper.categories)


def test_a_candidate_finder_replaces_the_scan(
    tmp_path: Path, arxiv: FakeArxiv, oai: FakeOai, corpus: list[Paper], store_url: str
) -> None:
    config = make_config(tmp_path / "local", arxiv, oai, store_url)
    run_harvest(config, HarvestRequest("", "arXivRaw"))
    asked: list[tuple[str, datetime | None]] = []

    def everything_with_reward(
        conn: Connection, plan: TopicPlan, since: datetime | None
    ) -> Iterable[str] | None:
        asked.append((plan.topic.name, since))
        if plan.topic.name != "Reward Model":
            return None  # no index for this one: scanned
        return [p.id for p in corpus if "reward" in (p.title + p.abstract).lower()]

    finder_run = make_config(tmp_path / "finder", arxiv, oai, sqlite_url(tmp_path / "finder"))
    run_harvest(finder_run, HarvestRequest("", "arXivRaw"))
    run_update(
        finder_run,
        now=DAY1,
        source_factory=lambda c: LocalSource(everything_with_reward, first_pass=0),
    )
    run_update(config, now=DAY1, source_factory=lambda c: LocalSource())
    assert [name for name, _ in asked] == ["Reward Model", "Reasoning", "Vision"]
    assert finder_run.readme_path.read_text() == config.readme_path.read_text()


def test_cli_update_source_local_makes_no_request(
    tmp_path: Path, arxiv: FakeArxiv, oai: FakeOai, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, arxiv, oai, sqlite_url(tmp_path))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    empty = runner.invoke(cli, ["update", "--source", "local"])
    assert empty.exit_code == 0 and "run 'dailypapers harvest' first" in empty.stderr
    assert runner.invoke(cli, ["harvest", "--set", "cs"]).exit_code == 0
    result = runner.invoke(cli, ["update", "--source", "local"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("updated (") and ": 3 topics, 0 requests" in result.stdout
    assert arxiv.requests == [] and config.readme_path.exists()
    configured = make_config(tmp_path, arxiv, oai, sqlite_url(tmp_path), 'outputs = ["readme"]')
    text = configured.path.read_text().replace("[arxiv]\n", '[arxiv]\nsource = "local"\n')
    configured.path.write_text(text)
    again = runner.invoke(cli, ["update"])
    assert again.exit_code == 0 and ", 0 requests" in again.stdout and arxiv.requests == []


def test_a_run_done_during_the_fetch_holds_the_watermark_below_its_start(
    tmp_path: Path,
    arxiv: FakeArxiv,
    oai: FakeOai,
    corpus: list[Paper],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another run, in flight when a local fetch starts, commits its papers (last seen
    at its start) after the fetch's reads and finishes before the fetch ends: the
    topics' watermark stays below its start, so the next run looks at those papers."""
    if store_url.startswith("sqlite"):
        pytest.skip("SQLite: a writer waits for the fetch's read transaction to end")
    config = make_config(tmp_path / "local", arxiv, oai, store_url)
    run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    run_update(config, now=DAY1, source_factory=lambda c: LocalSource())
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        before = conn.scalar(sa.select(sa.func.max(topic_evaluations.c.evaluated_until)))
    top = max(corpus, key=lambda p: p.updated)
    arrival = top.with_changes(id="2505.99999", title="Reward Model Arrives", version=1)
    oai.add_papers([arrival.with_changes(updated=top.updated + timedelta(hours=1))])
    run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    with open_store(config.db_url) as store, store.transaction() as conn:
        high = conn.scalar(sa.select(sa.func.max(papers.c.last_seen)))
        started = before + (high - before) / 2  # after the marks, before the newest
        inserted = runs.insert().values(command="update", started_at=started, status="running")
        other = conn.execute(inserted.returning(runs.c.id)).scalar_one()
    from_index = LocalSource._from_index

    def then_the_other_run_is_done(self: LocalSource, *args: Any, **kwargs: Any) -> bool:
        with open_store(config.db_url) as store, store.transaction() as writer:
            done = runs.update().where(runs.c.id == other)
            writer.execute(done.values(status="updated", finished_at=started))
        return from_index(self, *args, **kwargs)

    monkeypatch.setattr(LocalSource, "_from_index", then_the_other_run_is_done)
    assert run_update(config, now=DAY2, source_factory=lambda c: LocalSource()).error is None
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        marks = conn.execute(sa.select(topic_evaluations.c.evaluated_until)).scalars().all()
    assert marks and all(before < mark < started for mark in marks)
