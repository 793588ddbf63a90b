"""Odd files where the config or init's files go: one line and exit code, never a hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.configfile import MAX_CONFIG_BYTES


def in_new_process(folder: Path, command: str) -> subprocess.CompletedProcess[str]:
    """``dailypapers COMMAND`` in ``folder``, as its own process: what would block
    forever is caught by the timeout instead of hanging the test run."""
    return subprocess.run(
        [sys.executable, "-m", "dailypapers", command],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def check(config: Path | str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", "--config", str(config)])
    return result.exit_code, result.output


def test_a_fifo_config_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "papers.toml")
    done = in_new_process(tmp_path, "update")  # a plain read would block forever
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"dailypapers: config error: {tmp_path / 'papers.toml'}: is a named pipe (FIFO), "
        "not a config file"
    ]


def test_a_huge_config_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "papers.toml"
    with path.open("wb") as file:
        file.truncate(MAX_CONFIG_BYTES + 1)  # sparse: no disk
    code, output = check(path)
    assert code == 2
    assert output.startswith(f"dailypapers: config error: {path}: larger than 4 MB")


def test_a_device_config_is_refused() -> None:
    assert check("/dev/zero") == (
        2,
        "dailypapers: config error: /dev/zero: is a device, not a config file\n",
    )


def test_a_config_of_the_largest_size_is_read(tmp_path: Path) -> None:
    path = tmp_path / "papers.toml"
    text = '[[topics]]\nname = "Reward Model"\n'
    path.write_text(text + "#" * (MAX_CONFIG_BYTES - len(text) - 1) + "\n", encoding="utf-8")
    code, output = check(path)
    assert code == 0, output


@pytest.mark.parametrize("args", [["init"], ["init", "--force"]])
def test_init_over_a_folder_says_so(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "papers.toml").mkdir()  # the test runs in tmp_path (conftest)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output == (
        f"dailypapers: {tmp_path / 'papers.toml'} is a folder; move it away, or write elsewhere\n"
    )


@pytest.mark.parametrize("args", [["render"], ["search", "x"], ["doctor"], ["check", "--store"]])
def test_a_store_that_is_a_folder_is_named_so(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    (tmp_path / ".dailypapers" / "papers.db").mkdir(parents=True)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"dailypapers: failed: {tmp_path / '.dailypapers' / 'papers.db'} is a folder, "
        "not a SQLite database file; move it away, or name a file in [store] url"
    )


def test_a_store_url_in_a_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "Reward Model"\n[store]\nurl = "sqlite:////proc/none/x.db"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 1
    assert result.output == (
        "dailypapers: failed: cannot make the store's folder /proc/none: "
        "No such file or directory\n"
    )


@pytest.mark.parametrize("until", ["0001-01-01", "9999-12-31"])
def test_check_until_at_the_ends_of_the_calendar_is_a_usage_error(
    tmp_path: Path, until: str
) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    for args in (["--store"], ["--count"]):
        result = CliRunner().invoke(cli, ["check", *args, "--until", until])
        assert result.exit_code == 2, result.output
        assert result.output == f"dailypapers: --until {until} is not between 1991 and 9900\n"


def test_a_clock_at_year_one_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    monkeypatch.setenv("DAILYPAPERS_NOW", "0001-01-01T00:00:00+00:00")
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 2
    assert "is not between 1991 and 9900" in result.output


def test_a_readme_that_is_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    os.mkfifo(tmp_path / "README.md")
    done = in_new_process(tmp_path, "render")  # reading the old README would block
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"dailypapers: config error: {tmp_path / 'papers.toml'}: readme.path: README.md is a "
        "named pipe, socket or device, not a file; remove it"
    ]


def test_a_store_that_is_a_fifo_is_named_so(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    (tmp_path / ".dailypapers").mkdir()
    os.mkfifo(tmp_path / ".dailypapers" / "papers.db")
    result = CliRunner().invoke(cli, ["render"])
    assert result.exit_code == 1
    assert "papers.db is a named pipe, socket or device, not a SQLite database file" in (
        result.output
    )
