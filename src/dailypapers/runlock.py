"""The project's run lock, without the store's libraries (the skip path takes it too)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

if TYPE_CHECKING:  # the skip takes the lock before (without) the config's models
    from dailypapers.config import Config

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
    path = (state_dir / name).resolve()
    lock = FileLock(str(path), timeout=timeout)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        if kind := _not_a_file(path):  # a FIFO would even "lock" on Linux: say what it is
            raise RunFailed(_not_a_lock(state_dir / name, kind))
        _acquire(lock, timeout, state_dir / name)
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
    if isinstance(exc, PermissionError) and shown.exists() and os.access(state_dir, os.W_OK):
        return (
            f"cannot open the run lock {shown}: permission denied (made by another user?); "
            "let this user write it, or remove it, and run again"
        )
    return (
        f"cannot write to {state_dir}: {exc.strerror or exc} "
        "(is the project read-only? dailypapers needs to write its state and outputs there)"
    )


def _acquire(lock: FileLock, timeout: float, shown: Path) -> None:
    """Take the lock; when another run holds it, say so once on stderr, then wait."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if timeout <= 0:
            raise
        log.warning("waiting up to %g s for another dailypapers run (it holds %s)", timeout, shown)
        lock.acquire(timeout=timeout)
