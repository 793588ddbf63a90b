"""One run skeleton for update, notify, backfill and harvest: lock, runs row, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import Config, load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_oai import FakeOai
from dailypapers.offline.faults import fault
from dailypapers.run import RUN_ERRORS, RunResult, RunStatus, recorded_run
from dailypapers.sources import SourceError
from dailypapers.store import StoreError, open_store


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture
def oai() -> Iterator[FakeOai]:
    with FakeOai(demo_corpus(), page_size=200) as fake:
        yield fake


@pytest.fixture
def config(tmp_path: Path, arxiv: FakeArxiv, oai: FakeOai) -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "Reward Model"\n\n'
        f'[arxiv]\napi_url = "{arxiv.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 1\n\n'
        f'[oai]\nurl = "{oai.url}"\ndelay = 0\n',
        encoding="utf-8",
    )
    return load_config(path)


def last_run(config: Config) -> tuple[str, str, str | None]:
    with open_store(config.db_url) as store:
        run = store.last_runs(1)[0]
    return run.command, run.status, run.error


def test_statuses_are_one_enum_of_strings() -> None:
    assert str(RunStatus.NOTHING_NEW) == "nothing new" and isinstance(RunStatus.FAILED, str)
    assert {SourceError, StoreError, OSError} <= set(RUN_ERRORS)


def test_an_expected_error_is_recorded_as_one_line(config: Config) -> None:
    result = RunResult()
    with recorded_run(config, "update", result, lock_timeout=1) as run:
        assert last_run(config) == ("update", "running", None)
        assert run.lock.name == "run.lock"
        raise SourceError("topic 'x':\n  HTTP 503\n")
    assert result.status == RunStatus.FAILED and result.error == "topic 'x': HTTP 503"
    assert last_run(config) == ("update", "failed", "topic 'x': HTTP 503")


def test_with_raise_errors_it_is_recorded_then_raised(config: Config) -> None:
    result = RunResult()
    with (
        pytest.raises(StoreError, match="disk full"),
        recorded_run(config, "notify", result, lock_timeout=1, raise_errors=True),
    ):
        raise StoreError("disk full")
    assert last_run(config) == ("notify", "failed", "disk full")


def test_a_bug_is_not_swallowed_and_the_row_stays_running(config: Config) -> None:
    with (
        pytest.raises(ZeroDivisionError),
        recorded_run(config, "update", RunResult(), lock_timeout=1),
    ):
        print(1 / 0)
    assert last_run(config)[1] == "running"  # marked interrupted once this process is gone


def test_success_records_the_status_and_cost(config: Config) -> None:
    result = RunResult()
    with recorded_run(config, "harvest", result, lock_timeout=1, lock_name="harvest.lock"):
        result.status, result.requests = RunStatus.COMPLETE, 3
    assert last_run(config) == ("harvest", "complete", None)
    assert result.seconds > 0


COMMANDS = {
    "update": ["update"],
    "backfill": ["backfill", "--since", "2025-05-01", "--until", "2025-05-10"],
    "harvest": ["harvest", "--set", "cs"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_fails_in_one_line_and_debug_shows_the_traceback(
    command: str, config: Config, arxiv: FakeArxiv, oai: FakeOai
) -> None:
    for fake in (arxiv, oai):
        fake.inject(*[fault("status", code=500)] * 8)
    runner = CliRunner()
    plain = runner.invoke(cli, COMMANDS[command])
    assert plain.exit_code == 1
    last = plain.stderr.strip().splitlines()[-1]
    assert last.startswith("dailypapers: failed: ") and "500" in last
    assert "Traceback" not in plain.output and plain.exception is not None
    assert last_run(config)[:2] == (command, "failed")
    debug = runner.invoke(cli, [*COMMANDS[command], "--debug"])
    assert debug.exit_code == 1 and isinstance(debug.exception, RUN_ERRORS)
    assert last_run(config)[:2] == (command, "failed")


def test_the_clock_a_subprocess_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from dailypapers.config import ConfigError
    from dailypapers.run import NOW_ENV, run_clock

    monkeypatch.setenv(NOW_ENV, "2025-05-17T09:30:00+02:00")  # a Saturday
    assert run_clock() == datetime(2025, 5, 17, 7, 30, tzinfo=UTC)
    monkeypatch.setenv(NOW_ENV, "2025-05-17")
    with pytest.raises(ConfigError, match="needs a UTC offset"):
        run_clock()
    monkeypatch.setenv(NOW_ENV, "")
    assert abs((run_clock() - datetime.now(UTC)).total_seconds()) < 60


def test_update_runs_at_the_given_clock(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_NOW", "2025-05-14T12:00:00+00:00")
    first = CliRunner().invoke(cli, ["update"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(cli, ["update"])
    # Wednesday noon UTC: arXiv announced 12 hours before and the first run has it all.
    assert again.stdout.startswith("nothing new since the last run"), again.output
    assert "Last update: 2025-05-14" in config.readme_path.read_text(encoding="utf-8")
