"""A day arXiv's calendar skips ends without the store's libraries (module sets, not time).

The skip path's cost is measured by ``bench/versus_reference.py``; here: the
same outcome as the full path (summary, ``runs`` row, untouched outputs), the
libraries it does not load, and every case that must take the full path.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dailypapers import quickskip
from dailypapers.arxiv.calendar import EASTERN
from dailypapers.config import Config, load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import RunReport, run_update
from dailypapers.schema import RunStatus
from dailypapers.store import open_store

FRI_1AM = datetime(2025, 5, 16, 1, 0, tzinfo=EASTERN)  # after Thursday's announcement
SAT_10AM = datetime(2025, 5, 17, 10, 0, tzinfo=EASTERN)  # nothing since
HEAVY = {"sqlalchemy", "httpx", "jinja2", "rich", "lxml", "tenacity", "snowballstemmer"}

PROBE = """
import json, sys
from dailypapers.cli import cli
try:
    cli({args!r}, prog_name="dailypapers", standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


def make_config(tmp_path: Path, server: FakeArxiv, extra: str = "") -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        f'{extra}[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    return load_config(path)


def cli_update(
    config: Config, when: datetime, monkeypatch: pytest.MonkeyPatch
) -> tuple[set[str], str]:
    """``dailypapers update`` in a new process: the top-level modules it loaded, its stdout."""
    monkeypatch.setenv("DAILYPAPERS_NOW", when.isoformat())
    for name in quickskip.ACTIONS_ENV:
        monkeypatch.delenv(name, raising=False)
    args = ["update", "--config", str(config.path)]
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    *lines, modules = done.stdout.splitlines()
    return {name.split(".")[0] for name in json.loads(modules)}, "\n".join(lines)


def last_run(config: Config) -> tuple[str, str, int, int]:
    with open_store(config.db_url) as store:
        run = store.last_runs(1)[0]
    assert run.finished_at is not None and run.started_at.tzinfo is not None
    return run.command, run.status, run.requests, run.new_papers


def test_a_calendar_skip_loads_no_store_library(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    mtime = config.readme_path.stat().st_mtime_ns
    server.reset_log()
    loaded, out = cli_update(config, SAT_10AM, monkeypatch)
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
    assert out.startswith("no announcement today: 2 topics, 0 requests, ")
    assert server.requests == []
    assert config.readme_path.stat().st_mtime_ns == mtime
    assert last_run(config) == ("update", "no announcement", 0, 0)
    # and again: a skipped run is no reason to take the full path the next time
    loaded, out = cli_update(config, SAT_10AM + timedelta(hours=2), monkeypatch)
    assert "sqlalchemy" not in loaded and out.startswith("no announcement today")


def test_the_probe_is_honest(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a stamp of the last update (a first run) the full path decides.
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    (config.state_dir / quickskip.STAMP_NAME).unlink()
    loaded, out = cli_update(config, SAT_10AM, monkeypatch)
    assert "sqlalchemy" in loaded and out.startswith("no announcement today")
    # The full path loads no renderer or ranking method it does not use (README only).
    assert not loaded & {"jinja2", "numpy", "scipy"}, sorted(loaded & {"jinja2", "numpy", "scipy"})


@pytest.mark.parametrize(
    "change",
    ["config", "readme deleted", "fetch since", "environment", "notify channel"],
)
def test_what_the_full_path_must_decide(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    if change == "config":  # the outputs may render differently: the full path renders
        config = make_config(tmp_path, server, 'title = "Other"\n')
    elif change == "readme deleted":
        config.readme_path.unlink()
    elif change == "fetch since":  # stored papers no output shows yet
        run_update(config, now=FRI_1AM + timedelta(hours=1), render=False)
    elif change == "environment":
        monkeypatch.setenv("DAILYPAPERS_DB", config.db_url)
    else:
        config = make_config(tmp_path, server, "[notify.webhook]\nmax_chars = 1000\n")
    loaded, _ = cli_update(config, SAT_10AM, monkeypatch)
    assert "sqlalchemy" in loaded
    assert config.readme_path.exists()


def test_not_yet_past_the_index_lag_is_not_skipped(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    sunday_evening = datetime(2025, 5, 18, 20, 30, tzinfo=EASTERN)  # just after an announcement
    assert quickskip.skipped(config, sunday_evening, source=None, lock_timeout=1) is None
    assert quickskip.skipped(config, SAT_10AM, source="local", lock_timeout=1) is None
    assert quickskip.skipped(config, SAT_10AM, source=None, lock_timeout=1) is not None


def test_the_words_are_the_full_paths() -> None:
    assert quickskip.NO_ANNOUNCEMENT == RunStatus.NO_ANNOUNCEMENT
    assert quickskip.NOTHING_NEW == RunStatus.NOTHING_NEW
    assert quickskip.RUNNING == RunStatus.RUNNING
    for status in (RunStatus.NO_ANNOUNCEMENT, RunStatus.NOTHING_NEW):
        for topics in (1, 3):
            report = RunReport(status=status, topics=topics, seconds=0.25)
            assert quickskip.summary(status, topics, 0.25) == report.summary()


def test_the_stamp_carries_no_secret_value(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, server)
    monkeypatch.delenv("DAILYPAPERS_LLM_API_KEY", raising=False)
    unset = quickskip.fingerprint(config)
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", "sk-one")
    one = quickskip.fingerprint(config)
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", "sk-two")
    # Setting a secret may change what renders (summaries): the stamp sees that it
    # is set, never its value (not even hashed into the stamp file).
    assert one != unset and quickskip.fingerprint(config) == one
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", "http://127.0.0.1:9/api")
    assert quickskip.fingerprint(config) != one  # other variables count by value
