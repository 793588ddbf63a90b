"""``dailypapers doctor`` on a PostgreSQL store: an old one is migrated by --repair."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import load_config
from dailypapers.doctor import MIGRATING
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from support.postgres import TemporaryPostgres

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def project(tmp_path: Path, postgres_server: TemporaryPostgres) -> tuple[Path, str]:
    url = postgres_server.create_database()
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(
            f'[[topics]]\nname = "Reward Model"\n\n[store]\nurl = "{url}"\n\n'
            f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
            encoding="utf-8",
        )
        run_update(load_config(tmp_path / "papers.toml"), now=DAY1)
    return tmp_path / "papers.toml", url


def doctor(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["doctor", "--config", str(config), *args])
    return result.exit_code, result.stdout


def test_repair_migrates_a_store_older_than_the_field_index(project: tuple[Path, str]) -> None:
    config, url = project
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # as a store of migration 11 was
        conn.execute(sa.text("DROP TABLE paper_fields"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 12"))
    code, output = doctor(config)
    assert code == 1 and "FAIL schema: migrations applied: [1, 2, 3" in output
    repaired = CliRunner().invoke(cli, ["doctor", "--config", str(config), "--repair"])
    code, output = repaired.exit_code, repaired.stdout
    assert code == 0, output
    assert repaired.stderr == MIGRATING + "\n"  # said before the long part starts
    assert output.splitlines()[0] == "repaired: applied migrations: field_index"
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM paper_fields")) > 0
    engine.dispose()
    assert doctor(config) == (0, output.split("\n", 1)[1])  # the same findings, all ok


JSON_DAMAGES = [
    ("categories", "5"),
    ("categories", '["cs.AI", 1]'),
    ("authors", '{"name": "x"}'),
    ("authors", "[1]"),
    ("authors", '[{"name": 5}]'),
    ("authors", '[{"name": "A", "affiliations": [3]}]'),
]


@pytest.mark.parametrize(("column", "value"), JSON_DAMAGES)
def test_a_damaged_json_value_is_named(project: tuple[Path, str], column: str, value: str) -> None:
    """PostgreSQL checks JSON is JSON, not that it is a list: its driver returns it parsed."""
    config, url = project
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        paper_id = conn.scalar(sa.text("SELECT paper_id FROM topic_papers LIMIT 1"))
        conn.execute(
            sa.text(f"UPDATE papers SET {column} = :v WHERE id = :i"), {"v": value, "i": paper_id}
        )
    engine.dispose()
    code, output = doctor(config)
    assert code == 1
    assert f"stored paper {paper_id}: column {column} holds " in output
    if value == '["cs.AI", 1]':
        return  # no output breaks on it (the README shows no categories): doctor alone sees it
    result = CliRunner().invoke(cli, ["render", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output.startswith(
        f'dailypapers: failed: stored paper {paper_id} of topic "Reward Model": column {column}'
    )


@pytest.mark.parametrize("value", ["infinity", "10000-01-01 00:00:00"])
def test_a_time_the_driver_cannot_load_is_named(project: tuple[Path, str], value: str) -> None:
    """psycopg cannot load ``infinity`` or year 10000 as a datetime: doctor and render
    still name the paper and column instead of failing with the driver's error."""
    config, url = project
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        paper_id = conn.scalar(sa.text("SELECT paper_id FROM topic_papers LIMIT 1"))
        conn.execute(
            sa.text("UPDATE papers SET updated = CAST(:v AS timestamp) WHERE id = :i"),
            {"v": value, "i": paper_id},
        )
    engine.dispose()
    code, output = doctor(config)
    assert code == 1
    assert f"stored paper {paper_id}: column updated holds " in output
    result = CliRunner().invoke(cli, ["render", "--config", str(config), "--force"])
    assert result.exit_code == 1
    assert result.output.startswith(
        f'dailypapers: failed: stored paper {paper_id} of topic "Reward Model": column updated'
    )
