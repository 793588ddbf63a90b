"""The project's run lock, without the store's libraries (the skip path takes it too).

On a POSIX system the lock is ``flock(2)`` on ``.dailypapers/run.lock``,
taken here, which is the lock ``filelock`` takes on the same file (so runs
of older versions and tools that use it still exclude each other).
``filelock`` itself is imported only on Windows: importing it costs an
update about 0.6 MB and 25 ms of CPU (its 4.x releases load ``secrets``,
``random``, ``decimal`` and ``platform``), which every run paid for one
system call. A file system without ``flock`` (``ENOSYS``: some network and
FUSE mounts) is a one-line failure, as with ``filelock`` 3 (``filelock`` 4
falls back to a lock that other hosts do not see).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the skip takes the lock before (without) the config's models
    from dailypapers.config import Config

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: filelock's lock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


class RunFailed(Exception):
    """A run could not complete; the message is one line."""


class Busy(RunFailed):
    """Another run holds the lock on this project's state."""


@contextmanager
def project_lock(config: Config, timeout: float, name: str = "run.lock") -> Iterator[Path]:
    """Hold the project's run lock, so two runs never interleave their writes.

    Yields the lock file's path (the identity recorded as the runs' owner).
    A project that cannot be written (read-only file system, no permission)
    fails here with one line, before anything is fetched.
    """
    with state_lock(config.state_dir, timeout, name) as path:
        yield path


@contextmanager
def state_lock(state_dir: Path, timeout: float, name: str = "run.lock") -> Iterator[Path]:
    """:func:`project_lock` by the project's state folder (``.dailypapers``)."""
    try:
        path = (state_dir / name).resolve()
    except RuntimeError as exc:  # a symlink loop (Python 3.11's resolve)
        raise RunFailed(
            f"cannot use the run lock {state_dir / name}: {exc}; remove it and run again"
        ) from None
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        if kind := _not_a_file(path):  # a FIFO would even "lock" on Linux: say what it is
            raise RunFailed(_not_a_lock(state_dir / name, kind))
        lock = _take(path, timeout, state_dir / name)
    except Timeout:
        raise Busy(
            f"another dailypapers run holds {state_dir / name} "
            f"(waited {timeout:g} s); try again later"
        ) from None
    except OSError as exc:
        raise RunFailed(_cannot_lock(state_dir, state_dir / name, exc)) from None
    try:
        yield path
    finally:
        lock.release()


class Timeout(Exception):
    """The lock was not free within the time allowed."""


class _Lock(Protocol):
    def acquire(self, timeout: float) -> None:
        """Take the lock within ``timeout`` seconds, or raise :class:`Timeout`."""

    def release(self) -> None:
        """Give the lock back (and close what holds it)."""

    def close(self) -> None:
        """Close what holds the lock without taking it."""


POLL = 0.05  # seconds between tries while another run holds the lock (filelock's default)
_NO_FLOCK = frozenset({errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP})
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_HELD = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES})


class Flock:
    """``flock(2)`` on an open lock file; the file stays in place on release.

    ``clock`` and ``sleep`` are injectable, so waiting can be tested without
    waiting. Raises :class:`OSError` from the constructor when the file
    cannot be opened, and from :meth:`acquire` when ``flock`` fails for any
    reason but the lock being held (no ``flock`` on the file system, no lock
    service on a network mount, an I/O error). The descriptor is closed once:
    by :meth:`release` or :meth:`close`, or when the object is collected
    (a lock taken but never handed to its ``with`` block, by an interrupt).
    """

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._closed = weakref.finalize(self, _close_quietly, self._fd)
        self._clock, self._sleep = clock, sleep

    def _try(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in _HELD:
                return False
            raise
        return True

    def acquire(self, timeout: float) -> None:
        deadline = self._clock() + timeout
        while not self._try():
            left = deadline - self._clock()
            if left <= 0:
                raise Timeout
            self._sleep(min(POLL, left))

    def release(self) -> None:
        """Unlock and close. Neither can fail the run that held the lock: closing the
        file gives the lock back even where unlocking failed (an I/O error on a mount)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        except OSError as exc:
            log.debug("unlocking the run lock failed (%s); closing it gives it back", exc)
        self.close()

    def close(self) -> None:
        self._closed()  # at most once, however often called


def _close_quietly(fd: int) -> None:
    """Close a lock's descriptor; a failing ``close`` (``EIO``) has closed it all the same."""
    try:
        os.close(fd)
    except OSError as exc:
        log.debug("closing the run lock failed (%s)", exc)


class _FileLock:
    """``filelock.FileLock``, where there is no ``fcntl`` (Windows)."""

    def __init__(self, path: Path) -> None:
        from filelock import FileLock

        self._lock = FileLock(str(path))

    def acquire(self, timeout: float) -> None:
        from filelock import Timeout as Held

        try:
            self._lock.acquire(timeout=timeout)
        except Held:
            raise Timeout from None

    def release(self) -> None:
        self._lock.release()

    def close(self) -> None:
        """Nothing is open before the lock is taken."""


def _take(path: Path, timeout: float, shown: Path) -> _Lock:
    """Open and take the lock (closed again if it is not taken)."""
    lock: _Lock = _FileLock(path) if fcntl is None else Flock(path)
    try:
        _acquire(lock, timeout, shown)
    except BaseException:
        lock.close()
        raise
    return lock


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it exists and is no regular file (``None`` otherwise)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((kind for test, kind in _KINDS if test(mode)), None)


def _not_a_lock(shown: Path, kind: str) -> str:
    return (
        f"{shown} is {kind}, not dailypapers' run lock (made by another tool?); "
        "remove it (the next run makes a new one) and run again"
    )


def _cannot_lock(state_dir: Path, shown: Path, exc: OSError) -> str:
    """The one line for a lock that could not be taken: what is in the way, and the fix."""
    if state_dir.exists() and not state_dir.is_dir():
        return (
            f"{state_dir} is a file, not dailypapers' state folder; "
            "move it away (the next run makes the folder) and run again"
        )
    if kind := _not_a_file(shown.resolve()):
        return _not_a_lock(shown, kind)
    if exc.errno in _NO_FLOCK:
        return (
            f"cannot lock {shown}: {exc.strerror or exc} (the file system has no flock(2): "
            "a network or FUSE mount?); keep the project on a local disk"
        )
    if exc.errno == errno.ENOLCK:  # NFS: its lock service did not answer, often for a while
        return (
            f"cannot lock {shown}: {exc.strerror or exc} (a network mount whose lock service "
            "is down or missing?); try again later, or keep the project on a local disk"
        )
    if isinstance(exc, PermissionError) and shown.exists() and os.access(state_dir, os.W_OK):
        return (
            f"cannot open the run lock {shown}: permission denied (made by another user?); "
            "let this user write it, or remove it, and run again"
        )
    if exc.errno in _READ_ONLY:
        return (
            f"cannot write to {state_dir}: {exc.strerror or exc} "
            "(is the project read-only? dailypapers needs to write its state and outputs there)"
        )
    return f"cannot use the run lock {shown}: {exc.strerror or exc}; check the disk and run again"


def _acquire(lock: _Lock, timeout: float, shown: Path) -> None:
    """Take the lock; when another run holds it, say so once on stderr, then wait."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if timeout <= 0:
            raise
        log.warning("waiting up to %g s for another dailypapers run (it holds %s)", timeout, shown)
        lock.acquire(timeout=timeout)
