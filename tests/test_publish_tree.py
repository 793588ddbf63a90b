"""Publishing a folder: old or new, never a mix; others' files kept; stale files gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dailypapers.publish import tree
from dailypapers.publish.tree import current_files, publish_tree, recover


def owned(relative: str) -> bool:
    return relative == "index.html" or relative.startswith("topics/")


OLD = {"index.html": b"old index", "topics/a.html": b"a", "topics/b.html": b"b"}
NEW = {"index.html": b"new index", "topics/a.html": b"a2"}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(params=["exchange", "two renames"])
def swap_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "two renames":
        monkeypatch.setattr(tree, "exchange", lambda first, second: False)
    return str(request.param)


def test_first_publish_then_replace_removing_stale_and_keeping_others(
    tmp_path: Path, swap_mode: str
) -> None:
    site = tmp_path / "site"
    assert publish_tree(site, OLD, owned=owned)
    assert snapshot(site) == OLD
    (site / "CNAME").write_bytes(b"papers.example.org")
    (site / "notes").mkdir()
    (site / "notes" / "mine.md").write_bytes(b"keep me")
    assert publish_tree(site, NEW, owned=owned)
    assert snapshot(site) == {**NEW, "CNAME": b"papers.example.org", "notes/mine.md": b"keep me"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # no leftovers
    assert oct(site.stat().st_mode & 0o777) == "0o755"


def test_unchanged_tree_is_not_touched(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    inode, mtime = site.stat().st_ino, (site / "index.html").stat().st_mtime_ns
    assert not publish_tree(site, dict(OLD), owned=owned)
    assert site.stat().st_ino == inode and (site / "index.html").stat().st_mtime_ns == mtime
    assert publish_tree(site, dict(OLD), owned=owned, force=True)


def test_a_failure_while_building_leaves_the_old_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap_mode: str
) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    writes = []

    def failing_write(path: Path, content: bytes) -> None:
        writes.append(path)
        if len(writes) == 2:
            raise OSError(28, "No space left on device")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    monkeypatch.setattr(tree, "_write", failing_write)
    with pytest.raises(OSError, match="No space"):
        publish_tree(site, NEW, owned=owned)
    assert snapshot(site) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_killed_between_the_two_renames_recovers_the_old_tree(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    # What a kill right after `rename(target, old)` leaves behind:
    os.rename(site, tmp_path / ".site.old-abc123")
    staging = tmp_path / ".site.new-abc123"
    staging.mkdir()
    (staging / "index.html").write_bytes(b"half")
    recover(site)
    assert snapshot(site) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_killed_after_the_swap_cleans_up(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_tree(site, NEW, owned=owned)
    (tmp_path / ".site.old-x").mkdir()
    (tmp_path / ".site.new-y").mkdir()
    assert publish_tree(site, OLD, owned=owned)
    assert snapshot(site) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_paths_must_stay_inside(tmp_path: Path) -> None:
    for bad in ("../x", "/etc/x", "a//b", "./a", "a/../../b"):
        with pytest.raises(ValueError, match="not a safe relative path"):
            publish_tree(tmp_path / "site", {bad: b""}, owned=owned)
    assert not (tmp_path / "site").exists()


def test_current_files_lists_only_owned(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    (site / "CNAME").write_bytes(b"x")
    assert current_files(site, owned) == OLD


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux-only")
def test_exchange_swaps_atomically(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("a")
    (tmp_path / "b").mkdir()
    assert tree.exchange(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b" / "f").read_text() == "a" and not (tmp_path / "a" / "f").exists()


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from dailypapers.publish import tree
real = tree._write
def slow(path, content):
    real(path, content)
    time.sleep(0.005)
tree._write = slow
files = {f"topics/{n}.html": sys.argv[2].encode() for n in range(60)}
files["index.html"] = sys.argv[2].encode()
tree.publish_tree(Path(sys.argv[1]), files, owned=lambda r: True)
print("done", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.15, 0.3, 0.6])
def test_killed_at_any_moment_leaves_old_or_new(tmp_path: Path, delay: float) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(site), "old"], check=True)
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(site), "new"])
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    recover(site)
    contents = {p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert contents in ({b"old"}, {b"new"})
    assert len(list(site.rglob("*.html"))) == 61
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_tree_is_made_durable_by_one_syncfs_not_a_fsync_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs: list[int] = []
    real_fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counted_fsync)
    files = {f"page-{n}.html": b"x" for n in range(50)}
    assert publish_tree(tmp_path / "site", files, owned=lambda _: True)
    if tree.syncfs(tmp_path):
        assert len(fsyncs) <= 2  # the parent directory after the swap, not the 50 files
    assert current_files(tmp_path / "site", lambda _: True) == files


def test_without_syncfs_every_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs: list[int] = []
    real_fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counted_fsync)
    monkeypatch.setattr(tree, "syncfs", lambda directory: False)
    files = {f"page-{n}.html": b"x" for n in range(5)}
    assert publish_tree(tmp_path / "site", files, owned=lambda _: True)
    assert len(fsyncs) >= 5


def test_a_file_with_the_old_bytes_is_linked_not_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    (site / "topics" / "b.html").chmod(0o600)  # changed by hand: written again
    inodes = {name: (site / name).stat().st_ino for name in OLD}
    written: list[str] = []
    real_write = tree._write

    def counted_write(path: Path, content: bytes) -> None:
        written.append(path.name)
        real_write(path, content)

    monkeypatch.setattr(tree, "_write", counted_write)
    assert publish_tree(site, {**OLD, "topics/a.html": b"a2"}, owned=owned, force=True)
    assert snapshot(site) == {**OLD, "topics/a.html": b"a2"}
    assert sorted(written) == ["a.html", "b.html"]
    assert (site / "index.html").stat().st_ino == inodes["index.html"]
    assert (site / "topics" / "a.html").stat().st_ino != inodes["topics/a.html"]
    assert oct((site / "topics" / "b.html").stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_the_replaced_tree_is_removed_in_the_background(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    removals = tree.Removals()
    assert publish_tree(site, NEW, owned=owned, removals=removals)
    assert snapshot(site) == NEW  # published before the old tree is gone
    removals.wait()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_failed_publish_removes_its_staging_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    monkeypatch.setattr(tree, "_sync_tree", lambda root: (_ for _ in ()).throw(OSError(5, "EIO")))
    with pytest.raises(OSError, match="EIO"):
        publish_tree(site, NEW, owned=owned, removals=tree.Removals())
    assert snapshot(site) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_linked_folder_in_the_tree_is_replaced_not_written_through(
    tmp_path: Path, swap_mode: str
) -> None:
    """``site/topics -> ../elsewhere`` made by hand: the new tree gets its own folder; the
    old code wrote the owned files through the link, in place (truncating the live ones)."""
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.html").write_bytes(b"live")
    inode = (elsewhere / "a.html").stat().st_ino
    publish_tree(site, {"index.html": b"old index"}, owned=owned)
    (site / "topics").symlink_to(elsewhere)
    (site / "other").symlink_to(elsewhere)  # not where a new file goes: kept as a link
    assert publish_tree(site, NEW, owned=owned)
    assert not (site / "topics").is_symlink() and snapshot(site / "topics") == {"a.html": b"a2"}
    assert (site / "other").is_symlink()
    assert (elsewhere / "a.html").read_bytes() == b"live"
    assert (elsewhere / "a.html").stat().st_ino == inode


def test_a_signal_between_the_two_renames_puts_the_old_tree_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without renameat2 (macOS, Windows): the deadline or Ctrl-C after the old tree moved
    aside; the old code then removed the new one, and the site was gone until a later run."""
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    monkeypatch.setattr(tree, "exchange", lambda first, second: False)
    real = os.rename

    def interrupted(source: object, destination: object) -> None:
        if ".new-" in str(source) and Path(str(destination)) == site:
            raise KeyboardInterrupt
        real(source, destination)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        publish_tree(site, NEW, owned=owned)
    assert snapshot(site) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_read_only_file_carried_over_is_synced_without_syncfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only CNAME kept in the site: opening it for writing to fsync it failed."""
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    (site / "CNAME").write_bytes(b"papers.example.org")
    (site / "CNAME").chmod(0o444)
    monkeypatch.setattr(tree, "syncfs", lambda directory: False)
    real = os.open

    def no_write_access(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).endswith("CNAME") and flags & os.O_RDWR:  # as for a user who is not root
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_write_access)
    real_open = open

    def no_write_open(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if str(path).endswith("CNAME") and "+" in mode:  # the same through open()
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", no_write_open)
    assert publish_tree(site, NEW, owned=owned)
    assert snapshot(site) == {**NEW, "CNAME": b"papers.example.org"}


def test_a_target_replaced_by_a_file_during_the_run_leaves_nothing_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap_mode: str
) -> None:
    """The swap puts that file where the old tree would go: it is removed, not left in the repo."""
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    sync = tree._sync_tree

    def replaced_meanwhile(root: Path) -> None:
        sync(root)
        tree.remove_path(site)
        site.write_text("someone's file")

    monkeypatch.setattr(tree, "_sync_tree", replaced_meanwhile)
    removals = tree.Removals()
    assert publish_tree(site, NEW, owned=owned, removals=removals)
    removals.wait()
    assert snapshot(site) == NEW
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_recover_removes_a_file_left_where_a_tree_would_be(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publish_tree(site, OLD, owned=owned)
    (tmp_path / ".site.new-x").write_text("a file a swap left")
    (tmp_path / ".site.old-y").write_text("and another")
    recover(site)
    assert snapshot(site) == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.mark.parametrize(
    ("release", "reports"),
    [
        ("6.1.0-18-amd64", True),
        ("5.8.0", True),
        ("5.10.102.1-microsoft-standard-WSL2", True),
        ("5.4.0-150-generic", False),  # syncfs passes a failed writeback for durable
        ("4.19.0", False),
        ("weird", False),
    ],
)
def test_syncfs_is_trusted_only_where_it_reports_writeback_errors(
    release: str, reports: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tree.reports_errors(release) is reports
    monkeypatch.setattr(tree, "kernel_release", lambda: release)
    if not reports:
        assert tree.syncfs(tmp_path) is False  # each file is fsynced instead
