"""One skeleton for every run (``update``, ``notify``, ``backfill``, ``harvest``).

:func:`recorded_run` takes the project's lock, opens the store, marks runs
whose owner is gone as interrupted, starts this run's ``runs`` row (owned by
this process and lock), times the work, turns the expected failures
(:data:`RUN_ERRORS`) into one line in the result, and records the outcome.
With ``raise_errors`` (``--debug``) the failure is raised after it is
recorded, so the traceback shows. Statuses are :class:`RunStatus`; what a
run cost is :class:`RunResult`, which every command's report extends.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from dailypapers.arxiv.errors import ArxivError
from dailypapers.config import Config, ConfigError
from dailypapers.schema import RunStatus as RunStatus  # re-exported: the runs' vocabulary
from dailypapers.sources.base import SourceError
from dailypapers.store import RunOwner, Store, StoreError, open_store, utcnow

log = logging.getLogger(__name__)

NOW_ENV = "DAILYPAPERS_NOW"  # an ISO time with offset: the runs' clock (tests, a past day)


class ClockError(ConfigError):
    """``DAILYPAPERS_NOW`` is not an ISO time with a UTC offset."""


def run_clock() -> datetime:
    """The time a run starts at: ``DAILYPAPERS_NOW`` when set, else the real time.

    A subprocess (the CLI under test) is given a fixed day this way, so what
    arXiv's calendar says (weekday, holiday) never depends on the real date.
    """
    value = os.environ.get(NOW_ENV, "").strip()
    if not value:
        return utcnow()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ClockError(f"{NOW_ENV}={value!r} is not an ISO time") from None
    if when.tzinfo is None:
        raise ClockError(f"{NOW_ENV}={value!r} needs a UTC offset (e.g. +00:00)")
    return when.astimezone(UTC)


# What a run turns into one line (anything else is a bug: its traceback shows).
RUN_ERRORS: tuple[type[Exception], ...] = (SourceError, ArxivError, StoreError, OSError)


class RunFailed(Exception):
    """A run could not complete; the message is one line."""


class Busy(RunFailed):
    """Another run holds the lock on this project's state."""


@dataclass
class RunResult:
    """What every run reports and its ``runs`` row records: status, cost, error."""

    status: RunStatus = RunStatus.RUNNING
    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0
    error: str | None = None

    def stored(self) -> tuple[int, int]:
        """``(new, revised)`` papers the run stored (the ``runs`` row's counts)."""
        return (0, 0)

    def fail(self, exc: BaseException) -> None:
        self.status, self.error = RunStatus.FAILED, one_line(exc)


@dataclass(frozen=True)
class Run:
    """A run in progress: its store, its ``runs`` row and the lock it holds."""

    store: Store
    id: int
    lock: Path


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@contextmanager
def project_lock(config: Config, timeout: float, name: str = "run.lock") -> Iterator[Path]:
    """Hold the project's run lock, so two runs never interleave their writes.

    Yields the lock file's path (the identity recorded as the runs' owner).
    A project that cannot be written (read-only file system, no permission)
    fails here with one line, before anything is fetched.
    """
    path = (config.state_dir / name).resolve()
    lock = FileLock(str(path), timeout=timeout)
    try:
        config.state_dir.mkdir(parents=True, exist_ok=True)
        _acquire(lock, timeout, config.state_dir / name)
    except Timeout:
        raise Busy(
            f"another dailypapers run holds {config.state_dir / name} "
            f"(waited {timeout:g} s); try again later"
        ) from None
    except OSError as exc:
        raise RunFailed(
            f"cannot write to {config.state_dir}: {exc.strerror or exc} "
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


@contextmanager
def recorded_run(
    config: Config,
    command: str,
    result: RunResult,
    *,
    lock_timeout: float,
    lock_name: str = "run.lock",
    now: datetime | None = None,
    raise_errors: bool = False,
) -> Iterator[Run]:
    """Lock, open the store, start the ``runs`` row; on exit record ``result``.

    The body sets ``result.status``; an error of :data:`RUN_ERRORS` raised in
    it is recorded as ``failed`` with its one-line message (and raised again
    after the lock is released when ``raise_errors``).
    """
    failure: Exception | None = None
    with project_lock(config, lock_timeout, lock_name) as lock, open_store(config.db_url) as store:
        store.mark_interrupted(lock)
        run = Run(store, store.start_run(command, now, RunOwner.current(lock)), lock)
        started = time.monotonic()
        try:
            yield run
        except RUN_ERRORS as exc:
            result.fail(exc)
            failure = exc
        result.seconds = time.monotonic() - started
        record(store, run.id, result)
    if failure is not None and raise_errors:
        raise failure


def record(store: Store, run_id: int, result: RunResult) -> None:
    """Write how a run ended into its ``runs`` row."""
    new, revised = result.stored()
    store.finish_run(
        run_id,
        result.status,
        requests=result.requests,
        bytes=result.bytes,
        new_papers=new,
        revised_papers=revised,
        error=result.error,
    )
