"""Write outputs atomically: readers see the old file or the new one, never half."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

CHUNK_CHARS = 1 << 16  # text encoded and written at a time


def write_atomic(path: Path, content: str | bytes) -> None:
    """Replace ``path`` with ``content`` via a temporary file, fsync and rename."""
    write_parts(path, [content])


def write_parts(
    path: Path,
    parts: Iterable[str | bytes],
    *,
    unchanged: Callable[[IO[bytes]], bool] | None = None,
) -> bool:
    """Replace ``path`` with the concatenated ``parts``, written as they come; or leave it.

    The parts go to a temporary file next to ``path`` (so a caller can render
    a large output a piece at a time without holding all of it). When
    ``unchanged`` is given and says the written file (open, at its end) holds
    nothing new, the temporary file is removed and ``path`` left as it is
    (returns False); otherwise the file is synced and renamed over ``path``.
    Any failure, rendering included, removes the temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as handle:
            for part in parts:
                for chunk in _utf8_chunks(part):
                    handle.write(chunk)
            handle.flush()
            keep = unchanged is not None and unchanged(handle)
            if not keep:
                os.fsync(handle.fileno())
        if keep:
            os.unlink(tmp)
            return False
        _keep_mode(path, Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return True


def _utf8_chunks(content: str | bytes, size: int = CHUNK_CHARS) -> Iterator[bytes]:
    """``content`` as UTF-8, a slice of text at a time (no second copy of a large output)."""
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


def write_lines_if_changed(
    path: Path,
    parts: Iterable[str],
    *,
    ignored: Callable[[str], bool] = lambda line: False,
    force: bool = False,
) -> bool:
    """:func:`write_if_changed` for text rendered in ``parts``, compared line by line.

    The new text is written to the temporary file as it is rendered, then
    compared with the file in place a line at a time, so neither is ever
    held whole. A line for which ``ignored`` is true (the README's date line)
    compares as empty in both. The same verdict as ``write_if_changed`` with
    ``same`` comparing the two texts with those lines emptied (the file in
    place is read with universal newlines, as ``Path.read_text`` reads it).
    """

    def unchanged(written: IO[bytes]) -> bool:
        return not force and _same_lines(path, written, ignored)

    return write_parts(path, parts, unchanged=unchanged)


def _same_lines(path: Path, written: IO[bytes], ignored: Callable[[str], bool]) -> bool:
    """Whether ``path`` holds the text of ``written`` (UTF-8), ``ignored`` lines emptied."""

    def line(text: str) -> str:
        return text[len(text.rstrip("\n")) :] if ignored(text) else text

    written.seek(0)
    new = (raw.decode("utf-8") for raw in written)  # split at "\n" only
    try:
        with path.open(encoding="utf-8") as old:  # universal newlines, as read_text reads it
            # An emptied last line without its "\n" is nothing: drop every empty line.
            kept_old, kept_new = filter(None, map(line, old)), filter(None, map(line, new))
            return all(a == b for a, b in itertools.zip_longest(kept_old, kept_new))
    except (FileNotFoundError, UnicodeDecodeError):
        return False


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
