"""``dailypapers init`` checks every file it will write before writing any: all or nothing."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers import cli as cli_module
from dailypapers.cli import cli


def init(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["init", *args])
    return result.exit_code, result.stderr


def one_line(stderr: str) -> bool:
    return "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_a_github_file_fails_before_papers_toml_is_written(tmp_path: Path) -> None:
    """Failed on the old code: papers.toml was written, then the workflow failed."""
    (tmp_path / ".github").write_text("not a folder", encoding="utf-8")
    code, err = init("--github")
    assert code == 1 and one_line(err)
    assert ".github is a file, not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".github"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda root: (root / ".github").mkdir() or (root / ".github/workflows").touch(),
            "is a file",
        ),
        (lambda root: (root / ".github/workflows/daily-papers.yml").mkdir(parents=True), "folder"),
    ],
)
def test_anything_in_the_workflows_way_writes_nothing(
    tmp_path: Path, make: object, message: str
) -> None:
    assert callable(make)
    make(tmp_path)
    code, err = init("--github")
    assert code == 1 and one_line(err) and message in err
    assert not (tmp_path / "papers.toml").exists()


def test_a_bad_install_spec_is_a_usage_error_before_any_write(tmp_path: Path) -> None:
    """Failed on the old code: papers.toml written, then a ValueError traceback."""
    code, err = init("--github", "--install", "")
    assert code == 2 and one_line(err) and "--install" in err
    assert list(tmp_path.iterdir()) == []
    result = CliRunner().invoke(cli, ["workflow", "--install", "a\nb"])
    assert result.exit_code == 2 and one_line(result.stderr) and "--install" in result.stderr


def test_a_file_where_the_configs_folder_goes(tmp_path: Path) -> None:
    (tmp_path / "f").touch()
    code, err = init("--config", "f/papers.toml")
    assert code == 1 and one_line(err) and "f is a file, not a folder" in err


def test_a_workflow_that_cannot_be_written_takes_papers_toml_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that fills between the two files: neither is left (old code kept papers.toml)."""

    def full(path: Path, content: str | bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    (tmp_path / "papers.toml").write_text("# mine\n", encoding="utf-8")
    monkeypatch.setattr(cli_module, "write_atomic", full)
    code, err = init("--github", "--force")
    assert code == 1 and one_line(err) and "cannot write" in err
    assert (tmp_path / "papers.toml").read_text(encoding="utf-8") == "# mine\n"
    assert not (tmp_path / ".github/workflows/daily-papers.yml").exists()


def test_a_read_only_folder_writes_nothing(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a read-only bind mount")
    (tmp_path / ".github").mkdir()
    script = (
        f"mount --bind -o ro {tmp_path}/.github {tmp_path}/.github && "
        f"{sys.executable} -m dailypapers init --github"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "mount" in done.stderr and "dailypapers" not in done.stderr:
        pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")
    assert done.returncode == 1 and one_line(done.stderr), done.stderr
    assert "cannot write in" in done.stderr and not (tmp_path / "papers.toml").exists()


def test_a_fifo_or_device_in_a_files_place_is_refused_not_read(tmp_path: Path) -> None:
    """``init --force`` replaced /dev/full with papers.toml (failed on the old code), and
    remembering what --force replaces blocked reading a FIFO (the previous commit)."""
    os.mkfifo(tmp_path / "papers.toml")
    done = subprocess.run(
        [sys.executable, "-m", "dailypapers", "init", "--force"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # a guard against hanging, not a measurement
    )
    assert done.returncode == 1 and one_line(done.stderr), done.stderr
    assert "is a named pipe (FIFO), not a file" in done.stderr
    if os.geteuid() != 0:
        return  # a device node of our own needs root (never try on /dev's own)
    device = tmp_path / "full"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # as /dev/full
    code, err = init("--config", str(device), "--force")
    assert code == 1 and one_line(err) and "full is a device, not a file" in err
    assert device.is_char_device()


def test_files_that_are_kept_are_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failed on the previous commit: a second `init` in a folder it could not write to (or
    `workflow` over an existing file) failed, where every file is kept and nothing written."""
    assert init("--github")[0] == 0
    import dailypapers.scaffold as scaffold

    monkeypatch.setattr(scaffold, "in_the_way", lambda path: f"cannot write in {path.parent}")
    again = CliRunner().invoke(cli, ["init", "--github"])
    assert again.exit_code == 0 and "nothing written" in again.output
    result = CliRunner().invoke(cli, ["workflow"])
    assert result.exit_code == 2 and "use --force" in result.stderr
    assert result.stderr.count("\n") == 1  # before: "kept ... (exists ...)" above it too
    assert init("--force")[0] == 1  # written: checked


def test_install_belongs_to_the_workflow_and_its_hint_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: `init --install X` without --github was silently ignored, and with a spec
    # of one's own the hint's plain upgrade would have replaced it with the release's.
    monkeypatch.chdir(tmp_path)
    alone = CliRunner().invoke(cli, ["init", "--install", "git+https://example.org/dp.git"])
    assert alone.exit_code == 2 and "add --github" in alone.stderr
    assert not (tmp_path / "papers.toml").exists()
    done = CliRunner().invoke(cli, ["init", "--github", "--install", "./dailypapers"])
    assert done.exit_code == 0, done.output
    assert "dailypapers workflow --force --install SPEC" in done.stdout
    assert "pip install -U dailypapers" not in done.stdout
