"""A reader that closes our stdout (``dailypapers update | head -0``) ends the command quietly.

Exit 141 (as a shell reports ``yes | head``), no "unexpected error" line, and
the run's work kept: its outputs written, its ``runs`` row recorded. The
commands run in new processes whose stdout is a pipe closed before they print.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dailypapers.errors import EXIT_CLOSED_OUTPUT, closed_output
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv

NOW = "2025-05-14T12:00:00+00:00"  # a Wednesday evening: arXiv announced


@pytest.fixture(scope="module")
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture
def project(tmp_path: Path, server: FakeArxiv) -> Path:
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "Reward Model"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    return tmp_path


def closed_stdout(
    folder: Path, *args: str, stderr_too: bool = False
) -> subprocess.CompletedProcess[str]:
    """``dailypapers ARGS | head -0`` (``2>&1 | head -0``): a pipe whose reader is gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "dailypapers", *args],
            cwd=folder,
            stdout=write,
            stderr=write if stderr_too else subprocess.PIPE,
            text=True,
            timeout=120,
            env={**os.environ, "DAILYPAPERS_NOW": NOW},
            check=False,
        )
    finally:
        os.close(write)


def runs(folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(folder / ".dailypapers" / "papers.db") as conn:
        return list(conn.execute("SELECT command, status FROM runs ORDER BY id"))


def test_update_into_a_closed_pipe_keeps_its_work_and_exits_quietly(project: Path) -> None:
    done = closed_stdout(project, "update")
    assert done.returncode == EXIT_CLOSED_OUTPUT, done.stderr
    assert "error" not in done.stderr and "Traceback" not in done.stderr
    assert "wrote README.md" in done.stderr  # progress on stderr still shows
    assert "Reward Model" in (project / "README.md").read_text(encoding="utf-8")
    assert runs(project) == [("update", "updated")]


def test_progress_into_a_closed_pipe_does_not_stop_the_run(project: Path) -> None:
    """``update 2>&1 | head -1``: progress is lost, the run is not."""
    done = closed_stdout(project, "update", stderr_too=True)
    assert done.returncode == EXIT_CLOSED_OUTPUT
    assert "Reward Model" in (project / "README.md").read_text(encoding="utf-8")
    assert runs(project) == [("update", "updated")]


@pytest.mark.parametrize(
    "args",
    [["check"], ["search", "reward"], ["render"], ["doctor"], ["update", "--force"]],
    ids=" ".join,
)
def test_every_command_ends_quietly_on_a_closed_stdout(project: Path, args: list[str]) -> None:
    assert closed_stdout(project, "update").returncode == EXIT_CLOSED_OUTPUT  # a store to read
    done = closed_stdout(project, *args)
    assert done.returncode == EXIT_CLOSED_OUTPUT, done.stderr
    assert "unexpected" not in done.stderr and "Traceback" not in done.stderr


def test_a_broken_pipe_elsewhere_is_no_closed_output() -> None:
    """A socket a server closed is a real failure, not ``| head``."""
    assert not closed_output(BrokenPipeError(32, "Broken pipe"))
    assert not closed_output(ValueError("x"))


def test_a_stdout_closed_before_the_start_is_no_error(project: Path) -> None:
    """``dailypapers search x >&-``: Python has no stdout at all."""
    assert closed_stdout(project, "update").returncode == EXIT_CLOSED_OUTPUT
    done = subprocess.run(
        [sys.executable, "-m", "dailypapers", "search", "reward"],
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_full_stdout_is_one_line(project: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "dailypapers", "check"],
            cwd=project,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr == (
        "dailypapers: failed: No space left on device: free some space and run again "
        "(each output is replaced whole or left as it was)\n"
    )


def _socket_broken_pipe() -> BrokenPipeError:
    """The error writing to a socket whose other side closed (a server gone)."""
    mine, theirs = socket.socketpair()
    theirs.close()
    try:
        while True:
            mine.sendall(b"x" * 65536)
    except BrokenPipeError as exc:
        return exc
    finally:
        mine.close()


def test_a_sockets_broken_pipe_is_no_closed_output_with_stdout_gone_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Failed on the old code: any broken pipe counted once stdout's reader was gone."""
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as gone:
        monkeypatch.setattr(sys, "stdout", gone)
        with pytest.raises(BrokenPipeError) as stdout_error:
            gone.write("x\n")
            gone.flush()
        assert closed_output(stdout_error.value)  # the stdout pipe: closed output
        assert not closed_output(_socket_broken_pipe())  # a socket: a network error
        monkeypatch.undo()
        with contextlib.suppress(BrokenPipeError):
            gone.close()


SOCKET_COMMAND = """
import socket, click
from dailypapers.cli import Group, handle_errors

@click.group(cls=Group)
def group() -> None:
    pass

@group.command()
@click.option("--debug", is_flag=True)
@handle_errors
def send(debug: bool) -> None:
    mine, theirs = socket.socketpair()
    theirs.close()
    while True:
        mine.sendall(b"x" * 65536)

group(prog_name="dailypapers")
"""


def test_a_sockets_broken_pipe_is_a_network_error_line(tmp_path: Path) -> None:
    """``| head`` and a server closing the connection: the server's is the error (was exit 141)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-c", SOCKET_COMMAND, "send"],
            cwd=tmp_path,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("dailypapers: failed: network error: the connection was closed")
    assert len(done.stderr.splitlines()) == 1
