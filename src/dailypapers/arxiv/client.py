"""A polite client for arXiv's query API: pacing, bounded retries and paging.

arXiv's terms of use ask for one request every 3 seconds over a single
connection (https://info.arxiv.org/help/api/tou.html). The client keeps at
least ``delay`` seconds between the starts of consecutive requests, retries
included, and never sends two requests at once.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Literal, Protocol, Self, TypedDict, TypeVar, Unpack, cast, get_args

import httpx
from tenacity import RetryCallState, Retrying, retry_if_result

from dailypapers import __version__
from dailypapers.arxiv import failfast
from dailypapers.arxiv.atom import FeedPage, parse_feed
from dailypapers.arxiv.errors import (
    ArxivAPIError,
    ArxivUnavailable,
    AtomParseError,
    ResultsKeptMoving,
    UnexpectedEmptyPage,
)
from dailypapers.bounded import Bounds, LimitExceeded, bounded_request
from dailypapers.names import DEFAULT_API_URL as DEFAULT_API_URL  # re-exported

PROJECT_URL = "https://github.com/dailypapers/dailypapers"
ARXIV_MIN_DELAY = 3.0
MAX_PAGE_SIZE = 2000  # arXiv's per-call limit
MAX_RESULTS_TOTAL = 30_000  # arXiv's limit on start + max_results
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_WAIT = 30.0
BACKOFF_BASE = 5.0
BACKOFF_CAP = 120.0
EMPTY_PAGE_BACKOFF = 5.0
PAGE_OVERLAP = 2  # entries of the page before that each later page asks for again
MAX_STEP_BACKS = 3  # times a scan steps back over results that moved up, then fails

SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]

# Timeouts, connection and protocol errors, bad gzip, and a truncated or
# garbled body on a 200 are transient; 4xx answers and the error feed are not.
_RETRY_EXCEPTIONS = (httpx.TransportError, httpx.DecodingError, AtomParseError)
_RetryHook = Callable[[RetryCallState], None]
_EmptyHook = Callable[[RetryCallState], FeedPage]

log = logging.getLogger(__name__)
T = TypeVar("T")


class Clock(Protocol):
    """Where the client reads time and sleeps; tests pass a fake one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Seconds from :func:`time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Really sleep."""
        time.sleep(seconds)


@dataclass
class ClientStats:
    """Counters the pipeline records per run; updated on every attempt."""

    requests: int = 0
    bytes_received: int = 0
    retries: int = 0
    seconds_waited: float = 0.0


class Pacer:
    """Keeps at least ``delay`` seconds between the starts of consecutive requests."""

    def __init__(self, clock: Clock, delay: float) -> None:
        self.clock = clock
        self.delay = delay
        self._last_start: float | None = None

    def wait(self) -> float:
        """Sleep until the next request may start, mark it started; return the seconds slept."""
        pause = 0.0
        if self._last_start is not None:
            pause = max(0.0, self._last_start + self.delay - self.clock.monotonic())
        if pause > 0:
            self.clock.sleep(pause)
        self._last_start = self.clock.monotonic()
        return pause


class RetryableStatus(Exception):
    """A 429 or 5xx answer, carrying the server's Retry-After in seconds if any.

    Shared with the OAI-PMH client (:mod:`dailypapers.arxiv.harvester`).
    """

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


@dataclass
class _Call:
    """One logical request (one page) across its attempts."""

    params: dict[str, str | int]
    url: str
    attempts: int = 0
    target: str | None = None  # another URL than the query API (the announcement feed)


def _no_certificates() -> ssl.SSLContext:
    """A TLS client context that trusts no certificate: any handshake fails verification."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


def is_arxiv_host(api_url: str) -> bool:
    """True for arXiv's own hosts, where its terms of use apply."""
    host = httpx.URL(api_url).host.lower().rstrip(".")
    return host == "arxiv.org" or host.endswith(".arxiv.org")


def polite_delay(api_url: str, delay: float) -> float:
    """The delay to use for ``api_url``: never below 3 s against arXiv itself."""
    if delay < 0:
        raise ValueError(f"delay must be >= 0, got {delay}")
    return max(delay, ARXIV_MIN_DELAY) if is_arxiv_host(api_url) else delay


def user_agent(contact: str | None = None) -> str:
    """The User-Agent naming the project and, when given, a contact address."""
    details = f"+{PROJECT_URL}"
    contact = (contact or "").strip()
    if any(char.isspace() for char in contact):
        raise ValueError(f"contact must be an e-mail address without spaces, got {contact!r}")
    if contact:
        details += f"; mailto:{contact}"
    return f"dailypapers/{__version__} ({details})"


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds to wait according to ``Retry-After`` (delay-seconds or HTTP-date), if sent."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    # Measured against the server's own Date header when present, so a skewed
    # local clock does not stretch or cut the wait.
    now = _http_date(response.headers.get("Date", "")) or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _query_params(
    search_query: str,
    id_list: Sequence[str],
    start: int,
    max_results: int,
    sort_by: SortBy,
    sort_order: SortOrder,
) -> dict[str, str | int]:
    if sort_by not in get_args(SortBy):
        raise ValueError(f"sort_by must be one of {get_args(SortBy)}, got {sort_by!r}")
    if sort_order not in get_args(SortOrder):
        raise ValueError(f"sort_order must be one of {get_args(SortOrder)}, got {sort_order!r}")
    if start < 0 or max_results < 1:
        raise ValueError(f"need start >= 0 and max_results >= 1, got {start}, {max_results}")
    params: dict[str, str | int] = {}
    if search_query:
        params["search_query"] = search_query
    if id_list:
        params["id_list"] = ",".join(id_list)
    params.update(start=start, max_results=max_results, sortBy=sort_by, sortOrder=sort_order)
    return params


def _zero_total(state: RetryCallState, start: int) -> bool:
    """The last attempt got a *first* page reporting no result at all (``totalResults = 0``).

    Only a first page: a later one is asked for because the page before it
    promised more, so its "no result at all" is arXiv's transient fault, not
    an answer (believed, it ended a warm scan early, and the papers between
    the two pages were never read).
    """
    page = state.outcome.result() if state.outcome and not state.outcome.failed else None
    return start == 0 and isinstance(page, FeedPage) and page.total_results == 0


def _looks_wrongly_empty(page: FeedPage) -> bool:
    # arXiv sometimes answers a page with no entries although the query has
    # results, mid-paging or even as a first page reporting totalResults 0
    # (lukasschwab/arxiv.py#119, #157): every empty page is worth asking again
    # (a page after the first is asked for only where the one before promised
    # it); how often, and what is believed in the end, depends on where it is.
    return not page.papers


class SettingsFields(TypedDict, total=False):
    """The fields of :class:`ClientSettings`, as keyword arguments of the clients."""

    delay: float
    contact: str | None
    timeout: httpx.Timeout
    max_attempts: int
    max_retry_seconds: float
    backoff: float


@dataclass(frozen=True)
class ClientSettings:
    """How politely every arXiv client (query API, OAI-PMH) talks: one object for both.

    ``delay`` between request starts (never below 3 s against arXiv's hosts),
    the ``contact`` in the User-Agent, ``timeout``, and the retry budget
    (``max_attempts``, ``max_retry_seconds``, ``backoff``: every backoff wait
    scales with it).
    """

    delay: float = ARXIV_MIN_DELAY
    contact: str | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    max_attempts: int = 5
    max_retry_seconds: float = 600.0
    backoff: float = BACKOFF_BASE

    def with_fields(self, **fields: Unpack[SettingsFields]) -> ClientSettings:
        return replace(self, **fields) if fields else self

    def for_url(self, url: str) -> ClientSettings:
        """These settings against ``url``: arXiv's hosts get at least the standard backoff."""
        if is_arxiv_host(url) and self.backoff < BACKOFF_BASE:
            return replace(self, backoff=BACKOFF_BASE)
        return self


class PoliteClient:
    """What every arXiv client shares: one connection, pacing, a clock, retry bounds.

    One ``httpx.Client`` limited to a single connection, the project's
    User-Agent, a :class:`Pacer` (never below 3 s against arXiv's hosts) and
    the retry budget. Use as a context manager, or call :meth:`close`.
    ``stats`` counts requests, bytes, retries and seconds waited.
    """

    def __init__(
        self,
        url: str,
        settings: ClientSettings,
        *,
        clock: Clock | None,
        transport: httpx.BaseTransport | None,
        rng: random.Random | None,
        bounds: Bounds | None = None,
    ) -> None:
        if httpx.URL(url).scheme not in ("http", "https"):
            raise ValueError(f"{type(self).__name__} needs an http(s) URL, got {url!r}")
        self.settings = settings
        max_attempts, max_retry_seconds = settings.max_attempts, settings.max_retry_seconds
        backoff, delay = settings.backoff, settings.delay
        if max_attempts < 1 or min(max_retry_seconds, backoff) < 0:
            raise ValueError("need max_attempts >= 1, max_retry_seconds >= 0 and backoff >= 0")
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        # Every backoff scales with this (the default, 5 s, is what arXiv needs;
        # tests against the fake server use less).
        self.backoff = backoff
        self.stats = ClientStats()
        self.bounds = bounds or Bounds()  # size cap and total deadline of each response
        self._clock: Clock = clock or SystemClock()
        self._pacer = Pacer(self._clock, polite_delay(url, delay))
        self._rng = rng or random.Random()
        self._transport = transport
        self._tls = httpx.URL(url).scheme == "https"
        self._http = self._new_http()

    def _new_http(self) -> httpx.Client:
        """The ``httpx.Client``; without a certificate store while only http:// was asked.

        ``httpx.Client()`` loads certifi's certificates (3 MB, 20 ms) even
        when every request is http:// (a local mirror, the fake server). Until
        the first https:// request the client gets a strict TLS context with
        no certificates: TLS through it could only fail verification, never
        pass unchecked. That request first replaces the client with one that
        verifies as httpx does by default (certifi, or ``SSL_CERT_FILE`` /
        ``SSL_CERT_DIR``); redirects are not followed, so no other request
        reaches TLS.
        """
        return httpx.Client(
            headers={"User-Agent": user_agent(self.settings.contact)},
            timeout=self.settings.timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            transport=self._transport,
            follow_redirects=False,
            verify=True if self._tls else _no_certificates(),
        )

    def _http_for(self, url: str) -> httpx.Client:
        """The client for ``url``: the verifying one from the first https:// URL on."""
        if not self._tls and httpx.URL(url).scheme == "https":
            self._tls = True
            try:  # a bad SSL_CERT_FILE fails here: the http:// client stays usable
                verifying = self._new_http()
            except BaseException:
                self._tls = False
                raise
            self._http.close()
            self._http = verifying
        return self._http

    @property
    def delay(self) -> float:
        """The delay actually enforced between request starts (after clamping)."""
        return self._pacer.delay

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._http.close()


class ArxivClient(PoliteClient):
    """One polite connection to arXiv's query API."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        settings: ClientSettings | None = None,
        *,
        page_size: int = 100,
        empty_page_retries: int = 2,
        page_overlap: int = PAGE_OVERLAP,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        bounds: Bounds | None = None,
        **fields: Unpack[SettingsFields],
    ) -> None:
        if empty_page_retries < 0 or page_overlap < 0:
            raise ValueError("need empty_page_retries >= 0 and page_overlap >= 0")
        chosen = (settings or ClientSettings()).with_fields(**fields)
        super().__init__(api_url, chosen, clock=clock, transport=transport, rng=rng, bounds=bounds)
        self.api_url = api_url
        self.page_size = _checked_page_size(page_size)
        self.empty_page_retries = empty_page_retries
        self.page_overlap = page_overlap

    def fetch_page(
        self,
        search_query: str,
        *,
        start: int,
        max_results: int,
        sort_by: SortBy = "lastUpdatedDate",
        sort_order: SortOrder = "descending",
        id_list: Sequence[str] = (),
        zero_total_retries: int = 1,
    ) -> FeedPage:
        """Fetch one page of results, retrying transient failures and suspicious empty pages.

        An empty page inside a result set (``start < totalResults``, or any
        page after the first: the page before promised it) is retried
        ``empty_page_retries`` times with backoff, then raises. A first page
        reporting ``totalResults = 0`` is asked again at most
        ``zero_total_retries`` times, after the politeness delay only:
        usually the query has no match, and it costs no backoff (0 for a
        topic known to be empty).

        Raises :class:`ArxivAPIError` when arXiv rejects the query,
        :class:`UnexpectedEmptyPage` when a page promised by ``totalResults``
        stays empty, and :class:`ArxivUnavailable` when retries run out.
        """
        params = _query_params(search_query, id_list, start, max_results, sort_by, sort_order)
        url = str(self._http.build_request("GET", self.api_url, params=params).url)
        call = _Call(params, url)
        retrying = Retrying(
            retry=retry_if_result(_looks_wrongly_empty),
            stop=self._empty_stop(zero_total_retries, start),
            wait=functools.partial(self._empty_page_wait, start=start),
            sleep=self._backoff_sleep,
            before_sleep=self._log_retry(call, "empty page"),
            retry_error_callback=_accept_or_raise_empty(call, start),
        )
        return retrying(self._fetch_with_retries, call)

    def _empty_stop(self, zero_total_retries: int, start: int) -> Callable[[RetryCallState], bool]:
        def stop(state: RetryCallState) -> bool:
            retries = self.empty_page_retries
            if _zero_total(state, start):
                retries = min(retries, zero_total_retries)
            return state.attempt_number >= 1 + retries

        return stop

    def iter_pages(
        self,
        search_query: str,
        *,
        sort_by: SortBy = "lastUpdatedDate",
        sort_order: SortOrder = "descending",
        page_size: int | None = None,
        max_results_total: int | None = None,
        id_list: Sequence[str] = (),
        growth: int = 1,
        zero_total_retries: int = 1,
        next_size: Callable[[FeedPage, int], int] | None = None,
    ) -> Iterator[FeedPage]:
        """Yield successive pages until the results (or ``max_results_total``) run out.

        Each page is fetched only when the caller asks for it, so stopping the
        iteration early sends no further request. Papers already yielded are
        dropped from later pages; the next page starts after the entries
        actually received, so a short page skips nothing. With ``growth`` > 1
        each page is that many times larger than the last, up to the client's
        ``page_size`` (a small first page that grows when it was too small).
        ``next_size``, when given, decides instead: it gets the page just
        yielded (without repeats) and its size, and returns the next size
        (kept between 1 and the client's ``page_size``).

        A page that repeats papers of an earlier page means the results moved
        while paging (new papers arrived at the top, or the index is
        inconsistent for a moment): the next page then starts after the *new*
        papers only, so nothing that moved down is skipped.

        Results can move up too (a paper above the boundary left them, or
        papers updated in the same second came back in another order): each
        later page asks again for the last ``page_overlap`` entries of the
        one before, which take in a move of fewer; when none of them is one
        already received, the results moved further, and the scan asks again
        from a page earlier (at most ``MAX_STEP_BACKS`` times, then
        :class:`ResultsKeptMoving`) instead of skipping what moved past.
        """
        if growth < 1:
            raise ValueError(f"growth must be >= 1, got {growth}")
        size = self.page_size if page_size is None else _checked_page_size(page_size)
        limit = _checked_total(max_results_total)
        seen: set[str] = set()
        start = steps_back = 0
        while start < limit:
            overlap = min(self.page_overlap, start, self.page_size - 1)
            page = self.fetch_page(
                search_query,
                start=start - overlap,
                max_results=min(min(size, limit - start) + overlap, self.page_size),
                sort_by=sort_by,
                sort_order=sort_order,
                id_list=id_list,
                zero_total_retries=zero_total_retries,
            )
            if overlap and not any(paper.id in seen for paper in page.papers[:overlap]):
                steps_back += 1
                if steps_back > MAX_STEP_BACKS:
                    raise ResultsKeptMoving(self.api_url, steps_back, start)
                log.info("arXiv's results moved up while paging; asking again from earlier")
                start = max(0, start - overlap - size)
                continue
            fresh = _without_seen(page, seen)
            yield fresh
            start += len(fresh.papers) or len(page.papers)
            if next_size is None:
                size = max(size, min(self.page_size, size * growth))
            else:
                size = max(1, min(self.page_size, next_size(fresh, size)))
            # totalResults can move between pages; the newest value wins.
            if not page.papers or start >= page.total_results:
                return

    def fetch_document(self, url: str, parse: Callable[[bytes], T]) -> T:
        """GET another arXiv document (the announcement feed) under the same rules.

        Same connection, pacing, retries and statistics as the query API;
        ``parse`` turns the body of a 200 into a value and raises
        :class:`AtomParseError` for a garbled one (retried like a bad page).
        """
        if httpx.URL(url).scheme not in ("http", "https"):
            raise ValueError(f"url must be an http(s) URL, got {url!r}")
        call = _Call({}, url, target=url)

        def attempt(call: _Call) -> T:
            response = self._send(call)
            if response.status_code in RETRY_STATUSES:
                raise RetryableStatus(response.status_code, retry_after_seconds(response))
            if response.status_code != httpx.codes.OK:
                message = _error_feed_message(response.content) or _unexpected(response)
                raise ArxivAPIError(
                    message, url, status=response.status_code, attempts=call.attempts
                )
            return parse(response.content)

        return self._retrying(call)(attempt, call)

    def _retrying(self, call: _Call) -> Retrying:
        return Retrying(
            retry=_is_retryable,
            stop=failfast.connect_budget(self._should_stop),
            wait=self._backoff_wait,
            sleep=self._backoff_sleep,
            before_sleep=self._log_retry(call, "failure"),
            retry_error_callback=_give_up(call),
        )

    def _fetch_with_retries(self, call: _Call) -> FeedPage:
        return self._retrying(call)(self._attempt, call)

    def _send(self, call: _Call) -> httpx.Response:
        self.stats.seconds_waited += self._pacer.wait()
        call.attempts += 1
        self.stats.requests += 1
        url = call.target or self.api_url
        try:
            response = bounded_request(
                self._http_for(url), "GET", url, params=call.params or None, bounds=self.bounds
            )
        except LimitExceeded as exc:
            raise ArxivAPIError(str(exc), call.url, attempts=call.attempts) from None
        # Bytes on the wire (compressed); transports that do not count them
        # (httpx.MockTransport) report the body length instead.
        self.stats.bytes_received += response.num_bytes_downloaded or len(response.content)
        return response

    def _attempt(self, call: _Call) -> FeedPage:
        return _interpret(self._send(call), call)

    def _should_stop(self, state: RetryCallState) -> bool:
        return retry_budget_spent(state, self.max_attempts, self.max_retry_seconds)

    def _backoff_wait(self, state: RetryCallState) -> float:
        return backoff_wait(state, self.backoff, self._rng)

    def _empty_page_wait(self, state: RetryCallState, start: int) -> float:
        if _zero_total(state, start):
            return 0.0  # the pacer's delay is enough: such a page is usually true
        base = EMPTY_PAGE_BACKOFF * self.backoff / BACKOFF_BASE * 2.0 ** (state.attempt_number - 1)
        return base * self._rng.uniform(1.0, 1.25)

    def _backoff_sleep(self, seconds: float) -> None:
        self.stats.seconds_waited += seconds
        self._clock.sleep(seconds)

    def _log_retry(self, call: _Call, kind: str) -> _RetryHook:
        def hook(state: RetryCallState) -> None:
            self.stats.retries += 1
            if kind == "failure":
                failfast.log_retry(log, "arXiv", call.url, state)
                return
            log.warning(
                "arXiv %s (%s), retrying in %.1f s", kind, _describe(state), state.upcoming_sleep
            )
            log.debug("arXiv: retrying %s", call.url)

        return hook


def retry_budget_spent(state: RetryCallState, max_attempts: int, max_seconds: float) -> bool:
    """tenacity stop rule: out of attempts, or the next wait would pass ``max_seconds``."""
    waited = state.idle_for + state.upcoming_sleep
    return state.attempt_number >= max_attempts or waited > max_seconds


def backoff_wait(state: RetryCallState, backoff: float, rng: random.Random) -> float:
    """tenacity wait rule: Retry-After when sent; else exponential from ``backoff``.

    A 429 without Retry-After waits 6 × ``backoff`` or more (30 s at the default).
    """
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, RetryableStatus):
        if error.retry_after is not None:
            return error.retry_after
        if error.status == 429:
            # arXiv rate-limits below its documented rate and does not
            # promise Retry-After (arXiv API docs, 2025): back off 30 s+.
            wait = RATE_LIMIT_WAIT * backoff / BACKOFF_BASE
            return wait + rng.uniform(0, wait / 2)
    base = min(BACKOFF_CAP, backoff * 2.0 ** (state.attempt_number - 1))
    return min(BACKOFF_CAP, base * rng.uniform(1.0, 1.25))


def _checked_page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    return page_size


def _checked_total(max_results_total: int | None) -> int:
    if max_results_total is None:
        return MAX_RESULTS_TOTAL
    if max_results_total < 0:
        raise ValueError(f"max_results_total must be >= 0, got {max_results_total}")
    return min(max_results_total, MAX_RESULTS_TOTAL)


def _without_seen(page: FeedPage, seen: set[str]) -> FeedPage:
    fresh = []
    for paper in page.papers:
        if paper.id not in seen:
            seen.add(paper.id)
            fresh.append(paper)
    return replace(page, papers=tuple(fresh))


def _interpret(response: httpx.Response, call: _Call) -> FeedPage:
    status = response.status_code
    if status in RETRY_STATUSES:
        raise RetryableStatus(status, retry_after_seconds(response))
    if status == httpx.codes.OK:
        try:
            return parse_feed(response.content)
        except ArxivAPIError as exc:
            raise ArxivAPIError(
                exc.message, call.url, status=status, attempts=call.attempts
            ) from None
    message = _error_feed_message(response.content) or _unexpected(response)
    raise ArxivAPIError(message, call.url, status=status, attempts=call.attempts)


def _error_feed_message(content: bytes) -> str | None:
    try:
        parse_feed(content)
    except ArxivAPIError as exc:
        return exc.message
    except AtomParseError:
        return None
    return None


def _unexpected(response: httpx.Response) -> str:
    message = f"unexpected response {response.reason_phrase}".rstrip()
    location = response.headers.get("Location")
    return f"{message} (Location: {location})" if location else message


def _is_retryable(state: RetryCallState) -> bool:
    error = state.outcome.exception() if state.outcome else None
    return isinstance(error, (RetryableStatus, *_RETRY_EXCEPTIONS))


def _describe(state: RetryCallState) -> str:
    if state.outcome is None:
        return "no outcome"
    error = state.outcome.exception()
    if error is None:
        page = cast(FeedPage, state.outcome.result())
        return f"start={page.start_index}, totalResults={page.total_results}"
    return str(error) or type(error).__name__


def _give_up(call: _Call) -> _RetryHook:
    def raise_unavailable(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        last: int | BaseException | None = error
        if isinstance(error, RetryableStatus):
            last = error.status
        raise ArxivUnavailable(call.url, call.attempts, last) from error

    return raise_unavailable


def _accept_or_raise_empty(call: _Call, start: int) -> _EmptyHook:
    def accept_or_raise(state: RetryCallState) -> FeedPage:
        assert state.outcome is not None
        page = cast(FeedPage, state.outcome.result())
        if start > 0 or start < page.total_results:
            raise UnexpectedEmptyPage(call.url, call.attempts, start, page.total_results)
        # A first page still empty with totalResults 0 after the retries: believe arXiv.
        return page

    return accept_or_raise
