"""``dailypapers doctor``: finds problems, says how to repair them, repairs safely."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import load_config
from dailypapers.doctor import diagnose, repair
from dailypapers.store import RunOwner, Store, open_store, sqlite_path, topic_papers

CONFIG = '[[topics]]\nname = "Reward Model"\n'


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def problems(store: Store) -> list[str]:
    return [f.check for f in diagnose(store) if not f.ok]


def test_a_fresh_store_is_healthy(store: Store) -> None:
    assert problems(store) == []


def crashed() -> RunOwner:
    """The owner of a run whose process has ended (a pid no longer in use)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return RunOwner(RunOwner.current().host, child.pid)


def test_unfinished_runs_are_found_and_marked(store: Store) -> None:
    store.start_run("update", owner=crashed())
    store.start_run("harvest")  # still running: this process is alive
    assert problems(store) == ["runs"]
    assert any("marked 1 unfinished run" in line for line in repair(store))
    assert [r.status for r in store.last_runs(2)] == ["running", "interrupted"]


def test_orphan_links_are_found_and_deleted(store: Store) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    with store.transaction() as conn:
        topic = store.topic_id(conn, "T", "q")
    if store.dialect == "sqlite":  # a raw connection: SQLite enforces keys per connection
        path = sqlite_path(store.engine.url.render_as_string())
        with closing(sqlite3.connect(str(path))) as raw, raw:
            raw.execute(
                "INSERT INTO topic_papers (topic_id, paper_id, matched_at) VALUES (?, ?, ?)",
                (topic, "9999.99999", "2025-01-01 00:00:00"),
            )
    else:
        with store.engine.connect() as conn:
            conn.exec_driver_sql(
                "ALTER TABLE topic_papers DROP CONSTRAINT topic_papers_paper_id_fkey"
            )
            conn.execute(
                topic_papers.insert().values(topic_id=topic, paper_id="9999.99999", matched_at=now)
            )
            conn.commit()
    finding = next(f for f in diagnose(store) if f.check == "foreign keys")
    assert not finding.ok and "--repair" in finding.repair
    assert any("deleted 1 orphan" in line for line in repair(store))
    assert problems(store) == []


def test_cli_reports_and_exits_1_then_repairs(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text(CONFIG, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 1 and "no store yet" in result.stderr
    assert not (tmp_path / ".dailypapers" / "papers.db").exists()
    with open_store(f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}") as store:
        store.start_run("update", owner=crashed())
    result = runner.invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL runs: 1 run never finished" in result.stdout
    assert "ok   schema: version" in result.stdout
    result = runner.invoke(cli, ["doctor", "--repair"])
    assert result.exit_code == 0, result.output
    assert "repaired: marked 1 unfinished run as interrupted" in result.stdout


def test_cli_on_a_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text(CONFIG, encoding="utf-8")
    db = tmp_path / ".dailypapers" / "papers.db"
    db.parent.mkdir()
    db.write_bytes(b"garbage" * 1000)
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "not a database" in result.stderr
    assert db.read_bytes() == b"garbage" * 1000


@pytest.mark.parametrize(
    ("stop", "error"), [(KeyboardInterrupt, "stopped by Ctrl-C"), (SystemExit, "stopped")]
)
def test_a_run_stopped_by_ctrl_c_is_recorded_as_interrupted(
    tmp_path: Path, stop: type[BaseException], error: str
) -> None:
    """Before, it stayed "running" until the next run, and `doctor` failed meanwhile."""
    from dailypapers.run import RunResult, recorded_run

    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    config = load_config(tmp_path / "papers.toml")
    with pytest.raises(stop), recorded_run(config, "update", RunResult(), lock_timeout=1):
        raise stop
    with open_store(config.db_url) as stopped:
        assert problems(stopped) == []
        [last] = stopped.last_runs(1)
        assert (last.status, last.error) == ("interrupted", error)


def test_a_run_in_progress_is_not_reported_as_crashed(tmp_path: Path) -> None:
    # Before: an update running beside `doctor` was "FAIL runs: never finished (killed
    # or crashed)", exit 1.
    (tmp_path / "papers.toml").write_text(CONFIG, encoding="utf-8")
    with open_store(f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}") as store:
        store.start_run("update")  # this process: alive
        store.start_run("update", owner=RunOwner("another-host", 1, None))  # cannot be told
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    assert f"ok   runs: 2 runs in progress (this host: pid {os.getpid()})" in result.stdout
    with open_store(f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}") as store:
        store.start_run("update", owner=crashed())
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 1 and "FAIL runs: 1 run never finished" in result.stdout


def test_a_write_the_database_refuses_is_one_line(tmp_path: Path) -> None:
    # Before: the run's own records (start_run, finish_run), migrations and
    # `doctor --repair` wrote through a bare transaction: "unexpected error:
    # OperationalError ... [SQL: INSERT INTO runs ...]".
    import sqlalchemy as sa

    from dailypapers.store import StoreError

    path = tmp_path / "papers.db"
    with open_store(f"sqlite:///{path}") as store:
        store.engine = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
        with pytest.raises(StoreError) as raised:
            store.start_run("update")
    assert str(raised.value) == "database error: attempt to write a readonly database"


def test_a_store_busy_past_the_wait_says_so(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from dailypapers.store import database_error

    path = str(tmp_path / "busy.db")
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
        with closing(waiter), pytest.raises(sqlite3.OperationalError) as raised:
            waiter.execute("BEGIN IMMEDIATE")
    wrapped = sa.exc.OperationalError("BEGIN IMMEDIATE", {}, raised.value)
    assert database_error(wrapped) == (
        "database error: database is locked"
        " (another process kept the store busy past the 30 s wait; try again)"
    )


def test_a_connection_lost_during_a_read_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shared-deployment review: a PostgreSQL connection terminated mid-run printed
    # "unexpected error: OperationalError ... [SQL: SELECT ...] [parameters: ...]".
    import sqlalchemy as sa

    from dailypapers.rank import commands

    (tmp_path / "papers.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with open_store(f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}"):
        pass
    lost = Exception("terminating connection due to administrator command\nSSL SYSCALL")

    def fail(store: object) -> list[str]:
        raise sa.exc.OperationalError("SELECT secret FROM t WHERE x = %(x)s", {"x": 1}, lost)

    monkeypatch.setattr(commands, "list_lines", fail)
    result = CliRunner().invoke(cli, ["library", "list"])
    assert result.exit_code == 1
    assert result.stderr == (
        "dailypapers: failed: database error: terminating connection due to administrator command\n"
    )


def test_a_user_without_the_right_to_create_tables_is_told_how_to_grant_it() -> None:
    import sqlalchemy as sa

    from dailypapers.store import database_error

    class Denied(Exception):
        sqlstate = "42501"

    wrapped = sa.exc.ProgrammingError(
        "CREATE TABLE x", {}, Denied("permission denied for schema public")
    )
    assert database_error(wrapped) == (
        "database error: permission denied for schema public (the database user needs to"
        " create tables: make it the database's owner, or GRANT CREATE ON SCHEMA public TO it)"
    )


def test_a_migration_refused_by_the_database_names_the_store_and_keeps_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second diff review: open_store rebuilt the line from the driver's error and
    # dropped database_error's hint.
    import sqlalchemy as sa

    from dailypapers import schema
    from dailypapers.store import StoreError

    class Denied(Exception):
        sqlstate = "42501"

    def refused(conn: object) -> None:
        raise sa.exc.ProgrammingError("CREATE TABLE x", {}, Denied("permission denied"))

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, (999, "refused", refused)])
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{tmp_path / 'p.db'}")
    message = str(raised.value)
    assert message.startswith(f"cannot use sqlite:///{tmp_path / 'p.db'}: permission denied")
    assert message.endswith("GRANT CREATE ON SCHEMA public TO it)")
