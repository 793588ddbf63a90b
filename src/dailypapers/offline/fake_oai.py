"""A fake arXiv OAI-PMH endpoint over real sockets, for tests, benchmarks and offline use.

``with FakeOai(papers, page_size=100) as server:`` serves ``GET /oai`` at
``server.url``: ``ListRecords`` in the ``arXivRaw``, ``arXiv`` and ``oai_dc``
formats (shaped as arXiv's templates render them), sets in arXiv's names
(``cs``, ``cs:cs:AI``, ``physics:hep-th``), ``from``/``until`` on record
datestamps (a paper's last update date), pages with resumption tokens, and
OAI-PMH errors. Faults: every kind of :mod:`dailypapers.offline.faults`
(``503:retry_after=2``, ``truncated``, ``reset``...) plus OAI-PMH protocol
errors (:func:`oai_error`, e.g. ``badResumptionToken``); :meth:`FakeOai.expire_tokens`
makes every token issued so far invalid, as arXiv's daily expiry does.

From a shell::

    python -m dailypapers.offline.fake_oai --corpus demo -- dailypapers harvest --set cs
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any, cast

import click
from lxml import etree
from pylatexenc.latexencode import UnicodeToLatexEncoder

from dailypapers.arxiv.oai import ARXIV_FORMAT, ARXIV_RAW, DC, OAI, OAI_DC
from dailypapers.arxiv.taxonomy import archive_of
from dailypapers.models import Paper
from dailypapers.offline.fake_arxiv import (
    FakeArxiv,
    load_corpus_option,
    run_with,
    serve_until_interrupted,
)
from dailypapers.offline.faults import (
    TEXT_TYPE,
    Fault,
    Reply,
    fault,
    parse_fault_spec,
)

OAI_PATH = "/oai"
XML_TYPE = "text/xml; charset=utf-8"
OAI_ERROR_CODES = frozenset(
    {
        "badArgument",
        "badResumptionToken",
        "badVerb",
        "cannotDisseminateFormat",
        "idDoesNotExist",
        "noRecordsMatch",
        "noMetadataFormats",
        "noSetHierarchy",
    }
)
_GROUPS = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"}
_TEX = UnicodeToLatexEncoder(
    non_ascii_only=True, unknown_char_policy="keep", unknown_char_warning=False
)


def sets_of(category: str) -> set[str]:
    """The OAI-PMH sets a paper of ``category`` is in, new names and old."""
    archive = archive_of(category)
    group = archive if archive in _GROUPS else "physics"
    found = {group, f"{group}:{archive}"}
    if "." in category:
        found.add(f"{group}:{archive}:{category.split('.', 1)[1]}")
    return found


# --- XML writers ------------------------------------------------------------------


def _add(parent: Any, tag: str, text: str | None = None, **attrib: str) -> Any:
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def _version_dates(paper: Paper) -> list[datetime]:
    """v1 .. vN submission times: v1 is ``published``, vN ``updated``, the rest between."""
    if paper.version == 1:
        return [paper.published]
    step = (paper.updated - paper.published) / (paper.version - 1)
    return [paper.published + step * n for n in range(paper.version)]


def _raw(metadata: Any, paper: Paper) -> None:
    ns = f"{{{ARXIV_RAW}}}"
    body = etree.SubElement(metadata, ns + "arXivRaw", nsmap={None: ARXIV_RAW})
    _add(body, ns + "id", paper.id)
    _add(body, ns + "submitter", paper.authors[0].name if paper.authors else "anonymous")
    for number, when in enumerate(_version_dates(paper), 1):
        version = _add(body, ns + "version", version=f"v{number}")
        _add(version, ns + "date", format_datetime(when.astimezone(UTC), usegmt=True))
        _add(version, ns + "size", "100kb")
    _add(body, ns + "title", paper.title)
    names = [_TEX.unicode_to_latex(a.name) for a in paper.authors]
    joined = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
    _add(body, ns + "authors", joined)
    _add_common(body, ns, paper)


def _arxiv(metadata: Any, paper: Paper) -> None:
    ns = f"{{{ARXIV_FORMAT}}}"
    body = etree.SubElement(metadata, ns + "arXiv", nsmap={None: ARXIV_FORMAT})
    _add(body, ns + "id", paper.id)
    _add(body, ns + "created", _day(paper.published))
    if paper.version > 1:
        _add(body, ns + "updated", _day(paper.updated))
    authors = _add(body, ns + "authors")
    for author in paper.authors:
        element = _add(authors, ns + "author")
        forenames, _, keyname = author.name.rpartition(" ")
        _add(element, ns + "keyname", keyname)
        if forenames:
            _add(element, ns + "forenames", forenames)
        for affiliation in author.affiliations:
            _add(element, ns + "affiliation", affiliation)
    _add(body, ns + "title", paper.title)
    _add_common(body, ns, paper)


def _add_common(body: Any, ns: str, paper: Paper) -> None:
    _add(body, ns + "categories", " ".join(paper.categories))
    for tag, value in (("comments", paper.comment), ("journal-ref", paper.journal_ref)):
        if value:
            _add(body, ns + tag, value)
    if paper.doi:
        _add(body, ns + "doi", paper.doi)
    _add(body, ns + "license", "http://arxiv.org/licenses/nonexclusive-distrib/1.0/")
    _add(body, ns + "abstract", f"  {paper.abstract}\n")


def _dublin_core(metadata: Any, paper: Paper) -> None:
    dc = f"{{{DC}}}"
    body = etree.SubElement(metadata, f"{{{OAI_DC}}}dc", nsmap={"oai_dc": OAI_DC, "dc": DC})
    _add(body, dc + "title", paper.title)
    for author in paper.authors:
        forenames, _, keyname = author.name.rpartition(" ")
        _add(body, dc + "creator", f"{keyname}, {forenames}" if forenames else keyname)
    _add(body, dc + "description", f" {paper.abstract} ")
    if paper.comment:
        _add(body, dc + "description", f"Comment: {paper.comment}")
    _add(body, dc + "date", _day(paper.published))
    if paper.version > 1:
        _add(body, dc + "date", _day(paper.updated))
    _add(body, dc + "type", "text")
    _add(body, dc + "identifier", f"http://arxiv.org/abs/{paper.id}")


_WRITERS = {"arXivRaw": _raw, "arXiv": _arxiv, "oai_dc": _dublin_core}


def _envelope(params: Mapping[str, str], base_url: str) -> Any:
    root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI})
    _add(root, f"{{{OAI}}}responseDate", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    _add(root, f"{{{OAI}}}request", base_url, **dict(params))
    return root


def _serialize(root: Any) -> bytes:
    etree.indent(root, space="  ")
    return cast(bytes, etree.tostring(root, xml_declaration=True, encoding="UTF-8")) + b"\n"


def error_xml(code: str, message: str, params: Mapping[str, str], base_url: str) -> bytes:
    """An OAI-PMH error answer."""
    root = _envelope(params if code not in ("badVerb", "badArgument") else {}, base_url)
    _add(root, f"{{{OAI}}}error", message, code=code)
    return _serialize(root)


def list_records_xml(
    papers: Sequence[Paper],
    metadata_prefix: str,
    token: str | None,
    params: Mapping[str, str],
    base_url: str,
) -> bytes:
    """A ``ListRecords`` answer; ``token`` ``None`` writes the empty last-page token."""
    root = _envelope(params, base_url)
    listing = _add(root, f"{{{OAI}}}ListRecords")
    for paper in papers:
        record = _add(listing, f"{{{OAI}}}record")
        header = _add(record, f"{{{OAI}}}header")
        _add(header, f"{{{OAI}}}identifier", f"oai:arXiv.org:{paper.id}")
        _add(header, f"{{{OAI}}}datestamp", _day(paper.updated))
        for spec in sorted({s for c in paper.categories for s in sets_of(c)}):
            _add(header, f"{{{OAI}}}setSpec", spec)
        _WRITERS[metadata_prefix](_add(record, f"{{{OAI}}}metadata"), paper)
    if token is not None:
        expires = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        _add(listing, f"{{{OAI}}}resumptionToken", token, expires=expires)
    elif params.get("resumptionToken"):
        _add(listing, f"{{{OAI}}}resumptionToken")
    return _serialize(root)


# --- the protocol -----------------------------------------------------------------


class _OaiProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class _ListRequest:
    metadata_prefix: str
    set_spec: str | None
    start: date | None
    until: date | None
    offset: int = 0


def _date_param(params: Mapping[str, str], name: str) -> date | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise _OaiProblem("badArgument", f"bad {name} date {raw!r}") from None


def oai_error(code: str, message: str = "", when: Any = None) -> Fault:
    """An OAI-PMH error in place of the next answer: ``oai_error("badResumptionToken")``.

    It is the ``error_feed`` fault (the service's own error document) whose
    message starts with the OAI-PMH error code.
    """
    if code not in OAI_ERROR_CODES:
        raise ValueError(f"unknown OAI-PMH error code {code!r}; known: {sorted(OAI_ERROR_CODES)}")
    return fault("error_feed", message=f"{code}: {message or 'fake ' + code}", when=when)


def parse_oai_fault_spec(spec: str) -> Fault:
    """``badResumptionToken[:message=...]``, ``noRecordsMatch``... or any fault spec."""
    head, _, tail = spec.strip().partition(":")
    if head in OAI_ERROR_CODES:
        return oai_error(head, tail.removeprefix("message="))
    return parse_fault_spec(spec)


class _Exchange:
    """One request, as faults see it (see :class:`dailypapers.offline.faults.Exchange`)."""

    def __init__(self, fake: FakeOai, params: Mapping[str, str]) -> None:
        self.params, self._fake, self.page_size = params, fake, fake.page_size

    def answer(
        self, *, limit: int | None = None, shift: int = 0, total: int | None = None
    ) -> Reply:
        return self._fake._answer(self.params, limit)

    def error(self, message: str) -> Reply:
        code, _, text = message.partition(": ")
        if code not in OAI_ERROR_CODES:
            code, text = "badArgument", message
        return self._fake._error(code, text, self.params)


class FakeOai(FakeArxiv):
    """arXiv's OAI-PMH endpoint on a local port, over an in-memory corpus.

    Serving, faults (:meth:`inject`) and the request log (:attr:`requests`)
    work as in :class:`~dailypapers.offline.fake_arxiv.FakeArxiv`.
    """

    def __init__(
        self,
        papers: Iterable[Paper] = (),
        *,
        page_size: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.page_size = page_size
        self._papers: list[Paper] = []
        self._generation = 0
        self._selections: dict[tuple[Any, ...], list[Paper]] = {}
        super().__init__(papers, host=host, port=port)

    def __enter__(self) -> FakeOai:
        self.start()
        return self

    @property
    def url(self) -> str:
        """The endpoint, ``http://HOST:PORT/oai``."""
        return self.base_url + OAI_PATH

    def set_papers(self, papers: Iterable[Paper]) -> None:
        """Replace the corpus (one record per id; the last one given wins)."""
        latest = {paper.id: paper for paper in papers}
        ordered = sorted(latest.values(), key=lambda p: (p.updated.date(), p.id))
        with self._lock:
            self._papers = ordered
            self._selections = {}

    def add_papers(self, papers: Iterable[Paper]) -> None:
        """Add papers; a known id is replaced (a new version: a new datestamp)."""
        self.set_papers([*self.papers, *papers])

    @property
    def papers(self) -> list[Paper]:
        """The corpus, oldest datestamp first."""
        with self._lock:
            return list(self._papers)

    def expire_tokens(self) -> None:
        """Make every resumption token issued so far invalid (arXiv's daily expiry)."""
        with self._lock:
            self._generation += 1

    def _reply(self, path: str, params: Mapping[str, str]) -> tuple[Reply, Fault | None]:
        if path != OAI_PATH:
            return Reply(404, b"404 Not Found", TEXT_TYPE), None
        injected = self._take_fault(params)
        exchange = _Exchange(self, params)
        return (injected.reply(exchange) if injected else self._answer(params, None)), injected

    def _error(self, code: str, message: str, params: Mapping[str, str]) -> Reply:
        return Reply(200, error_xml(code, message, params, self.url), XML_TYPE)

    def _answer(self, params: Mapping[str, str], limit: int | None) -> Reply:
        try:
            request = self._request(params)
            found = self._select(request)
        except _OaiProblem as problem:
            return self._error(problem.code, problem.message, params)
        end = request.offset + self.page_size
        page = found[request.offset : end][:limit]
        token = self._token(request, request.offset + len(page)) if end < len(found) else None
        body = list_records_xml(page, request.metadata_prefix, token, params, self.url)
        return Reply(200, body, XML_TYPE)

    def _request(self, params: Mapping[str, str]) -> _ListRequest:
        if params.get("verb") != "ListRecords":
            raise _OaiProblem("badVerb", f"illegal verb {params.get('verb')!r}")
        if "resumptionToken" in params:
            if set(params) != {"verb", "resumptionToken"}:
                raise _OaiProblem("badArgument", "resumptionToken is an exclusive argument")
            return self._untoken(params["resumptionToken"])
        prefix = params.get("metadataPrefix", "")
        if not prefix:
            raise _OaiProblem("badArgument", "metadataPrefix is required")
        if prefix not in _WRITERS:
            raise _OaiProblem("cannotDisseminateFormat", f"unknown format {prefix!r}")
        start, until = _date_param(params, "from"), _date_param(params, "until")
        if start and until and start > until:
            raise _OaiProblem("badArgument", "from is after until")
        return _ListRequest(prefix, params.get("set"), start, until)

    def _select(self, request: _ListRequest) -> list[Paper]:
        key = (request.set_spec, request.start, request.until)
        with self._lock:
            cached = self._selections.get(key)
        found = cached if cached is not None else self._filter(request)
        with self._lock:
            self._selections[key] = found
        if not found:
            raise _OaiProblem("noRecordsMatch", "no records match the request")
        return found

    def _filter(self, request: _ListRequest) -> list[Paper]:
        return [
            p
            for p in self.papers
            if (request.start is None or p.updated.date() >= request.start)
            and (request.until is None or p.updated.date() <= request.until)
            and (
                request.set_spec is None
                or any(request.set_spec in sets_of(c) for c in p.categories)
            )
        ]

    def _token(self, request: _ListRequest, offset: int) -> str:
        data = {
            "p": request.metadata_prefix,
            "s": request.set_spec,
            "f": request.start.isoformat() if request.start else None,
            "u": request.until.isoformat() if request.until else None,
            "o": offset,
            "g": self._generation,
        }
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()

    @staticmethod
    def offset_of(params: Mapping[str, str]) -> int:
        """Where the page a request asks for starts (for faults' ``when``); 0 if unknown."""
        try:
            data = json.loads(base64.urlsafe_b64decode(params["resumptionToken"].encode()))
            return int(data["o"])
        except (KeyError, ValueError, TypeError):
            return 0

    def _untoken(self, token: str) -> _ListRequest:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            if data["g"] != self._generation:
                raise ValueError("expired")
            return _ListRequest(
                data["p"],
                data["s"],
                date.fromisoformat(data["f"]) if data["f"] else None,
                date.fromisoformat(data["u"]) if data["u"] else None,
                int(data["o"]),
            )
        except (ValueError, KeyError, TypeError):
            message = "the resumption token is invalid or expired"
            raise _OaiProblem("badResumptionToken", message) from None


# --- command line ----------------------------------------------------------------------


def _fault_option(ctx: click.Context, param: click.Parameter, value: Sequence[str]) -> list[Fault]:
    try:
        return [parse_oai_fault_spec(spec) for spec in value]
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--corpus",
    "papers",
    metavar="FILE.json|demo",
    callback=load_corpus_option,
    help='Papers to serve: JSON {"papers": [...]} or a list, or "demo".',
)
@click.option("--page-size", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=int, default=0, show_default=True, help="Port; 0 picks a free one.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    callback=_fault_option,
    help="Inject a fault: 503:retry_after=2, truncated, reset, badResumptionToken, ...",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def main(
    papers: list[Paper],
    page_size: int,
    host: str,
    port: int,
    faults: list[Fault],
    command: tuple[str, ...],
) -> None:
    """Serve a fake arXiv OAI-PMH endpoint; print its URL and serve until Ctrl-C.

    With a command after `--`, run it with DAILYPAPERS_OAI_URL pointing at
    the server (and DAILYPAPERS_OAI_DELAY=0), then stop and exit with the
    command's exit code.
    """
    with FakeOai(papers, page_size=page_size, host=host, port=port) as server:
        server.inject(*faults)
        if not command:
            serve_until_interrupted(server.url, f"fake OAI-PMH: {len(server.papers)} papers")
            return
        code = run_with(command, {"DAILYPAPERS_OAI_URL": server.url, "DAILYPAPERS_OAI_DELAY": "0"})
    raise SystemExit(code)


if __name__ == "__main__":
    main()
