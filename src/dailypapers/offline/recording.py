"""A small HTTP server over real sockets that records every request.

:class:`Serving` runs a server on a thread (a context manager);
:class:`RecordingServer` answers with a handler you give it and keeps each
request (method, path, headers, JSON body); ``fail_next`` makes the next
requests fail with a status of your choice. The fake GitHub server is built
on it (the test tree's ``WebhookReceiver`` too).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Answer:
    """A response: status, JSON (or empty) body, headers."""

    status: int
    payload: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a body sent as is instead of ``payload`` (a gzip bomb...)
    chunks: int = 1  # the body in this many pieces...
    pause: float = 0.0  # ...this many seconds apart (a dripping server)


Responder = Callable[[Request], Answer]


class Serving:
    """``with server:`` starts it and stops it; subclasses define ``start``/``stop``."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: RecordingServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length),
        )
        answer = self.server.owner.answer(request)
        body = b"" if answer.payload is None else json.dumps(answer.payload).encode("utf-8")
        body = body if answer.raw is None else answer.raw
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        size = max(1, -(-len(body) // max(1, answer.chunks)))
        try:
            for offset in range(0, len(body), size):
                if offset:
                    time.sleep(answer.pause)
                self.wfile.write(body[offset : offset + size])
                self.wfile.flush()
        except OSError:  # the client gave up
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log on stderr."""


class RecordingServer(Serving):
    """Serve ``respond`` on a loopback port, recording requests; a context manager."""

    def __init__(self, respond: Responder, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._respond = respond
        self._lock = threading.Lock()
        self._log: list[Request] = []
        self._failures: list[Answer] = []
        self._server: _Server | None = None

    def start(self) -> Self:
        server = _Server((self.host, self.port), _Handler)
        server.owner = self
        self._server, self.port = server, server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._log)

    def fail_next(self, status: int = 500, times: int = 1, message: str = "fake failure") -> None:
        """Answer the next ``times`` requests with ``status``."""
        with self._lock:
            self._failures.extend([Answer(status, {"message": message})] * times)

    def answer_next(self, answer: Answer, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``answer`` (any status, body or pacing)."""
        with self._lock:
            self._failures.extend([answer] * times)

    def answer(self, request: Request) -> Answer:
        with self._lock:
            self._log.append(request)
            failure = self._failures.pop(0) if self._failures else None
        return failure or self._respond(request)
