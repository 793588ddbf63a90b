"""Faults the fake arXiv server injects: what arXiv and the network do on bad days.

A :class:`Fault` turns one request's answer into a failure. The server keeps
a FIFO queue of them; each request takes the first fault whose ``when``
predicate accepts its query parameters. Faults are written in code
(``fault("status", code=503, retry_after=2)``) or as CLI specs
(``parse_fault_spec("503:retry_after=2")``).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import socket
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol

ATOM_TYPE = "application/atom+xml; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

Predicate = Callable[[Mapping[str, str]], bool]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server sends for one request, and how it sends it."""

    status: int
    body: bytes = b""
    content_type: str = ATOM_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    chunks: int = 1  # send the body in this many pieces...
    pause: float = 0.0  # ...with this many seconds between them
    cut: int | None = None  # send only this many body bytes, then close
    honest_length: bool = False  # with ``cut``: Content-Length is the cut size
    reset: bool = False  # close the connection without any HTTP response


class Exchange(Protocol):
    """The request a fault acts on, as the server offers it to the fault."""

    params: Mapping[str, str]
    page_size: int

    def answer(
        self, *, limit: int | None = None, shift: int = 0, total: int | None = None
    ) -> Reply:
        """The normal answer; ``limit`` caps the entries, ``shift`` moves the
        page back (repeating entries of the previous page; negative: forward,
        skipping as many), ``total`` replaces ``opensearch:totalResults``."""
        ...

    def error(self, message: str) -> Reply:
        """arXiv's HTTP 400 error feed with ``message``."""
        ...


Params = Mapping[str, Any]
_Handler = Callable[[Params, Exchange], Reply]


def _retry_after(params: Params) -> dict[str, str]:
    value = params.get("retry_after")
    return {} if value is None else {"Retry-After": str(value)}


def _reason(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _status(params: Params, exchange: Exchange) -> Reply:
    code = int(params.get("code", 503))
    body = str(params.get("body", _reason(code))).encode()
    return Reply(code, body, TEXT_TYPE, _retry_after(params))


def _rate_limited_text(params: Params, exchange: Exchange) -> Reply:
    # What arXiv's front end answers when it throttles: a bare 503 text body.
    return Reply(503, b"Rate exceeded.", TEXT_TYPE, _retry_after(params))


_HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>{reason}</title></head>
<body><h1>{reason}</h1><p>arXiv is temporarily unavailable. Please try again later.</p></body>
</html>
"""


def _html(params: Params, exchange: Exchange) -> Reply:
    code = int(params.get("code", 200))
    page = _HTML_PAGE.format(reason=_reason(code) if code >= 400 else "Maintenance")
    return Reply(code, page.encode(), HTML_TYPE, _retry_after(params))


def _error_feed(params: Params, exchange: Exchange) -> Reply:
    return exchange.error(str(params.get("message", "malformed query")))


def _empty_page(params: Params, exchange: Exchange) -> Reply:
    """No entry; ``total`` replaces the real total (0: the whole query looks empty)."""
    total = params.get("total")
    return exchange.answer(limit=0, total=None if total is None else int(total))


def _short_page(params: Params, exchange: Exchange) -> Reply:
    return exchange.answer(limit=int(params.get("count", exchange.page_size // 2)))


def _truncated(params: Params, exchange: Exchange) -> Reply:
    reply = exchange.answer()
    cut = int(len(reply.body) * float(params.get("fraction", 0.5)))
    honest = bool(params.get("honest_length", False))
    return dataclasses.replace(reply, cut=cut, honest_length=honest)


def _slow(params: Params, exchange: Exchange) -> Reply:
    return dataclasses.replace(exchange.answer(), delay=float(params.get("seconds", 1.0)))


def _drip(params: Params, exchange: Exchange) -> Reply:
    chunks, pause = int(params.get("chunks", 8)), float(params.get("pause", 0.05))
    return dataclasses.replace(exchange.answer(), chunks=chunks, pause=pause)


def _bomb(params: Params, exchange: Exchange) -> Reply:
    """A small gzip body that inflates to ``megabytes`` of spaces."""
    body = gzip_bomb(float(params.get("megabytes", 64)))
    return Reply(200, body, headers={"Content-Encoding": "gzip"})


@functools.cache
def gzip_bomb(megabytes: float) -> bytes:
    """``megabytes`` of spaces, gzipped (about 1 kB on the wire per MB); made once."""
    return gzip.compress(b" " * int(megabytes * 2**20), compresslevel=9)


def _huge(params: Params, exchange: Exchange) -> Reply:
    """A plain body of ``megabytes`` (the normal answer padded with spaces)."""
    reply = exchange.answer()
    size = int(float(params.get("megabytes", 64)) * 2**20)
    return dataclasses.replace(reply, body=reply.body + b" " * max(0, size - len(reply.body)))


def _reset(params: Params, exchange: Exchange) -> Reply:
    return Reply(0, reset=True)


def _total_results(params: Params, exchange: Exchange) -> Reply:
    return exchange.answer(total=int(params.get("value", 0)))


def _duplicate(params: Params, exchange: Exchange) -> Reply:
    return exchange.answer(shift=int(params.get("count", 1)))


def _moved_up(params: Params, exchange: Exchange) -> Reply:
    """``count`` results above this page left them (or ties came back reordered)."""
    return exchange.answer(shift=-int(params.get("count", 1)))


def _count(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("a whole number >= 0")


def _number(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise ValueError("a number >= 0")


def _fraction(value: Any) -> None:
    _number(value)
    if value > 1:
        raise ValueError("a number from 0 to 1")


def _http_code(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValueError("an HTTP status code (100-599)")


def _flag(value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError("true or false")


def _any(value: Any) -> None:
    """Text (a body, a message) or a ``Retry-After`` value, meant to be anything."""


_Check = Callable[[Any], None]
_HANDLERS: dict[str, tuple[_Handler, dict[str, _Check]]] = {
    "status": (_status, {"code": _http_code, "retry_after": _any, "body": _any}),
    "rate_limited_text": (_rate_limited_text, {"retry_after": _any}),
    "html": (_html, {"code": _http_code, "retry_after": _any}),
    "error_feed": (_error_feed, {"message": _any}),
    "empty_page": (_empty_page, {"total": _count}),
    "short_page": (_short_page, {"count": _count}),
    "truncated": (_truncated, {"fraction": _fraction, "honest_length": _flag}),
    "slow": (_slow, {"seconds": _number}),
    "drip": (_drip, {"chunks": _count, "pause": _number}),
    "reset": (_reset, {}),
    "bomb": (_bomb, {"megabytes": _number}),
    "huge": (_huge, {"megabytes": _number}),
    "total_results": (_total_results, {"value": _count}),
    "duplicate": (_duplicate, {"count": _count}),
    "moved_up": (_moved_up, {"count": _count}),
}
FAULT_KINDS = frozenset(_HANDLERS)


@dataclass(frozen=True)
class Fault:
    """One injected failure: a ``kind`` (see :data:`FAULT_KINDS`), its
    ``params``, and an optional ``when`` predicate on the request's query
    parameters (e.g. ``lambda p: int(p.get("start", 0)) > 0``).

    Kinds and params: ``status`` (code, retry_after, body),
    ``rate_limited_text`` (retry_after), ``html`` (code, retry_after),
    ``error_feed`` (message), ``empty_page`` (total), ``short_page`` (count),
    ``truncated`` (fraction, honest_length), ``slow`` (seconds),
    ``drip`` (chunks, pause), ``reset``, ``total_results`` (value),
    ``duplicate`` (count), ``moved_up`` (count: results above left, the
    page starts that many later), ``bomb`` (megabytes: gzip inflating to that),
    ``huge`` (megabytes: a plain body that large).
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    when: Predicate | None = None

    def __post_init__(self) -> None:
        if self.kind not in _HANDLERS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")
        checks = _HANDLERS[self.kind][1]
        unknown = set(self.params) - set(checks)
        if unknown:
            raise ValueError(f"fault {self.kind!r} takes no parameter {sorted(unknown)}")
        for name, value in self.params.items():
            try:
                checks[name](value)
            except ValueError as error:
                raise ValueError(
                    f"fault {self.kind!r}: {name} must be {error}, not {value!r}"
                ) from None

    def applies_to(self, params: Mapping[str, str]) -> bool:
        """True when this fault should answer a request with these parameters."""
        return self.when is None or self.when(params)

    def reply(self, exchange: Exchange) -> Reply:
        """The failing answer to ``exchange``."""
        return _HANDLERS[self.kind][0](self.params, exchange)


def fault(kind: str, *, when: Predicate | None = None, **params: Any) -> Fault:
    """Shorthand: ``fault("slow", seconds=0.2)``."""
    return Fault(kind, params, when)


def _coerce(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_fault_spec(spec: str) -> Fault:
    """Parse ``KIND[:key=value,...]``; a bare HTTP code means ``status``.

    Examples: ``503:retry_after=2``, ``429``, ``slow:seconds=0.5``,
    ``truncated:fraction=0.3``, ``reset``. Raises ``ValueError``.
    """
    head, _, tail = spec.strip().partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, tail.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"bad fault parameter {item!r} in {spec!r}: expected key=value")
        params[key.strip()] = _coerce(value.strip())
    if head.isdigit():
        params["code"] = int(head)
        head = "status"
    return Fault(head, params)


# --- delivery ------------------------------------------------------------------


def _reset_connection(handler: BaseHTTPRequestHandler) -> None:
    # SO_LINGER 0 makes close() send RST: the client sees a connection reset.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.rfile.close()
    handler.connection.close()


def _write_body(handler: BaseHTTPRequestHandler, body: bytes, chunks: int, pause: float) -> None:
    size = max(1, -(-len(body) // max(1, chunks)))
    for offset in range(0, len(body), size):
        if offset:
            time.sleep(pause)
        handler.wfile.write(body[offset : offset + size])
        handler.wfile.flush()


def sent_size(reply: Reply) -> int:
    """How many body bytes ``reply`` puts on the wire."""
    return len(reply.body) if reply.cut is None else min(reply.cut, len(reply.body))


def send_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Send ``reply`` through a stdlib request handler, faults and all."""
    if reply.reset:
        _reset_connection(handler)
        return
    time.sleep(reply.delay)
    body = reply.body[: sent_size(reply)]
    declared = len(body) if reply.cut is None or reply.honest_length else len(reply.body)
    handler.send_response(reply.status)
    handler.send_header("Content-Type", reply.content_type)
    handler.send_header("Content-Length", str(declared))
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    if reply.cut is not None:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    handler.end_headers()
    _write_body(handler, body, reply.chunks, reply.pause)
