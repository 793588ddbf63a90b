"""The static site's files: pages, assets, embedded data, escaping (no browser needed)."""

from __future__ import annotations

import json
import re
from typing import Any

import lxml.html
from markupsafe import escape

from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus, hostile_papers
from dailypapers.render.catalog import build_catalog, newest_first_key
from dailypapers.render.site import embed_json, site_files

HOSTILE_TOPIC = '<script>alert("topic")</script>'


def files(papers: list[Paper], feeds: dict[str, bytes] | None = None) -> dict[str, bytes]:
    catalog = build_catalog(
        "Daily <Papers>", [("Reward Model", "q", papers[:3]), (HOSTILE_TOPIC, "q2", papers[1:])]
    )
    return site_files(catalog, feeds)


CARD = re.compile(r'<li class="paper[^"]*" id="paper-([^"]+)"')


def shared(site: dict[str, bytes], stem: str = "papers") -> Any:
    """One shared data file: ``papers`` (every paper once) or ``topics`` (the index)."""
    [path] = [p for p in site if p.startswith(f"assets/{stem}-")]
    text = site[path].decode()
    name = f"window.DAILYPAPERS_{stem.upper()} = "
    assert text.startswith(name) and text.endswith(";\n")
    body = text.removeprefix(name).removesuffix(";\n")
    assert "<" not in body and ">" not in body and "&" not in body
    return json.loads(body)


def listed(page: bytes) -> list[str]:
    """The ids of the papers a page lists in its HTML, in order."""
    return CARD.findall(page.decode())


def markup(page: bytes) -> str:
    return page.decode()


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
    tree = lxml.html.fromstring(index)
    loaded = tree.xpath("//script/@src | //link[@rel='stylesheet']/@href | //img/@src")
    assert loaded and not [url for url in loaded if "://" in url]  # nothing external loads


def test_pages_list_their_papers_and_share_one_file() -> None:
    papers = sorted(demo_corpus()[:60], key=newest_first_key, reverse=True)
    site = files(papers)
    assert listed(site["index.html"]) == [p.id for p in papers][:50]  # its newest page
    assert listed(site["topics/reward-model.html"]) == [p.id for p in papers[:3]]
    assert 'data-scope="reward-model"' in site["topics/reward-model.html"].decode()
    data = shared(site)
    assert [p["id"] for p in data] == [p.id for p in papers]
    assert not [p for p in data if "abstract" in p]  # each topic page carries it
    assert shared(site, "topics")[0] == {"slug": "reward-model", "name": "Reward Model", "count": 3}
    index_scripts = re.findall(r'<script src="([^"]+)"', site["index.html"].decode())
    topic_scripts = re.findall(r'<script src="([^"]+)"', site["topics/reward-model.html"].decode())
    assert [s.split("/")[-1].split("-")[0] for s in index_scripts] == ["topics", "papers", "site"]
    assert [s.split("/")[-1].split("-")[0] for s in topic_scripts] == ["topics", "site"]


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
    abstract = str(escape(" ".join(papers[15].abstract.split())))
    pages = [path for path, content in large.items() if abstract in content.decode()]
    assert len(pages) == 101 and "index.html" in pages  # its 100 topics' pages and the index
    data = [p for p in shared(large) if p["id"] == papers[15].id]
    assert len(data) == 1 and len(data[0]["topics"]) == 100  # once, with its topics


def test_hostile_text_never_becomes_markup() -> None:
    site = files(hostile_papers())
    for path, content in site.items():
        if not path.endswith(".html"):
            continue
        page = markup(content)
        scripts = 3 if path == "index.html" else 2  # the shared data files and site.js
        assert page.count("<script") == scripts, path
        tree = lxml.html.fromstring(page)  # paper text is in the page now, as text only
        assert not tree.xpath("//img | //svg | //iframe | //object | //embed"), path
        assert not [a for a in tree.xpath("//@*") if a.attrname.lower().startswith("on")], path
        hrefs = tree.xpath("//a/@href")
        assert not [
            h for h in hrefs if not h.startswith(("https://", "http://", "../", "topics/", "index"))
        ]
    titles = [p["title"] for p in shared(site)]
    assert " ".join(hostile_papers()[0].title.split()) in titles
    assert "&lt;script&gt;alert(&#34;topic&#34;)&lt;/script&gt;" in site["index.html"].decode()


def test_embed_json_escapes_what_could_end_the_script() -> None:
    text = str(embed_json({"a": "</script><!-- & >"}))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!-- & >"}


def test_same_data_same_bytes() -> None:
    papers = demo_corpus()[:5]
    assert files(papers) == files(list(papers))


def test_every_paper_is_in_the_html_with_new_ones_marked() -> None:
    """The catalog says which papers are new (see tests/test_site_new.py): the site marks them."""
    papers = sorted(demo_corpus()[:40], key=newest_first_key, reverse=True)
    fresh = frozenset(p.id for p in papers[5:12])
    catalog = build_catalog("Daily Papers", [("Reward Model", "q", papers)], new=fresh)
    site = site_files(catalog)
    for path in ("index.html", "topics/reward-model.html"):
        page = site[path].decode()
        cards = lxml.html.fromstring(page).xpath(
            "//ol[@id='results']/li[contains(@class, 'paper')]"
        )
        assert [c.get("id") for c in cards] == [f"paper-{p.id}" for p in papers]
        assert {c.get("id")[6:] for c in cards if "is-new" in c.get("class")} == fresh
        assert f"New only ({len(fresh)})" in page
    assert {p["id"] for p in shared(site) if p.get("new")} == fresh
    assert not [
        p for p in shared(site_files(build_catalog("D", [("R", "q", papers)]))) if "new" in p
    ]
