"""A day arXiv's calendar skips ends without the store's libraries (module sets, not time).

The skip path's cost is measured by ``bench/versus_reference.py``; here: the
same outcome as the full path (summary, ``runs`` row, untouched outputs), the
libraries it does not load (with a matching stamp not even click or the
config's pydantic models), and every case that must take the full path.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from filelock import FileLock

from dailypapers import quickskip
from dailypapers.arxiv.calendar import EASTERN
from dailypapers.cli import cli
from dailypapers.config import Config, load_config
from dailypapers.entry import update_options
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import RunReport, run_update
from dailypapers.schema import RunStatus
from dailypapers.store import open_store

FRI_1AM = datetime(2025, 5, 16, 1, 0, tzinfo=EASTERN)  # after Thursday's announcement
SAT_10AM = datetime(2025, 5, 17, 10, 0, tzinfo=EASTERN)  # nothing since
HEAVY = {"sqlalchemy", "httpx", "jinja2", "rich", "lxml", "tenacity", "snowballstemmer"}
STARTUP = {"click", "pydantic"}  # what the command line and the config's models load

# The console script's entry point (pyproject's [project.scripts]), as a process.
PROBE = """
import json, sys
sys.argv = ["dailypapers", *{args!r}]
from dailypapers.entry import main
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
print(json.dumps([code, sorted(sys.modules)]))
"""


def make_config(tmp_path: Path, server: FakeArxiv, extra: str = "") -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        f'{extra}[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    return load_config(path)


def run_cli(
    config: Config, when: datetime, monkeypatch: pytest.MonkeyPatch, *options: str
) -> tuple[set[str], int, str, str]:
    """``dailypapers update`` in a new process: what it loaded, exit code, stdout, stderr."""
    monkeypatch.setenv("DAILYPAPERS_NOW", when.isoformat())
    for name in quickskip.ACTIONS_ENV:
        monkeypatch.delenv(name, raising=False)
    args = ["update", "--config", str(config.path), *options]
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    *lines, last = done.stdout.splitlines()
    code, modules = json.loads(last)
    loaded = {name.split(".")[0] for name in modules} | set(modules)  # packages and modules
    return loaded, code, "\n".join(lines), done.stderr


def cli_update(
    config: Config, when: datetime, monkeypatch: pytest.MonkeyPatch, *options: str
) -> tuple[set[str], str]:
    """``dailypapers update`` in a new process: the top-level modules it loaded, its stdout."""
    loaded, code, out, _ = run_cli(config, when, monkeypatch, *options)
    assert code == 0
    return loaded, out


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
    assert not loaded & (HEAVY | STARTUP), sorted(loaded & (HEAVY | STARTUP))
    assert out.startswith("no announcement today: 2 topics, 0 requests, ")
    assert server.requests == []
    assert config.readme_path.stat().st_mtime_ns == mtime
    assert last_run(config) == ("update", "no announcement", 0, 0)
    # and again: a skipped run is no reason to take the full path the next time
    loaded, out = cli_update(config, SAT_10AM + timedelta(hours=2), monkeypatch)
    assert not loaded & (HEAVY | STARTUP) and out.startswith("no announcement today")


def test_the_probe_is_honest(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a stamp of the last update (a first run) the full path decides.
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    (config.state_dir / quickskip.STAMP_NAME).unlink()
    loaded, out = cli_update(config, SAT_10AM, monkeypatch)
    assert "sqlalchemy" in loaded and out.startswith("no announcement today")
    # The full path loads no renderer or ranking method it does not use (README only),
    # neither rich on a pipe nor httpx's command line.
    unused = {"jinja2", "numpy", "scipy", "rich", "pygments"}
    assert "httpx" in loaded and not loaded & unused, sorted(loaded & unused)


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
    unset = quickskip.fingerprint(config.digest)
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", "sk-one")
    one = quickskip.fingerprint(config.digest)
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", "sk-two")
    # Setting a secret may change what renders (summaries): the stamp sees that it
    # is set, never its value (not even hashed into the stamp file).
    assert one != unset and quickskip.fingerprint(config.digest) == one
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", "http://127.0.0.1:9/api")
    assert quickskip.fingerprint(config.digest) != one  # other variables count by value
    run_update(config, now=FRI_1AM)
    assert "sk-" not in (config.state_dir / quickskip.STAMP_NAME).read_text(encoding="utf-8")


def runs_rows(config: Config, count: int) -> list[tuple[object, ...]]:
    """The last ``count`` runs, without their ids, times and process ids."""
    with closing(sqlite3.connect(config.db_url.removeprefix("sqlite:///"))) as conn:
        rows = conn.execute(
            "SELECT command, status, requests, bytes, new_papers, revised_papers, error, host, "
            "lock FROM runs ORDER BY id DESC LIMIT ?",
            (count,),
        ).fetchall()
    return list(rows)


def test_the_quick_path_says_and_records_what_the_full_path_does(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    quick = run_cli(config, SAT_10AM, monkeypatch)
    (config.state_dir / quickskip.STAMP_NAME).unlink()
    full = run_cli(config, SAT_10AM, monkeypatch)
    assert not quick[0] & STARTUP and "pydantic" in full[0]  # the probe is honest
    seconds = re.compile(r"[0-9.]+ s$")
    assert [(code, seconds.sub("", out), err) for _, code, out, err in (quick, full)] == [
        (0, "no announcement today: 2 topics, 0 requests, ", quickskip.PROGRESS + "\n")
    ] * 2
    first, second = runs_rows(config, 2)
    assert first == second and first[:2] == ("update", "no announcement")


def test_a_held_lock_fails_as_on_the_full_path(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    held = config.state_dir / "run.lock"
    expected = (
        1,
        "",
        f"dailypapers: failed: another dailypapers run holds {held} (waited 0 s); "
        "try again later\n",
    )
    with FileLock(str(held)):
        loaded, *quick = run_cli(config, SAT_10AM, monkeypatch, "--wait", "0")
        assert not loaded & STARTUP and tuple(quick) == expected
        (config.state_dir / quickskip.STAMP_NAME).unlink()
        loaded, *full = run_cli(config, SAT_10AM, monkeypatch, "--wait=0")
        assert "pydantic" in loaded and tuple(full) == expected


def _corrupt(config: Config) -> None:
    stamp = config.state_dir / quickskip.STAMP_NAME
    stamp.write_bytes(stamp.read_bytes()[:-9])


def _edit_facts(config: Config) -> None:
    stamp = config.state_dir / quickskip.STAMP_NAME
    data = json.loads(stamp.read_text(encoding="utf-8"))
    data["facts"]["topics"] = data["facts"]["topics"][:1]  # a topic less to check
    stamp.write_text(json.dumps(data), encoding="utf-8")


def _other_option(config: Config) -> None:
    pass  # `--debug` is not an option the quick path reads


@pytest.mark.parametrize(
    ("change", "extra", "options"),
    [
        (_corrupt, "", ()),
        (_edit_facts, "", ()),
        (_other_option, "", ("--debug",)),
        # a config with warnings: the full path prints them (the quick path never would)
        (None, '[[topics]]\nname = "Linted"\nquery = "abs:reward model"\n\n', ()),
    ],
    ids=["corrupt stamp", "edited facts", "other option", "config with warnings"],
)
def test_what_the_stamp_cannot_vouch_for_takes_the_full_path(
    tmp_path: Path,
    server: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Config], None] | None,
    extra: str,
    options: tuple[str, ...],
) -> None:
    config = make_config(tmp_path, server, extra)
    run_update(config, now=FRI_1AM)
    if change is not None:
        change(config)
    loaded, code, out, err = run_cli(config, SAT_10AM, monkeypatch, *options)
    assert "pydantic" in loaded and code == 0
    assert out.startswith(f"no announcement today: {len(config.settings.topics)} topics, ")
    assert err.count("warning") == len(config.warnings)


def test_an_output_that_resolves_elsewhere_takes_the_full_path(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The config's path checks follow symlinks: a moved link may now be refused.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "out").symlink_to("a")
    config = make_config(tmp_path, server, '[readme]\npath = "out/README.md"\n\n')
    run_update(config, now=FRI_1AM)
    (tmp_path / "b" / "README.md").write_bytes((tmp_path / "a" / "README.md").read_bytes())
    (tmp_path / "out").unlink()
    (tmp_path / "out").symlink_to("b")
    loaded, out = cli_update(config, SAT_10AM, monkeypatch)
    assert "pydantic" in loaded and out.startswith("no announcement today")
    (tmp_path / "out").unlink()
    (tmp_path / "out").symlink_to("a")  # as the first stamp saw it, not the last
    for quick in (False, True):  # a/README.md is not the file the last run left
        loaded, out = cli_update(config, SAT_10AM, monkeypatch)
        assert bool(loaded & STARTUP) is not quick and out.startswith("no announcement today")


def test_a_new_version_takes_the_full_path(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, server)
    mark = quickskip.fingerprint(config.digest)
    monkeypatch.setattr(quickskip, "__version__", "99.0")
    assert quickskip.fingerprint(config.digest) != mark
    monkeypatch.undo()
    monkeypatch.setattr(sys, "version", "3.99.0")
    assert quickskip.fingerprint(config.digest) != mark


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["update"], {}),
        (["update", "--config", "p.toml", "--wait=0.5"], {"--config": "p.toml", "--wait": "0.5"}),
        (["update", "--source", "feed"], {"--source": "feed"}),
        (["update", "--config=a=b.toml"], {"--config": "a=b.toml"}),
        (["update", "--debug"], None),
        (["update", "--force"], None),
        (["update", "--deadline", "9"], None),
        (["update", "--wait", "1", "--wait", "2"], None),  # click takes the last; not ours to say
        (["update", "--wait", "1e3"], None),
        (["update", "--wait", "1000000000"], {"--wait": "1000000000"}),
        (["update", "--wait", "2000000000"], None),  # click's Seconds refuses it (exit 2)
        (["update", "--wait", "9" * 400], None),  # float() of it is inf: waited for ever
        (["update", "--wait", "-1"], None),
        (["update", "--wait"], None),
        (["update", "--config", "--wait"], None),
        (["update", "--config="], None),
        (["update", "--source", "arxiv"], None),
        (["update", "--help"], None),
        (["update", "extra"], None),
        (["--config", "p.toml", "update"], None),
        (["fetch"], None),
        ([], None),
    ],
)
def test_only_a_plain_update_is_read_before_the_command_line(
    args: list[str], options: dict[str, str] | None
) -> None:
    assert update_options(args) == options


def _restamp(config: Config, **facts: object) -> None:
    """Rewrite the stamp's facts with a valid digest (as a hand edit that knew the digest)."""
    stamp = config.state_dir / quickskip.STAMP_NAME
    data = json.loads(stamp.read_text(encoding="utf-8"))
    data["facts"].update(facts)
    data["check"] = quickskip._check(data)
    stamp.write_text(json.dumps(data), encoding="utf-8")  # json writes NaN/Infinity as such


@pytest.mark.parametrize("lag", [float("nan"), float("inf"), 1e300, -1e300])
def test_an_absurd_number_in_the_stamp_takes_the_full_path(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch, lag: float
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    _restamp(config, index_lag_hours=lag)
    monkeypatch.setenv("DAILYPAPERS_NOW", SAT_10AM.isoformat())
    for name in quickskip.ACTIONS_ENV:
        monkeypatch.delenv(name, raising=False)
    before = runs_rows(config, 1)
    assert quickskip.quick_skip(str(config.path), source=None, lock_timeout=5) is None
    assert runs_rows(config, 1) == before  # nothing recorded


def test_a_damaged_time_in_the_store_is_left_to_the_full_run(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    with closing(sqlite3.connect(config.db_url.removeprefix("sqlite:///"))) as conn, conn:
        conn.execute("UPDATE topic_fetch_state SET fetched_at = 'not a time'")
    monkeypatch.setenv("DAILYPAPERS_NOW", SAT_10AM.isoformat())
    for name in quickskip.ACTIONS_ENV:
        monkeypatch.delenv(name, raising=False)
    before = runs_rows(config, 1)
    assert quickskip.quick_skip(str(config.path), source=None, lock_timeout=5) is None
    assert quickskip.skipped(config, SAT_10AM, source=None, lock_timeout=5) is None
    assert runs_rows(config, 1) == before


def test_a_config_edited_during_the_run_is_not_vouched_for(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stamp names the bytes the run loaded: a topic added while it fetched
    # is not in the README, so the next day must not skip as if it were.
    config = make_config(tmp_path, server)

    def edit(message: str) -> None:
        if "Diffusion" not in config.path.read_text(encoding="utf-8"):
            with config.path.open("a", encoding="utf-8") as file:
                file.write('\n[[topics]]\nname = "Diffusion"\n')

    run_update(config, now=FRI_1AM, progress=edit)
    assert "## Diffusion" not in config.readme_path.read_text(encoding="utf-8")
    monkeypatch.setenv("DAILYPAPERS_NOW", SAT_10AM.isoformat())
    for name in quickskip.ACTIONS_ENV:
        monkeypatch.delenv(name, raising=False)
    assert quickskip.quick_skip(str(config.path), source=None, lock_timeout=5) is None
    edited = load_config(config.path)
    assert quickskip.skipped(edited, SAT_10AM, source=None, lock_timeout=5) is None
    run_update(edited, now=SAT_10AM)  # the full run fetches the new topic
    assert "## Diffusion" in config.readme_path.read_text(encoding="utf-8")


def test_a_config_not_loaded_from_bytes_is_never_vouched_for(
    tmp_path: Path, server: FakeArxiv
) -> None:
    # A library caller's Config (no digest): its stamp would vouch for any content.
    loaded = make_config(tmp_path, server)
    built = Config(loaded.path, loaded.settings, loaded.warnings)
    assert built.digest == ""
    run_update(built, now=FRI_1AM)
    assert not (built.state_dir / quickskip.STAMP_NAME).exists()
    assert quickskip.skipped(built, SAT_10AM, source=None, lock_timeout=5) is None


def _fifo(stamp: Path) -> None:
    stamp.unlink()
    os.mkfifo(stamp)  # no writer: reading it would wait for ever


def _sparse(stamp: Path) -> None:
    os.truncate(stamp, 64 << 30)  # 64 GiB of holes: read whole, it would not fit


def _nested(stamp: Path) -> None:
    stamp.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")


def _directory(stamp: Path) -> None:
    stamp.unlink()
    stamp.mkdir()


@pytest.mark.parametrize("damage", [_fifo, _sparse, _nested, _directory])
def test_a_hostile_stamp_takes_the_full_path(
    tmp_path: Path,
    server: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    damage: Callable[[Path], None],
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    damage(config.state_dir / quickskip.STAMP_NAME)
    loaded, code, out, err = run_cli(config, SAT_10AM, monkeypatch, "--wait", "5")
    assert (code, err) == (0, quickskip.PROGRESS + "\n"), err[-500:]
    assert "pydantic" in loaded and out.startswith("no announcement today: 2 topics, ")


@pytest.mark.skipif(sys.platform != "linux", reason="a folder name that is not UTF-8")
def test_a_project_in_a_folder_whose_name_is_not_utf8(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Latin-1 names are legal bytes on Linux; Python holds them as surrogates,
    # which neither an SQLite URI nor a stored text may carry.
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    folder.mkdir()
    config = make_config(folder, server)
    assert run_update(config, now=FRI_1AM).status == RunStatus.UPDATED
    monkeypatch.setenv("DAILYPAPERS_NOW", SAT_10AM.isoformat())
    for name in quickskip.ACTIONS_ENV:
        monkeypatch.delenv(name, raising=False)
    line = quickskip.quick_skip(str(config.path), source=None, lock_timeout=5)
    assert line is not None and line.startswith("no announcement today: 2 topics")
    (lock,) = {row[-1] for row in runs_rows(config, 2)}
    assert lock == str(tmp_path / "caf\\xe9" / ".dailypapers" / "run.lock")


class _FullDisk(io.StringIO):
    """A stdout on a full disk (``dailypapers update > /dev/full``)."""

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _BrokenPipe(io.StringIO):
    """A stdout whose reader has gone (``dailypapers update | head -0``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def _entry(monkeypatch: pytest.MonkeyPatch, config: Config, stream: str) -> int:
    """The console script in this process, with ``stream`` closed; its exit code."""
    from dailypapers import entry

    monkeypatch.setattr(sys, "argv", ["dailypapers", "update", "--config", str(config.path)])
    if stream == "stderr closed":
        monkeypatch.setattr(sys, "stderr", None)
    elif stream == "stdout on a full disk":
        monkeypatch.setattr(sys, "stdout", _FullDisk())
        monkeypatch.setattr(entry, "_stdout_to_null", lambda: None)  # not pytest's own stdout
    else:
        monkeypatch.setattr(sys, "stdout", _BrokenPipe())
    try:
        entry.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        monkeypatch.undo()
    return 0


@pytest.mark.parametrize(
    "stream", ["stderr closed", "stdout a broken pipe", "stdout on a full disk"]
)
def test_a_closed_stream_is_as_on_the_full_path(
    tmp_path: Path,
    server: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stream: str,
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    outcomes = []
    for stamped in (True, False):
        if not stamped:
            (config.state_dir / quickskip.STAMP_NAME).unlink()
        monkeypatch.setenv("DAILYPAPERS_NOW", SAT_10AM.isoformat())
        for name in quickskip.ACTIONS_ENV:
            monkeypatch.delenv(name, raising=False)
        capsys.readouterr()
        code = _entry(monkeypatch, config, stream)
        out, err = capsys.readouterr()
        outcomes.append((code, re.sub(r"[0-9.]+ s$", "", out), err))
    quick, full = outcomes
    assert quick == full
    assert "Traceback" not in quick[2] and quickskip.PROGRESS not in quick[1]


def _hand_edit(config: Config) -> None:
    with config.readme_path.open("a", encoding="utf-8") as file:
        file.write("hand-edited\n")


def _feed_deleted(config: Config) -> None:
    next(config.feeds_dir.glob("*.xml")).unlink()


@pytest.mark.parametrize("change", [_hand_edit, _feed_deleted], ids=["readme edited", "feed gone"])
def test_an_output_changed_since_the_stamp_is_rewritten_by_the_full_run(
    tmp_path: Path,
    server: FakeArxiv,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Config], None],
) -> None:
    config = make_config(tmp_path, server, 'outputs = ["readme", "feeds"]\n')
    run_update(config, now=FRI_1AM)
    written = [config.readme_path, *config.feeds_dir.iterdir()]
    change(config)
    monkeypatch.setenv("DAILYPAPERS_NOW", SAT_10AM.isoformat())
    for name in quickskip.ACTIONS_ENV:
        monkeypatch.delenv(name, raising=False)
    assert quickskip.quick_skip(str(config.path), source=None, lock_timeout=5) is None
    assert quickskip.skipped(config, SAT_10AM, source=None, lock_timeout=5) is None
    report = run_update(config, now=SAT_10AM)  # the full run: nothing fetched, outputs restored
    assert report.status == RunStatus.NO_ANNOUNCEMENT and report.requests == 0
    assert all(path.is_file() for path in written)
    assert "hand-edited" not in config.readme_path.read_text(encoding="utf-8")
    # and the stamp of that run vouches for them again
    assert quickskip.quick_skip(str(config.path), source=None, lock_timeout=5) is not None


def test_a_skip_within_a_day_of_an_announcement_says_nothing_new(
    tmp_path: Path, server: FakeArxiv
) -> None:
    # README, [arxiv] index_lag_hours: the skip's line is not always "no announcement today"
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    friday_morning = FRI_1AM + timedelta(hours=9)  # Thursday's announcement was 14 h ago
    line = quickskip.skipped(config, friday_morning, source=None, lock_timeout=5)
    assert line is not None and line.startswith("nothing new since the last run: 2 topics, 0 ")
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "`nothing new since the last run` within a day of an announcement" in readme


def test_a_working_folder_that_is_gone_is_left_to_the_full_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def gone() -> str:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "getcwd", gone)  # as after `rm -r` of the folder a shell is in
    assert quickskip.quick_skip(None, source=None, lock_timeout=1) is None


def test_a_library_imported_since_the_stamp_takes_the_full_path(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``library import`` records no run, but the full path ranks and re-renders with it
    (the For you table): the old quick path said "no announcement today" and left the
    README without it."""
    config = make_config(tmp_path, server, "[readme]\nfor_you = 5\n\n")
    run_update(config, now=FRI_1AM)
    ids = tmp_path / "ids.txt"
    database = config.db_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(database)) as conn:
        stored = [row[0] for row in conn.execute("SELECT id FROM papers LIMIT 5")]
    ids.write_text("\n".join(stored) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["library", "import", str(ids), "--config", str(config.path)])
    assert result.exit_code == 0, result.output
    before = config.readme_path.read_text(encoding="utf-8")
    loaded, code, out, _ = run_cli(config, SAT_10AM, monkeypatch)
    assert code == 0 and out.startswith("no announcement today")
    assert "pydantic" in loaded  # decided by the full path
    after = config.readme_path.read_text(encoding="utf-8")
    assert after != before and "For you" in after


def test_what_pathlib_refuses_is_left_to_the_full_path(tmp_path: Path) -> None:
    """``--config ~nobody/papers.toml``: pathlib's RuntimeError was a traceback (Python 3.11)."""
    assert (
        quickskip.quick_skip("~no-such-user-here/papers.toml", source=None, lock_timeout=0) is None
    )
