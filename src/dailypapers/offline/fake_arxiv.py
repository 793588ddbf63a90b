"""A fake arXiv API over real sockets, for tests and offline use.

``with FakeArxiv(papers) as server:`` serves ``GET /api/query`` at
``server.api_url`` with arXiv's parameters, validation and Atom output,
matching queries with :mod:`dailypapers.arxiv.query` (stemmed, like arXiv),
and the announcement feed ``GET /atom/cs+stat`` at ``server.feed_url``
(:mod:`dailypapers.offline.fake_feed`; "today" is :attr:`FakeArxiv.feed_day`).
Tests change the corpus between runs (:meth:`FakeArxiv.add_papers`), read
the request log (:attr:`FakeArxiv.requests`) and inject faults
(:meth:`FakeArxiv.inject`, see :mod:`dailypapers.offline.faults`).

From a shell::

    python -m dailypapers.offline.fake_arxiv --corpus demo -- dailypapers update
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, quote, urlsplit

import click
from lxml import etree

from dailypapers.arxiv.calendar import Calendar
from dailypapers.arxiv.query import (
    Document,
    Node,
    QuerySyntaxError,
    compile_query,
    count_occurrences,
    parse,
    to_string,
)
from dailypapers.models import InvalidArxivId, Paper, format_timestamp, split_id
from dailypapers.offline.fake_feed import FEED_PATH, FeedExchange, latest_feed_day
from dailypapers.offline.faults import (
    TEXT_TYPE,
    Exchange,
    Fault,
    Reply,
    parse_fault_spec,
    send_reply,
    sent_size,
)
from dailypapers.offline.recording import Serving

ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV_NS = "http://arxiv.org/schemas/atom"
API_PATH = "/api/query"
API_URL = "https://arxiv.org/api/query"  # as arXiv's feeds name themselves
MAX_RESULTS_LIMIT = 2000
TOTAL_LIMIT = 30000
SORT_FIELDS = ("relevance", "lastUpdatedDate", "submittedDate")
SORT_ORDERS = ("descending", "ascending")

# --- Atom writer -------------------------------------------------------------

_NSMAP = {"opensearch": OPENSEARCH_NS, "arxiv": ARXIV_NS, None: ATOM_NS}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _atom(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def _arxiv(name: str) -> str:
    return f"{{{ARXIV_NS}}}{name}"


def _opensearch(name: str) -> str:
    return f"{{{OPENSEARCH_NS}}}{name}"


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add(parent: Any, tag: str, text: str | None = None, **attrib: str) -> Any:
    element = etree.SubElement(parent, tag, {k: _clean(v) for k, v in attrib.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _feed_head(feed_id: str, title: str, updated: datetime | None) -> Any:
    root = etree.Element(_atom("feed"), nsmap=_NSMAP)
    _add(root, _atom("id"), feed_id)
    _add(root, _atom("title"), title)
    _add(root, _atom("updated"), format_timestamp(updated or datetime.now(UTC)))
    return root


def _add_counts(root: Any, items: int, total: int, start: int) -> None:
    _add(root, _opensearch("itemsPerPage"), str(items))
    _add(root, _opensearch("totalResults"), str(total))
    _add(root, _opensearch("startIndex"), str(start))


def _add_author(entry: Any, name: str, affiliations: Iterable[str]) -> None:
    author = _add(entry, _atom("author"))
    _add(author, _atom("name"), name)
    for affiliation in affiliations:
        _add(author, _arxiv("affiliation"), affiliation)


def _add_optional(entry: Any, tag: str, text: str | None) -> None:
    if text:
        _add(entry, tag, text)


def _add_entry(root: Any, paper: Paper) -> None:
    # Element order as arXiv sends it since its 2025 backend (see fixtures).
    entry = _add(root, _atom("entry"))
    _add(entry, _atom("id"), f"http://arxiv.org/abs/{paper.versioned_id}")
    _add(entry, _atom("title"), paper.title)
    _add(entry, _atom("updated"), format_timestamp(paper.updated))
    _add(entry, _atom("link"), href=paper.abs_url, rel="alternate", type="text/html")
    _add(
        entry, _atom("link"), href=paper.pdf_url, rel="related", type="application/pdf", title="pdf"
    )
    _add(entry, _atom("summary"), paper.abstract)
    for category in paper.categories:
        _add(entry, _atom("category"), term=category, scheme=ARXIV_NS)
    _add(entry, _atom("published"), format_timestamp(paper.published))
    _add_optional(entry, _arxiv("comment"), paper.comment)
    _add(entry, _arxiv("primary_category"), term=paper.primary)
    _add_optional(entry, _arxiv("journal_ref"), paper.journal_ref)
    for author in paper.authors:
        _add_author(entry, author.name, author.affiliations)
    if paper.doi:
        _add(entry, _arxiv("doi"), paper.doi)
        _add(entry, _atom("link"), rel="related", href=f"https://doi.org/{paper.doi}", title="doi")


def _serialize(root: Any) -> bytes:
    etree.indent(root, space="  ")
    return cast(bytes, etree.tostring(root, xml_declaration=True, encoding="UTF-8")) + b"\n"


def _feed_id(query_string: str) -> str:
    digest = hashlib.sha1(query_string.encode(), usedforsecurity=False).digest()
    return "https://arxiv.org/api/" + base64.b64encode(digest).decode().rstrip("=")


def feed_xml(
    papers: Iterable[Paper],
    *,
    total_results: int,
    start_index: int,
    items_per_page: int,
    query_string: str,
    link: str | None = None,
    updated: datetime | None = None,
) -> bytes:
    """An arXiv API result feed, shaped exactly as arXiv sends it today.

    ``query_string`` is what follows ``arXiv Query: `` in the title
    (``search_query=all:x&id_list=&start=0&max_results=10``); ``link``
    defaults to the API URL with that query string; ``updated`` to now.
    """
    root = _feed_head(_feed_id(query_string), f"arXiv Query: {query_string}", updated)
    href = link or f"{API_URL}?" + quote(query_string, safe="=&:/,")
    _add(root, _atom("link"), href=href, type="application/atom+xml")
    _add_counts(root, items_per_page, total_results, start_index)
    for paper in papers:
        _add_entry(root, paper)
    return _serialize(root)


def error_feed_xml(message: str, *, updated: datetime | None = None) -> bytes:
    """arXiv's error feed (sent with HTTP 400): one entry titled ``Error``."""
    root = _feed_head("https://arxiv.org/", "arXiv Search Results", updated)
    _add_counts(root, 1, 1, 0)
    entry = _add(root, _atom("entry"))
    anchor = "https://arxiv.org/api/errors#" + re.sub(r"\W+", "_", message).strip("_")
    _add(entry, _atom("id"), anchor)
    _add(entry, _atom("title"), "Error")
    _add(entry, _atom("updated"), format_timestamp(updated or datetime.now(UTC)))
    _add(entry, _atom("link"), href=anchor, rel="alternate", type="text/html")
    _add(entry, _atom("summary"), message)
    _add_author(entry, "arXiv api core", ())
    return _serialize(root)


# --- the API's semantics -----------------------------------------------------


class _ApiError(ValueError):
    """A request arXiv answers with HTTP 400 and its error feed."""


@dataclass(frozen=True, slots=True)
class _ApiRequest:
    """The validated parameters of one ``/api/query`` request."""

    id_list: tuple[str, ...]
    start: int
    max_results: int
    sort_by: str
    sort_order: str
    node: Node | None

    def title_and_link(self) -> tuple[str, str]:
        """The feed's ``arXiv Query:`` text and link; arXiv echoes the canonical query."""
        query, ids = "" if self.node is None else to_string(self.node), ",".join(self.id_list)
        paging = f"start={self.start}&max_results={self.max_results}"
        link = f"{API_URL}?search_query={quote(query, safe=':/,')}&{paging}&id_list={ids}"
        return f"search_query={query}&id_list={ids}&{paging}", link


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _ApiError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise _ApiError(f"{name} must be non-negative, got {value}")
    return value


def _choice_param(params: Mapping[str, str], name: str, choices: Sequence[str]) -> str:
    value = params.get(name) or choices[0]
    if value not in choices:
        raise _ApiError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _id_list(params: Mapping[str, str]) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(i.strip() for i in params.get("id_list", "").split(",") if i.strip()))
    for item in ids:
        try:
            split_id(item)
        except InvalidArxivId:
            raise _ApiError(f"incorrect id format for {item}") from None
    return ids


def _query_node(params: Mapping[str, str]) -> Node | None:
    text = params.get("search_query", "")
    if not text.strip():
        return None
    try:
        return parse(text)
    except QuerySyntaxError as error:
        raise _ApiError(f"malformed query: {error}") from None


def _validate(params: Mapping[str, str]) -> _ApiRequest:
    """Check the query parameters as arXiv's 2025 backend does; raise :class:`_ApiError`."""
    start = _int_param(params, "start", 0)
    size = _int_param(params, "max_results", 10)
    if size > MAX_RESULTS_LIMIT:
        raise _ApiError(f"max_results must be at most {MAX_RESULTS_LIMIT}, got {size}")
    if start + size > TOTAL_LIMIT:
        raise _ApiError(f"start + max_results must be at most {TOTAL_LIMIT}, got {start + size}")
    return _ApiRequest(
        id_list=_id_list(params),
        start=start,
        max_results=size,
        sort_by=_choice_param(params, "sortBy", SORT_FIELDS),
        sort_order=_choice_param(params, "sortOrder", SORT_ORDERS),
        node=_query_node(params),
    )


@dataclass(frozen=True, slots=True)
class _Indexed:
    paper: Paper
    doc: Document


def _by_id_list(entries: Iterable[_Indexed], ids: Sequence[str]) -> list[_Indexed]:
    by_id = {entry.paper.id: entry for entry in entries}
    found: list[_Indexed] = []
    for item in ids:
        paper_id, version = split_id(item)
        entry = by_id.get(paper_id)
        # Only the current version is held; a request for another one finds nothing.
        if entry and version in (None, entry.paper.version):
            found.append(entry)
    return list({id(entry): entry for entry in found}.values())


def _sort(entries: list[_Indexed], request: _ApiRequest) -> list[_Indexed]:
    descending = request.sort_order == "descending"
    if request.sort_by == "relevance":
        node = request.node
        if node is None:  # id_list alone: arXiv keeps the order of the list
            return entries
        scored = [(count_occurrences(node, e.doc), e.paper.updated, e.paper.id, e) for e in entries]
        scored.sort(key=lambda item: item[:3], reverse=descending)
        return [item[3] for item in scored]
    by_id = sorted(entries, key=lambda e: e.paper.id, reverse=True)
    attribute = "published" if request.sort_by == "submittedDate" else "updated"
    return sorted(by_id, key=lambda e: getattr(e.paper, attribute), reverse=descending)


def _search(entries: Iterable[_Indexed], request: _ApiRequest) -> list[Paper]:
    """Every paper matching ``request``, in the requested order."""
    found = _by_id_list(entries, request.id_list) if request.id_list else list(entries)
    if request.node is not None:
        matcher = compile_query(request.node)
        found = [entry for entry in found if matcher(entry.doc)]
    elif not request.id_list:
        return []
    return [entry.paper for entry in _sort(found, request)]


def _window(found: Sequence[Paper], start: int, size: int, shift: int) -> list[Paper]:
    first = max(0, start - shift)
    page = list(found[first : first + size])
    if start < shift:  # no previous page to repeat from: repeat the first entry
        page = list(found[:1]) * (shift - start) + page
    return page[:size]


class _Exchange(Exchange):
    def __init__(self, fake: FakeArxiv, params: Mapping[str, str]) -> None:
        self.params = params
        self._fake = fake
        self._request: _ApiRequest | None = None
        self._problem = ""
        try:
            self._request = _validate(params)
        except _ApiError as error:
            self._problem = str(error)
        self.page_size = self._request.max_results if self._request else 10

    def answer(
        self, *, limit: int | None = None, shift: int = 0, total: int | None = None
    ) -> Reply:
        request = self._request
        if request is None:
            return self.error(self._problem)
        found = self._fake._search(request)
        page = _window(found, request.start, request.max_results, shift)[:limit]
        query_string, link = request.title_and_link()
        body = feed_xml(
            page,
            total_results=len(found) if total is None else total,
            start_index=request.start,
            items_per_page=request.max_results,
            query_string=query_string,
            link=link,
        )
        return Reply(200, body)

    def error(self, message: str) -> Reply:
        return Reply(400, error_feed_xml(message))


# --- the server --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake server received."""

    time: float  # time.monotonic() on arrival
    path: str
    params: dict[str, str]
    status: int  # 0 when the connection was reset without an answer
    bytes_sent: int  # response body bytes actually sent
    fault: str | None  # the injected fault's kind, if any
    client_port: int  # tells connections apart


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeArxiv

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up on slow or broken answers are expected; the rest is reported."""
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out separately: no 40 ms stalls
    server: _Server

    def do_GET(self) -> None:
        self.server.fake.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log on stderr."""


class Gate:
    """Holds the fake server's requests until the test releases them (no sleeping).

    ``arrived`` is set once a request is being held; :meth:`release` lets it
    (and every later one) through. ``timeout`` only bounds a forgotten gate.
    """

    def __init__(self, timeout: float = 60.0) -> None:
        self.arrived = threading.Event()
        self._open = threading.Event()
        self.timeout = timeout

    def wait_for_request(self, timeout: float = 60.0) -> bool:
        """Block until a request is held (``False`` if none came within ``timeout``)."""
        return self.arrived.wait(timeout)

    def release(self) -> None:
        """Let every held and later request through."""
        self._open.set()

    def hold(self) -> None:
        """Called by the server for each request while the gate is installed."""
        self.arrived.set()
        self._open.wait(self.timeout)


class FakeArxiv(Serving):
    """arXiv's query API on a local port, over an in-memory corpus.

    Use as a context manager; ``base_url``/``api_url`` are known once started.
    """

    def __init__(self, papers: Iterable[Paper] = (), *, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self._lock = threading.Lock()
        self._entries: dict[str, _Indexed] = {}
        self._faults: list[Fault] = []
        self._log: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.add_papers(papers)
        # The announcement feed's "today" (None: the feed carrying the newest paper).
        self.feed_day: date | None = None
        self.calendar = Calendar()
        # Ids the feed lists but the API does not show yet (its index lags the feed).
        self.unindexed: set[str] = set()
        self.gate: Gate | None = None

    # lifecycle

    def start(self) -> FakeArxiv:
        """Bind and serve in a daemon thread; returns ``self``."""
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.fake = self
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.01,), name="fake-arxiv", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``; raises ``RuntimeError`` before :meth:`start`."""
        if self._server is None:
            raise RuntimeError("the fake arXiv server is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The query endpoint, ``base_url + "/api/query"``."""
        return self.base_url + API_PATH

    @property
    def feed_url(self) -> str:
        """The announcement feeds' base, ``base_url + "/atom/"`` (append ``cs+stat``)."""
        return self.base_url + FEED_PATH

    # corpus

    @property
    def papers(self) -> list[Paper]:
        """The corpus, one paper (its latest version) per id."""
        with self._lock:
            return [entry.paper for entry in self._entries.values()]

    def set_papers(self, papers: Iterable[Paper]) -> None:
        """Replace the whole corpus."""
        indexed = {paper.id: _Indexed(paper, Document.from_paper(paper)) for paper in papers}
        with self._lock:
            self._entries = indexed

    def add_papers(self, papers: Iterable[Paper]) -> None:
        """Add papers; one with a known id replaces it (a new version arrives)."""
        indexed = {paper.id: _Indexed(paper, Document.from_paper(paper)) for paper in papers}
        with self._lock:
            self._entries = {**self._entries, **indexed}

    def _search(self, request: _ApiRequest) -> list[Paper]:
        with self._lock:
            entries = [e for e in self._entries.values() if e.paper.id not in self.unindexed]
        return _search(entries, request)

    # faults and log

    def hold(self) -> Gate:
        """Hold every request from now on until the returned gate is released."""
        self.gate = Gate()
        return self.gate

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each answers the next request its ``when`` accepts."""
        with self._lock:
            self._faults.extend(faults)

    def inject_from_spec(self, *specs: str) -> None:
        """Queue faults written as CLI specs, e.g. ``"503:retry_after=2"``."""
        self.inject(*(parse_fault_spec(spec) for spec in specs))

    def clear_faults(self) -> None:
        """Drop every fault not used yet."""
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[Fault]:
        """Injected faults not used yet."""
        with self._lock:
            return list(self._faults)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the start or :meth:`reset_log`."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._log.clear()

    def _take_fault(self, params: Mapping[str, str]) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.applies_to(params):
                    return self._faults.pop(index)
        return None

    # serving

    def _reply(self, path: str, params: Mapping[str, str]) -> tuple[Reply, Fault | None]:
        exchange: Exchange
        if path == API_PATH:
            exchange = _Exchange(self, params)
        elif path.startswith(FEED_PATH):
            papers = self.papers
            day = self.feed_day or latest_feed_day(papers, self.calendar)
            exchange = FeedExchange(path, papers, day, self.calendar)
        else:
            return Reply(404, b"404 Not Found", TEXT_TYPE), None
        fault = self._take_fault(exchange.params)
        return (fault.reply(exchange) if fault else exchange.answer()), fault

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer one HTTP request (called from the server's threads)."""
        arrived = time.monotonic()
        if self.gate is not None:
            self.gate.hold()
        url = urlsplit(handler.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            reply, fault = self._reply(url.path, params)
        except Exception as error:  # a bug here must not pass for a network fault
            traceback.print_exc()
            reply, fault = Reply(500, f"fake arXiv failed: {error!r}".encode(), TEXT_TYPE), None
        record = RecordedRequest(
            time=arrived,
            path=url.path,
            params=params,
            status=reply.status,
            bytes_sent=0 if reply.reset else sent_size(reply),
            fault=fault.kind if fault else None,
            client_port=handler.client_address[1],
        )
        with self._lock:  # logged before sending, so a client never outruns the log
            self._log.append(record)
        send_reply(handler, reply)


# --- command line ------------------------------------------------------------


def _demo_corpus() -> list[Paper]:
    module = importlib.import_module("dailypapers.offline.corpus")
    return list(module.demo_corpus())


def load_corpus(source: str) -> list[Paper]:
    """Papers from a JSON file (``{"papers": [...]}`` or a list) or ``"demo"``."""
    if source == "demo":
        return _demo_corpus()
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    items = data["papers"] if isinstance(data, dict) else data
    return [Paper.from_dict(item) for item in items]


def load_corpus_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> list[Paper]:
    if value is None:
        return []
    try:
        return load_corpus(value)
    except (ImportError, OSError, ValueError, KeyError, TypeError) as error:
        raise click.BadParameter(f"cannot load {value!r}: {error}") from error


def _fault_option(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> list[Fault]:
    try:
        return [parse_fault_spec(spec) for spec in value]
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


def run_with(command: Sequence[str], variables: Mapping[str, str]) -> int:
    """Run ``command`` with ``variables`` added to the environment; its exit code.

    A command killed by a signal exits like a shell would (128 + signal).
    """
    try:
        code = subprocess.run(list(command), env={**os.environ, **variables}, check=False)
    except FileNotFoundError:
        raise click.ClickException(f"command not found: {command[0]}") from None
    return code.returncode if code.returncode >= 0 else 128 - code.returncode


def serve_until_interrupted(url: str, description: str) -> None:
    """Print the server's URL (stdout) and what it serves (stderr), then wait for Ctrl-C."""
    click.echo(url)
    click.echo(f"{description}; Ctrl-C to stop", err=True)
    never = threading.Event()
    try:
        # Woken each second: Ctrl-C's signal may be delivered to the serving thread,
        # and then wakes no wait of this one; the handler runs when this one wakes.
        while not never.wait(1.0):
            pass
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--corpus",
    "papers",
    metavar="FILE.json|demo",
    callback=load_corpus_option,
    help='Papers to serve: JSON {"papers": [...]} or a list, or "demo".',
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    callback=_fault_option,
    help="Inject a fault, e.g. 503:retry_after=2, reset, slow:seconds=1 (repeatable, FIFO).",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def main(
    papers: list[Paper], host: str, port: int, faults: list[Fault], command: tuple[str, ...]
) -> None:
    """Serve a fake arXiv API; print its URL and serve until Ctrl-C.

    With a command after `--`, run it with DAILYPAPERS_ARXIV_URL and
    DAILYPAPERS_FEED_URL pointing at the server (and DAILYPAPERS_ARXIV_DELAY=0),
    then stop and exit with the command's exit code.
    """
    with FakeArxiv(papers, host=host, port=port) as server:
        server.inject(*faults)
        if not command:
            serve_until_interrupted(server.api_url, f"fake arXiv: {len(server.papers)} papers")
            return
        code = run_with(
            command,
            {
                "DAILYPAPERS_ARXIV_URL": server.api_url,
                "DAILYPAPERS_FEED_URL": server.feed_url,
                "DAILYPAPERS_ARXIV_DELAY": "0",
            },
        )
    raise SystemExit(code)


if __name__ == "__main__":
    main()
