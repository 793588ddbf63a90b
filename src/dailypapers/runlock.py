"""The project's run lock, without the store's libraries (the skip path takes it too)."""

from __future__ import annotations

import logging
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
        _acquire(lock, timeout, state_dir / name)
    except Timeout:
        raise Busy(
            f"another dailypapers run holds {state_dir / name} "
            f"(waited {timeout:g} s); try again later"
        ) from None
    except OSError as exc:
        raise RunFailed(
            f"cannot write to {state_dir}: {exc.strerror or exc} "
            "(is the project read-only? dailypapers needs to write its state and outputs there)"
        ) from None
    try:
        yield path
    finally:
        lock.release()


def _acquire(lock: FileLock, timeout: float, shown: Path) -> None:
    """Take the lock; when another run holds it, say so once on stderr, then wait."""
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if timeout <= 0:
            raise
        log.warning("waiting up to %g s for another dailypapers run (it holds %s)", timeout, shown)
        lock.acquire(timeout=timeout)
