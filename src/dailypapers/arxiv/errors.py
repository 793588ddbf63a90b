"""Errors raised while talking to arXiv's query API.

Every ``str()`` is a single line so that logs, run records and CLI messages
stay readable.
"""

from __future__ import annotations

from dailypapers.arxiv.failfast import reason, unreachable

_MAX_MESSAGE = 300
OFFLINE_HINT = (
    "offline: python -m dailypapers.offline.fake_arxiv --corpus demo -- dailypapers update"
)
OFFLINE_README = "offline: see 'Offline' in the README"


def one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace (newlines included) and cut ``text`` to ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


class ArxivError(Exception):
    """Base class of every error raised by :mod:`dailypapers.arxiv`."""

    url: str | None = None

    def brief(self) -> str:
        """The message without the request URL (long; ``--debug`` shows it)."""
        text = str(self)
        return text.removesuffix(f" for {self.url}") if self.url else text


class AtomParseError(ArxivError):
    """A response body is not a usable arXiv Atom feed."""

    def __init__(self, reason: str) -> None:
        self.reason = one_line(reason)
        super().__init__(self.reason)


class ArxivAPIError(ArxivError):
    """arXiv refused the request: its error feed, or another non-retryable HTTP status.

    ``message`` is arXiv's own explanation (the error feed's summary) when it
    sent one. Not retried: asking again would get the same answer.
    """

    def __init__(
        self,
        message: str,
        url: str | None = None,
        *,
        status: int | None = None,
        attempts: int | None = None,
    ) -> None:
        self.message = one_line(message)
        self.url = url
        self.status = status
        self.attempts = attempts
        super().__init__(self.message)

    def __str__(self) -> str:
        text = f"arXiv API error: {self.message}"
        if self.status is not None:
            text += f" (HTTP {self.status})"
        if self.url:
            text += f" for {self.url}"
        return text


class ArxivUnavailable(ArxivError):
    """arXiv did not answer usefully before the retry budget ran out.

    ``last`` is the last HTTP status (an ``int``) or the last exception seen.
    """

    def __init__(
        self,
        url: str,
        attempts: int,
        last: int | BaseException | None,
        *,
        setting: str = "DAILYPAPERS_ARXIV_URL",
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.last = last
        self.setting = setting
        super().__init__(url, attempts, last)

    @property
    def status(self) -> int | None:
        """The last HTTP status, when the last failure was one."""
        return self.last if isinstance(self.last, int) else None

    def _cause(self) -> str:
        if self.last is None:
            return ""
        if isinstance(self.last, int):
            return f" (HTTP {self.last})"
        if reason(self.last) != type(self.last).__name__:
            return f" ({reason(self.last)})"
        detail = one_line(str(self.last), 120)
        name = type(self.last).__name__
        return f" ({name}: {detail})" if detail else f" ({name})"

    def hint(self) -> str:
        """What to check when the host could not be reached at all (empty otherwise)."""
        if not unreachable(self.last):
            return ""
        offline = OFFLINE_HINT if self.setting == "DAILYPAPERS_ARXIV_URL" else OFFLINE_README
        return f"; check the network, a proxy (HTTPS_PROXY) and ${self.setting}; {offline}"

    def _base(self) -> str:
        noun = "attempt" if self.attempts == 1 else "attempts"
        # A garbled answer (the same bad page each time) is no outage: say what it was.
        garbled = isinstance(self.last, ArxivError) and not isinstance(self.last, ArxivUnavailable)
        what = "no usable answer from arXiv" if garbled else "arXiv unavailable"
        return f"{what} after {self.attempts} {noun}{self._cause()}"

    def brief(self) -> str:
        return self._base() + self.hint()

    def __str__(self) -> str:
        return f"{self._base()} for {self.url}{self.hint()}"


class UnexpectedEmptyPage(ArxivUnavailable):
    """arXiv kept answering an empty page where its own ``totalResults`` promised entries.

    A known glitch of the query API (lukasschwab/arxiv.py#119, #157); raised
    only after the page has been retried.
    """

    def __init__(self, url: str, attempts: int, start: int, total_results: int) -> None:
        super().__init__(url, attempts, None)
        self.start = start
        self.total_results = total_results

    def brief(self) -> str:
        return ArxivError.brief(self)

    def __str__(self) -> str:
        noun = "attempt" if self.attempts == 1 else "attempts"
        return (
            f"arXiv returned an empty page at start={self.start} of {self.total_results} "
            f"results after {self.attempts} {noun} for {self.url}"
        )


class ResultsKeptMoving(ArxivUnavailable):
    """arXiv's results kept moving up between the pages of one scan (``iter_pages``).

    Each time, papers would have been skipped at the page boundary; the scan
    asked again from earlier, and gave up after a few tries (the run stores
    nothing, and the next run reads it all).
    """

    def __init__(self, url: str, attempts: int, start: int) -> None:
        super().__init__(url, attempts, None)
        self.start = start

    def __str__(self) -> str:
        return (
            f"arXiv's results kept moving while paging (near result {self.start}, "
            f"{self.attempts} tries) for {self.url}; try again later"
        )
