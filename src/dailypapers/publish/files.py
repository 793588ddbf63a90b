"""Write outputs atomically: readers see the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
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
    Any failure, rendering included, removes the temporary file. A symlink
    at ``path`` is followed (:func:`followed`).
    """
    path = followed(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temp_beside(path)
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


def _temp_beside(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path`` (``.NAME.xxxx.tmp``), made for writing it. Its
    error names ``path``: "Read-only file system: 'README.md'", not the random name."""
    try:
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def followed(path: Path) -> Path:
    """Where an output at ``path`` is written: a symlink's target (``README.md ->
    docs/index.md``), as a symlinked output folder is published in its target's
    place, and as the config's path checks resolve it; the link itself stays."""
    return path.resolve() if path.is_symlink() else path


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

    The new text is compared with the file in place a line at a time as it is
    rendered, and written to a temporary file beside it, so neither is ever
    held whole. A line for which ``ignored`` is true (the README's date line)
    compares as empty in both. The same verdict as ``write_if_changed`` with
    ``same`` comparing the two texts with those lines emptied (the file in
    place is read with universal newlines, as ``Path.read_text`` reads it).

    An unchanged file needs no temporary file: when it cannot be made or
    written (a read-only folder, a full disk) the comparison goes on alone
    and an unchanged file is still left as it is (returns False); a changed
    one raises that error, with nothing half-written, as soon as both are
    known: the parts after that are not rendered (nor anything they call:
    the README's ``first``, which publishes the other outputs).
    """
    path = followed(path)
    if force:
        return write_parts(path, parts)
    with _Staged(path) as staged:
        same = _same_lines(path, staged.tee(parts), ignored, differs=staged.needed)
        if same:
            return False
        staged.commit()
    fsync_dir(path.parent)
    return True


class _Staged:
    """A temporary file beside ``path`` that may fail to be made or written: the error is kept.

    :meth:`tee` writes each part it passes on; :meth:`commit` renames the file
    over ``path``, or raises the kept error. Once :meth:`needed` (the file
    differs), the kept error is raised at once. Leaving without a commit
    removes it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.need = False
        self.error: OSError | None = None
        self.handle: IO[bytes] | None = None
        self.tmp: Path | None = None

    def __enter__(self) -> _Staged:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _temp_beside(self.path)
        except OSError as exc:  # read-only, not ours, full: compare without it
            self.error = exc
        else:
            self.tmp, self.handle = Path(tmp), os.fdopen(fd, "wb")
        return self

    def __exit__(self, *exc: object) -> None:
        self._drop()

    def tee(self, parts: Iterable[str]) -> Iterator[str]:
        """``parts`` as they are rendered, each written to the file (while it can be)."""
        for part in parts:
            if self.handle is not None:
                try:
                    for chunk in _utf8_chunks(part):
                        self.handle.write(chunk)
                except OSError as exc:  # a full disk: free what was written at once
                    self.error = exc
                    self._drop()
            if self.need and self.error is not None:
                raise self.error
            yield part

    def needed(self) -> None:
        """The file differs: it must be written, so its error (now or later) is raised."""
        self.need = True
        if self.error is not None:
            raise self.error

    def commit(self) -> None:
        """Sync the file and rename it over ``path``; raise the error that stopped it."""
        if self.error is not None or self.handle is None or self.tmp is None:
            raise self.error or OSError(f"cannot write {self.path}")
        handle, tmp = self.handle, self.tmp
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            _keep_mode(self.path, tmp)
            os.replace(tmp, self.path)
        except OSError:
            self._drop()
            raise
        self.handle = self.tmp = None

    def _drop(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
        self.handle = self.tmp = None


def _same_lines(
    path: Path,
    parts: Iterable[str],
    ignored: Callable[[str], bool],
    differs: Callable[[], object] = lambda: None,
) -> bool:
    """Whether ``path`` holds the text of ``parts``, ``ignored`` lines emptied.

    ``parts`` are read to their end whatever the verdict (they are being
    written); ``differs`` is called first when the verdict is "not the same".
    """

    def line(text: str) -> str:
        return text[len(text.rstrip("\n")) :] if ignored(text) else text

    new = _lines(parts)  # split at "\n" only
    # Only the file in place may be missing or undecodable: an error of the
    # rendering (``parts``) goes on, and nothing is committed.
    with contextlib.closing(_old_lines(path)) as old:
        # An emptied last line without its "\n" is nothing: drop every empty line.
        kept_old, kept_new = filter(None, map(line, old)), filter(None, map(line, new))
        try:
            same = all(a == b for a, b in itertools.zip_longest(kept_old, kept_new))
        except _Unreadable:
            same = False
    if not same:
        differs()
    for _ in new:  # the rest is written all the same
        pass
    return same


class _Unreadable(Exception):
    """The file in place is missing or not UTF-8 (so it differs)."""


def _old_lines(path: Path) -> Generator[str, None, None]:
    """``path``'s lines with universal newlines, as ``read_text`` reads it; :class:`_Unreadable`."""
    try:
        with path.open(encoding="utf-8") as old:
            yield from old
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise _Unreadable(str(exc)) from exc


def _lines(parts: Iterable[str]) -> Iterator[str]:
    """The lines of the concatenated ``parts``, each with its ``\n`` (split at ``\n`` only)."""
    rest = ""
    for part in parts:
        start = 0
        end = part.find("\n")
        while end >= 0:
            yield rest + part[start : end + 1]
            rest, start = "", end + 1
            end = part.find("\n", start)
        rest += part[start:]
    if rest:
        yield rest


def remove_stale_temps(path: Path) -> int:
    """Delete temporary files a killed writer of ``path`` left behind.

    Call only while holding the project's run lock (no writer is running).
    """
    path = followed(path)
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
