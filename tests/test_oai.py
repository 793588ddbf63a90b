"""OAI-PMH parsing (arXivRaw, arXiv, oai_dc) and the polite OAI-PMH client."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from dailypapers.arxiv.errors import ArxivUnavailable
from dailypapers.arxiv.oai import (
    UNREADABLE_PAGE,
    OaiError,
    OaiParseError,
    PageParser,
    parse_page,
    split_authors,
)
from dailypapers.arxiv.oai_client import OaiClient, list_records_params, resume_params
from dailypapers.harvest import normalize_set
from support.clock import FakeClock

LEGACY = Path(__file__).parent / "fixtures" / "oai"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
    "<responseDate>2025-05-14T12:00:00Z</responseDate>"
    '<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>{}</OAI-PMH>'
)

# Shaped as arXiv's templates render the formats (OAI-PMH 2.0; arXiv/oaipmh).
RAW_RECORD = """
<record><header><identifier>oai:arXiv.org:0704.0001</identifier>
<datestamp>2008-11-13</datestamp><setSpec>physics:hep-ph</setSpec></header>
<metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/">
<id>0704.0001</id><submitter>Pavel Nadolsky</submitter>
<version version="v1"><date>Mon, 2 Apr 2007 19:18:42 GMT</date><size>424kb</size></version>
<version version="v2"><date>Tue, 24 Jul 2007 20:10:27 GMT</date><size>424kb</size></version>
<title>Calculation of prompt diphoton production cross sections
  at Tevatron and LHC energies</title>
<authors>C. Bal\\'azs, E. L. Berger, P. M. Nadolsky, C.-P. Yuan</authors>
<categories>hep-ph cs.LG</categories>
<comments>37 pages, 15 figures</comments>
<journal-ref>Phys.Rev.D76:013009,2007</journal-ref>
<doi>10.1103/PhysRevD.76.013009</doi>
<abstract>  A fully differential calculation.
</abstract></arXivRaw></metadata></record>
"""

ARXIV_RECORD = """
<record><header><identifier>oai:arXiv.org:2505.07818</identifier>
<datestamp>2025-05-13</datestamp><setSpec>cs:cs:CV</setSpec></header>
<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/">
<id>2505.07818</id><created>2025-05-12</created><updated>2025-05-13</updated>
<authors><author><keyname>Xue</keyname><forenames>Zeyue</forenames></author>
<author><keyname>Müller</keyname><forenames>Jürgen</forenames><suffix>Jr</suffix>
<affiliation>ETH</affiliation></author></authors>
<title>DanceGRPO</title><categories>cs.CV cs.LG</categories>
<abstract>Recent breakthroughs.</abstract></arXiv></metadata></record>
"""

DELETED = """<record><header status="deleted"><identifier>oai:arXiv.org:2501.00001</identifier>
<datestamp>2025-01-02</datestamp></header></record>"""


def page(body: str) -> bytes:
    return ENVELOPE.format(body).encode()


def test_arxiv_raw_gives_exact_versions_dates_and_unicode_authors() -> None:
    parsed = parse_page(page(f"<ListRecords>{RAW_RECORD}<resumptionToken/></ListRecords>"))
    assert parsed.token is None
    [record] = parsed.records
    assert record.datestamp == date(2008, 11, 13)
    paper = record.paper
    assert paper is not None
    assert (paper.id, paper.version) == ("0704.0001", 2)
    assert paper.published == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert paper.updated == datetime(2007, 7, 24, 20, 10, 27, tzinfo=UTC)
    assert paper.author_names == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan")
    assert (paper.categories, paper.primary) == (("hep-ph", "cs.LG"), "hep-ph")
    assert paper.title.startswith("Calculation of prompt") and paper.title.endswith("energies")
    assert paper.abstract == "A fully differential calculation."
    assert (paper.comment, paper.journal_ref, paper.doi) == (
        "37 pages, 15 figures",
        "Phys.Rev.D76:013009,2007",
        "10.1103/PhysRevD.76.013009",
    )


def test_arxiv_format_has_dates_only_and_a_version_lower_bound() -> None:
    token = '<resumptionToken expires="2025-05-15T00:00:00Z">abc|1001</resumptionToken>'
    parsed = parse_page(page(f"<ListRecords>{ARXIV_RECORD}{DELETED}{token}</ListRecords>"))
    assert parsed.token == "abc|1001"
    paper, deleted = parsed.records[0].paper, parsed.records[1]
    assert paper is not None and deleted.paper is None
    assert deleted.identifier == "oai:arXiv.org:2501.00001"
    assert paper.version == 2  # <updated> present: at least v2
    assert paper.published == datetime(2025, 5, 12, tzinfo=UTC)
    assert paper.updated == datetime(2025, 5, 13, tzinfo=UTC)
    assert paper.author_names == ("Zeyue Xue", "Jürgen Müller Jr")
    assert paper.authors[1].affiliations == ("ETH",)


def test_the_real_legacy_oai_dc_answer_still_parses() -> None:
    body = (LEGACY / "oai_listrecords_oai_dc_cs_with_resumptiontoken_2024.xml").read_bytes()
    parsed = parse_page(body)
    assert (parsed.token, parsed.cursor, parsed.complete_list_size) == ("6960524|1001", 0, 1162)
    assert [r.paper.id for r in parsed.records if r.paper] == [
        "1303.2033",
        "2401.14034",
        "2401.14036",
        "2401.14038",
        "2401.14040",
    ]
    first = parsed.records[0].paper
    assert first is not None
    assert first.author_names == ("Vilnis Liepins",)
    assert first.comment == "32 pages, 9 figures"
    assert (first.published.date(), first.updated.date()) == (date(2013, 3, 8), date(2024, 1, 23))
    assert first.abstract.startswith("This summary of the doctoral thesis")


def test_records_come_out_while_the_body_streams_in() -> None:
    body = page(f"<ListRecords>{RAW_RECORD}{ARXIV_RECORD}</ListRecords>")
    cut = body.index(b"<record>", body.index(b"</record>"))
    parser = PageParser()
    assert len(parser.feed(body[:cut])) == 1
    assert len(parser.feed(body[cut:])) == 1
    assert parser.close().token is None


@pytest.mark.parametrize(
    "body",
    [
        page(f"<ListRecords>{RAW_RECORD}")[:-200],  # truncated mid-record
        b"<!DOCTYPE html><html><title>503</title></html>",
        b"Rate exceeded.",
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>',
        # records without a version, most of the page: not the format asked for
        page(RAW_RECORD.replace("<version", "<v").replace("</version>", "</v>") * UNREADABLE_PAGE),
    ],
)
def test_garbled_answers_are_parse_errors(body: bytes) -> None:
    with pytest.raises(OaiParseError) as info:
        parse_page(body)
    assert "\n" not in str(info.value)


def test_oai_errors() -> None:
    empty = parse_page(page('<error code="noRecordsMatch">nothing</error>'))
    assert empty.no_records and empty.records == [] and empty.token is None
    with pytest.raises(OaiError) as info:
        parse_page(page('<error code="badResumptionToken">expired token</error>'))
    assert (info.value.code, info.value.message) == ("badResumptionToken", "expired token")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("A. One, B. Two and C. Three", ["A. One", "B. Two", "C. Three"]),
        (
            'J. M\\"uller, K. G{\\"o}del, and Anderson Smith',
            ["J. Müller", "K. Gödel", "Anderson Smith"],
        ),
        ("A. One (MIT, USA), B. Two ((1) Stanford)", ["A. One", "B. Two"]),
        ("Single Author", ["Single Author"]),
    ],
)
def test_split_authors(text: str, names: list[str]) -> None:
    assert split_authors(text) == names


# --- the client -------------------------------------------------------------------

LAST = page(f"<ListRecords>{RAW_RECORD}<resumptionToken/></ListRecords>")


def client(
    handler: httpx.MockTransport, url: str = "http://oai.test/oai", **kw: object
) -> OaiClient:
    return OaiClient(url, transport=handler, clock=kw.pop("clock", FakeClock()), **kw)  # type: ignore[arg-type]


def test_requests_are_spaced_3_s_apart_against_arxiv() -> None:
    clock = FakeClock()
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=LAST)

    with client(
        httpx.MockTransport(handler), "https://oaipmh.arxiv.org/oai", delay=0, clock=clock
    ) as oai:
        assert oai.delay == 3.0
        oai.fetch_page(list_records_params("arXivRaw", "cs", date(2025, 1, 1), None))
        oai.fetch_page(resume_params("tok|1"))
    assert clock.sleeps == [3.0]
    first = dict(sent[0].url.params)
    assert first == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "set": "cs",
        "from": "2025-01-01",
    }
    assert dict(sent[1].url.params) == {"verb": "ListRecords", "resumptionToken": "tok|1"}
    assert sent[0].headers["User-Agent"].startswith("dailypapers/")


def test_503_retry_after_is_flow_control() -> None:
    clock = FakeClock()
    answers = iter(
        [
            httpx.Response(503, headers={"Retry-After": "42"}),
            httpx.Response(200, content=LAST[: len(LAST) // 2]),  # truncated: retried too
            httpx.Response(200, content=LAST),
        ]
    )
    with client(
        httpx.MockTransport(lambda r: next(answers)), clock=clock, delay=0, backoff=1
    ) as oai:
        result = oai.fetch_page(resume_params("t"))
        assert len(result.records) == 1
        assert oai.stats.requests == 3 and oai.stats.retries == 2
    assert clock.sleeps[0] == 42.0
    assert 1.0 <= clock.sleeps[1] <= 2.5


def test_retries_are_bounded() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(503))
    with (
        client(transport, delay=0, backoff=1, max_attempts=3) as oai,
        pytest.raises(ArxivUnavailable) as info,
    ):
        oai.fetch_page(resume_params("t"))
    assert info.value.attempts == 3 and info.value.status == 503


def test_oai_errors_are_not_retried_and_name_the_url() -> None:
    body = page('<error code="badArgument">bad from</error>')
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=body)

    with client(httpx.MockTransport(handler), delay=0) as oai, pytest.raises(OaiError) as info:
        oai.fetch_page(list_records_params("arXiv", "", None, None))
    assert len(calls) == 1 and info.value.code == "badArgument"
    assert "verb=ListRecords" in str(info.value)


@pytest.mark.parametrize(
    ("given", "spec"),
    [
        ("cs", "cs"),
        ("cs:cs:AI", "cs:cs:AI"),
        ("cs.AI", "cs:cs:AI"),
        ("hep-th", "physics:hep-th"),
        ("astro-ph.CO", "physics:astro-ph:CO"),
        ("physics:hep-th", "physics:hep-th"),
        ("math", "math"),
    ],
)
def test_set_names(given: str, spec: str) -> None:
    assert normalize_set(given) == spec
