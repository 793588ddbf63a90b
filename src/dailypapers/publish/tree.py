"""Publish a directory of files (the site, the feeds) all at once: old or new, never a mix.

The new tree is built in a hidden directory beside the target and swapped
in with one atomic ``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere (or on
a file system without it) with two renames, and a run killed between them
is repaired by the next (:func:`recover` puts the old tree back). A file
whose bytes (and mode) are those of the old tree's is hard-linked from it
instead of written again, and the replaced tree can be removed in the
background (:class:`Removals`): freeing durable blocks is slow on some
file systems (ext4 with ``discard``: 1.6 ms a file). Files the
renderer does not own (a ``CNAME``, your own notes) are carried over, and
owned files that are no longer rendered (a removed topic) disappear. An
unchanged tree is not touched at all, so a daily job makes no commit.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from dailypapers.publish.files import followed, fsync_dir

Owned = Callable[[str], bool]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}
_DIR_MODE = 0o755


def publish_tree(
    target: Path,
    files: Mapping[str, bytes],
    *,
    owned: Owned,
    force: bool = False,
    same_as: Mapping[str, Path] | None = None,
    removals: Removals | None = None,
) -> bool:
    """Make ``target`` hold exactly ``files`` (relative POSIX paths) among its owned files.

    ``owned(path)`` says which existing files belong to the renderer; the
    others are kept. ``same_as`` names files already published elsewhere
    with the same content (the site's copy of the feeds): they are
    hard-linked instead of written again where the file system allows it,
    and so is an owned file of the old tree with the same bytes. The
    replaced tree is removed before returning, or by ``removals`` (in the
    background) when given. Returns whether ``target`` changed.
    """
    _check_paths(files)
    target = followed(target)  # a linked folder: its target is published
    recover(target)
    if not force and _unchanged(target, files, owned):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    swapped = False
    try:
        os.chmod(staging, _mode_of(target))
        if target.is_dir():
            _carry_over(target, staging, owned)
            _unlink_linked_folders(staging, files)
        same = {**_same_in(target, files, owned), **(same_as or {})}
        for relative, content in sorted(files.items()):
            source = same.get(relative)
            if source is None or not _linked(source, staging / relative, len(content)):
                _write(staging / relative, content)
        _sync_tree(staging)
        _swap(staging, target)
        swapped = True
    finally:
        if swapped and removals is not None:
            removals.remove(staging)  # the old tree (or nothing)
        else:
            remove_path(staging)
    return True


def remove_path(path: Path) -> None:
    """Remove a folder, a file or a link at ``path``, quietly (what a swap left there).

    Usually a folder; a file when the target was replaced by one during the
    run (the swap then put that file here): it must not stay in the repository.
    """
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass  # the next publish's recover() tries again


class Removals:
    """Removes replaced trees in background threads; :meth:`wait` joins them.

    The trees are already out of the published path (hidden ``.NAME.new-*``
    folders beside it), so a process killed before they are gone leaves only
    what the next publish's :func:`recover` removes.
    """

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def remove(self, path: Path) -> None:
        """Start removing ``path`` (a folder) in the background."""
        thread = threading.Thread(target=remove_path, args=(path,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self) -> None:
        """Wait until every tree given to :meth:`remove` is gone."""
        for thread in self._threads:
            thread.join()
        self._threads.clear()


def recover(target: Path) -> None:
    """Finish or undo a publish that was killed: the old tree comes back if the new is not in."""
    parent = target.parent
    if not parent.is_dir():
        return
    for old in sorted(parent.glob(f".{target.name}.old-*")):
        if not target.exists():
            os.rename(old, target)
        else:
            remove_path(old)
    for staging in parent.glob(f".{target.name}.new-*"):
        remove_path(staging)


def current_files(target: Path, owned: Owned) -> dict[str, bytes]:
    """The owned files now in ``target`` (relative POSIX path → content)."""
    found: dict[str, bytes] = {}
    if not target.is_dir():
        return found
    for path in sorted(target.rglob("*")):
        relative = path.relative_to(target).as_posix()
        if path.is_file() and not path.is_symlink() and owned(relative):
            found[relative] = path.read_bytes()
    return found


def _check_paths(files: Mapping[str, bytes]) -> None:
    for relative in files:
        parts = relative.split("/")
        if relative.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not a safe relative path: {relative!r}")


def _unchanged(target: Path, files: Mapping[str, bytes], owned: Owned) -> bool:
    return target.is_dir() and current_files(target, owned) == dict(files)


def _same_in(target: Path, files: Mapping[str, bytes], owned: Owned) -> dict[str, Path]:
    """The files of ``files`` that ``target`` already holds, byte for byte, with the mode a
    new file gets (a file changed by hand, or made read-only, is written again)."""
    found: dict[str, Path] = {}
    if not target.is_dir():
        return found
    mode = _new_file_mode()
    for relative, content in files.items():
        path = target / relative
        try:
            status = path.lstat()
            if (
                stat.S_ISREG(status.st_mode)
                and status.st_size == len(content)
                and stat.S_IMODE(status.st_mode) == mode
                and owned(relative)
                and path.read_bytes() == content
            ):
                found[relative] = path
        except OSError:  # missing, or a folder on the way is a file
            continue
    return found


def _new_file_mode() -> int:
    """The mode ``open(path, "wb")`` gives a new file (0o666 less the umask)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _mode_of(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return _DIR_MODE


def _carry_over(source: Path, staging: Path, owned: Owned) -> None:
    """Hard-link (or copy) every file of ``source`` that the renderer does not own."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        if (path.is_dir() and not path.is_symlink()) or owned(relative):
            continue
        destination = staging / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            os.symlink(os.readlink(path), destination)
            continue
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)


def _unlink_linked_folders(staging: Path, files: Mapping[str, bytes]) -> None:
    """Remove the carried-over symlinks that stand where the new files' folders go.

    A link the renderer does not own (``site/feeds -> ../feeds``, made by
    hand) is carried over as a link; a file written under it would be
    written through it, in place, into the published folder it points to.
    The renderer's folder takes its place in the new tree instead.
    """
    folders: set[str] = set()
    for relative in files:
        folder = relative.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    for folder in sorted(folders):
        path = staging / folder
        if path.is_symlink():
            path.unlink()


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)


def _linked(source: Path, path: Path, size: int) -> bool:
    """Hard-link ``source`` (a published file of ``size`` bytes) at ``path``; False if not."""
    try:
        if not source.is_file() or source.is_symlink() or source.stat().st_size != size:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, path)
    except OSError:  # another file system, or one without hard links
        return False
    return True


def _sync_tree(root: Path) -> None:
    """Make the staged tree durable before the swap: one ``syncfs``, else fsync each entry."""
    if syncfs(root):
        return
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            _fsync_file(path)
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]:
        fsync_dir(directory)


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDWR)  # Windows syncs only what it may write
    except PermissionError:  # a read-only file carried over (a CNAME): POSIX syncs it still
        fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def syncfs(directory: Path) -> bool:
    """Flush the file system holding ``directory`` (Linux ``syncfs``); False where unavailable.

    One call makes every file and directory entry written under it durable,
    instead of one ``fsync`` per file (a site has hundreds). Before Linux
    5.8 ``syncfs`` did not report writeback errors (a failed write would
    pass for durable): there the caller fsyncs each file instead.
    """
    if not sys.platform.startswith("linux") or not reports_errors(kernel_release()):
        return False
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return False
    fd = os.open(directory, os.O_RDONLY)
    try:
        return bool(function(fd) == 0)
    finally:
        os.close(fd)


def kernel_release() -> str:
    return os.uname().release


def reports_errors(release: str) -> bool:
    """Whether a Linux of this release's ``syncfs`` reports writeback errors (5.8 and later)."""
    major, _, rest = release.partition(".")
    minor = rest.split(".", 1)[0].split("-", 1)[0]
    if not (major.isdigit() and minor.isdigit()):
        return False  # unknown: fsync each file, which always reports them
    return (int(major), int(minor)) >= (5, 8)


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` at ``target``; afterwards ``staging`` holds the old tree (or nothing)."""
    if not target.exists():
        os.rename(staging, target)
    elif not exchange(staging, target):
        old = staging.with_name(staging.name.replace(".new-", ".old-", 1))
        os.rename(target, old)
        try:
            os.rename(staging, target)  # killed before this line: recover() restores `old`
        except BaseException:  # an error or a signal (the deadline): the old tree goes back
            if not target.exists():
                os.rename(old, target)
            raise
        os.rename(old, staging)
    fsync_dir(target.parent)


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(second))
