"""Atom feeds: valid for feed readers, stable ids, escaped text, data-derived times."""

from __future__ import annotations

from datetime import timedelta

import feedparser
from lxml import etree

from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus, hostile_papers
from dailypapers.render.atom import ATOM, feed_files, xml_text
from dailypapers.render.catalog import Catalog, build_catalog
from dailypapers.render.slugs import slugify


def catalog(papers: list[Paper], other: list[Paper] | None = None) -> Catalog:
    return build_catalog(
        "Daily Papers",
        [("Reward Model", 'ti:"Reward Model"', papers), ("C++ & <Co>", "all:c", other or [])],
    )


def parsed(data: bytes) -> feedparser.FeedParserDict:
    result = feedparser.parse(data)
    assert result.bozo == 0, result.get("bozo_exception")
    assert result.version == "atom10"
    return result


def test_one_valid_feed_per_topic_and_one_for_all() -> None:
    papers = demo_corpus()[:30]
    files = feed_files(catalog(papers[:20], papers[10:30]))
    other = f"{slugify('C++ & <Co>')}.xml"
    assert other.startswith("c-co-")
    assert sorted(files) == ["all.xml", other, "reward-model.xml"]
    feed = parsed(files["reward-model.xml"])
    assert feed.feed.title == "Daily Papers: Reward Model"
    assert len(feed.entries) == 20
    assert len(parsed(files["all.xml"]).entries) == 20  # capped at the largest topic
    # With max_papers (as the outputs pass it): the newest of all topics, even
    # when no topic is full (before: capped at the largest, dropping topics).
    limited = parsed(feed_files(catalog(papers[:3], papers[3:8]), limit=100)["all.xml"])
    assert {e.id.rsplit("/", 1)[-1] for e in limited.entries} == {p.id for p in papers[:8]}
    assert parsed(files[other]).feed.title == "Daily Papers: C++ & <Co>"


def test_entry_fields() -> None:
    paper = next(p for p in demo_corpus() if p.version > 1 and p.comment)
    entry = parsed(feed_files(catalog([paper]))["reward-model.xml"]).entries[0]
    assert entry.id == f"https://arxiv.org/abs/{paper.id}"
    assert entry.title == " ".join(paper.title.split())
    assert entry.updated == paper.updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert entry.published == paper.published.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [a.name for a in entry.authors] == list(paper.author_names)
    arxiv_terms = [t.term for t in entry.tags if t.scheme == "http://arxiv.org/schemas/atom"]
    assert arxiv_terms == list(paper.categories)
    assert "Reward Model" in [t.term for t in entry.tags]
    assert entry.summary == paper.abstract
    links = {(link.rel, link.type): link.href for link in entry.links}
    assert links[("alternate", "text/html")] == paper.abs_url
    assert links[("related", "application/pdf")] == paper.pdf_url
    assert f"Revised (v{paper.version})" in entry.content[0].value


def test_a_revision_keeps_the_id_and_moves_updated() -> None:
    paper = demo_corpus()[0]
    revised = paper.with_changes(version=paper.version + 1, updated=paper.updated + timedelta(1))
    before = parsed(feed_files(catalog([paper]))["reward-model.xml"])
    after = parsed(feed_files(catalog([revised]))["reward-model.xml"])
    assert before.entries[0].id == after.entries[0].id
    assert after.entries[0].updated > before.entries[0].updated
    assert after.feed.updated == after.entries[0].updated  # from the data, not the clock
    assert after.entries[0].link == revised.abs_url


def test_hostile_text_stays_text_and_control_characters_go() -> None:
    files = feed_files(catalog(hostile_papers()))
    data = files["reward-model.xml"]
    feed = parsed(data)
    hostile = hostile_papers()[0]
    entry = feed.entries[0]
    assert entry.title == " ".join(hostile.title.split())
    assert entry.authors[0].name == "<img src=x onerror=alert(3)>"
    assert "\x00" not in data.decode() and "\x07" not in data.decode()
    root = etree.fromstring(data)
    assert root.findall(f"{{{ATOM}}}entry/{{{ATOM}}}script") == []
    assert b"<script>" not in data  # escaped everywhere, including the HTML content
    related = [link.href for link in entry.links if link.rel == "related"]
    assert "https://github.com/evil/repo" in related
    assert all(href.startswith("https://") for href in related)


def test_empty_topic_is_still_a_valid_feed() -> None:
    feed = parsed(feed_files(catalog([]))["reward-model.xml"])
    assert feed.entries == [] and feed.feed.updated == "1970-01-01T00:00:00Z"


def test_same_data_same_bytes_and_self_link_with_base_url() -> None:
    papers = demo_corpus()[:5]
    assert feed_files(catalog(papers)) == feed_files(catalog(list(papers)))
    files = feed_files(catalog(papers), base_url="https://me.github.io/papers/feeds/")
    feed = parsed(files["reward-model.xml"])
    assert feed.feed.id == "https://me.github.io/papers/feeds/reward-model.xml"
    assert any(link.rel == "self" and link.href == feed.feed.id for link in feed.feed.links)


def test_xml_text_keeps_what_xml_allows() -> None:
    assert xml_text("a\x00b\x08c\td\ne\rf\ufffeg😀") == "abc\td\ne\rfg😀"


def test_an_entry_shared_by_feeds_is_the_same_bytes_and_names_all_its_topics() -> None:
    papers = demo_corpus()[:30]
    files = feed_files(catalog(papers[:20], papers[10:30]))
    shared = papers[15]
    other = next(name for name in files if name.startswith("c-co-"))
    for name in ("reward-model.xml", other, "all.xml"):
        root = etree.fromstring(files[name])
        entry = next(
            e for e in root.iter(f"{{{ATOM}}}entry") if shared.id in e.findtext(f"{{{ATOM}}}id", "")
        )
        terms = [c.get("term") for c in entry.iter(f"{{{ATOM}}}category")]
        assert terms[-2:] == ["Reward Model", "C++ & <Co>"]
    assert files["all.xml"].count(b'xmlns="http://www.w3.org/2005/Atom"') == 1
