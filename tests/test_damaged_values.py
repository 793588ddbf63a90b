"""A paper row another tool damaged: one line naming the paper, its topic and the column.

SQLite stores whatever a column is given (text in a date column, bytes in a
title, JSON that is no list); reading or rendering such a value used to end
in "unexpected error: ValueError: Invalid isoformat string". Now the run
fails with the paper's id, its topic, the column and the fix, and every
published output stays byte-identical.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import Config, load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
ALL_OUTPUTS = 'outputs = ["readme", "json", "feeds", "site"]\n'

# (column, SQL value): each a value dailypapers never writes.
DAMAGES = [
    ("updated", "'garbage'"),
    ("published", "'2025-13-45 00:00:00'"),
    ("published", "12"),
    ("authors", "'not json'"),
    ("authors", "'[1]'"),
    ("authors", "'[{\"name\": 5}]'"),
    ("authors", '\'{"name": "x"}\''),
    ("authors", '\'[{"name": "A", "affiliations": [3]}]\''),
    ("authors", '\'[{"name": 3, "affiliations": ["B"]}]\''),
    ("categories", "'5'"),
    ("categories", "'null'"),
    ("categories", "'{\"cs.AI\": 1}'"),
    ("title", "x'ff00fe'"),
    ("abstract", "x'00'"),
    ("comment", "x'c3'"),
    ("version", "'abc'"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory, server: FakeArxiv) -> Path:
    """A project after one update with every output (copied per test)."""
    folder = tmp_path_factory.mktemp("stored")
    config = make_config(folder, server, ALL_OUTPUTS)
    run_update(config, now=DAY1)
    return folder


def make_config(folder: Path, server: FakeArxiv, extra: str = "") -> Config:
    (folder / "papers.toml").write_text(
        f'{extra}[[topics]]\nname = "Reward Model"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    return load_config(folder / "papers.toml")


def outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".dailypapers" not in p.parts and p.name != "papers.toml"
    }


def damage(folder: Path, column: str, value: str) -> str:
    """Write ``value`` into one listed paper's ``column`` as another tool would; its id."""
    with sqlite3.connect(folder / ".dailypapers" / "papers.db") as conn:
        (paper_id,) = conn.execute("SELECT paper_id FROM topic_papers LIMIT 1").fetchone()
        conn.execute(f"UPDATE papers SET {column} = {value} WHERE id = ?", (paper_id,))
    return str(paper_id)


def copy_of(stored: Path, tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "project"
    shutil.copytree(stored, folder)
    return folder


@pytest.mark.parametrize(("column", "value"), DAMAGES, ids=[f"{c}={v}" for c, v in DAMAGES])
def test_render_names_the_paper_topic_and_column(
    stored: Path, tmp_path: Path, column: str, value: str
) -> None:
    folder = copy_of(stored, tmp_path)
    paper_id = damage(folder, column, value)
    before = outputs(folder)
    result = CliRunner().invoke(cli, ["render", "--force", "--config", str(folder / "papers.toml")])
    assert result.exit_code == 1, result.output
    line = result.output.splitlines()[-1]
    assert line.startswith(
        f'dailypapers: failed: stored paper {paper_id} of topic "Reward Model": column {column} '
    ), line
    assert "unexpected" not in line and "'dailypapers doctor' lists every such value" in line
    assert outputs(folder) == before  # nothing published changed


def test_search_names_the_paper_and_column(stored: Path, tmp_path: Path) -> None:
    folder = copy_of(stored, tmp_path)
    paper_id = damage(folder, "updated", "'garbage'")
    result = CliRunner().invoke(
        cli, ["search", "reward", "--limit", "10000", "--config", str(folder / "papers.toml")]
    )
    assert result.exit_code == 1, result.output
    (line,) = result.output.splitlines()
    assert line.startswith(f"dailypapers: failed: stored paper {paper_id}: column updated ")


@pytest.mark.parametrize(("column", "value"), DAMAGES, ids=[f"{c}={v}" for c, v in DAMAGES])
def test_doctor_lists_the_damaged_values(
    stored: Path, tmp_path: Path, column: str, value: str
) -> None:
    folder = copy_of(stored, tmp_path)
    config = ["--config", str(folder / "papers.toml")]
    assert CliRunner().invoke(cli, ["doctor", *config]).exit_code == 0
    paper_id = damage(folder, column, value)
    result = CliRunner().invoke(cli, ["doctor", *config])
    assert result.exit_code == 1
    (line,) = [line for line in result.output.splitlines() if "stored values" in line]
    assert line.startswith("FAIL stored values: 1 paper holds a value no dailypapers wrote: ")
    assert f"stored paper {paper_id}: column {column} holds " in line


def test_the_failed_run_is_recorded_with_the_line(stored: Path, tmp_path: Path) -> None:
    folder = copy_of(stored, tmp_path)
    paper_id = damage(folder, "authors", "'not json'")
    CliRunner().invoke(cli, ["render", "--force", "--config", str(folder / "papers.toml")])
    with sqlite3.connect(folder / ".dailypapers" / "papers.db") as conn:
        status, error = conn.execute(
            "SELECT status, error FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert status == "failed" and f"stored paper {paper_id} " in error


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("title", "x"),
        ("comment", None),
        ("version", 3),
        ("updated", "2025-05-14 12:00:00.000000"),
        ("updated", datetime(2025, 5, 14, tzinfo=UTC)),
        ("authors", '[{"name": "A", "affiliations": ["B"]}]'),
        ("authors", [{"name": "A"}]),  # PostgreSQL's driver returns JSON parsed
        ("categories", '["cs.AI"]'),
    ],
)
def test_values_dailypapers_writes_are_no_problem(column: str, value: object) -> None:
    from dailypapers.models import stored_value_problem

    assert stored_value_problem(column, value) is None


def test_a_full_disk_is_one_line_and_changes_no_output(
    stored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from dailypapers.publish import files

    folder = copy_of(stored, tmp_path)
    before = outputs(folder)

    def full(path: Path, content: str | bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "write_atomic", full)
    result = CliRunner().invoke(cli, ["render", "--force", "--config", str(folder / "papers.toml")])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "dailypapers: failed: No space left on device: free some space and run again "
        "(each output is replaced whole or left as it was)"
    )
    assert outputs(folder) == before


def test_an_oversized_stored_text_is_cut_in_every_output(stored: Path, tmp_path: Path) -> None:
    """A megabyte abstract (a hostile server, another tool) is cut; the stored value is kept."""
    folder = copy_of(stored, tmp_path)
    sizes = {name: len(data) for name, data in outputs(folder).items()}
    paper_id = damage(folder, "abstract", "printf('%.*c', 2000000, 'x')")
    damage(folder, "title", "printf('%.*c', 100000, 'y')")
    result = CliRunner().invoke(cli, ["render", "--force", "--config", str(folder / "papers.toml")])
    assert result.exit_code == 0, result.output
    after = outputs(folder)
    readme = after["README.md"].decode("utf-8")
    assert "x" * 9_999 + "…" in readme and "x" * 10_000 not in readme
    assert "y" * 999 + "…" in readme
    for name, data in after.items():  # no output grew by the stored megabytes
        assert len(data) < sizes.get(name, 0) + 100_000, name
    with sqlite3.connect(folder / ".dailypapers" / "papers.db") as conn:
        (length,) = conn.execute("SELECT length(abstract) FROM papers WHERE id = ?", (paper_id,))
    assert length == (2_000_000,)


def _project_on(
    backend: str, folder: Path, server: FakeArxiv, request: pytest.FixtureRequest
) -> Path:
    """A project after one update, its store SQLite or PostgreSQL; its config."""
    store = ""
    if backend == "postgresql":
        postgres = request.getfixturevalue("postgres_server")
        store = f'[store]\nurl = "{postgres.create_database()}"\n'
    config = make_config(folder, server)
    (folder / "papers.toml").write_text(
        config.path.read_text(encoding="utf-8") + store, encoding="utf-8"
    )
    run_update(load_config(folder / "papers.toml"), now=DAY1)
    return folder / "papers.toml"


def _pad_and_damage(config_file: Path, column: str, value: str, extra: int = 300) -> str:
    """``extra`` copies of the papers that no search finds, then one listed paper
    damaged and stored last (so a scan of every paper meets it last); its id."""
    import sqlalchemy as sa

    url = load_config(config_file).db_url
    engine = sa.create_engine(url)
    cols = "version, title, abstract, authors, categories, primary_category, comment, "
    cols += "journal_ref, doi, published, updated, first_seen, last_seen"
    with engine.begin() as conn:
        paper_id = str(conn.scalar(sa.text("SELECT paper_id FROM topic_papers LIMIT 1")))
        for n in range(extra // 100):
            conn.execute(
                sa.text(
                    f"INSERT INTO papers (id, {cols}) SELECT id || :tail, {cols} FROM papers"
                    " WHERE id NOT LIKE '%x%'"
                ),
                {"tail": f"x{n}"},
            )
        if engine.dialect.name == "sqlite":  # stored last: a new rowid
            conn.execute(sa.text("PRAGMA foreign_keys = OFF"))
            conn.execute(
                sa.text("CREATE TEMP TABLE keep AS SELECT * FROM papers WHERE id = :i"),
                {"i": paper_id},
            )
            conn.execute(sa.text("DELETE FROM papers WHERE id = :i"), {"i": paper_id})
            conn.execute(sa.text("INSERT INTO papers SELECT * FROM keep"))
        conn.execute(
            sa.text(f"UPDATE papers SET {column} = {value} WHERE id = :i"), {"i": paper_id}
        )
    engine.dispose()
    return paper_id


SEARCH_DAMAGES = {
    "sqlite": [("updated", "'garbage'"), ("title", "x'ff00fe'"), ("authors", "'[1]'")],
    "postgresql": [
        ("updated", "CAST('infinity' AS timestamp)"),
        ("authors", "CAST('[1]' AS json)"),
        ("categories", "CAST('5' AS json)"),
    ],
}


@pytest.mark.parametrize(
    ("backend", "column", "value"),
    [(b, c, v) for b, damages in SEARCH_DAMAGES.items() for c, v in damages],
)
def test_search_looks_for_the_damage_only_in_the_papers_it_read(
    tmp_path: Path,
    server: FakeArxiv,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    column: str,
    value: str,
) -> None:
    """Failed on the old code: every stored paper was checked in Python (here 400; a
    minute at 1M papers), and PostgreSQL's unloadable time was an unexpected error."""
    from dailypapers import models, schema

    config_file = _project_on(backend, tmp_path, server, request)
    paper_id = _pad_and_damage(config_file, column, value)
    checked: list[object] = []
    real = models.stored_value_problem

    def counted(name: str, stored: object) -> str | None:
        if name == "id":
            checked.append(stored)
        return real(name, stored)

    monkeypatch.setattr(schema, "stored_value_problem", counted)
    result = CliRunner().invoke(
        cli, ["search", "reward", "--limit", "10000", "--config", str(config_file)]
    )
    assert result.exit_code == 1, result.output
    (line,) = result.output.splitlines()
    assert line.startswith(f"dailypapers: failed: stored paper {paper_id}: column {column} ")
    assert len(checked) <= 100, len(checked)  # the papers the search read, not all 400


@pytest.mark.parametrize(("column", "value"), [("title", "x'41ff42'"), ("version", "'abc'")])
def test_repair_rank_and_similar_name_the_value_they_cannot_read(
    stored: Path, tmp_path: Path, column: str, value: str
) -> None:
    # Before: "unexpected error: TypeError: normalize() argument 2 must be str, not bytes".
    folder = copy_of(stored, tmp_path)
    config = ["--config", str(folder / "papers.toml")]
    (folder / "ids.txt").write_text("2505.07271\n", encoding="utf-8")
    assert (
        CliRunner().invoke(cli, ["library", "import", *config, str(folder / "ids.txt")]).exit_code
        == 0
    )
    paper_id = damage(folder, column, value)
    with sqlite3.connect(folder / ".dailypapers" / "papers.db") as conn:
        conn.execute("DELETE FROM paper_search WHERE rowid = (SELECT min(rowid) FROM paper_search)")
    repaired = CliRunner().invoke(cli, ["doctor", "--repair", *config])
    assert "unexpected" not in repaired.output and "search index not rebuilt" in repaired.output
    for args in (["rank", "--since", "2025-01-01"], ["similar", "2505.07271"]):
        result = CliRunner().invoke(cli, [*args, *config])
        assert result.exit_code == 1, result.output
        (line,) = result.output.splitlines()
        assert line.startswith(f"dailypapers: failed: stored paper {paper_id}: column {column} ")
