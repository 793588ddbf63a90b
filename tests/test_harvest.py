"""`dailypapers harvest` against the fake OAI-PMH server, over real sockets, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import Config, load_config
from dailypapers.harvest import HarvestRequest, harvest_rows, run_harvest
from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_oai import FakeOai, oai_error, sets_of
from dailypapers.offline.faults import fault
from dailypapers.store import open_store, paper_from_row, papers, topic_papers

PAGE = 50


@pytest.fixture
def corpus() -> list[Paper]:
    return demo_corpus()


@pytest.fixture
def server(corpus: list[Paper]) -> Iterator[FakeOai]:
    with FakeOai(corpus, page_size=PAGE) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _backend(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_DB", store_url)


def make_config(tmp_path: Path, server: FakeOai) -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "Reward Model"\n\n'
        "[arxiv]\nbackoff = 0\nmax_attempts = 3\n\n"
        f'[oai]\nurl = "{server.url}"\ndelay = 0\n',
        encoding="utf-8",
    )
    return load_config(path)


def in_set(corpus: list[Paper], spec: str) -> dict[str, Paper]:
    return {p.id: p for p in corpus if any(spec in sets_of(c) for c in p.categories)}


def stored(config: Config) -> dict[str, Paper]:
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        return {r.id: paper_from_row(r._mapping) for r in conn.execute(sa.select(papers))}


def test_a_set_is_harvested_page_by_page_exactly(
    tmp_path: Path, server: FakeOai, corpus: list[Paper]
) -> None:
    config = make_config(tmp_path, server)
    report = run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    expected = in_set(corpus, "cs")
    assert report.status == "complete", report.error
    assert report.records == report.papers == len(expected)
    assert report.pages == report.requests == -(-len(expected) // PAGE)
    got = stored(config)
    assert set(got) == set(expected)
    for paper_id, paper in expected.items():  # arXivRaw is exact, TeX-accented names included
        assert got[paper_id] == paper.with_changes(
            authors=tuple(a.__class__(a.name) for a in paper.authors)
        )
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(topic_papers)) == 0
    [row] = harvest_rows(open_store(config.db_url))
    assert (row["status"], row["token"], row["cursor"]) == ("complete", None, len(expected))
    assert row["last_datestamp"] == max(p.updated.date() for p in expected.values())


def test_a_category_set_and_a_window(tmp_path: Path, server: FakeOai, corpus: list[Paper]) -> None:
    config = make_config(tmp_path, server)
    start, until = date(2025, 4, 1), date(2025, 4, 20)
    report = run_harvest(config, HarvestRequest("cs:cs:CL", "arXiv", start, until))
    expected = {
        i for i, p in in_set(corpus, "cs:cs:CL").items() if start <= p.updated.date() <= until
    }
    assert report.status == "complete" and set(stored(config)) == expected
    assert server.requests[0].params["from"] == "2025-04-01"


def test_an_interrupted_harvest_resumes_from_the_last_token(
    tmp_path: Path, server: FakeOai, corpus: list[Paper]
) -> None:
    config = make_config(tmp_path, server)
    third_page = fault("reset", when=lambda p: FakeOai.offset_of(p) == 2 * PAGE)
    server.inject(*[third_page] * 3)
    failed = run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    assert failed.status == "failed" and failed.pages == 2
    assert "run the same command to resume" in failed.summary()
    assert len(stored(config)) == 2 * PAGE
    server.reset_log()
    resumed = run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    assert resumed.status == "complete" and resumed.resumed
    assert "resumptionToken" in server.requests[0].params
    assert set(stored(config)) == set(in_set(corpus, "cs"))
    [row] = harvest_rows(open_store(config.db_url))
    assert row["pages"] == failed.pages + resumed.pages


def test_an_expired_token_restarts_from_the_last_datestamp(
    tmp_path: Path, server: FakeOai, corpus: list[Paper]
) -> None:
    config = make_config(tmp_path, server)
    server.inject(*[fault("status", code=500, when=lambda p: FakeOai.offset_of(p) == 2 * PAGE)] * 3)
    run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    newest = max(p.updated.date() for p in stored(config).values())
    server.expire_tokens()  # a day later
    server.reset_log()
    report = run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    assert report.status == "complete" and report.restarts == 1
    first, second = server.requests[:2]
    assert first.params.get("resumptionToken") and second.params["from"] == newest.isoformat()
    assert set(stored(config)) == set(in_set(corpus, "cs"))


def test_flow_control_and_garbled_pages_are_retried(tmp_path: Path, server: FakeOai) -> None:
    config = make_config(tmp_path, server)
    later = fault("html", when=lambda p: "resumptionToken" in p)
    server.inject(fault("status", code=503, retry_after=0), fault("truncated"), later)
    report = run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    assert report.status == "complete", report.error
    assert report.requests == report.pages + 3


def test_no_records_match_is_an_empty_complete_harvest(tmp_path: Path, server: FakeOai) -> None:
    config = make_config(tmp_path, server)
    report = run_harvest(config, HarvestRequest("cs", "arXivRaw", date(2030, 1, 1)))
    assert (report.status, report.records) == ("complete", 0)
    assert report.summary().startswith("harvested 0 records (0 new or revised): 1 page, ")
    assert ", 1 request, " in report.summary()  # before: "1 requests"


def test_the_next_harvest_continues_from_the_newest_datestamp(
    tmp_path: Path, server: FakeOai, corpus: list[Paper]
) -> None:
    config = make_config(tmp_path, server)
    run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    top = max(corpus, key=lambda p: p.updated)
    revised = top.with_changes(version=2, updated=top.updated + timedelta(days=2))
    server.add_papers([revised])
    server.reset_log()
    report = run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    assert server.requests[0].params["from"] == top.updated.date().isoformat()
    assert report.papers == 1
    assert stored(config)[top.id].version == 2


def test_cli_harvest(tmp_path: Path, server: FakeOai, monkeypatch: pytest.MonkeyPatch) -> None:
    make_config(tmp_path, server)
    runner = CliRunner()
    result = runner.invoke(cli, ["harvest", "--set", "cs.CL", "--format", "arXiv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("harvested ") and "pages" in result.stdout
    assert server.requests[0].params["set"] == "cs:cs:CL"
    bad = runner.invoke(cli, ["harvest", "--set", "not a set"])
    assert bad.exit_code == 2 and "not an arXiv set" in bad.stderr
    server.inject(oai_error("badArgument", "illegal from"))
    failed = runner.invoke(cli, ["harvest", "--set", "cs", "--from", "2025-01-01"])
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert failed.stderr.strip().endswith("(run the same command to resume)")
    assert "OAI-PMH error badArgument: illegal from" in failed.stderr
