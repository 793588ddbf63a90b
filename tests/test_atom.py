"""The Atom parser against real recorded arXiv responses and hostile inputs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from dailypapers.arxiv.atom import FeedPage, parse_feed
from dailypapers.arxiv.errors import ArxivAPIError, AtomParseError
from dailypapers.models import Author, Paper

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
ERROR_FEED = "id_abc_s0_m100_b79c8dcf6bc3.xml"
SEARCH_PAGE = "q_testing_s0_m10_bc5a6c384fe9.xml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str) -> FeedPage:
    return parse_feed(fixture(name))


def paper(page: FeedPage, paper_id: str) -> Paper:
    return next(p for p in page.papers if p.id == paper_id)


def assert_short_one_line(error: Exception) -> None:
    text = str(error)
    assert "\n" not in text
    assert 0 < len(text) <= 300


@pytest.mark.parametrize(
    "name", sorted(p.name for p in FIXTURES.glob("*.xml") if p.name != ERROR_FEED)
)
def test_every_fixture_parses(name: str) -> None:
    raw = fixture(name)
    page = parse_feed(raw)
    assert len(page.papers) == raw.count(b"<entry>")
    assert page.start_index == int(re.search(r"_s(\d+)_", name).group(1))  # type: ignore[union-attr]
    for p in page.papers:
        assert p.title and p.primary and p.categories and p.authors
        assert p.published.tzinfo is UTC and p.updated >= p.published


def test_empty_feed() -> None:
    page = parse("id_0000.0000_s0_m100_8b51d9633a68.xml")
    assert page == FeedPage(total_results=0, start_index=0, items_per_page=100, papers=())


def test_error_feed_raises_with_arxivs_message() -> None:
    with pytest.raises(ArxivAPIError) as caught:
        parse(ERROR_FEED)
    assert caught.value.message == "incorrect id format for abc"
    assert str(caught.value) == "arXiv API error: incorrect id format for abc"


def test_old_style_ids() -> None:
    astro = parse("id_astro-ph_0601001_s0_m100_3150dca9dc76.xml").papers[0]
    assert (astro.id, astro.version) == ("astro-ph/0601001", 1)
    assert astro.abs_url == "https://arxiv.org/abs/astro-ph/0601001v1"
    cs = paper(parse("q_testing_s50_m10_7f488ab8598c.xml"), "cs/0503050")
    assert cs.version == 1


def test_versions_first_and_later() -> None:
    page = parse(SEARCH_PAGE)
    first = paper(page, "1202.4527")
    assert first.version == 1 and first.updated == first.published
    revised = paper(page, "2204.08348")
    assert revised.version == 3 and revised.updated > revised.published
    assert revised.versioned_id == "2204.08348v3"


def test_journal_ref_present_and_absent() -> None:
    astro = parse("id_astro-ph_0601001_s0_m100_3150dca9dc76.xml").papers[0]
    assert astro.journal_ref == "ActaAstron.56:1-50,2006"
    assert parse("id_1605.08386_s0_m100_199195aa31ad.xml").papers[0].journal_ref is None
    # Entities in the raw XML arrive decoded.
    gui = paper(parse("q_testing_s5_m10_c0e94a259d4a.xml"), "1202.4527")
    assert gui.journal_ref is not None and "Software Engineering & Applications" in gui.journal_ref


def test_doi_present_and_absent() -> None:
    page = parse(SEARCH_PAGE)
    assert paper(page, "2202.12139").doi == "10.1109/ICSTW55395.2022.00035"
    assert parse("id_1605.08386_s0_m100_199195aa31ad.xml").papers[0].doi is None


def test_comment_present_and_absent() -> None:
    assert (
        parse("id_1605.08386_s0_m100_199195aa31ad.xml").papers[0].comment == "20 pages, 3 figures"
    )
    assert parse("id_2104.12255v1_s0_m100_6ae69987ffe1.xml").papers[0].comment is None


def test_affiliations_per_author() -> None:
    astro = parse("id_astro-ph_0601001_s0_m100_3150dca9dc76.xml").papers[0]
    assert astro.authors == (
        Author("Andrew Gould", ("Ohio State",)),
        Author("Susan Dorsher", ("Ohio State",)),
        Author("B. Scott Gaudi", ("CfA",)),
        Author("Andrzej Udalski", ("Warsaw University Observatory",)),
    )
    no_affiliation = parse("id_1605.08386_s0_m100_199195aa31ad.xml").papers[0]
    assert no_affiliation.authors == (Author("Caprice Stanley"), Author("Tobias Windisch"))


def test_many_authors_in_order() -> None:
    proceedings = parse("id_1707.08567_s0_m100_6a1afebfc6a3.xml").papers[0]
    assert len(proceedings.authors) == 34
    assert proceedings.author_names[:2] == ("Kees A. Schouhamer Immink", "Stan Baggen")
    assert proceedings.author_names[-1] == "Hirosuke Yamamoto"


def test_multiple_categories_and_primary() -> None:
    markov = parse("id_1605.08386_s0_m100_199195aa31ad.xml").papers[0]
    assert markov.categories == ("math.CO", "math.ST")
    assert markov.primary == "math.CO"
    quantum = parse("id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml").papers[0]
    assert (quantum.categories, quantum.primary) == (("quant-ph", "cs.PL"), "quant-ph")


def test_paging_metadata() -> None:
    page = parse("q_testing_s5_m10_c0e94a259d4a.xml")
    assert (page.total_results, page.start_index, page.items_per_page) == (214881, 5, 10)
    assert len(page.papers) == 10


def test_https_links_match_the_paper_urls() -> None:
    raw = fixture(SEARCH_PAGE)
    alternate = re.findall(rb'<link href="([^"]+)" rel="alternate"', raw)
    pdf = re.findall(rb'<link href="([^"]+)" rel="related" type="application/pdf"', raw)
    page = parse_feed(raw)
    assert [p.abs_url.encode() for p in page.papers] == alternate
    assert [p.pdf_url.encode() for p in page.papers] == pdf
    assert all(url.startswith(b"https://") for url in alternate + pdf)


def test_title_and_summary_keep_inner_text() -> None:
    astro = parse("id_astro-ph_0601001_s0_m100_3150dca9dc76.xml").papers[0]
    # arXiv sent two leading spaces; inner text (and decoded entities) is kept.
    assert astro.abstract.startswith("We derive the frequencies")
    assert "Gould & Morgan (2003)" in astro.abstract and "V_max<17.5" in astro.abstract
    assert parse("id_2104.12255v1_s0_m100_6ae69987ffe1.xml").papers[0].title == "0"


def test_timestamps_are_aware_utc() -> None:
    markov = parse("id_1605.08386_s0_m100_199195aa31ad.xml").papers[0]
    assert markov.published == datetime(2016, 5, 26, 17, 59, 46, tzinfo=UTC)


def test_element_order_does_not_matter() -> None:
    raw = fixture("id_quant-ph_0201082v1_s0_m100_86989fe779ef.xml")
    root = etree.fromstring(raw)
    # Shuffle the layout; elements of the same kind keep their relative order.
    for parent in [root, *root.iterfind("{http://www.w3.org/2005/Atom}entry")]:
        parent[:] = sorted(parent, key=lambda child: str(child.tag), reverse=True)
    assert parse_feed(etree.tostring(root)) == parse_feed(raw)


# --- hostile inputs -------------------------------------------------------


def atom_feed(*entries: str, total: int = 1) -> bytes:
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        "<opensearch:startIndex>0</opensearch:startIndex>"
        "<opensearch:itemsPerPage>10</opensearch:itemsPerPage>"
        f"{''.join(entries)}</feed>"
    ).encode()


def entry(
    *,
    entry_id: str | None = "http://arxiv.org/abs/2505.07818v2",
    title: str | None = "A title",
    published: str | None = "2025-05-12T17:59:58Z",
    categories: str = '<category term="cs.CL"/><arxiv:primary_category term="cs.CL"/>',
    extra: str = "",
) -> str:
    parts = [
        f"<id>{entry_id}</id>" if entry_id is not None else "",
        f"<title>{title}</title>" if title is not None else "",
        f"<published>{published}</published>" if published is not None else "",
        "<updated>2025-05-14T10:00:00Z</updated>",
        "<summary> An abstract. </summary>",
        "<author><name>A. Author</name></author>",
        categories,
        extra,
    ]
    return f"<entry>{''.join(parts)}</entry>"


def test_minimal_synthetic_entry_parses() -> None:
    result = parse_feed(atom_feed(entry())).papers[0]
    assert (result.id, result.version, result.abstract) == ("2505.07818", 2, "An abstract.")


def test_primary_category_need_not_be_first() -> None:
    categories = (
        '<category term="cs.LG"/><category term="stat.ML"/><arxiv:primary_category term="stat.ML"/>'
    )
    result = parse_feed(atom_feed(entry(categories=categories))).papers[0]
    assert (result.categories, result.primary) == (("cs.LG", "stat.ML"), "stat.ML")


def test_missing_primary_falls_back_to_first_category() -> None:
    categories = '<category term="cs.LG"/><category term="stat.ML"/>'
    assert parse_feed(atom_feed(entry(categories=categories))).papers[0].primary == "cs.LG"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (fixture(SEARCH_PAGE)[:5000], "malformed XML"),
        (
            b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
            + b"<body>"
            + b"x" * 10000
            + b"</body></html>",
            "HTML page",
        ),
        (b"Rate exceeded.", "not XML: 'Rate exceeded.'"),
        (b"", "empty response body"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "not an Atom feed"),
        (
            atom_feed(entry()).replace(
                b"<opensearch:totalResults>1</opensearch:totalResults>", b""
            ),
            "no opensearch:totalResults",
        ),
    ],
    ids=["truncated", "html", "plain-text", "empty", "rss", "no-total"],
)
def test_unusable_documents_raise_short_errors(body: bytes, reason: str) -> None:
    with pytest.raises(AtomParseError) as caught:
        parse_feed(body)
    assert reason in str(caught.value)
    assert_short_one_line(caught.value)


@pytest.mark.parametrize(
    ("bad_entry", "reason"),
    [
        (entry(entry_id=None), "entry 2 has no <id>"),
        (entry(title=None), "entry 2 (http://arxiv.org/abs/2505.07818v2) has no <title>"),
        (entry(published=None), "has no <published>"),
        (entry(published="yesterday"), "<published> is not a timestamp"),
        (entry(entry_id="http://arxiv.org/abs/2505.07818"), "<id> has no version"),
        (entry(entry_id="urn:uuid:1234"), "<id> is not an arXiv abs URL"),
    ],
    ids=["no-id", "no-title", "no-published", "bad-date", "no-version", "not-arxiv-id"],
)
def test_broken_entries_are_named(bad_entry: str, reason: str) -> None:
    with pytest.raises(AtomParseError) as caught:
        parse_feed(atom_feed(entry(), bad_entry, total=2))
    assert reason in str(caught.value)
    assert_short_one_line(caught.value)


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    ).encode() + atom_feed(entry(title="&xxe;"))
    with pytest.raises(AtomParseError) as caught:
        parse_feed(body)
    assert "TOP SECRET" not in str(caught.value)


def test_entity_expansion_bomb_is_rejected() -> None:
    lol = "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' if i else '<!ENTITY l0 "lol">' for i in range(10)
    )
    body = f'<?xml version="1.0"?><!DOCTYPE feed [{lol}]>'.encode() + atom_feed(entry(title="&l9;"))
    with pytest.raises(AtomParseError):
        parse_feed(body)


# --- the one-pass reading gives what namespaced find()s gave ------------------


def _found_authors(entry_element: etree._Element) -> tuple[Author, ...]:
    """The authors as the parser read them with ``find``/``iterfind`` before."""
    ns = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom"}
    authors = []
    for element in entry_element.iterfind("atom:author", ns):
        name = element.find("atom:name", ns)
        text = "".join(name.itertext()).strip() if name is not None else ""
        if text:
            found = element.iterfind("arxiv:affiliation", ns)
            affiliations = ("".join(a.itertext()).strip() for a in found)
            authors.append(Author(text, tuple(a for a in affiliations if a)))
    return tuple(authors)


def _found_categories(entry_element: etree._Element) -> tuple[tuple[str, ...], str]:
    ns = {"atom": "http://www.w3.org/2005/Atom", "arxiv": "http://arxiv.org/schemas/atom"}
    terms = (e.get("term") for e in entry_element.iterfind("atom:category", ns))
    categories = tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip()))
    element = entry_element.find("arxiv:primary_category", ns)
    term = (element.get("term") or "").strip() if element is not None else ""
    return categories, term or (categories[0] if categories else "")


ODD_AUTHORS = (
    "<author><name> </name><name>Second Name</name></author>"  # the first name counts: skipped
    "<author><!-- c --><name>B <b>Bold</b></name><arxiv:affiliation>X</arxiv:affiliation>"
    "<arxiv:affiliation> </arxiv:affiliation><arxiv:affiliation>Y<i>Z</i></arxiv:affiliation>"
    "</author><author><arxiv:affiliation>No name</arxiv:affiliation></author>"
    "<author><name>C</name><name>Not this</name></author>"
    '<category term=" cs.AI "/><category term=""/><category/><category term="cs.AI"/>'
    '<arxiv:primary_category term=" "/><arxiv:primary_category term="cs.LG"/>'
)


@pytest.mark.parametrize(
    "raw",
    [
        *(fixture(p.name) for p in sorted(FIXTURES.glob("*.xml")) if p.name != ERROR_FEED),
        atom_feed(entry(extra=ODD_AUTHORS)),
        atom_feed(entry(categories="", extra=ODD_AUTHORS)),
    ],
)
def test_authors_and_categories_read_as_find_read_them(raw: bytes) -> None:
    entries = etree.fromstring(raw).findall("{http://www.w3.org/2005/Atom}entry")
    papers = parse_feed(raw).papers
    assert len(papers) == len(entries)
    for parsed, element in zip(papers, entries, strict=True):
        assert parsed.authors == _found_authors(element)
        assert (parsed.categories, parsed.primary) == _found_categories(element)
