"""The static site's files: pages, assets, embedded data, escaping (no browser needed)."""

from __future__ import annotations

import json
import re
from typing import Any

from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus, hostile_papers
from dailypapers.render.catalog import build_catalog
from dailypapers.render.site import embed_json, site_files

HOSTILE_TOPIC = '<script>alert("topic")</script>'


def files(papers: list[Paper], feeds: dict[str, bytes] | None = None) -> dict[str, bytes]:
    catalog = build_catalog(
        "Daily <Papers>", [("Reward Model", "q", papers[:3]), (HOSTILE_TOPIC, "q2", papers[1:])]
    )
    return site_files(catalog, feeds)


DATA = re.compile(r'<script type="application/json" id="papers-data">(.*?)</script>', re.DOTALL)


def embedded(page: bytes) -> dict[str, object]:
    match = DATA.search(page.decode())
    assert match is not None
    assert "<" not in match.group(1) and ">" not in match.group(1) and "&" not in match.group(1)
    data: dict[str, object] = json.loads(match.group(1))
    return data


def shared(site: dict[str, bytes]) -> dict[str, Any]:
    """The one shared data file: every paper once, and the topic index."""
    [path] = [p for p in site if p.startswith("assets/data-")]
    text = site[path].decode()
    assert text.startswith("window.DAILYPAPERS_DATA = ") and text.endswith(";\n")
    body = text.removeprefix("window.DAILYPAPERS_DATA = ").removesuffix(";\n")
    assert "<" not in body and ">" not in body and "&" not in body
    data: dict[str, Any] = json.loads(body)
    return data


def markup(page: bytes) -> str:
    """The page without its JSON data."""
    return DATA.sub("", page.decode())


def test_index_topic_pages_assets_and_feeds() -> None:
    site = files(demo_corpus()[:5], feeds={"all.xml": b"<feed/>"})
    pages = sorted(path for path in site if path.endswith(".html"))
    assert pages[0] == "index.html" and len(pages) == 3
    assert site["feeds/all.xml"] == b"<feed/>"
    assets = [path for path in site if path.startswith("assets/")]
    assert {a.rsplit(".", 1)[1] for a in assets} == {"css", "js"}
    index = markup(site["index.html"])
    for asset in assets:
        assert f'"{asset}"' in index  # relative: works from file://
    topic_page = next(p for p in pages if p.startswith("topics/reward-model"))
    assert f'"../{assets[0]}"' in site[topic_page].decode()
    assert "https://" not in re.sub(r'href="https://[^"]*"', "", index)  # nothing external loads


def test_embedded_data_per_page() -> None:
    papers = demo_corpus()[:5]
    site = files(papers)
    index = embedded(site["index.html"])
    assert index["ids"] == [p.id for p in papers] and index["scope"] is None
    topic = embedded(site["topics/reward-model.html"])
    assert topic["scope"] == "reward-model" and topic["ids"] == [p.id for p in papers[:3]]
    data = shared(site)
    assert [p["id"] for p in data["papers"]] == [p.id for p in papers]
    assert data["topics"][0]["slug"] == "reward-model"


def test_pages_carry_only_what_they_show() -> None:
    """Issue 11 (cause 6): a topic page does not grow with the number of topics."""
    papers = demo_corpus()[:40]

    def site_of(topics: int) -> dict[str, bytes]:
        listings = [
            (f"Topic {n}", "q", papers[n % 4 * 10 : n % 4 * 10 + 10]) for n in range(topics)
        ]
        return site_files(build_catalog("Daily Papers", listings))

    small, large = site_of(4), site_of(400)
    assert len(large["topics/topic-1.html"]) == len(small["topics/topic-1.html"])
    assert "Topic 399" not in large["topics/topic-1.html"].decode()
    everything = b"".join(large.values()).decode()
    abstract = " ".join(papers[5].abstract.split())
    assert everything.count(json.dumps(abstract, ensure_ascii=False)[1:-1]) == 1  # stored once


def test_hostile_text_never_becomes_markup() -> None:
    site = files(hostile_papers())
    for path, content in site.items():
        if not path.endswith(".html"):
            continue
        page = markup(content)
        assert page.count("<script") == 2, path  # data and script files (the ids were cut out)
        assert "<img" not in page and "<svg" not in page and "onerror" not in page.lower()
        embedded(content)
    titles = [p["title"] for p in shared(site)["papers"]]
    assert " ".join(hostile_papers()[0].title.split()) in titles
    assert "&lt;script&gt;alert(&#34;topic&#34;)&lt;/script&gt;" in site["index.html"].decode()


def test_embed_json_escapes_what_could_end_the_script() -> None:
    text = str(embed_json({"a": "</script><!-- & >"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & >"}


def test_same_data_same_bytes() -> None:
    papers = demo_corpus()[:5]
    assert files(papers) == files(list(papers))
