"""Shared fixtures: an isolated environment for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from support.postgres import TemporaryPostgres, find_bindir

# CI must not fail at random: property tests draw the same examples on every
# run. `pytest --hypothesis-profile=explore` draws new ones (then fix what they find).
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile("default")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DAILYPAPERS_* or GITHUB_* variable of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("DAILYPAPERS_", "GITHUB_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def server() -> Iterator[FakeArxiv]:
    """The fake arXiv serving the demo corpus (a module may define its own)."""
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, server: FakeArxiv) -> CliRunner:
    """A click runner whose commands reach only ``server``, with no politeness delay."""
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", server.api_url)
    monkeypatch.setenv("DAILYPAPERS_ARXIV_DELAY", "0")
    return CliRunner()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """One throwaway PostgreSQL cluster for the session (skipped without the binaries)."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    with TemporaryPostgres(bindir) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store on each backend: SQLite in a temp dir, PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'papers.db'}"
    server: TemporaryPostgres = request.getfixturevalue("postgres_server")
    return server.create_database()
