"""The SQLite integrity check runs before writes only; reads meet damage as the same one line.

Issue 11 item 3's guarantees (one line saying how to recover, exit 1, the
file byte-identical) are in tests/test_harden_data.py; these pin down where
the check (``PRAGMA quick_check``, which reads the whole file) runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers import sqlite_health
from dailypapers import store as store_module
from dailypapers.cli import cli
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.store import StoreError, open_store


@pytest.fixture(scope="module")
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture
def project(tmp_path: Path, server: FakeArxiv) -> Path:
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "Reward Model"\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    assert CliRunner().invoke(cli, ["update"]).exit_code == 0
    return tmp_path / ".dailypapers" / "papers.db"


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files the store checked, in order."""
    seen: list[Path] = []
    real = sqlite_health.damage

    def spy(path: Path) -> str | None:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(store_module, "damage", spy)
    return seen


def corrupt_papers_page(db: Path) -> bytes:
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'papers'").fetchone()
    data = bytearray(db.read_bytes())
    offset = (root[0] - 1) * page_size
    data[offset : offset + page_size] = b"\xa5" * page_size
    db.write_bytes(bytes(data))
    return bytes(data)


def assert_one_line(args: list[str], text: str) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert text in lines[0] and ".recover" in lines[0]
    return lines[0]


def test_reads_skip_the_check_and_writes_run_it_once(project: Path, checks: list[Path]) -> None:
    runner = CliRunner()
    for args in (["search", "reward"], ["search", "--json", "reward model"], ["library", "list"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
    assert checks == []
    assert runner.invoke(cli, ["render", "--force"]).exit_code == 0  # records a run: writes
    assert checks == [project]
    checks.clear()
    assert runner.invoke(cli, ["doctor"]).exit_code == 0  # checking is its job
    assert checks == [project]


def test_one_store_checks_once_before_many_writes(project: Path, checks: list[Path]) -> None:
    with open_store(f"sqlite:///{project}") as store:
        assert checks == []
        for _ in range(3):
            with store.transaction():
                pass
    assert checks == [project]


def test_a_read_meeting_a_corrupt_page_is_the_same_one_line(project: Path) -> None:
    before = corrupt_papers_page(project)
    line = assert_one_line(["search", "reward"], "database disk image is malformed")
    assert line.startswith(f"dailypapers: failed: {project}: ")
    assert project.read_bytes() == before


def test_a_search_finding_nothing_checks_the_file_before_saying_so(project: Path) -> None:
    # The index answers "no match" without reading the damaged papers page: the
    # empty answer must not hide the damage.
    before = corrupt_papers_page(project)
    line = assert_one_line(["search", "zzzunmatched"], "database disk image is malformed")
    assert line.startswith(f"dailypapers: failed: {project}: ")
    assert project.read_bytes() == before


def test_a_pending_migration_is_a_write_and_checked_first(project: Path) -> None:
    with sqlite3.connect(project) as conn:
        conn.execute(
            "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM "
            "schema_migrations)"
        )
    before = corrupt_papers_page(project)
    assert_one_line(["search", "reward"], "database disk image is malformed")
    assert project.read_bytes() == before
    assert not project.with_name("papers.db-journal").exists()


def test_not_a_database_is_the_same_one_line_for_a_read(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    db = tmp_path / ".dailypapers" / "papers.db"
    db.parent.mkdir()
    db.write_bytes(b"garbage" * 1000)
    assert_one_line(["search", "reward"], "file is not a database")
    with pytest.raises(StoreError, match="file is not a database"):
        open_store(f"sqlite:///{db}", migrate=False)
    assert db.read_bytes() == b"garbage" * 1000
