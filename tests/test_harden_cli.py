"""Issue 11, one line instead of a traceback: absurd arXiv data, read-only projects,
deep queries, bad arguments; and the "Also" items (chat headline, doctor, serve)."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import load_config
from dailypapers.doctor import diagnose
from dailypapers.models import Author, Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv, feed_xml
from dailypapers.offline.faults import fault
from dailypapers.pipeline import run_update
from dailypapers.render.digest import Digest, Entry, TopicDigest, render_chat
from dailypapers.serve import make_server, server_url
from dailypapers.store import RunOwner, open_store, papers

WHEN = datetime(2025, 5, 20, 10, 0, tzinfo=UTC)


def paper(number: int, title: str = "Reward Model x") -> Paper:
    return Paper(
        id=f"2505.{number:05d}",
        version=1,
        title=title,
        abstract="a reward model",
        authors=(Author("A"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
    )


@pytest.fixture(scope="module")
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as server:
        yield server


def write_project(folder: Path, arxiv: FakeArxiv, extra: str = "") -> Path:
    path = folder / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "Reward Model"\n'
        f'[arxiv]\napi_url = "{arxiv.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 2\n{extra}',
        encoding="utf-8",
    )
    return path


# --- 11. absurd versions and dates from arXiv ------------------------------------------

ABSURD = [
    (
        "<id>http://arxiv.org/abs/2505.20002v1</id>",
        "<id>http://arxiv.org/abs/2505.20002v1180591620717411303424</id>",
    ),
    ("<updated>2025-05-20T10:00:00Z</updated>", "<updated>9999-12-31T23:59:59-05:00</updated>"),
    (
        "<published>2025-05-20T10:00:00Z</published>",
        "<published>0001-01-01T00:00:00+01:00</published>",
    ),
]


@pytest.mark.parametrize(("good", "bad"), ABSURD)
def test_an_absurd_entry_is_skipped_with_a_warning_naming_it(
    tmp_path: Path, arxiv: FakeArxiv, good: str, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    number = {0: 20002, 1: 20003, 2: 20004}[ABSURD.index((good, bad))]
    body = feed_xml(
        [paper(20001), paper(number)],
        total_results=2,
        start_index=0,
        items_per_page=2,
        query_string="x",
    ).decode()
    entries = body.split("<entry>")
    entries[2] = entries[2].replace(
        good.replace("20002", str(number)), bad.replace("20002", str(number)), 1
    )
    assert bad.replace("20002", str(number)) in entries[2]
    arxiv.inject(fault("status", code=200, body="<entry>".join(entries)))
    report = run_update(load_config(write_project(tmp_path, arxiv)), force=True)
    assert report.status == "updated", report.error
    config = load_config(tmp_path / "papers.toml")
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        ids = {row.id for row in conn.execute(papers.select())}
    assert "2505.20001" in ids and f"2505.{number}" not in ids
    assert f"2505.{number}" in caplog.text and "skipped a bad arXiv entry" in caplog.text


# --- 12. a read-only project ------------------------------------------------------------


def test_a_read_only_project_is_one_line(tmp_path: Path, arxiv: FakeArxiv) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) for a read-only bind mount")
    project = tmp_path / "ro"
    project.mkdir()
    write_project(project, arxiv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    script = (
        f"mount --bind -o ro {project} {project} && cd {project} && "
        f"{sys.executable} -m dailypapers update"
    )
    if os.geteuid() == 0:
        command = ["unshare", "-m", "sh", "-c", script]
    else:  # without root, a folder without write permission does the same
        project.chmod(0o555)
        command = [sys.executable, "-m", "dailypapers", "update"]
    done = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    if "mount" in done.stderr and "dailypapers" not in done.stderr:
        pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "is the project read-only?" in done.stderr


# --- 13. nesting depth -----------------------------------------------------------------


def test_deep_parentheses_in_a_topic_query_are_a_config_error(tmp_path: Path) -> None:
    query = "(" * 1000 + "ti:a" + ")" * 1000
    (tmp_path / "papers.toml").write_text(
        f"[[topics]]\nname = \"A\"\nquery = '{query}'\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 2
    assert "nested deeper than 50" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def stored(tmp_path: Path, arxiv: FakeArxiv) -> Path:
    write_project(tmp_path, arxiv)
    assert CliRunner().invoke(cli, ["update"]).exit_code == 0
    return tmp_path


@pytest.mark.parametrize(
    "query",
    [
        "(" * 500 + "reward" + ")" * 500,
        "ti:",
        'cat:"cs.LG',
        "xx:reward",
        "submittedDate:[zz TO yy]",
    ],
)
def test_bad_search_syntax_is_a_syntax_error(stored: Path, query: str) -> None:
    result = CliRunner().invoke(cli, ["search", query])
    assert result.exit_code == 2, result.output
    assert "query syntax error" in result.stderr and "no stored paper matches" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- 14. arguments -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "reward", "--limit", "99999999999999999999"], "--limit"),
        (["backfill", "--since", "2099-01-01"], "is in the future"),
        (["backfill", "--since", "0001-01-01", "--until", "0001-01-20"], "before arXiv began"),
    ],
)
def test_absurd_arguments_are_usage_errors(stored: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_leading_dash_query_goes_after_double_dash(stored: Path) -> None:
    result = CliRunner().invoke(cli, ["search", "--", "-reward"])
    assert result.exit_code == 0, result.stderr
    assert "search -- -reward" in CliRunner().invoke(cli, ["search", "--help"]).stdout


# --- Also -------------------------------------------------------------------------------


def test_the_chat_headline_counts_new_papers_not_shown_ones() -> None:
    entries = tuple(Entry(paper(n, "A reward model " + "x" * 200)) for n in range(29))
    digest = Digest("Daily Papers", date(2025, 5, 21), (TopicDigest("T", entries),)).capped(3)
    assert render_chat(digest, 400).startswith("Daily Papers: 29 new papers")
    assert render_chat(digest, 80).startswith("Daily Papers: 29 new papers")  # nothing fits


def test_doctor_after_a_kill_after_the_commit_does_not_claim_a_rollback(stored: Path) -> None:
    config = load_config(stored / "papers.toml")
    with open_store(config.db_url) as store:
        # a run killed after its commit: its row stays "running", its process is gone
        store.start_run("update", owner=RunOwner(socket.gethostname(), dead_pid()))
        [runs] = [f for f in diagnose(store) if f.check == "runs"]
    assert not runs.ok and "kept if it committed" in runs.repair
    assert "their writes were rolled back" not in runs.repair


def dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_resumed_harvest_leaves_doctor_healthy(stored: Path) -> None:
    config = load_config(stored / "papers.toml")
    lock = str((config.state_dir / "harvest.lock").resolve())
    owner = RunOwner(socket.gethostname(), dead_pid(), lock)
    with open_store(config.db_url) as store:
        store.start_run("harvest", owner=owner)  # the killed harvest's row
    from dailypapers.harvest import HarvestRequest, run_harvest
    from dailypapers.offline.fake_oai import FakeOai

    with FakeOai(demo_corpus()) as oai:
        (stored / "papers.toml").write_text(
            (stored / "papers.toml").read_text() + f'[oai]\nurl = "{oai.url}"\ndelay = 0\n'
        )
        report = run_harvest(
            load_config(stored / "papers.toml"),
            HarvestRequest("cs", "arXivRaw", date(2025, 1, 1), date(2025, 12, 31)),
        )
    assert report.status == "complete", report.error
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text("<p>hello</p>", encoding="utf-8")
    (tmp_path / "topics").mkdir()
    (tmp_path / "topics" / "a.html").write_text("<p>a</p>", encoding="utf-8")
    server = make_server(tmp_path, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server_url(server)
    server.shutdown()
    server.server_close()


def test_serve_lists_no_folder_and_refuses_nul_bytes(served: str) -> None:
    listing = httpx.get(served + "topics/")
    assert listing.status_code == 404 and "a.html" not in listing.text
    assert httpx.get(served + "index.html%00.txt").status_code == 400
    assert httpx.get(served + "index.html").status_code == 200


def test_the_announcement_feed_skips_an_absurd_entry(caplog: pytest.LogCaptureFixture) -> None:
    from dailypapers.arxiv.feed import parse_listing

    fixture = Path(__file__).parent / "fixtures" / "feed"
    text = (fixture / "rss_atom_cs.AI_2025-08-20_new_and_cross.xml").read_text(encoding="utf-8")
    whole = parse_listing(text.encode())
    first = whole.entries[0].paper
    bad = text.replace(f"{first.id}v{first.version}<", f"{first.id}v99999999999999999999<", 1)
    listing = parse_listing(bad.encode())
    assert len(listing.entries) == len(whole.entries) - 1
    assert first.id in caplog.text and "skipped a bad arXiv feed entry" in caplog.text


# --- a stored value the code cannot read --------------------------------------------------


def test_a_damaged_stored_value_is_one_line_and_changes_nothing(
    tmp_path: Path, arxiv: FakeArxiv
) -> None:
    config_file = write_project(tmp_path, arxiv)
    assert run_update(load_config(config_file), now=WHEN).error is None
    database = tmp_path / ".dailypapers" / "papers.db"
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("UPDATE topic_fetch_state SET fetched_at = 'not a time'")
    readme = (tmp_path / "README.md").read_bytes()
    stored = _papers_and_links(database)
    runner = CliRunner()
    env = {"DAILYPAPERS_NOW": "2025-05-21T10:00:00+00:00"}
    done = runner.invoke(cli, ["update", "--config", str(config_file)], env=env)
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert len(lines[-1:]) == 1 and "Traceback" not in done.output
    assert "unexpected error: ValueError" in lines[-1] and "not a time" in lines[-1]
    assert (tmp_path / "README.md").read_bytes() == readme
    assert _papers_and_links(database) == stored
    debug = runner.invoke(cli, ["update", "--config", str(config_file), "--debug"], env=env)
    assert isinstance(debug.exception, ValueError)  # --debug lets it through


def _papers_and_links(database: Path) -> list[object]:
    with closing(sqlite3.connect(database)) as conn:
        return [
            conn.execute("SELECT * FROM papers ORDER BY id").fetchall(),
            conn.execute("SELECT * FROM topic_papers ORDER BY topic_id, paper_id").fetchall(),
            conn.execute("SELECT * FROM topic_fetch_state ORDER BY topic_id").fetchall(),
        ]


# -- odd arguments (a fuzz of every option, fourteenth session) ---------------------


def _odd(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stderr


def test_a_config_that_is_a_folder_is_one_config_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: "unexpected error: IsADirectoryError" from every command but init.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "papers.toml").mkdir()
    for args in (["check"], ["render"], ["check", "--config", ""], ["search", "x"]):
        code, err = _odd(args)
        assert code == 2 and err.endswith("is a directory, not a config file\n"), (args, err)


def test_search_with_a_pipe_or_a_device_for_a_config_does_not_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: search read it (a pipe without a writer blocked, /dev/zero never ended).
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "papers.toml")
    assert _odd(["search", "x"])[0] == 2
    code, err = _odd(["search", "x", "--config", "/dev/zero"])
    assert code == 2 and "/dev/zero: is a device, not a config file" in err


def test_paths_no_file_can_have_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: a traceback from init, "unexpected error" from workflow.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    code, err = _odd(["init", "--config", str(tmp_path / "loop")])
    assert code == 2 and err.endswith("a symbolic link that leads back to itself\n")
    for command in ("init", "workflow"):
        code, err = _odd([command, "--config", "A" * 300])
        assert code == 2 and err.endswith("…: File name too long\n") and err.count("\n") == 1


@pytest.mark.parametrize("bind", ["\u202ex", "127.0.0.1\n", "a b"])
def test_serve_refuses_an_address_that_is_no_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bind: str
) -> None:
    monkeypatch.chdir(tmp_path)  # before: "unexpected error: TypeError", or two lines
    code, err = _odd(["serve", "--port", "0", "--bind", bind])
    assert code == 2 and "not an IPv4 address or host name" in err and err.count("\n") == 1


def test_check_store_on_an_empty_database_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _odd(["init"])[0] == 0
    (tmp_path / ".dailypapers").mkdir()
    (tmp_path / ".dailypapers" / "papers.db").write_bytes(b"")
    code, err = _odd(["check", "--store"])  # before: "unexpected error: OperationalError"
    assert code == 1 and "no store at" in err and "run 'dailypapers update' first" in err


def test_backfill_until_far_in_the_future_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: accepted, and 416,000 empty weekly windows a topic were asked for.
    monkeypatch.chdir(tmp_path)
    assert _odd(["init"])[0] == 0
    code, err = _odd(["backfill", "--since", "2026-11-30", "--until", "9999-12-31"])
    assert (code, err) == (
        2,
        "dailypapers: --until 9999-12-31 is in the future (leave it out: today)\n",
    )
    code, err = _odd(["backfill", "--since", "0001-01-01"])
    assert err == "dailypapers: --since 0001-01-01 is before arXiv began (1991)\n"


def test_an_error_line_shows_no_bidi_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = _odd(["check", "--config", "\u202e.toml"])
    assert code == 2 and "\u202e" not in err and err.count("\n") == 1


def test_similar_with_no_arxiv_id_and_workflow_on_an_unreadable_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _odd(["init"])[0] == 0
    code, err = _odd(["similar", "x" * 100_000])  # before: exit 1, 100 kB echoed
    assert code == 2 and err.startswith("dailypapers: not an arXiv identifier: 'xxx")
    assert len(err) < 200
    (tmp_path / "papers.toml").unlink()
    os.mkfifo(tmp_path / "papers.toml")  # before: "no config at ...", as if it were missing
    code, err = _odd(["workflow"])
    assert code == 2 and "is a named pipe (FIFO), not a config file" in err
