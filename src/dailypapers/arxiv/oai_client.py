"""A polite client for arXiv's OAI-PMH endpoint: ``ListRecords`` pages with retries.

The same rules as the query API client (:mod:`dailypapers.arxiv.client`), whose
pacing and retry pieces it reuses: one connection, at least ``delay`` seconds
between request starts (never below 3 s against arXiv's hosts, whose terms of
use cover OAI-PMH too), and bounded retries that honour ``Retry-After``.
OAI-PMH repositories do flow control with ``503`` + ``Retry-After``
(OAI-PMH 2.0, section 3.1.2.2; arXiv does), so a 503 is an expected answer,
not a failure. The body is parsed while it streams in.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import date
from typing import NoReturn, Unpack

import httpx
from tenacity import RetryCallState, Retrying

from dailypapers.arxiv import failfast
from dailypapers.arxiv.client import (
    RETRY_STATUSES,
    ClientSettings,
    Clock,
    PoliteClient,
    RetryableStatus,
    SettingsFields,
    backoff_wait,
    retry_after_seconds,
    retry_budget_spent,
)
from dailypapers.arxiv.errors import ArxivAPIError, ArxivUnavailable
from dailypapers.arxiv.oai import OaiError, OaiPage, OaiParseError, PageParser, parse_page
from dailypapers.bounded import Bounds, LimitExceeded, Watchdog, bounded_chunks
from dailypapers.names import DEFAULT_OAI_URL as DEFAULT_OAI_URL  # re-exported

_Hook = Callable[[RetryCallState], None]
_RETRY_EXCEPTIONS = (RetryableStatus, httpx.TransportError, httpx.DecodingError, OaiParseError)

log = logging.getLogger(__name__)


def list_records_params(
    metadata_prefix: str, set_spec: str | None, start: date | None, until: date | None
) -> dict[str, str]:
    """The first request of a harvest; later pages send only the resumption token."""
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if start:
        params["from"] = start.isoformat()
    if until:
        params["until"] = until.isoformat()
    return params


def resume_params(token: str) -> dict[str, str]:
    """A follow-up request: ``resumptionToken`` is an exclusive argument in OAI-PMH."""
    return {"verb": "ListRecords", "resumptionToken": token}


class OaiClient(PoliteClient):
    """One polite connection to an OAI-PMH endpoint. ``stats`` counts what it cost."""

    def __init__(
        self,
        url: str = DEFAULT_OAI_URL,
        settings: ClientSettings | None = None,
        *,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        rng: random.Random | None = None,
        bounds: Bounds | None = None,
        **fields: Unpack[SettingsFields],
    ) -> None:
        chosen = (settings or ClientSettings()).with_fields(**fields)
        super().__init__(url, chosen, clock=clock, transport=transport, rng=rng, bounds=bounds)
        self.url = url

    def fetch_page(self, params: dict[str, str]) -> OaiPage:
        """One ``ListRecords`` page, parsed; transient failures are retried.

        Raises :class:`OaiError` for the repository's OAI-PMH errors (not
        retried; ``noRecordsMatch`` is an empty page instead),
        :class:`ArxivAPIError` for other refusals and
        :class:`ArxivUnavailable` when the retries run out.
        """
        url = str(self._http.build_request("GET", self.url, params=params).url)
        retrying = Retrying(
            retry=_is_retryable,
            stop=failfast.connect_budget(
                lambda state: retry_budget_spent(state, self.max_attempts, self.max_retry_seconds)
            ),
            wait=lambda state: backoff_wait(state, self.backoff, self._rng),
            sleep=self._sleep,
            before_sleep=self._log_retry(url),
            retry_error_callback=_give_up(url),
        )
        return retrying(self._attempt, params, url)

    def _attempt(self, params: dict[str, str], url: str) -> OaiPage:
        self.stats.seconds_waited += self._pacer.wait()
        self.stats.requests += 1
        started = time.monotonic()
        try:
            with Watchdog(self.bounds.deadline) as dog:
                try:
                    return self._stream(params, url, started, dog)
                except httpx.TransportError:
                    if dog.expired:
                        raise self.bounds.too_slow() from None
                    raise
        except LimitExceeded as exc:
            raise ArxivAPIError(str(exc), url) from None

    def _stream(self, params: dict[str, str], url: str, started: float, dog: Watchdog) -> OaiPage:
        extensions = {"trace": dog.trace}
        with self._http.stream("GET", self.url, params=params, extensions=extensions) as response:
            if response.status_code in RETRY_STATUSES:  # its body is not needed
                self.stats.bytes_received += response.num_bytes_downloaded
                raise RetryableStatus(response.status_code, retry_after_seconds(response))
            try:
                return self._parse(response, url, started)
            finally:
                self.stats.bytes_received += response.num_bytes_downloaded

    def _parse(self, response: httpx.Response, url: str, started: float) -> OaiPage:
        if response.status_code != httpx.codes.OK:
            _refuse(response, url, b"".join(bounded_chunks(response, self.bounds, started)))
        parser = PageParser()
        records = []
        try:
            for chunk in bounded_chunks(response, self.bounds, started):
                records += parser.feed(chunk)
            page = parser.close()
        except OaiError as exc:
            raise OaiError(exc.code, exc.message, url) from None
        page.records = records
        return page

    def _sleep(self, seconds: float) -> None:
        self.stats.seconds_waited += seconds
        self._clock.sleep(seconds)

    def _log_retry(self, url: str) -> _Hook:
        def hook(state: RetryCallState) -> None:
            self.stats.retries += 1
            failfast.log_retry(log, "OAI-PMH", url, state)

        return hook


def _refuse(response: httpx.Response, url: str, body: bytes) -> NoReturn:
    """A non-200, non-retryable answer: the OAI-PMH error it carries, or its status."""
    try:
        parse_page(body)
    except OaiError as exc:
        raise OaiError(exc.code, exc.message, url) from None
    except OaiParseError:
        pass
    reason = f"unexpected response {response.reason_phrase}".strip()
    raise ArxivAPIError(reason, url, status=response.status_code)


def _is_retryable(state: RetryCallState) -> bool:
    error = state.outcome.exception() if state.outcome else None
    return isinstance(error, _RETRY_EXCEPTIONS)


def _give_up(url: str) -> _Hook:
    def raise_unavailable(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        last: int | BaseException | None = error
        if isinstance(error, RetryableStatus):
            last = error.status
        raise ArxivUnavailable(
            url, state.attempt_number, last, setting="DAILYPAPERS_OAI_URL"
        ) from error

    return raise_unavailable
