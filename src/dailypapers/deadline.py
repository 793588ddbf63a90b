"""A whole-run deadline (``update --deadline SECONDS``): the run fails cleanly when it passes.

A timer signal (``SIGALRM``, main thread only) raises :class:`RunDeadlineExceeded`
wherever the run is; the run treats it like any fetch failure: the store
transaction rolls back, outputs are published atomically or not at all, and
the failure is recorded with one line.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dailypapers.sources import SourceError


class RunDeadlineExceeded(SourceError):
    """The whole run took longer than its deadline."""


@contextmanager
def run_deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`RunDeadlineExceeded` in the main thread once ``seconds`` pass."""
    if not seconds:
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise RunDeadlineExceeded(f"run deadline of {seconds:g} s passed; stopped")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
