"""Issue 11, data loss and silent misses: future-dated stop marks, output paths, corrupt SQLite."""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dailypapers.arxiv.client import ArxivClient
from dailypapers.cli import cli
from dailypapers.config import Config, ConfigError, load_config
from dailypapers.models import Author, Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from dailypapers.sources.api import ApiSource, scan_policy
from dailypapers.store import open_store, papers

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)


def paper(number: int, when: datetime, title: str = "A reward model study") -> Paper:
    return Paper(
        id=f"2503.{number:05d}",
        version=1,
        title=title,
        abstract="We study a reward model.",
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=when,
        updated=when,
    )


def write_config(folder: Path, server: FakeArxiv, *, max_papers: int, page_size: int) -> Config:
    path = folder / "papers.toml"
    path.write_text(
        f'max_papers = {max_papers}\n[[topics]]\nname = "Reward Model"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n'
        f"page_size = {page_size}\n",
        encoding="utf-8",
    )
    return load_config(path)


def fast_source(config: Config) -> ApiSource:
    arxiv = config.settings.arxiv
    client = ArxivClient(
        arxiv.api_url,
        delay=0,
        page_size=arxiv.page_size,
        backoff=0,
        transport=httpx.HTTPTransport(verify=False),
    )
    return ApiSource(client, scan_policy(config))


def stored(config: Config) -> set[tuple[str, int]]:
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        return {(row.id, row.version) for row in conn.execute(papers.select())}


# --- 1. a future-dated paper never becomes the stop mark ------------------------------

FUTURE = paper(99999, datetime(2099, 1, 1, tzinfo=UTC), "Reward Model from the future")


def test_a_future_dated_paper_does_not_blind_the_topic(tmp_path: Path) -> None:
    """The issue's reproduction: 30 arrivals after a 2099 paper are all found."""
    with FakeArxiv([paper(n, START - timedelta(hours=n + 1)) for n in range(20)]) as server:
        config = write_config(tmp_path, server, max_papers=10, page_size=100)
        server.add_papers([FUTURE])
        run_update(config, now=START, force=True, source_factory=fast_source)
        arrivals = [paper(100 + n, START + timedelta(hours=n + 1)) for n in range(30)]
        server.add_papers(arrivals)
        report = run_update(
            config, now=START + timedelta(days=2), force=True, source_factory=fast_source
        )
    assert report.saved.new == 30
    assert {(p.id, 1) for p in arrivals} <= stored(config)


def test_a_run_that_meets_a_future_paper_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeArxiv([paper(1, START - timedelta(hours=1)), FUTURE]) as server:
        config = write_config(tmp_path, server, max_papers=10, page_size=100)
        run_update(config, now=START, force=True, source_factory=fast_source)
    assert f"{FUTURE.versioned_id}" in caplog.text and "future" in caplog.text


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeArxiv, FakeArxiv]]:
    with FakeArxiv() as plain, FakeArxiv() as tainted:
        yield plain, tainted


arrivals = st.lists(st.integers(0, 8), min_size=1, max_size=4)  # new papers per day


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 12),
    days=arrivals,
    future_day=st.integers(0, 4),
    future_years=st.integers(1, 8000),
    max_papers=st.integers(1, 6),
    page_size=st.integers(1, 5),
)
def test_a_future_paper_never_changes_which_real_papers_are_found(
    servers: tuple[FakeArxiv, FakeArxiv],
    seed: int,
    days: list[int],
    future_day: int,
    future_years: int,
    max_papers: int,
    page_size: int,
) -> None:
    """Property: the same runs with and without a future-dated paper store the same real papers."""
    plain, tainted = servers
    world = [paper(n, START - timedelta(hours=5 * n + 1)) for n in range(seed)]
    when = min(START + timedelta(days=365 * future_years), datetime(9000, 1, 1, tzinfo=UTC))
    future = paper(99999, when, "Reward Model from the future")
    found: list[set[tuple[str, int]]] = []
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        configs = [
            write_config(Path(a), plain, max_papers=max_papers, page_size=page_size),
            write_config(Path(b), tainted, max_papers=max_papers, page_size=page_size),
        ]
        now, number = START, 1000
        for day, count in enumerate([0, *days]):
            world += [paper(number + n, now - timedelta(minutes=n + 1)) for n in range(count)]
            number += count
            plain.set_papers(world)
            tainted.set_papers([*world, future] if day >= future_day else world)
            for config in configs:
                run_update(config, now=now, force=True, source_factory=fast_source)
            now += timedelta(days=1)
        found = [stored(config) - {(future.id, 1)} for config in configs]
    assert found[0] == found[1]


# --- 2. output paths -----------------------------------------------------------------

ALL = 'outputs = ["readme", "json", "feeds", "site"]\n[[topics]]\nname = "Reward Model"\n'


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ('[json]\npath = ".dailypapers/papers.db"', "json.path", "store"),
        ('[readme]\npath = "papers.toml"', "readme.path", "config file"),
        ('[json]\npath = "README.md"', "json.path", "is also readme.path"),
        ('[json]\npath = "site/index.html"', "json.path", "site.dir owns"),
        ('[json]\npath = "feeds/all.xml"', "json.path", "feeds.dir owns"),
        ('[readme]\npath = "feeds"', "readme.path", "is also feeds.dir"),
        ('[readme]\npath = "../README.md"', "readme.path", "outside the project"),
        ('[site]\ndir = "../public"', "site.dir", "outside the project"),
        ('[store]\nurl = "sqlite:///data.db"\n[json]\npath = "data.db"', "json.path", "store"),
    ],
)
def test_outputs_that_would_overwrite_something_are_refused_at_load(
    tmp_path: Path, extra: str, key: str, message: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "papers.toml").write_text(f"{ALL}\n{extra}\n", encoding="utf-8")
    line = 1 + f"{ALL}\n{extra}\n".splitlines().index(extra.splitlines()[-1])
    with pytest.raises(ConfigError, match=rf"papers\.toml:{line}: {re.escape(key)}: .*{message}"):
        load_config(project / "papers.toml")


def test_an_existing_folder_is_not_a_readme_and_the_cli_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "A"\n[readme]\npath = "notes"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("readme.path: notes is a folder; name a file")
    assert len(result.stderr.strip().splitlines()) == 1


def test_allow_outside_lets_an_output_leave_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "papers.toml").write_text(
        'allow_outside = true\n[[topics]]\nname = "A"\n[readme]\npath = "../README.md"\n',
        encoding="utf-8",
    )
    assert load_config(project / "papers.toml").readme_path.resolve() == tmp_path / "README.md"


@pytest.fixture(scope="module")
def demo_server() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


def test_a_symlinked_site_folder_is_followed_and_nothing_is_left_behind(
    tmp_path: Path, demo_server: FakeArxiv
) -> None:
    real = tmp_path / "www"
    real.mkdir()
    (tmp_path / "site").symlink_to(real)
    (tmp_path / "papers.toml").write_text(
        'outputs = ["readme", "site"]\n[[topics]]\nname = "Reward Model"\n'
        f'[arxiv]\napi_url = "{demo_server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "site").is_symlink() and (real / "index.html").is_file()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")]


def test_a_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "site").symlink_to(outside)
    (project / "papers.toml").write_text(
        'outputs = ["site"]\n[[topics]]\nname = "A"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"site\.dir: resolves to .*outside the project"):
        load_config(project / "papers.toml")


# --- 3. a corrupt SQLite store -----------------------------------------------------


def corrupt_store(project: Path, server: FakeArxiv) -> Path:
    """A real store with a page of the papers table overwritten by garbage."""
    (project / "papers.toml").write_text(
        '[[topics]]\nname = "Reward Model"\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    assert CliRunner().invoke(cli, ["update"]).exit_code == 0
    db = project / ".dailypapers" / "papers.db"
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'papers'").fetchone()
    data = bytearray(db.read_bytes())
    offset = (root[0] - 1) * page_size
    data[offset : offset + page_size] = b"\xa5" * page_size
    db.write_bytes(bytes(data))
    return db


@pytest.mark.parametrize(
    "args",
    [["doctor"], ["doctor", "--repair"], ["update", "--force"], ["search", "reward"], ["render"]],
)
def test_a_corrupt_store_is_one_line_and_never_written(
    tmp_path: Path, demo_server: FakeArxiv, args: list[str]
) -> None:
    db = corrupt_store(tmp_path, demo_server)
    before = db.read_bytes()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "database disk image is malformed" in lines[0] and ".recover" in lines[0]
    assert db.read_bytes() == before
    assert not (db.parent / "papers.db-journal").exists()
