"""Write outputs atomically: readers see the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def write_atomic(path: Path, content: str | bytes) -> None:
    """Replace ``path`` with ``content`` via a temporary file, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in _utf8_chunks(content):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        _keep_mode(path, Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _utf8_chunks(content: str | bytes, size: int = 1 << 20) -> Iterator[bytes]:
    """``content`` as UTF-8, a megabyte of text at a time (no second copy of a large output)."""
    if isinstance(content, bytes):
        yield content
        return
    for start in range(0, len(content), size):
        yield content[start : start + size].encode("utf-8")


def write_if_changed(
    path: Path,
    content: str,
    *,
    same: Callable[[str, str], bool] = str.__eq__,
    force: bool = False,
) -> bool:
    """Write ``content`` unless the file already holds the same (by ``same``).

    Returns whether the file was written. Unchanged outputs keep their bytes
    and mtime, so a daily job with nothing new makes no commit.
    """
    if not force:
        try:
            old = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            old = None
        if old is not None and same(old, content):
            return False
    write_atomic(path, content)
    return True


def remove_stale_temps(path: Path) -> int:
    """Delete temporary files a killed writer of ``path`` left behind.

    Call only while holding the project's run lock (no writer is running).
    """
    removed = 0
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
        removed += 1
    return removed


def _keep_mode(old: Path, new: Path) -> None:
    try:
        os.chmod(new, old.stat().st_mode & 0o7777)
    except FileNotFoundError:
        os.chmod(new, 0o644)


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
