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

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dailypapers.arxiv.errors import ArxivError
from dailypapers.clock import NOW_ENV as NOW_ENV  # re-exported: the runs' clock
from dailypapers.clock import ClockError as ClockError
from dailypapers.clock import run_clock as run_clock
from dailypapers.config import Config
from dailypapers.errors import full_disk, lost_connection
from dailypapers.models import StoredValueError
from dailypapers.runlock import Busy as Busy  # re-exported: the runs' lock and errors
from dailypapers.runlock import RunFailed as RunFailed
from dailypapers.runlock import project_lock as project_lock
from dailypapers.schema import RunStatus as RunStatus  # re-exported: the runs' vocabulary
from dailypapers.sources.base import SourceError
from dailypapers.store import RunOwner, Store, StoreError, open_store

# What a run turns into one line (anything else is a bug: its traceback shows).
RUN_ERRORS: tuple[type[Exception], ...] = (
    SourceError,
    ArxivError,
    StoreError,
    StoredValueError,  # a paper row another tool wrote (named with its column)
    OSError,
)


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
    if line := full_disk(exc) or lost_connection(exc):
        return line
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


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
        except (KeyboardInterrupt, SystemExit) as exc:  # stopped: not left "running"
            _record_interrupted(store, run.id, result, exc, started)
            raise
        result.seconds = time.monotonic() - started
        record(store, run.id, result)
    if failure is not None and raise_errors:
        raise failure


def _record_interrupted(
    store: Store, run_id: int, result: RunResult, exc: BaseException, started: float
) -> None:
    """Record a run stopped by Ctrl-C or an exit as interrupted, if the store lets it
    (best effort: what stopped the run goes on; ``doctor`` saw it as never finished)."""
    result.status = RunStatus.INTERRUPTED
    result.error = "stopped by Ctrl-C" if isinstance(exc, KeyboardInterrupt) else "stopped"
    result.seconds = time.monotonic() - started
    with contextlib.suppress(Exception):
        record(store, run_id, result)


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
