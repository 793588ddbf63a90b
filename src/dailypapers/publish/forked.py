"""Run one piece of a render in a forked child while the parent renders the rest.

A render's outputs are independent once the papers are read: the feed and
site trees can be rendered and published by a child process while the
parent writes ``papers.json`` and the README, on a second core. The child
is a ``fork`` of the parent (it shares the papers read, copy-on-write), and
it sends back what its work returned, or the exception it raised (the same
type, so the caller reports it as it would have: one line), through a pipe.

Only where it is safe: on Linux and in a process with one thread (a fork
copies only the calling thread, and a lock another thread holds would stay
held in the child); and only where it pays: with a core free for the child
(:func:`_a_core_is_free`). Otherwise the work runs at
once, in this process, as it did before. A child has no timer of its own
(``setitimer`` is not inherited): when the parent's deadline (or Ctrl-C)
interrupts the wait, the child is ended, and what it was publishing stays
as it was (each tree is swapped in whole). The child touches no database
(the papers are read before it starts) and leaves with ``os._exit``: no
``atexit`` handler, no buffered output or connection of the parent's is
flushed or closed twice.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

# What interrupts a run (Ctrl-C, a SIGTERM, the deadline's timer): held around a fork
# and around ending the child.
_HELD = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGALRM})


class Pending(Generic[T]):
    """The outcome of ``work(forked)``: run in a child (``forked`` true), or already run here."""

    def __init__(self, work: Callable[[bool], T]) -> None:
        self._pid = 0
        self._reader = -1
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None
        if not (_can_fork() and _a_core_is_free()):
            self._run_here(work)
            return
        reader, writer = os.pipe()
        parent = os.getpid()
        # Signals wait until the child is inside _child's try (which always ends in
        # os._exit): a Ctrl-C right after the fork must not unwind the parent's stack there.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            pid = os.fork()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(reader)
            os.close(writer)
            raise
        if pid == 0:  # the child: never returns

            def ready() -> None:
                os.close(reader)
                _ended_with(parent)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)

            _child(work, writer, ready)
        self._pid, self._reader = pid, reader
        os.close(writer)
        try:  # a signal held across the fork (the deadline, Ctrl-C) is raised here
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        except BaseException:
            self.cancel()  # the child is ended, not left to publish after the run failed
            raise

    @property
    def forked(self) -> bool:
        """Whether the work runs in a child process."""
        return self._pid != 0

    def result(self) -> T:
        """Wait for the work; its value, or the exception it raised raised here."""
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def wait(self) -> None:
        """Wait for the child (if any) to end; keeps its value or exception for :meth:`result`."""
        if self._done:
            return
        self._done = True
        if not self._pid:
            return
        try:
            payload = _read_all(self._reader)
        except BaseException:  # interrupted here (the run's deadline, Ctrl-C): end the child
            self._end_child()  # what it published is whole (atomic swaps)
            raise
        _, status = os.waitpid(self._pid, 0)
        self._take(payload, status)

    def cancel(self) -> None:
        """End the child (if any) without waiting for its work: the caller failed (its error,
        the run's deadline, Ctrl-C). What the child published is whole (atomic swaps)."""
        if self._done:
            return
        self._done = True
        if not self._pid:
            return
        try:
            self._end_child()
        finally:
            os.close(self._reader)

    def _end_child(self) -> None:
        """SIGTERM the child and reap it, the parent's signals held meanwhile.

        A second Ctrl-C (or the deadline) inside ``waitpid`` would leave the
        child unreaped, a zombie for as long as this process lives; held, it
        is raised right after.
        """
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            os.kill(self._pid, signal.SIGTERM)
            os.waitpid(self._pid, 0)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _run_here(self, work: Callable[[bool], T]) -> None:
        """The work, here and now; its error is raised at once, as in a render without
        a fork (kept for :meth:`result`, the run's deadline or Ctrl-C would wait for the
        rest of the render)."""
        self._value = work(False)

    def _take(self, payload: bytes, status: int) -> None:
        try:
            ok, value = pickle.loads(payload)
        except Exception:  # nothing sent: the child was killed
            code = os.waitstatus_to_exitcode(status)
            ended = f"signal {-code}" if code < 0 else f"exit status {code}"
            self._error = ChildProcessError(f"the render's child process ended with {ended}")
            return
        if ok:
            self._value = value
        else:
            self._error = value


def _read_all(fd: int) -> bytes:
    """Everything the child sends (until it closes its end), then the pipe closed."""
    with os.fdopen(fd, "rb") as pipe:
        return pipe.read()


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1


def _a_core_is_free() -> bool:
    """Whether a second core is free for the child (the last minute's load average, which
    counts this process, below the cores less a half).

    A child costs more CPU in all than the same work done here: copy-on-write
    copies nearly every page of both processes (a 100 x 100 render: 87,000
    minor page faults instead of 14,000, 1.27 s of CPU instead of 1.02;
    ``bench/render_fork.py``). That pays only when the child runs beside the
    parent; on a busy machine it is slower than one process.
    """
    try:
        cores = len(os.sched_getaffinity(0))
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return False
    return cores >= 2 and load < cores - 0.5


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _ended_with(parent: int) -> None:
    """In the child: ``SIGTERM`` when the parent dies (``PR_SET_PDEATHSIG``; Linux).

    A parent ended by a signal it has no handler for (``timeout`` sends
    ``SIGTERM`` to its command only) cannot end its child: without this the
    child went on and published the feeds after the run had failed. A parent
    that died before the call gets the same signal sent here (it is held
    until the child unblocks signals).
    """
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, TypeError):
        return
    prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM))
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _child(work: Callable[[bool], object], writer: int, ready: Callable[[], object]) -> None:
    """Run ``work``, send ``(True, value)`` or ``(False, exception)``, and leave at once.

    ``ready`` (closing the parent's end, unblocking signals) runs inside the try.
    """
    status = 0
    try:
        ready()
        try:
            payload = pickle.dumps((True, work(True)))
        except BaseException as exc:  # sent to the parent, which raises it
            status = 1
            payload = _pickled_error(exc)
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(status)


def _pickled_error(exc: BaseException) -> bytes:
    """``(False, exc)`` pickled; an exception that cannot travel as a ``RuntimeError`` with
    its one line (its type's name and message)."""
    try:
        payload = pickle.dumps((False, exc))
        pickle.loads(payload)  # some exceptions pickle but cannot be rebuilt
        return payload
    except Exception:
        line = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return pickle.dumps((False, RuntimeError(line)))
