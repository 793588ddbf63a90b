"""The run lock: ``flock(2)`` as filelock takes it, waiting on an injected clock, a fallback.

Two open descriptions of one file exclude each other under ``flock``, in one
process as across processes, so "another run" is another :class:`Flock` (or
a :class:`filelock.FileLock`) on the same file here.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

import pytest
from filelock import FileLock
from filelock import Timeout as FileLockTimeout

from dailypapers import runlock
from dailypapers.runlock import POLL, Busy, Flock, Timeout, state_lock


class Clock:
    """A monotonic clock that moves only when the lock sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_held_lock_is_waited_for_in_polls_until_the_deadline(tmp_path: Path) -> None:
    clock = Clock()
    holder = Flock(tmp_path / "run.lock")
    holder.acquire(0)
    waiter = Flock(tmp_path / "run.lock", clock=clock, sleep=clock.sleep)
    with pytest.raises(Timeout):
        waiter.acquire(0.12)
    assert clock.slept == pytest.approx([POLL, POLL, 0.02])  # never past the deadline
    waiter.close()
    holder.release()


def test_a_lock_given_back_while_waiting_is_taken(tmp_path: Path) -> None:
    holder = Flock(tmp_path / "run.lock")
    holder.acquire(0)
    clock = Clock()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 3:
            holder.release()

    waiter = Flock(tmp_path / "run.lock", clock=clock, sleep=sleep)
    waiter.acquire(60)
    assert len(clock.slept) == 3
    waiter.release()


def test_no_wait_means_one_try(tmp_path: Path) -> None:
    clock = Clock()
    holder = Flock(tmp_path / "run.lock")
    holder.acquire(0)
    with pytest.raises(Timeout):
        Flock(tmp_path / "run.lock", clock=clock, sleep=clock.sleep).acquire(0)
    assert clock.slept == []
    holder.release()


@pytest.mark.parametrize("first", ["flock", "filelock"])
def test_filelock_and_flock_exclude_each_other(tmp_path: Path, first: str) -> None:
    """Older dailypapers versions (and other tools) lock the same file with filelock."""
    path = tmp_path / "run.lock"
    other = FileLock(str(path))
    ours = Flock(path)
    if first == "flock":
        ours.acquire(0)
        with pytest.raises(FileLockTimeout):
            other.acquire(timeout=0)
        ours.release()
        other.acquire(timeout=0)
        other.release()
    else:
        other.acquire(timeout=0)
        with pytest.raises(Timeout):
            ours.acquire(0)
        other.release()
        ours.acquire(0)
        ours.release()


def test_the_lock_file_stays_and_nothing_is_left_open(tmp_path: Path) -> None:
    before = open_fds()
    with state_lock(tmp_path, 0) as path:
        assert open_fds() == before + 1
        with pytest.raises(Busy), state_lock(tmp_path, 0):
            pass
        assert open_fds() == before + 1  # the refused one closed its descriptor
    assert open_fds() == before and path.is_file()
    with state_lock(tmp_path, 0):  # free again
        pass


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (errno.ENOSYS, "the file system has no flock(2)"),
        (errno.ENOLCK, "lock service is down or missing?); try again later"),
        (errno.EIO, "cannot use the run lock"),  # not "read-only?": nothing says it is
        (errno.EROFS, "is the project read-only?"),
    ],
)
def test_a_failed_flock_is_a_one_line_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, says: str
) -> None:
    def refused(fd: int, operation: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(fcntl, "flock", refused)
    before = open_fds()
    with pytest.raises(runlock.RunFailed) as failed, state_lock(tmp_path / "state", 0):
        pass
    message = str(failed.value)
    assert says in message and os.strerror(code) in message and "\n" not in message
    assert open_fds() == before


def test_a_failed_unlock_does_not_fail_the_run_that_held_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error unlocking (a network mount) after a run has published: closing frees it."""
    real = fcntl.flock

    def unlock_fails(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_UN:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", unlock_fails)
    before = open_fds()
    with state_lock(tmp_path, 0):
        pass
    assert open_fds() == before
    monkeypatch.setattr(fcntl, "flock", real)
    with state_lock(tmp_path, 0):  # given back by the close
        pass


def test_a_lock_dropped_before_its_release_closes_its_descriptor_once(tmp_path: Path) -> None:
    """Taken, then lost by an interrupt before its ``with`` block: collected, it is closed."""
    before = open_fds()
    lock = Flock(tmp_path / "run.lock")
    lock.acquire(0)
    assert open_fds() == before + 1
    del lock  # CPython frees it at once: the finalizer closes the descriptor
    assert open_fds() == before
    with state_lock(tmp_path, 0):  # and the lock is free
        pass
    closed = Flock(tmp_path / "run.lock")
    closed.release()
    closed.close()  # a second close closes nothing (the number may be another file's now)
    assert open_fds() == before


def test_filelock_serves_where_there_is_no_fcntl(tmp_path: Path) -> None:
    """Windows' lock, tried here through the same wrapper."""
    path = tmp_path / "run.lock"
    first, second = runlock._FileLock(path), runlock._FileLock(path)
    first.acquire(0)
    with pytest.raises(Timeout):
        second.acquire(0)
    first.release()
    second.acquire(0)
    second.release()
