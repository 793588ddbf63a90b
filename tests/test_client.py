"""The polite client, against httpx.MockTransport and a fake clock: no sockets, no sleeping."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx
import pytest

from dailypapers import __version__
from dailypapers.arxiv import client as client_module
from dailypapers.arxiv.atom import FeedPage
from dailypapers.arxiv.client import (
    DEFAULT_API_URL,
    ArxivClient,
    Pacer,
    SystemClock,
    polite_delay,
    retry_after_seconds,
)
from dailypapers.arxiv.errors import (
    ArxivAPIError,
    ArxivError,
    ArxivUnavailable,
    UnexpectedEmptyPage,
)
from support.clock import FakeClock

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
FAKE_URL = "http://fake.test/api/query"

Reply = httpx.Response | type[httpx.TransportError] | Callable[[httpx.Request], httpx.Response]


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, content=body(name))


PAGE_0 = "q_testing_s0_m10_bc5a6c384fe9.xml"  # entries 0-9 of 214881
PAGE_10 = "q_testing_s10_m10_34e56e15aaac.xml"  # entries 10-19
PAGE_20 = "q_testing_s20_m10_348a237fecab.xml"
PAGE_9_15 = "q_testing_s9_m15_0b78d4b4d476.xml"  # entries 9-23: overlaps PAGE_0 by one
EMPTY_FEED = "id_0000.0000_s0_m100_8b51d9633a68.xml"  # totalResults 0
ERROR_FEED = "id_abc_s0_m100_b79c8dcf6bc3.xml"


def empty_page(start: int, total: int) -> httpx.Response:
    """A valid feed with no entries although ``total`` promises some (arXiv's glitch)."""
    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        "<opensearch:itemsPerPage>10</opensearch:itemsPerPage></feed>"
    )
    return httpx.Response(200, content=feed.encode())


class FakeArxiv:
    """Replies from a script, recording each request with its fake-clock time."""

    def __init__(self, clock: FakeClock, replies: Iterable[Reply]) -> None:
        self.clock = clock
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(self.clock.monotonic())
        assert self.replies, f"unexpected extra request {request.url}"
        reply = self.replies.pop(0)
        if isinstance(reply, type):
            raise reply("simulated failure", request=request)
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    def params(self, name: str) -> list[str]:
        return [r.url.params[name] for r in self.requests]

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.times, self.times[1:], strict=False)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(
    clock: FakeClock, replies: Iterable[Reply], url: str = FAKE_URL, **options: object
) -> tuple[ArxivClient, FakeArxiv]:
    server = FakeArxiv(clock, replies)
    # Scripted replies are the pages asked for as they were: no overlap to ask again for
    # (the overlap's own tests script it, and the fake server's tests page as arXiv does).
    settings: dict[str, object] = {
        "delay": 3.0,
        "rng": random.Random(7),
        "page_overlap": 0,
    } | options
    client = ArxivClient(
        url,
        clock=clock,
        transport=httpx.MockTransport(server),
        **settings,  # type: ignore[arg-type]
    )
    return client, server


def fetch(client: ArxivClient, start: int = 0, max_results: int = 10) -> FeedPage:
    return client.fetch_page("all:testing", start=start, max_results=max_results)


# --- requests ---------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ['ti:"C++" AND abs:"R&D"', "abs:#hashtag", 'abs:"1 + 1 = 2"', "ti:\"don't\" OR ti:'x'"],
)
def test_hostile_queries_round_trip(clock: FakeClock, query: str) -> None:
    client, server = make(clock, [ok(PAGE_0)])
    client.fetch_page(query, start=0, max_results=10)
    assert server.params("search_query") == [query]
    assert b"#" not in server.requests[0].url.raw_path


def test_request_parameters(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0)])
    client.fetch_page(
        "", start=20, max_results=50, sort_by="submittedDate", id_list=["2505.07818", "cs/0503050"]
    )
    assert dict(server.requests[0].url.params) == {
        "id_list": "2505.07818,cs/0503050",
        "start": "20",
        "max_results": "50",
        "sortBy": "submittedDate",
        "sortOrder": "descending",
    }


def test_invalid_arguments_are_rejected(clock: FakeClock) -> None:
    client, _ = make(clock, [])
    with pytest.raises(ValueError, match="sort_by"):
        client.fetch_page("x", start=0, max_results=1, sort_by="newest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="page_size"):
        list(client.iter_pages("x", page_size=2001))
    with pytest.raises(ValueError, match="needs an http"):
        ArxivClient("ftp://example.org/api")


def test_user_agent_names_project_and_contact(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_0)], contact="team@example.org")
    fetch(client)
    anonymous, anon_server = make(clock, [ok(PAGE_0)])
    fetch(anonymous)
    project = f"dailypapers/{__version__} (+https://github.com/dailypapers/dailypapers"
    assert server.requests[0].headers["User-Agent"] == f"{project}; mailto:team@example.org)"
    assert anon_server.requests[0].headers["User-Agent"] == f"{project})"
    with pytest.raises(ValueError, match="contact"):
        ArxivClient(FAKE_URL, contact="me@example.org\r\nX-Injected: 1")


# --- pacing -----------------------------------------------------------------


def test_requests_start_at_least_delay_apart(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0)] * 3, delay=4.5)
    fetch(client)
    clock.advance(1.0)  # the caller's own work counts towards the delay
    fetch(client)
    fetch(client)
    assert server.gaps() == [4.5, 4.5]
    assert clock.sleeps == [3.5, 4.5]


def test_pacing_applies_to_retries(clock: FakeClock) -> None:
    quick_retry = httpx.Response(503, headers={"Retry-After": "1"})
    client, server = make(clock, [quick_retry, quick_retry, ok(PAGE_0)], delay=3.0)
    fetch(client)
    assert server.gaps() == [3.0, 3.0]


def test_delay_is_clamped_to_three_seconds_for_arxiv(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_0)], url=DEFAULT_API_URL, delay=0)
    fetch(client)
    fetch(client)
    assert client.delay == 3.0
    assert server.gaps() == [3.0]
    assert polite_delay("https://arxiv.org/api/query", 1.0) == 3.0
    assert polite_delay("https://EXPORT.arXiv.org./api/query", 5.0) == 5.0
    assert polite_delay("http://127.0.0.1:8000/api/query", 0.0) == 0.0
    assert polite_delay("https://notarxiv.org/api", 0.0) == 0.0


def test_fake_servers_may_run_without_delay(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_0)], delay=0)
    fetch(client)
    fetch(client)
    assert server.gaps() == [0.0] and clock.sleeps == []


def test_pacer_first_request_does_not_wait(clock: FakeClock) -> None:
    pacer = Pacer(clock, 3.0)
    assert pacer.wait() == 0.0
    assert pacer.wait() == 3.0


# --- retries ----------------------------------------------------------------


def test_503_then_success(clock: FakeClock) -> None:
    client, server = make(clock, [httpx.Response(503), ok(PAGE_0)])
    page = fetch(client)
    assert len(page.papers) == 10
    assert len(server.requests) == 2
    assert 5.0 <= server.gaps()[0] <= 6.25  # exponential backoff, first step, with jitter


def test_retry_after_seconds_is_honoured(clock: FakeClock) -> None:
    client, server = make(clock, [httpx.Response(503, headers={"Retry-After": "42"}), ok(PAGE_0)])
    fetch(client)
    assert server.gaps() == [42.0]


def test_retry_after_http_date_is_honoured(clock: FakeClock) -> None:
    headers = {
        "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
        "Retry-After": "Wed, 21 Oct 2026 07:29:30 GMT",
    }
    client, server = make(clock, [httpx.Response(429, headers=headers), ok(PAGE_0)])
    fetch(client)
    assert server.gaps() == [90.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (
            {
                "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
                "Retry-After": "Wed, 21 Oct 2026 07:00:00 GMT",
            },
            0,
        ),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(httpx.Response(503, headers=headers)) == expected


def test_429_without_retry_after_backs_off_at_least_30_seconds(clock: FakeClock) -> None:
    client, server = make(clock, [httpx.Response(429), ok(PAGE_0)])
    fetch(client)
    assert 30.0 <= server.gaps()[0] <= 45.0


def test_jitter_is_deterministic_with_a_seeded_rng() -> None:
    gaps = []
    for _ in range(2):
        clock = FakeClock()
        client, server = make(clock, [httpx.Response(429), ok(PAGE_0)], rng=random.Random(1))
        fetch(client)
        gaps.append(server.gaps())
    assert gaps[0] == gaps[1]


def test_attempts_are_bounded(clock: FakeClock) -> None:
    client, server = make(clock, [httpx.Response(503)] * 5, max_attempts=5)
    with pytest.raises(ArxivUnavailable) as caught:
        fetch(client)
    error = caught.value
    url = str(server.requests[0].url)
    assert (error.attempts, error.status, error.url) == (5, 503, url)
    assert str(error) == f"arXiv unavailable after 5 attempts (HTTP 503) for {url}"
    assert len(server.requests) == 5
    assert all(5.0 <= gap <= 120.0 for gap in server.gaps())


def test_a_garbled_answer_every_time_is_not_called_an_outage(clock: FakeClock) -> None:
    """Before: "arXiv unavailable after 3 attempts (AtomParseError: ...)", for a server
    that answered every time, with the same bad body."""
    client, _ = make(clock, [httpx.Response(200, text="Rate exceeded.")] * 3, max_attempts=3)
    with pytest.raises(ArxivUnavailable) as caught:
        fetch(client)
    assert str(caught.value).startswith("no usable answer from arXiv after 3 attempts (")


def test_total_waiting_is_bounded(clock: FakeClock) -> None:
    # Backoff ~5 s then ~10 s; the third wait (~20 s) would pass 30 s in all.
    client, server = make(clock, [httpx.Response(502)] * 3, max_retry_seconds=30.0)
    with pytest.raises(ArxivUnavailable) as caught:
        fetch(client)
    assert caught.value.attempts == 3 and len(server.requests) == 3
    assert clock.slept <= 30.0


def test_retry_after_beyond_budget_fails_fast(clock: FakeClock) -> None:
    late = httpx.Response(503, headers={"Retry-After": "3600"})
    client, _server = make(clock, [late], max_retry_seconds=600.0)
    with pytest.raises(ArxivUnavailable, match="after 1 attempt "):
        fetch(client)
    assert clock.sleeps == []


def test_error_feed_raises_without_retry(clock: FakeClock) -> None:
    client, server = make(clock, [httpx.Response(400, content=body(ERROR_FEED))])
    with pytest.raises(ArxivAPIError) as caught:
        client.fetch_page("", id_list=["abc"], start=0, max_results=100)
    error = caught.value
    assert error.message == "incorrect id format for abc"
    assert (error.status, error.attempts) == (400, 1)
    assert error.url is not None and "id_list=abc" in error.url
    assert str(error) == f"arXiv API error: incorrect id format for abc (HTTP 400) for {error.url}"
    assert len(server.requests) == 1


def test_other_client_errors_are_not_retried(clock: FakeClock) -> None:
    client, server = make(clock, [httpx.Response(404, text="<html>Not Found</html>")])
    with pytest.raises(ArxivAPIError, match="HTTP 404"):
        fetch(client)
    assert len(server.requests) == 1


def test_truncated_body_on_200_is_retried(clock: FakeClock) -> None:
    truncated = httpx.Response(200, content=body(PAGE_0)[:3000])
    client, server = make(
        clock, [truncated, httpx.Response(200, text="Rate exceeded."), ok(PAGE_0)]
    )
    assert len(fetch(client).papers) == 10
    assert len(server.requests) == 3


def test_timeouts_and_connection_errors_are_retried(clock: FakeClock) -> None:
    client, _server = make(clock, [httpx.ReadTimeout, httpx.ConnectError, ok(PAGE_0)])
    assert len(fetch(client).papers) == 10
    assert client.stats.retries == 2


def test_persistent_connection_errors_give_one_line_error(clock: FakeClock) -> None:
    client, _ = make(clock, [httpx.ConnectError] * 2, max_attempts=2)
    with pytest.raises(ArxivUnavailable) as caught:
        fetch(client)
    assert isinstance(caught.value.last, httpx.ConnectError)
    assert "after 2 attempts (cannot connect) for http://fake.test/" in str(caught.value)


# --- empty pages --------------------------------------------------------------


def test_empty_page_mid_paging_is_retried(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0), empty_page(10, 214881), ok(PAGE_10), ok(PAGE_20)])
    pages = client.iter_pages("all:testing", page_size=10, max_results_total=30)
    assert [len(page.papers) for page in pages] == [10, 10, 10]
    assert server.params("start") == ["0", "10", "10", "20"]
    assert client.stats.retries == 1


@pytest.mark.parametrize("total", [214881, 0])  # 0: a later page is still a fault
def test_persistently_empty_page_raises(clock: FakeClock, total: int) -> None:
    client, server = make(clock, [ok(PAGE_0)] + [empty_page(10, total)] * 3)
    pages = client.iter_pages("all:testing", page_size=10)
    next(pages)
    with pytest.raises(UnexpectedEmptyPage) as caught:
        next(pages)
    error = caught.value
    assert isinstance(error, ArxivUnavailable) and isinstance(error, ArxivError)
    assert (error.start, error.total_results, error.attempts) == (10, total, 3)
    assert f"empty page at start=10 of {total} results after 3 attempts" in str(error)
    assert len(server.requests) == 4


@pytest.mark.parametrize("zero_total_retries", [1, 0])
def test_a_later_page_reporting_no_results_is_a_fault_not_the_end(
    clock: FakeClock, zero_total_retries: int
) -> None:
    """The page before promised more: "totalResults 0" there is arXiv's transient fault.
    The old code believed it after at most one quick retry (none for a topic empty
    before), and the warm scan ended with the papers between the two pages unread."""
    replies = [ok(PAGE_0), empty_page(10, 0), empty_page(10, 0), ok(PAGE_10)]
    client, server = make(clock, replies)
    pages = client.iter_pages(
        "all:testing", page_size=10, max_results_total=20, zero_total_retries=zero_total_retries
    )
    assert [len(page.papers) for page in pages] == [10, 10]
    assert server.params("start") == ["0", "10", "10", "10"]
    assert client.stats.seconds_waited > 0  # with backoff, as any empty page inside results


def test_empty_first_page_is_retried_once_then_accepted(clock: FakeClock) -> None:
    client, server = make(clock, [ok(EMPTY_FEED)] * 3, empty_page_retries=2)
    pages = list(client.iter_pages("ti:nothing"))
    assert [(page.total_results, page.papers) for page in pages] == [(0, ())]
    assert len(server.requests) == 2  # totalResults 0: at most one more try
    assert server.gaps() == [3.0]  # the politeness delay only, no backoff
    assert client.stats.seconds_waited == 3.0


def test_empty_first_page_retry_follows_a_zero_delay(clock: FakeClock) -> None:
    client, server = make(clock, [ok(EMPTY_FEED)] * 2, delay=0.0)
    assert [page.total_results for page in client.iter_pages("ti:nothing")] == [0]
    assert len(server.requests) == 2 and server.gaps() == [0.0]


def test_a_query_known_to_be_empty_is_not_asked_again(clock: FakeClock) -> None:
    client, server = make(clock, [ok(EMPTY_FEED), ok(PAGE_0)])
    pages = list(client.iter_pages("ti:nothing", zero_total_retries=0))
    assert [page.total_results for page in pages] == [0]
    assert len(server.requests) == 1


def test_empty_first_page_glitch_recovers(clock: FakeClock) -> None:
    client, server = make(clock, [ok(EMPTY_FEED), ok(PAGE_0)])
    assert len(fetch(client).papers) == 10
    assert len(server.requests) == 2


# --- paging -------------------------------------------------------------------


def test_short_page_continues_after_what_was_received(clock: FakeClock) -> None:
    # Asked for 15, got 10: the next page must start at 10, not 15.
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_10)])
    pages = client.iter_pages("all:testing", page_size=15, max_results_total=20)
    assert [len(page.papers) for page in pages] == [10, 10]
    assert server.params("start") == ["0", "10"]
    assert server.params("max_results") == ["15", "10"]


def test_duplicates_across_pages_are_dropped(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_9_15)])
    first, second = client.iter_pages("all:testing", page_size=15, max_results_total=24)
    assert len(first.papers) == 10 and len(second.papers) == 14
    assert "1812.11470" in {p.id for p in first.papers}
    assert "1812.11470" not in {p.id for p in second.papers}
    assert server.params("start") == ["0", "10"]


def test_after_a_repeated_paper_the_next_page_starts_after_the_new_ones(
    clock: FakeClock,
) -> None:
    """The results moved down by one while paging: nothing that moved is skipped."""
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_9_15), ok(PAGE_20)])
    pages = client.iter_pages("all:testing", page_size=15, max_results_total=30)
    assert [len(page.papers) for page in (next(pages), next(pages))] == [10, 14]
    next(pages)
    assert server.params("start") == ["0", "10", "24"]


def test_stops_at_max_results_total(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_10), ok(PAGE_20)])
    pages = list(client.iter_pages("all:testing", page_size=10, max_results_total=25))
    assert server.params("max_results") == ["10", "10", "5"]
    assert sum(len(page.papers) for page in pages) == 30  # PAGE_20 ignores the 5: fine


def synthetic_page(request: httpx.Request) -> httpx.Response:
    """As many minimal entries as asked for, from a result set of 99999."""
    start, size = int(request.url.params["start"]), int(request.url.params["max_results"])
    entries = "".join(
        f"<entry><id>http://arxiv.org/abs/2501.{start + i:05d}v1</id><title>T</title>"
        "<published>2025-01-01T00:00:00Z</published><updated>2025-01-01T00:00:00Z</updated>"
        "</entry>"
        for i in range(size)
    )
    feed = (
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        "<opensearch:totalResults>99999</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>{entries}</feed>"
    )
    return httpx.Response(200, content=feed.encode())


def test_respects_arxivs_cap_on_results(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client_module.MAX_RESULTS_TOTAL == 30_000
    monkeypatch.setattr(client_module, "MAX_RESULTS_TOTAL", 25)  # 30,000 scaled down
    client, server = make(clock, [synthetic_page] * 3)
    pages = list(client.iter_pages("all:x", page_size=10, max_results_total=50_000))
    assert sum(len(page.papers) for page in pages) == 25
    assert server.params("start") == ["0", "10", "20"]
    assert server.params("max_results") == ["10", "10", "5"]


def test_stops_when_total_results_reached(clock: FakeClock) -> None:
    client, server = make(clock, [ok("id_1605.08386_s0_m100_199195aa31ad.xml")])
    pages = list(client.iter_pages("", id_list=["1605.08386"]))
    assert len(pages) == 1 and len(server.requests) == 1


def test_early_stop_makes_no_further_request(clock: FakeClock) -> None:
    client, server = make(clock, [ok(PAGE_0), ok(PAGE_10)])
    pages = client.iter_pages("all:testing", page_size=10)
    assert server.requests == []  # nothing is fetched before the first page is asked for
    for _page in pages:
        break
    assert len(server.requests) == 1


def test_stats_count_everything(clock: FakeClock) -> None:
    replies = [httpx.Response(503, content=b"busy"), ok(PAGE_0), ok(PAGE_10)]
    client, _server = make(clock, replies)
    list(client.iter_pages("all:testing", page_size=10, max_results_total=20))
    stats = client.stats
    assert stats.requests == 3 and stats.retries == 1
    assert stats.bytes_received == 4 + len(body(PAGE_0)) + len(body(PAGE_10))
    assert stats.seconds_waited == pytest.approx(clock.slept)
    assert stats.seconds_waited >= 5.0 + 3.0


def test_system_clock_is_monotonic() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0)
    assert clock.monotonic() >= before


def test_context_manager_closes_the_connection(clock: FakeClock) -> None:
    client, _ = make(clock, [])
    with client as entered:
        assert entered is client
    assert client._http.is_closed


def test_both_arxiv_clients_take_one_settings_object(tmp_path: Path) -> None:
    from dataclasses import replace

    from dailypapers import config as config_module
    from dailypapers.arxiv import oai_client
    from dailypapers.arxiv.client import BACKOFF_BASE, DEFAULT_API_URL
    from dailypapers.config import load_config
    from dailypapers.harvest import make_oai_client
    from dailypapers.sources.api import make_client

    path = tmp_path / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "T"\n\n[arxiv]\nbackoff = 1\nmax_attempts = 3\n'
        'contact = "me@example.org"\n\n[oai]\ndelay = 4\n',
        encoding="utf-8",
    )
    config = load_config(path)
    with make_client(config) as api, make_oai_client(config) as oai:
        assert api.settings == replace(oai.settings, delay=3.0)
        assert (oai.settings.delay, oai.settings.max_attempts) == (4.0, 3)
        # arXiv's own hosts: the backoff never goes below the standard one (one rule).
        assert api.settings.backoff == oai.settings.backoff == BACKOFF_BASE
    assert config_module.DEFAULT_API_URL is DEFAULT_API_URL
    assert config_module.DEFAULT_OAI_URL is oai_client.DEFAULT_OAI_URL
