"""A fake OpenAI-compatible chat-completions (and embeddings) server over real sockets.

``with FakeLLM() as llm:`` serves ``POST /v1/chat/completions`` at
``llm.url`` (``http://127.0.0.1:PORT/v1``, what ``[summaries] base_url``
takes). Each answer is a well-formed summary of the paper in the request
(``{"tldr": ..., "method": ...}`` as the message content) with ``usage``
token counts. ``POST /v1/embeddings`` answers deterministic vectors, with
faults of its own (:mod:`dailypapers.offline.fake_embeddings`). Every
request is recorded (:attr:`FakeLLM.requests`).

Faults, queued with :meth:`FakeLLM.fail` (FIFO; ``times=None``: every
request from then on):

========================  ==================================================
``429``                   rate limited (``retry_after=N`` adds the header)
``500``, ``502``, ``503``  server errors
``slow``                  holds the answer until the test calls :meth:`release`
``html``                  a 200 with an HTML page (a proxy's login page)
``not_json``              a 200 whose body is not JSON
``empty_choices``         ``"choices": []``
``null_content``          ``"content": null``
``invalid``               content that is not JSON
``bad_schema``            JSON content without a valid ``tldr``
``huge``                  an answer far larger than any summary
========================  ==================================================

``hostile=True`` makes every summary echo markup and mentions (``|``,
``<script>``, ``</details>``, ``@everyone``, bidi controls) to test escaping.
A connection-refused endpoint: :meth:`FakeLLM.down` (until :meth:`FakeLLM.up`),
or :func:`refused_url`.

From a shell::

    python -m dailypapers.offline.fake_llm -- dailypapers update
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import click

from dailypapers.offline import fake_embeddings
from dailypapers.offline.fake_arxiv import run_with, serve_until_interrupted

CHAT_PATH = "/v1/chat/completions"
HOSTILE = (
    "| <script>alert(1)</script> </details></p> @everyone @here "
    "\u202eevil\u202c [x](javascript:alert(1)) &amp; `code`"
)
FAULTS = frozenset(
    {"429", "500", "502", "503", "slow", "html", "not_json", "empty_choices"}
    | {"null_content", "invalid", "bad_schema", "huge"}
    | fake_embeddings.EMBEDDING_FAULTS
)
_TITLE = re.compile(r"^Title: (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Fault:
    """One injected failure; ``retry_after`` only for ``429``."""

    kind: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Recorded:
    """One request the fake received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def refused_url() -> str:
    """The URL of a port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeLLM


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.owner.answer(Recorded(self.path, headers, self.rfile.read(length)))
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            pass  # the client gave up (timeout): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log on stderr."""


class FakeLLM:
    """An OpenAI-compatible ``/v1/chat/completions`` endpoint; a context manager."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        hostile: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key, self.hostile = api_key, hostile
        self.host, self.port = host, port
        self.gate = threading.Event()
        self._lock = threading.Lock()
        self._log: list[Recorded] = []
        self._faults: list[Fault] = []
        self._sticky: Fault | None = None
        self._server: _Server | None = None

    # -- life cycle ---------------------------------------------------------

    def start(self) -> Self:
        server = _Server((self.host, self.port), _Handler)
        server.owner = self
        self._server, self.port = server, server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def down(self) -> None:
        """Stop listening but keep :attr:`url`: clients get connection refused until :meth:`up`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def up(self) -> Self:
        """Listen again on the same port after :meth:`down`."""
        return self.start() if self._server is None else self

    def stop(self) -> None:
        self.gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL clients use: ``http://127.0.0.1:PORT/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    # -- faults -------------------------------------------------------------

    def fail(self, kind: str, *, times: int | None = 1, retry_after: float | None = None) -> None:
        """Answer the next ``times`` requests (None: all from now on) with fault ``kind``."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(FAULTS))}")
        with self._lock:
            if times is None:
                self._sticky = Fault(kind, retry_after)
            else:
                self._faults.extend([Fault(kind, retry_after)] * times)

    def heal(self) -> None:
        """Drop every queued and standing fault."""
        with self._lock:
            self._faults.clear()
            self._sticky = None

    def release(self) -> None:
        """Let every ``slow`` answer (held and future) through."""
        self.gate.set()

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._log)

    @property
    def embeddings(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/embeddings")]

    @property
    def completions(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    # -- answering ----------------------------------------------------------

    def answer(self, request: Recorded) -> _Reply:
        with self._lock:
            self._log.append(request)
            fault = self._faults.pop(0) if self._faults else self._sticky
        embeddings = request.path.rstrip("/").endswith("/embeddings")
        if not embeddings and not request.path.rstrip("/").endswith("/chat/completions"):
            return _json_reply(404, {"error": {"message": "not found"}})
        sent = request.headers.get("authorization", "")
        if self.api_key is not None and sent != f"Bearer {self.api_key}":
            # As real providers do, the error quotes the key it got: clients must mask it.
            message = f"Incorrect API key provided: {sent.removeprefix('Bearer ')}"
            return _json_reply(401, {"error": {"message": message}})
        try:
            data = request.json()
        except ValueError:
            return _json_reply(400, {"error": {"message": "body is not JSON"}})
        if embeddings:
            return self._embeddings(data, fault)
        if fault is not None:
            return self._faulty(fault, data)
        return self._completion(data, self._content(data))

    def _embeddings(self, data: Any, fault: Fault | None) -> _Reply:
        """Vectors for ``/v1/embeddings`` (:mod:`dailypapers.offline.fake_embeddings`)."""
        if fault is not None and (fault.kind.isdigit() or fault.kind in ("html", "not_json")):
            return self._faulty(fault, data)
        kind = fault.kind if fault is not None else None
        if kind == "slow":
            self.gate.wait(timeout=60)
        status, body = fake_embeddings.answer(data, kind)
        return _Reply(status, body)

    def _content(self, data: Any) -> str:
        title = _title_of(data)
        extra = f" {HOSTILE}" if self.hostile else ""
        summary = {
            "tldr": f"The paper {title[:80]} shows a simple idea works.{extra}",
            "motivation": f"Why it matters.{extra}",
            "method": "A method.",
            "result": None,
        }
        return json.dumps(summary, ensure_ascii=False)

    def _completion(self, data: Any, content: str | None) -> _Reply:
        prompt = sum(len(str(m.get("content", ""))) for m in data.get("messages", []))
        message = {"role": "assistant", "content": content}
        return _json_reply(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": data.get("model", "fake"),
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {
                    "prompt_tokens": prompt // 4 + 1,
                    "completion_tokens": len(content or "") // 4 + 1,
                    "total_tokens": prompt // 4 + len(content or "") // 4 + 2,
                },
            },
        )

    def _faulty(self, fault: Fault, data: Any) -> _Reply:
        kind = fault.kind
        if kind.isdigit():
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            return _Reply(int(kind), b'{"error": {"message": "fake"}}', headers=headers)
        if kind == "slow":
            self.gate.wait(timeout=60)
            return self._completion(data, self._content(data))
        if kind == "html":
            return _Reply(200, b"<html><body>Sign in</body></html>", "text/html")
        if kind == "not_json":
            return _Reply(200, b"this is not json {", "application/json")
        if kind == "empty_choices":
            return _json_reply(200, {"choices": [], "usage": {"prompt_tokens": 3}})
        if kind == "huge":
            return self._completion(data, json.dumps({"tldr": "x " * 2_000_000}))
        content = {"null_content": None, "invalid": "Sure! Here is a summary: it is good."}
        if kind in content:
            return self._completion(data, content[kind])
        return self._completion(data, json.dumps({"summary": "no tldr key", "tldr": ""}))


def _title_of(data: Any) -> str:
    for message in data.get("messages", []):
        found = _TITLE.search(str(message.get("content", "")))
        if found:
            return found[1].strip()
    return "this work"


def _json_reply(status: int, payload: Any) -> _Reply:
    return _Reply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--port", type=int, default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option("--hostile", is_flag=True, help="Echo markup and mentions in every summary.")
@click.option(
    "--fault", "faults", multiple=True, type=click.Choice(sorted(FAULTS)), help="Repeatable, FIFO."
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def main(port: int, hostile: bool, faults: Sequence[str], command: tuple[str, ...]) -> None:
    """Serve a fake OpenAI-compatible endpoint; run COMMAND against it, or wait for Ctrl-C."""
    server = FakeLLM(port=port, hostile=hostile).start()
    for kind in faults:
        server.fail(kind)
    try:
        if command:
            urls = {"DAILYPAPERS_LLM_URL": server.url, "DAILYPAPERS_EMBEDDINGS_URL": server.url}
            raise SystemExit(run_with(command, urls))
        serve_until_interrupted(server.url, "fake OpenAI-compatible endpoint")
    except KeyboardInterrupt:  # during the command
        click.echo("stopped", err=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
