"""The fake arXiv server, over a real socket: semantics, validation, faults, shape, CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from lxml import etree

from dailypapers.arxiv.query import matches, parse
from dailypapers.models import Author, Paper, parse_timestamp, split_id
from dailypapers.offline.fake_arxiv import (
    FakeArxiv,
    error_feed_xml,
    feed_xml,
    load_corpus,
    main,
)
from dailypapers.offline.faults import FAULT_KINDS, Fault, fault, parse_fault_spec

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOPICS = ["Reward models for alignment", "Reasoning with language models", "Graph learning"]


def make_corpus() -> list[Paper]:
    papers = []
    for i in range(30):
        published = T0 + timedelta(hours=i // 2)  # pairs share a timestamp: tie-breaks
        papers.append(
            Paper(
                id=f"2503.{i:05d}",
                version=1 + i % 3,
                title=f"{TOPICS[i % 3]} {i}",
                abstract="We study reward modeling. " * (i % 4) + "Plain text.",
                authors=(Author("Ada Lovelace", ("Oxford",)), Author(f"Author {i}")),
                categories=("cs.AI", "cs.LG") if i % 2 else ("cs.CL",),
                primary="cs.AI" if i % 2 else "cs.CL",
                published=published,
                updated=published + timedelta(days=(7 * i) % 11),
            )
        )
    return papers


CORPUS = make_corpus()


@pytest.fixture
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(CORPUS) as fake:
        yield fake


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as http:
        yield http


def get(client: httpx.Client, server: FakeArxiv, **params: Any) -> httpx.Response:
    return client.get(server.api_url, params=params)


def feed(response: httpx.Response) -> Any:
    return etree.fromstring(response.content)


def ids(response: httpx.Response) -> list[str]:
    return [e.findtext("atom:id", namespaces=NS) for e in feed(response).iterfind("atom:entry", NS)]


def bare_ids(response: httpx.Response) -> list[str]:
    return [split_id(text)[0] for text in ids(response)]


def total(response: httpx.Response) -> int:
    return int(feed(response).findtext("opensearch:totalResults", namespaces=NS))


# --- query semantics ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        'ti:"Reward Model"',
        'ti:"Reward Model" OR abs:"Reward Model"',
        "abs:reward AND cat:cs.AI",
        "reasoning ANDNOT cat:cs.CL",
        'au:"Author 1"',
        "submittedDate:[202503010000 TO 202503011459]",
        "lastUpdatedDate:[202503050000 TO 202503312359]",
    ],
)
def test_results_match_local_evaluation(
    server: FakeArxiv, client: httpx.Client, query: str
) -> None:
    expected = {p.id for p in CORPUS if matches(parse(query), p)}
    response = get(client, server, search_query=query, max_results=100)
    assert response.status_code == 200
    assert set(bare_ids(response)) == expected
    assert total(response) == len(expected)
    assert 0 < len(expected) < len(CORPUS)


def test_paging_concatenates_to_the_full_listing(server: FakeArxiv, client: httpx.Client) -> None:
    query = {"search_query": "cat:cs.AI OR cat:cs.CL", "sortBy": "submittedDate"}
    everything = ids(get(client, server, **query, max_results=100))
    pages = [ids(get(client, server, **query, start=s, max_results=7)) for s in range(0, 35, 7)]
    assert [i for page in pages for i in page] == everything
    assert len(everything) == 30
    response = get(client, server, **query, start=7, max_results=7)
    head = feed(response)
    assert head.findtext("opensearch:startIndex", namespaces=NS) == "7"
    assert head.findtext("opensearch:itemsPerPage", namespaces=NS) == "7"
    assert total(response) == 30


def test_sort_by_submitted_date_breaks_ties_by_id(server: FakeArxiv, client: httpx.Client) -> None:
    query = {"search_query": "cat:cs.AI OR cat:cs.CL", "sortBy": "submittedDate"}
    newest = bare_ids(get(client, server, **query, max_results=4))
    assert newest == ["2503.00029", "2503.00028", "2503.00027", "2503.00026"]
    oldest = bare_ids(get(client, server, **query, sortOrder="ascending", max_results=4))
    assert oldest == ["2503.00001", "2503.00000", "2503.00003", "2503.00002"]


def test_sort_by_last_updated_date(server: FakeArxiv, client: httpx.Client) -> None:
    response = get(
        client, server, search_query="all:plain", sortBy="lastUpdatedDate", max_results=100
    )
    updated = [
        e.findtext("atom:updated", namespaces=NS) for e in feed(response).iterfind("atom:entry", NS)
    ]
    assert updated == sorted(updated, reverse=True)
    assert len(set(updated)) > 5


def test_relevance_ranks_by_occurrences(server: FakeArxiv, client: httpx.Client) -> None:
    response = get(client, server, search_query="abs:reward", max_results=100)
    counts = [CORPUS[int(i[-2:])].abstract.count("reward") for i in bare_ids(response)]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == 3


def test_feed_title_echoes_the_canonical_query(server: FakeArxiv, client: httpx.Client) -> None:
    response = get(client, server, search_query="reasoning", start=0, max_results=3)
    title = feed(response).findtext("atom:title", namespaces=NS)
    assert title == "arXiv Query: search_query=all:reasoning&id_list=&start=0&max_results=3"


def test_no_query_and_no_ids_is_empty(server: FakeArxiv, client: httpx.Client) -> None:
    response = get(client, server)
    assert response.status_code == 200
    assert total(response) == 0


# --- id_list -----------------------------------------------------------------


def test_id_list_alone_keeps_its_order(server: FakeArxiv, client: httpx.Client) -> None:
    response = get(client, server, id_list="2503.00005,2503.00001,9999.99999,2503.00020")
    assert bare_ids(response) == ["2503.00005", "2503.00001", "2503.00020"]
    assert total(response) == 3


def test_id_list_versions(server: FakeArxiv, client: httpx.Client) -> None:
    current = CORPUS[5].versioned_id
    assert ids(get(client, server, id_list=current)) == [f"http://arxiv.org/abs/{current}"]
    assert ids(get(client, server, id_list="2503.00005v9")) == []


def test_id_list_intersects_the_query(server: FakeArxiv, client: httpx.Client) -> None:
    response = get(client, server, search_query="cat:cs.CL", id_list="2503.00001,2503.00002")
    assert bare_ids(response) == ["2503.00002"]


# --- validation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"search_query": "ti:a AND (ti:b"}, "malformed query: unbalanced parenthesis at 9"),
        ({"search_query": "tx:reward"}, "malformed query: unknown field 'tx' at 0"),
        ({"search_query": "submittedDate:[2025 TO 2026]"}, "bad date range at 14"),
        ({"search_query": "a", "sortBy": "date"}, "sortBy must be one of"),
        ({"search_query": "a", "sortOrder": "up"}, "sortOrder must be one of"),
        ({"search_query": "a", "start": "-1"}, "start must be non-negative"),
        ({"search_query": "a", "start": "x"}, "start must be an integer"),
        ({"search_query": "a", "max_results": "2001"}, "max_results must be at most 2000"),
        ({"search_query": "a", "start": "28001", "max_results": "2000"}, "at most 30000"),
        ({"id_list": "abc"}, "incorrect id format for abc"),
    ],
)
def test_invalid_requests_get_the_error_feed(
    server: FakeArxiv, client: httpx.Client, params: dict[str, str], message: str
) -> None:
    response = client.get(server.api_url, params=params)
    assert response.status_code == 400
    root = feed(response)
    assert root.findtext("atom:title", namespaces=NS) == "arXiv Search Results"
    entry = root.find("atom:entry", NS)
    assert entry.findtext("atom:title", namespaces=NS) == "Error"
    assert message in entry.findtext("atom:summary", namespaces=NS)
    assert server.requests[-1].status == 400


def test_limits_themselves_are_allowed(server: FakeArxiv, client: httpx.Client) -> None:
    assert get(client, server, search_query="a", max_results=2000).status_code == 200
    assert get(client, server, search_query="a", start=28000, max_results=2000).status_code == 200


def test_other_paths_are_404_and_logged(server: FakeArxiv, client: httpx.Client) -> None:
    response = client.get(server.base_url + "/api/other")
    assert response.status_code == 404
    assert [(r.path, r.status) for r in server.requests] == [("/api/other", 404)]


# --- faults ------------------------------------------------------------------


def test_status_fault_with_retry_after_then_normal(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject_from_spec("503:retry_after=2")
    first = get(client, server, search_query="reasoning")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "2")
    assert get(client, server, search_query="reasoning").status_code == 200
    assert [r.fault for r in server.requests] == ["status", None]


def test_faults_are_a_fifo_queue(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("status", code=429), fault("status", code=500, body="oops"))
    responses = [get(client, server, search_query="a") for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 500, 200]
    assert responses[1].text == "oops"
    assert server.pending_faults == []


def test_when_predicate_selects_requests(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("status", code=502, when=lambda p: int(p.get("start", 0)) > 0))
    assert get(client, server, search_query="a", start=0).status_code == 200
    assert get(client, server, search_query="a", start=10).status_code == 502
    assert get(client, server, search_query="a", start=10).status_code == 200


def test_rate_limited_text(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("rate_limited_text"))
    response = get(client, server, search_query="a")
    assert (response.status_code, response.text) == (503, "Rate exceeded.")
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("code", [200, 502])
def test_html_error_page(server: FakeArxiv, client: httpx.Client, code: int) -> None:
    server.inject(fault("html", code=code))
    response = get(client, server, search_query="a")
    assert response.status_code == code
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_error_feed_fault(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("error_feed", message="something broke"))
    response = get(client, server, search_query="a")
    assert response.status_code == 400
    assert feed(response).findtext("atom:entry/atom:summary", namespaces=NS) == "something broke"


def test_empty_page_keeps_the_real_total(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("empty_page"))
    response = get(client, server, search_query="cat:cs.CL", max_results=5)
    assert (response.status_code, ids(response), total(response)) == (200, [], 15)
    # arXiv's other glitch: a query with matches answered "no match at all".
    server.inject(fault("empty_page", total=0))
    response = get(client, server, search_query="cat:cs.CL", max_results=5)
    assert (response.status_code, ids(response), total(response)) == (200, [], 0)


def test_short_page(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("short_page"), fault("short_page", count=1))
    assert len(ids(get(client, server, search_query="cat:cs.CL", max_results=10))) == 5
    response = get(client, server, search_query="cat:cs.CL", max_results=10)
    assert (len(ids(response)), total(response)) == (1, 15)


def test_truncated_with_full_length_breaks_the_transfer(
    server: FakeArxiv, client: httpx.Client
) -> None:
    server.inject(fault("truncated", fraction=0.4))
    with pytest.raises(httpx.RemoteProtocolError):
        get(client, server, search_query="a")
    assert get(client, server, search_query="a").status_code == 200


def test_truncated_with_honest_length_is_broken_xml(
    server: FakeArxiv, client: httpx.Client
) -> None:
    server.inject(fault("truncated", honest_length=True))
    response = get(client, server, search_query="a")
    assert response.status_code == 200
    assert response.content.startswith(b"<?xml")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)
    assert server.requests[-1].bytes_sent == len(response.content)


def test_slow_answer_trips_a_read_timeout(server: FakeArxiv) -> None:
    server.inject(fault("slow", seconds=0.3), fault("slow", seconds=0.3))
    with httpx.Client(timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get(server.api_url, params={"search_query": "a"})
    with httpx.Client(timeout=2.0) as patient:
        began = time.monotonic()
        assert patient.get(server.api_url, params={"search_query": "a"}).status_code == 200
        assert time.monotonic() - began >= 0.3


def test_drip_sends_the_whole_body_slowly(server: FakeArxiv) -> None:
    server.inject(fault("drip", chunks=4, pause=0.05))
    with httpx.Client(timeout=0.5) as http:
        began = time.monotonic()
        params: dict[str, str | int] = {"search_query": "cat:cs.AI OR cat:cs.CL", "max_results": 30}
        response = http.get(server.api_url, params=params)
        elapsed = time.monotonic() - began
    assert elapsed >= 0.15
    assert len(feed(response).findall("atom:entry", NS)) == 30


def test_reset_closes_without_an_answer(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("reset"))
    with pytest.raises(httpx.TransportError):
        get(client, server, search_query="a")
    assert (server.requests[-1].status, server.requests[-1].bytes_sent) == (0, 0)
    assert get(client, server, search_query="a").status_code == 200


def test_total_results_fault(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("total_results", value=999))
    response = get(client, server, search_query="cat:cs.CL", max_results=5)
    assert (total(response), len(ids(response))) == (999, 5)


def test_bomb_and_huge_faults(server: FakeArxiv, client: httpx.Client) -> None:
    server.inject(fault("bomb", megabytes=2), fault("huge", megabytes=1))
    bomb = get(client, server, search_query="cat:cs.CL")
    assert bomb.headers["content-encoding"] == "gzip" and len(bomb.content) == 2 * 2**20
    assert bomb.num_bytes_downloaded < 2**16  # small on the wire
    huge = get(client, server, search_query="cat:cs.CL")
    assert len(huge.content) == 2**20 and huge.content.lstrip().startswith(b"<?xml")


def test_duplicate_repeats_the_previous_pages_last_entry(
    server: FakeArxiv, client: httpx.Client
) -> None:
    query = {"search_query": "cat:cs.CL", "sortBy": "submittedDate", "max_results": 5}
    first = ids(get(client, server, **query))
    server.inject(fault("duplicate"))
    second = ids(get(client, server, **query, start=5))
    assert second[0] == first[-1]
    assert len(second) == 5


def test_moved_up_starts_the_page_later_as_if_results_above_had_left(
    server: FakeArxiv, client: httpx.Client
) -> None:
    query = {"search_query": "cat:cs.CL", "sortBy": "submittedDate", "max_results": 10}
    every = ids(get(client, server, **query))
    server.inject(fault("moved_up", count=2))
    page = ids(get(client, server, **(query | {"max_results": 5}), start=5))
    assert page == every[7:] + ids(get(client, server, **query, start=10))[:2]
    assert not set(every[5:7]) & set(page)  # the two it skipped


def test_a_bug_in_the_server_is_a_500_not_a_dropped_connection(
    server: FakeArxiv, client: httpx.Client
) -> None:
    server.inject(fault("reset", when=lambda params: 1 / 0 > 0))
    response = get(client, server, search_query="a")
    assert response.status_code == 500
    assert "ZeroDivisionError" in response.text


def test_every_fault_kind_is_covered_here() -> None:
    text = Path(__file__).read_text()
    assert all(f'fault("{kind}"' in text or kind == "status" for kind in FAULT_KINDS)


def test_fault_specs() -> None:
    assert parse_fault_spec("503:retry_after=2") == Fault("status", {"code": 503, "retry_after": 2})
    assert parse_fault_spec("slow:seconds=0.5").params == {"seconds": 0.5}
    assert parse_fault_spec("truncated:honest_length=true").params == {"honest_length": True}
    assert parse_fault_spec("reset") == Fault("reset")
    assert parse_fault_spec("error_feed:message=bad input").params == {"message": "bad input"}
    for bad in ("explode", "slow:speed=1", "slow:seconds", "503:=2"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("moved_up:count=abc", "count must be a whole number >= 0, not 'abc'"),
        ("duplicate:count=-1", "count must be a whole number >= 0"),
        ("slow:seconds=nan", "seconds must be a number >= 0"),
        ("truncated:fraction=2", "fraction must be a number from 0 to 1"),
        ("truncated:honest_length=1", "honest_length must be true or false"),
        ("999", "code must be an HTTP status code"),
    ],
)
def test_a_fault_spec_with_a_bad_value_is_refused_when_given(spec: str, why: str) -> None:
    """Not a server error on the request it was meant for (which the client would retry)."""
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_fault_spec(spec)


# --- log and corpus changes -------------------------------------------------


def test_request_log(server: FakeArxiv, client: httpx.Client) -> None:
    responses = [get(client, server, search_query="reasoning", start=s) for s in (0, 10)]
    log = server.requests
    assert [r.params["start"] for r in log] == ["0", "10"]
    assert [r.bytes_sent for r in log] == [len(r.content) for r in responses]
    assert [r.status for r in log] == [200, 200]
    assert log[0].time <= log[1].time
    assert log[0].client_port == log[1].client_port  # one kept-alive connection
    server.reset_log()
    assert server.requests == []


def test_add_papers_replaces_a_version(server: FakeArxiv, client: httpx.Client) -> None:
    old = CORPUS[3]
    revised = old.with_changes(version=old.version + 1, title="Revised title")
    server.add_papers([revised])
    response = get(client, server, id_list=old.id)
    assert ids(response) == [f"http://arxiv.org/abs/{revised.versioned_id}"]
    assert len(server.papers) == len(CORPUS)
    assert get(client, server, search_query='ti:"Revised title"').text.count("<entry>") == 1


def test_set_papers_replaces_the_corpus(server: FakeArxiv, client: httpx.Client) -> None:
    server.set_papers(CORPUS[:2])
    assert total(get(client, server, search_query="cat:cs.AI OR cat:cs.CL")) == 2


def test_concurrent_requests(server: FakeArxiv) -> None:
    statuses: list[int] = []

    def fetch() -> None:
        with httpx.Client(timeout=5) as http:
            statuses.append(http.get(server.api_url, params={"search_query": "a"}).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8


def test_urls_need_a_running_server() -> None:
    fake = FakeArxiv()
    with pytest.raises(RuntimeError):
        _ = fake.api_url
    with fake:
        assert fake.api_url.startswith("http://127.0.0.1:")
        assert fake.api_url.endswith("/api/query")


# --- output shape against recorded arXiv responses --------------------------


def fixture_papers(root: Any) -> list[Paper]:
    return [_paper_from_entry(entry) for entry in root.iterfind("atom:entry", NS)]


def _paper_from_entry(entry: Any) -> Paper:
    def text(path: str) -> Any:
        return entry.findtext(path, namespaces=NS)

    paper_id, version = split_id(text("atom:id"))
    authors = tuple(
        Author(
            a.findtext("atom:name", namespaces=NS),
            tuple(x.text for x in a.iterfind("arxiv:affiliation", NS)),
        )
        for a in entry.iterfind("atom:author", NS)
    )
    return Paper(
        id=paper_id,
        version=version or 1,
        title=text("atom:title"),
        abstract=text("atom:summary"),
        authors=authors,
        categories=tuple(c.get("term") for c in entry.iterfind("atom:category", NS)),
        primary=entry.find("arxiv:primary_category", NS).get("term"),
        published=parse_timestamp(text("atom:published")),
        updated=parse_timestamp(text("atom:updated")),
        comment=text("arxiv:comment"),
        journal_ref=text("arxiv:journal_ref"),
        doi=text("arxiv:doi"),
    )


def shape(element: Any, skip: tuple[str, ...] = ()) -> list[tuple[str, dict[str, str], str]]:
    """Every element in document order: tag, attributes, stripped text."""
    return [
        (e.tag, dict(e.attrib), (e.text or "").strip()) for e in element.iter() if e.tag not in skip
    ]


RESULT_FIXTURES = sorted(p for p in FIXTURES.glob("*.xml") if "id_abc" not in p.name)


@pytest.mark.parametrize("path", RESULT_FIXTURES, ids=lambda p: p.name[:24])
def test_entries_match_recorded_arxiv_entries(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    papers = fixture_papers(root)
    ours = etree.fromstring(
        feed_xml(papers, total_results=1, start_index=0, items_per_page=1, query_string="")
    )
    theirs_entries = root.findall("atom:entry", NS)
    for mine, theirs in zip(ours.iterfind("atom:entry", NS), theirs_entries, strict=True):
        assert shape(mine) == shape(theirs)


def test_served_feed_matches_a_recorded_response(server: FakeArxiv, client: httpx.Client) -> None:
    recorded = etree.parse(str(FIXTURES / "id_1707.08567_s0_m100_6a1afebfc6a3.xml")).getroot()
    server.set_papers(fixture_papers(recorded))
    response = client.get(
        server.api_url,
        params={"search_query": "", "id_list": "1707.08567", "start": 0, "max_results": 100},
    )
    skip = (f"{{{NS['atom']}}}id", f"{{{NS['atom']}}}updated")
    assert shape(feed(response), skip) == shape(recorded, skip)
    assert feed(response).nsmap == recorded.nsmap
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"


def test_error_feed_matches_the_recorded_one() -> None:
    recorded = etree.parse(str(FIXTURES / "id_abc_s0_m100_b79c8dcf6bc3.xml")).getroot()
    ours = etree.fromstring(error_feed_xml("incorrect id format for abc"))
    skip = (f"{{{NS['atom']}}}updated",)
    assert shape(ours, skip) == shape(recorded, skip)


def test_feed_escapes_text_and_drops_forbidden_characters() -> None:
    paper = CORPUS[0].with_changes(
        title='A <b>bold</b> & "quoted" title\x01\x0b', abstract="p<0.01 |x| ]]> \ud7ff ok"
    )
    root = etree.fromstring(
        feed_xml([paper], total_results=1, start_index=0, items_per_page=1, query_string="q=&x")
    )
    entry = root.find("atom:entry", NS)
    assert entry.findtext("atom:title", namespaces=NS) == 'A <b>bold</b> & "quoted" title'
    assert entry.findtext("atom:summary", namespaces=NS) == "p<0.01 |x| ]]> \ud7ff ok"
    assert root.findtext("atom:title", namespaces=NS) == "arXiv Query: q=&x"


# --- command line -----------------------------------------------------------


def write_corpus(path: Path, papers: list[Paper], *, wrapped: bool = True) -> Path:
    items = [p.to_dict() for p in papers]
    path.write_text(json.dumps({"papers": items} if wrapped else items), encoding="utf-8")
    return path


def test_load_corpus_formats(tmp_path: Path) -> None:
    assert load_corpus(str(write_corpus(tmp_path / "a.json", CORPUS[:3]))) == CORPUS[:3]
    bare = write_corpus(tmp_path / "b.json", CORPUS[:2], wrapped=False)
    assert load_corpus(str(bare)) == CORPUS[:2]


def test_demo_corpus_is_resolved_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("dailypapers.offline.corpus")
    module.demo_corpus = lambda: CORPUS[:4]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dailypapers.offline.corpus", module)
    assert load_corpus("demo") == CORPUS[:4]


_CHILD = """
import os, sys, httpx
url = os.environ["DAILYPAPERS_ARXIV_URL"]
response = httpx.get(url, params={"search_query": "cat:cs.CL"})
print(url, os.environ["DAILYPAPERS_ARXIV_DELAY"], response.status_code)
sys.exit(3)
"""


@pytest.mark.slow
def test_cli_runs_a_command_against_the_server(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus.json", CORPUS)
    command = [sys.executable, "-m", "dailypapers.offline.fake_arxiv", "--corpus", str(corpus)]
    command += ["--fault", "503:retry_after=1", "--", sys.executable, "-c", _CHILD]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 3, done.stderr
    url, delay, status = done.stdout.split()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/query")
    assert (delay, status) == ("0", "503")


def test_cli_exit_code_of_a_successful_command(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus.json", CORPUS[:1])
    code = "import httpx, os; httpx.get(os.environ['DAILYPAPERS_ARXIV_URL']).raise_for_status()"
    result = CliRunner().invoke(main, ["--corpus", str(corpus), "--", sys.executable, "-c", code])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "explode"], "unknown fault kind"),
        (["--corpus", "missing.json"], "cannot load"),
    ],
)
def test_cli_rejects_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery")
def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus.json", CORPUS)
    command = [sys.executable, "-m", "dailypapers.offline.fake_arxiv", "--corpus", str(corpus)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        try:
            url = proc.stdout.readline().strip()
            response = httpx.get(url, params={"search_query": "cat:cs.CL"}, timeout=5)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
        finally:
            proc.kill()  # a server left running would hold the suite at the block's end
    assert total(response) == 15


INTERRUPT_THE_SERVING_THREAD = """
import signal, threading, time
from dailypapers.offline.fake_arxiv import FakeArxiv, serve_until_interrupted

with FakeArxiv([]) as server:
    def interrupt() -> None:
        time.sleep(0.2)
        signal.pthread_kill(server._thread.ident, signal.SIGINT)  # not the main thread

    threading.Thread(target=interrupt).start()
    serve_until_interrupted(server.api_url, "fake arXiv")
"""


def test_ctrl_c_stops_the_server_whichever_thread_the_signal_reaches() -> None:
    """The kernel may hand a process's SIGINT to the serving thread: the wait still ends."""
    command = [sys.executable, "-c", INTERRUPT_THE_SERVING_THREAD]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stderr.splitlines()[-1] == "stopped", done.stderr


def test_a_gate_holds_requests_until_the_test_releases_them(server: FakeArxiv) -> None:
    gate = server.hold()
    answers: list[httpx.Response] = []
    client = threading.Thread(
        target=lambda: answers.append(httpx.get(server.api_url, params={"id_list": ""}, timeout=60))
    )
    client.start()
    assert gate.wait_for_request(30)
    assert answers == [] and len(server.requests) == 0  # held before it is even logged
    gate.release()
    client.join(30)
    assert [a.status_code for a in answers] == [200] and len(server.requests) == 1
