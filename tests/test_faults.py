"""Every arXiv fault of the reliability table, injected for real over a socket.

A run either completes with exactly the papers of a clean run, or fails with
one line and leaves the README byte-identical and the store unchanged; the
next clean run recovers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dailypapers.config import load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from dailypapers.store import open_store
from support.scenarios import MAX_ATTEMPTS, SCENARIOS, Scenario, config_text

NOW = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
OLD_README = b"# Daily Papers\n\nLast update: 2025-05-13\n\nthe tables before this run\n"


@pytest.fixture(scope="module")
def corpus() -> list:  # type: ignore[type-arg]
    return demo_corpus()


@pytest.fixture
def server(corpus: list) -> Iterator[FakeArxiv]:  # type: ignore[type-arg]
    with FakeArxiv(corpus) as fake:
        yield fake


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/query"


def project(directory: Path, api_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "papers.toml"
    path.write_text(config_text(api_url), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def clean_readme(tmp_path_factory: pytest.TempPathFactory, corpus: list) -> bytes:  # type: ignore[type-arg]
    with FakeArxiv(corpus) as fake:
        path = project(tmp_path_factory.mktemp("clean"), fake.api_url)
        report = run_update(load_config(path), now=NOW)
        assert report.status == "updated", report.error
        assert len(fake.requests) == 6  # 3 pages per topic: the faults hit mid-paging
    return (path.parent / "README.md").read_bytes()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_fault(scenario: Scenario, tmp_path: Path, server: FakeArxiv, clean_readme: bytes) -> None:
    url = closed_port_url() if scenario.server_down else server.api_url
    config = load_config(project(tmp_path, url))
    config.readme_path.write_bytes(OLD_README)
    server.inject(*scenario.faults())

    report = run_update(config, now=NOW)

    if scenario.expect == "ok":
        assert report.status == "updated", report.error
        assert config.readme_path.read_bytes() == clean_readme
        return
    assert report.status == "failed"
    assert report.error and "\n" not in report.error and len(report.error) < 300
    assert config.readme_path.read_bytes() == OLD_README
    with open_store(config.db_url) as store:
        assert store.count_papers() == 0
        assert store.last_runs(1)[0].status == "failed"
    # the next clean run recovers
    server.clear_faults()
    recovered = run_update(load_config(project(tmp_path, server.api_url)), now=NOW)
    assert recovered.status == "updated", recovered.error
    assert config.readme_path.read_bytes() == clean_readme


def test_retries_are_bounded(tmp_path: Path, server: FakeArxiv) -> None:
    config = load_config(project(tmp_path, server.api_url))
    persistent = next(s for s in SCENARIOS if s.name == "persistent 503")
    server.inject(*persistent.faults())
    run_update(config, now=NOW)
    assert len(server.requests) == MAX_ATTEMPTS  # the first topic's first page, then stop
