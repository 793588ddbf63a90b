"""Bounded HTTP: a cap on decoded bytes and a total deadline for every request.

httpx's timeouts apply to each read, so a server sending one byte every few
seconds never trips them, and a small gzip body can inflate to gigabytes.
:func:`bounded_request` reads the decoded body in chunks and aborts past
``max_bytes``; a :class:`Watchdog` shuts the connection's socket down when
the request's total ``deadline`` passes (even while headers trickle in).
Both raise a :class:`LimitExceeded` with one line; callers treat it as a
protocol error that is not retried.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

DEFAULT_MAX_BYTES = 64 * 2**20  # a 2,000-entry arXiv page is about 5 MB
DEFAULT_DEADLINE = 300.0  # seconds for one request, headers to last byte
NOTIFY_MAX_BYTES = 2**20  # a chat service or GitHub answers with a small document


class LimitExceeded(Exception):
    """A response broke a bound (one line)."""


class ResponseTooLarge(LimitExceeded):
    """The decoded body passed ``max_bytes``."""


class DeadlineExceeded(LimitExceeded):
    """The request took longer than its total deadline."""


@dataclass(frozen=True)
class Bounds:
    """The limits of one request."""

    max_bytes: int = DEFAULT_MAX_BYTES
    deadline: float = DEFAULT_DEADLINE

    def too_large(self) -> ResponseTooLarge:
        return ResponseTooLarge(f"response larger than {_size(self.max_bytes)}; aborted")

    def too_slow(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"no complete response within {self.deadline:g} s; aborted")


def _size(count: int) -> str:
    return f"{count / 2**20:g} MB" if count >= 2**20 else f"{count} bytes"


class Watchdog:
    """Shuts down the sockets it watches once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, sock: Any) -> None:
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's ``trace`` extension: watch each new connection's socket."""
        if event.endswith(("connect_tcp.complete", "start_tls.complete")):
            stream = info.get("return_value")
            if stream is not None:
                self.watch(stream.get_extra_info("socket"))

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# The socket each client last used: a kept-alive connection is reused without a
# new connect, and the next request's watchdog must still be able to stop it.
_LAST_SOCKET: weakref.WeakKeyDictionary[httpx.Client, Any] = weakref.WeakKeyDictionary()


def bounded_request(
    client: httpx.Client, method: str, url: str, *, bounds: Bounds, **kwargs: Any
) -> httpx.Response:
    """Send a request and read its whole (decoded) body within ``bounds``.

    Returns the response with its content read. Raises
    :class:`ResponseTooLarge` or :class:`DeadlineExceeded`; transport errors
    otherwise propagate as usual. An error met while reading the body, after
    the status line, carries that status (:func:`status_before`): a POST
    answered "created" was done, whatever became of the answer's body.
    """
    started = time.monotonic()
    status: int | None = None
    with Watchdog(bounds.deadline) as dog:
        dog.watch(_LAST_SOCKET.get(client))
        extensions = {**kwargs.pop("extensions", {}), "trace": dog.trace}
        try:
            with client.stream(method, url, extensions=extensions, **kwargs) as response:
                status = response.status_code
                stream = response.extensions.get("network_stream")
                if stream is not None:
                    _LAST_SOCKET[client] = stream.get_extra_info("socket")
                body = b"".join(bounded_chunks(response, bounds, started))
        except httpx.TransportError as exc:
            if dog.expired:
                raise _with_status(bounds.too_slow(), status) from None
            _with_status(exc, status)
            raise
        except (httpx.HTTPError, LimitExceeded) as exc:  # a body that fails to decode too
            _with_status(exc, status)
            raise
    response._content = body  # what response.read() stores: .content, .json() work
    # httpx's streamed response and its stream refer to each other: that cycle
    # (and the body with it) would wait for a garbage collection, which during
    # an update's fetch can come several pages later (2 MB of bodies held on
    # a 20-topic cold start). A stream of the body in hand breaks it, so the
    # body goes as soon as its caller lets go of the response.
    response.stream = httpx.ByteStream(body)
    return response


_STATUS = "dailypapers_status"


def _with_status(error: BaseException, status: int | None) -> BaseException:
    setattr(error, _STATUS, status)
    return error


def status_before(error: BaseException) -> int | None:
    """The HTTP status a :func:`bounded_request` had received when ``error`` cut it short."""
    status = getattr(error, _STATUS, None)
    return status if isinstance(status, int) else None


def bounded_chunks(response: httpx.Response, bounds: Bounds, started: float) -> Iterator[bytes]:
    """The decoded body chunk by chunk, stopping past ``max_bytes`` or the deadline."""
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > bounds.max_bytes:
            raise bounds.too_large()
        if time.monotonic() - started > bounds.deadline:
            raise bounds.too_slow()
        yield chunk
