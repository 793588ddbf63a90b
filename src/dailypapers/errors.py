"""Errors the start-up path raises and reports before the config's models are imported.

:class:`ConfigError` is re-exported by :mod:`dailypapers.config`; it lives
here so the runs' clock (:mod:`dailypapers.clock`) and the calendar skip
(:mod:`dailypapers.quickskip`) can raise and catch it without pydantic.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import sys
from typing import TextIO

# A command whose stdout (or stderr) reader went away (`dailypapers search x | head -1`)
# exits quietly with the status a shell gives a process SIGPIPE ended (`yes | head`):
# 128 + 13. Not 1: that says "the run failed, nothing published changed", and the
# run's work is done and kept; only the rest of its printing is lost.
EXIT_CLOSED_OUTPUT = 141


class ConfigError(Exception):
    """A configuration problem, as one line: ``file:line: key: message``.

    ``problems`` is every problem found, one line each (the message is the
    first, counting the others): ``check`` prints them all.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


def unexpected(exc: BaseException) -> str:
    """The one line for an error no command expects (a bug), exit 1."""
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return f"dailypapers: failed: unexpected error: {detail} (--debug shows the traceback)"


# Where a broken pipe is a socket's (a server that closed the connection), whatever
# our stdout's state: the innermost frame of the traceback is in one of these.
_NETWORK_MODULES = frozenset(
    {
        "socket", "ssl", "smtplib", "http", "urllib", "asyncio", "selectors", "socketserver",
        "httpx", "httpcore", "h11", "h2", "anyio", "sniffio", "urllib3", "psycopg", "psycopg2",
    }
)  # fmt: skip


def closed_output(exc: BaseException) -> bool:
    """Whether ``exc`` is a write to a stdout or stderr whose reader is gone (``| head``).

    A broken pipe elsewhere (a socket a server closed) is a real failure, even
    when our stdout's reader is gone too: only a broken pipe not raised by a
    socket, with a standard stream that polls as broken (its reader closed), counts.
    """
    if not isinstance(exc, BrokenPipeError) or from_a_socket(exc):
        return False
    return any(_reader_gone(stream) for stream in (sys.stdout, sys.stderr))


def from_a_socket(exc: BaseException) -> bool:
    """Whether ``exc`` was raised writing to a socket (by its traceback's innermost frame).

    That frame is in a network module (socket, ssl, smtplib, httpx, ...) or
    holds a socket, or an object whose ``sock`` is one (``smtplib.SMTP``).
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    if str(frame.f_globals.get("__name__", "")).split(".")[0] in _NETWORK_MODULES:
        return True
    network = sys.modules.get("socket")  # not imported: no socket was written to
    if network is None:
        return False
    kinds = (network.socket, network.SocketIO)
    values = list(frame.f_locals.values())
    return any(isinstance(v, kinds) or isinstance(getattr(v, "sock", None), kinds) for v in values)


def lost_connection(exc: BaseException) -> str | None:
    """The one line for a network connection the other side closed (``None`` otherwise)."""
    if isinstance(exc, ConnectionError) and from_a_socket(exc):
        reason = exc.strerror or type(exc).__name__
        return f"network error: the connection was closed by the other side ({reason}); run again"
    return None


def _reader_gone(stream: TextIO | None) -> bool:
    try:
        fd = stream.fileno() if stream is not None else -1
    except (AttributeError, OSError, ValueError):  # closed, or not a file (a test's buffer)
        return False
    if fd < 0 or not hasattr(select, "poll"):
        return fd >= 0
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def silence_closed_output() -> None:
    """Point stdout and stderr at the null device: no complaint at exit about a lost flush."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def full_disk(exc: BaseException) -> str | None:
    """The one line for a full disk or quota (``None`` for any other error)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"{exc.strerror}: free some space and run again "
            "(each output is replaced whole or left as it was)"
        )
    return None
