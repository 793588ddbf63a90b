"""Fail fast and say why: short retry lines, and no long retries without a network.

A name that does not resolve or a port that refuses is not going to change
in the next minute: such a failure is retried once (a flaky resolver), not
five times over 80 seconds. Retry lines name the method, host, reason and
wait; the full URL (1,400 characters for a big topic) is logged at debug.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

import httpx
from tenacity import RetryCallState

CONNECT_ATTEMPTS = 2  # a DNS or connection-refused failure is retried at most once

_DNS_MARKERS = (
    "name or service not known",
    "temporary failure in name resolution",
    "nodename nor servname",
    "no address associated",
    "getaddrinfo failed",
    "name resolution",
)


def is_connect_failure(error: BaseException | None) -> bool:
    """A failure to reach the host at all: DNS, refused, unreachable (not a timeout)."""
    return isinstance(error, httpx.ConnectError)


def unreachable(error: BaseException | int | None) -> bool:
    """The host was never reached: wrong name, refused, no route, or connect timeout."""
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def reason(error: BaseException | int | None) -> str:
    """A few words for a failure: ``HTTP 503``, ``cannot resolve host``, ``timed out``."""
    if isinstance(error, int):
        return f"HTTP {error}"
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return f"HTTP {status}"
    if error is None:
        return "no answer"
    text = str(error).lower()
    if isinstance(error, httpx.ConnectError):
        if any(marker in text for marker in _DNS_MARKERS):
            return "cannot resolve host"
        if "refused" in text or f"errno {errno.ECONNREFUSED}" in text:
            return "connection refused"
        return "cannot connect"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return type(error).__name__


def connect_budget(stop: Callable[[RetryCallState], bool]) -> Callable[[RetryCallState], bool]:
    """``stop``, and also stop at the second connection-level failure of one request.

    Make one per request: it counts the failures it has seen.
    """
    seen = 0

    def should_stop(state: RetryCallState) -> bool:
        nonlocal seen
        error = state.outcome.exception() if state.outcome else None
        seen += is_connect_failure(error)
        return seen >= CONNECT_ATTEMPTS or stop(state)

    return should_stop


def log_retry(log: logging.Logger, service: str, url: str, state: RetryCallState) -> None:
    """One short warning line per retry; the URL only at debug level."""
    error = state.outcome.exception() if state.outcome else None
    host = httpx.URL(url).host or url[:60]
    log.warning(
        "%s: GET %s: %s; retry %d in %.1f s",
        service,
        host,
        reason(error),
        state.attempt_number,
        state.upcoming_sleep,
    )
    log.debug("%s: retrying %s", service, url)
