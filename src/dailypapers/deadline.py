"""A whole-run deadline (``update --deadline SECONDS``): the run fails cleanly when it passes.

A timer signal (``SIGALRM``, main thread only) raises :class:`RunDeadlineExceeded`
wherever the run is; the run treats it like any fetch failure: the store
transaction rolls back, outputs are published atomically or not at all, and
the failure is recorded with one line. Where stopping would do harm (a
notification the server has accepted but the store has not yet recorded),
:func:`held` makes the deadline wait until the step is done.
"""

from __future__ import annotations

import signal
import threading
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


def remaining() -> float | None:
    """Seconds left before the run's deadline (``None``: no deadline is running).

    For a step that must leave time to the steps after it (summaries before
    the outputs are published).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    return left or None


@contextmanager
def held() -> Iterator[None]:
    """The deadline waits while the block runs, and passes when it ends if it is due.

    For a step that must not stop halfway: a notification the server accepted
    is recorded as sent before the run stops (stopped between the two, it was
    sent again by the next run). The block must be bounded by its own
    timeouts (a channel's ``timeout``); the timer's signal is blocked, so it
    stays pending and is raised as the block ends. Only the main thread (the
    one the timer's signal is handled in) holds it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    except BaseException:  # Ctrl-C, an error: it stops the run; the deadline must not
        if signal.SIGALRM in signal.sigpending():  # replace it (exit 130 became 1)
            signal.sigwait({signal.SIGALRM})  # taken off, never raised
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending deadline is raised here
