"""A run lock that cannot be taken says what is in the way and how to fix it.

Not "is the project read-only?" for a ``run.lock`` that is a folder, a FIFO
or another user's file, or a ``.dailypapers`` that is a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers import runlock
from dailypapers.cli import cli
from dailypapers.runlock import RunFailed, state_lock


def problem(state_dir: Path) -> str:
    with pytest.raises(RunFailed) as failed, state_lock(state_dir, 0):
        pass
    return str(failed.value)


def test_a_lock_that_is_a_folder_is_named_so(tmp_path: Path) -> None:
    (tmp_path / "run.lock").mkdir()
    message = problem(tmp_path)
    assert message.startswith(f"{tmp_path / 'run.lock'} is a folder, not dailypapers' run lock")
    assert "remove it" in message and "read-only" not in message


def test_a_lock_that_is_a_fifo_is_named_so(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "run.lock")
    assert "is a named pipe (FIFO), not dailypapers' run lock" in problem(tmp_path)


def test_a_state_folder_that_is_a_file_is_named_so(tmp_path: Path) -> None:
    (tmp_path / ".dailypapers").write_text("not a folder", encoding="utf-8")
    message = problem(tmp_path / ".dailypapers")
    assert message.startswith(f"{tmp_path / '.dailypapers'} is a file, not dailypapers' state")
    assert "read-only" not in message


def test_a_lock_another_user_made_is_named_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root opens any file: the refusal a normal user meets is simulated."""
    (tmp_path / "run.lock").touch()

    def refused(*args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runlock, "_acquire", refused)
    message = problem(tmp_path)
    assert message.startswith(f"cannot open the run lock {tmp_path / 'run.lock'}: permission")
    assert "read-only" not in message


def test_a_read_only_project_is_still_called_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*args: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(runlock, "_acquire", read_only)
    assert "is the project read-only?" in problem(tmp_path)


def test_the_command_line_says_it_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    (tmp_path / ".dailypapers" / "run.lock").mkdir(parents=True)
    result = CliRunner().invoke(cli, ["render", "--config", str(tmp_path / "papers.toml")])
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith("dailypapers: failed: ") and "is a folder" in line


def test_a_run_lock_that_is_a_symlink_loop_is_one_line(tmp_path: Path) -> None:
    """``run.lock -> run.lock``: Python 3.11's resolve raised RuntimeError ("unexpected")."""
    (tmp_path / "run.lock").symlink_to("run.lock")
    with pytest.raises(RunFailed) as failed, state_lock(tmp_path, 0):
        pass
    message = str(failed.value)
    assert message.startswith(f"cannot use the run lock {tmp_path / 'run.lock'}: ")
    assert message.endswith("remove it and run again") and "\n" not in message
