"""The site in a real browser (Debian's Chromium through Playwright), from file:// and HTTP.

The demo site is the one `update` writes against the fake arXiv server; the
hostile site lists papers whose every field tries to run script.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dailypapers.config import load_config
from dailypapers.offline.corpus import demo_corpus, hostile_papers
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.outpaths import owns_site_file
from dailypapers.pipeline import run_update
from dailypapers.publish.tree import publish_tree
from dailypapers.render.catalog import build_catalog
from dailypapers.render.site import site_files
from dailypapers.serve import make_server, server_url

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

HOSTILE_TOPIC = '<img src=x onerror=alert("topic")>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site written by `update` with every output on, against the fake arXiv."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch, FakeArxiv(demo_corpus()) as server:
        for name in [n for n in os.environ if n.startswith("DAILYPAPERS_")]:
            patch.delenv(name)  # module scope: the per-test isolation has not run yet
        (folder / "papers.toml").write_text(
            'outputs = ["readme", "json", "feeds", "site"]\n'
            '[[topics]]\nname = "Reward Model"\n[[topics]]\nname = "Reasoning"\n'
            f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\n',
            encoding="utf-8",
        )
        config = load_config(folder / "papers.toml")
        report = run_update(config, now=datetime(2025, 5, 14, 12, tzinfo=UTC))
    assert report.status == "updated", report.error
    return config.site_dir


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "site"
    # A model's TL;DR is as hostile as the paper it summarises.
    papers = [p.with_changes(tldr=f"{p.abstract} {p.title}") for p in hostile_papers()]
    # Newer papers in a third topic: the hostile ones are past the index's first page,
    # so the index's script builds their cards from the shared papers file.
    later = datetime(2025, 5, 13, tzinfo=UTC)
    filler = [p.with_changes(updated=later) for p in demo_corpus()[:50]]
    topics = [(HOSTILE_TOPIC, "q", papers), ("Plain", "q", papers), ("Filler", "q", filler)]
    catalog = build_catalog("<b>Daily</b>", topics)
    publish_tree(folder, site_files(catalog, {"all.xml": b""}), owned=owns_site_file)
    return folder


@pytest.fixture(scope="module")
def http_root(hostile_site: Path) -> Iterator[str]:
    server = make_server(hostile_site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_url(server)
    server.shutdown()
    server.server_close()


class Watch:
    """A page with every dialog, console message and page error recorded."""

    def __init__(self, browser: Any, **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("#results li")
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watch(browser: Any) -> Iterator[Watch]:
    watched = Watch(browser, viewport={"width": 1200, "height": 900})
    yield watched
    assert watched.errors == []
    watched.close()


def count(page: Any) -> str:
    return str(page.locator("#count").text_content())


def titles(page: Any) -> list[str]:
    return [str(t) for t in page.locator("#results li h2").all_text_contents()]


def test_lists_papers_with_details(watch: Watch, demo_site: Path) -> None:
    page = watch.open((demo_site / "index.html").as_uri())
    assert count(page) == "196 papers"
    assert page.locator("#results li").count() == 50  # one page; "Show more" for the rest
    page.click("#more")
    assert page.locator("#results li").count() == 100
    first = page.locator("#results li").first
    assert first.locator("details").get_attribute("open") is None
    first.locator("summary").click()
    assert first.locator("details p").is_visible()
    hrefs = first.locator(".links a").evaluate_all("els => els.map(e => e.href)")
    assert hrefs[0].startswith("https://arxiv.org/abs/") and "/pdf/" in hrefs[1]
    assert page.locator(".topic-cards li").count() == 2
    assert watch.console == []


def test_typing_a_query_filters_the_list(watch: Watch, demo_site: Path) -> None:
    page = watch.open((demo_site / "index.html").as_uri())
    page.locator("#q").press_sequentially("reward model")
    sync_api.expect(page.locator("#count")).to_contain_text(" of ")
    shown = titles(page)
    assert 0 < len(shown) <= 50
    texts = page.locator("#results li").all_text_contents()
    assert all("reward" in t.lower() and "model" in t.lower() for t in texts)
    assert "q=reward+model" in page.evaluate("location.hash")


def test_filters_narrow_the_list(watch: Watch, demo_site: Path) -> None:
    page = watch.open((demo_site / "index.html").as_uri())
    page.select_option("#topic", "reasoning")
    assert count(page) == "100 of 196 papers"
    page.select_option("#cat", "cs.CL")
    by_category = int(count(page).split()[0])
    assert 0 < by_category < 100
    assert all("cs.CL" in m for m in page.locator("#results li .meta").all_text_contents())
    page.locator("#q").fill("probabilistic")
    page.locator("#q").dispatch_event("input")
    sync_api.expect(page).to_have_url(re.compile(r"q=probabilistic"))
    by_query = int(count(page).split()[0])
    assert 0 < by_query < by_category
    page.fill("#from", "2025-04-01")
    page.dispatch_event("#from", "change")
    dates = page.locator("#results li time").all_text_contents()
    assert 0 < len(dates) < by_query and all(d >= "2025-04-01" for d in dates)
    page.click("#clear")
    sync_api.expect(page.locator("#count")).to_have_text("196 papers")


def test_deep_link_restores_a_search(watch: Watch, demo_site: Path) -> None:
    page = watch.open((demo_site / "index.html").as_uri())
    page.locator("#q").fill("reward")
    page.locator("#q").dispatch_event("input")
    sync_api.expect(page).to_have_url(re.compile(r"#q=reward$"))
    page.select_option("#cat", "cs.CL")
    link, expected = page.evaluate("location.href"), titles(page)
    other = Watch(watch.context.browser)
    restored = other.open(link)
    assert restored.locator("#q").input_value() == "reward"
    assert restored.locator("#cat").input_value() == "cs.CL"
    assert titles(restored) == expected
    restored.evaluate("location.hash = '#topic=reward-model'")
    sync_api.expect(restored.locator("#topic")).to_have_value("reward-model")
    assert restored.locator("#q").input_value() == ""
    other.close()


def test_topic_page_lists_only_its_topic(watch: Watch, demo_site: Path) -> None:
    page = watch.open((demo_site / "topics" / "reasoning.html").as_uri())
    assert count(page) == "100 papers"
    assert page.locator("#topic").count() == 0
    assert page.locator("h1").text_content() == "Reasoning"


@pytest.mark.parametrize("csp", ["bypassed", "enforced"])
@pytest.mark.parametrize("scheme", ["file", "http"])
def test_hostile_corpus_runs_no_script(
    browser: Any, hostile_site: Path, http_root: str, scheme: str, csp: str
) -> None:
    # With the CSP bypassed, only escaping stands between the data and the page.
    watch = Watch(browser, bypass_csp=csp == "bypassed")
    root = hostile_site.as_uri() + "/" if scheme == "file" else http_root
    page = watch.open(root + "index.html")
    page.locator("#results li summary").first.click()
    page.locator("#q").press_sequentially("<img src=x onerror=alert(1)> alert")
    page.wait_for_timeout(300)
    page.goto(root + "index.html#q=%3Cscript%3Ealert(2)%3C%2Fscript%3E&cat=%3Cb%3E")
    page.wait_for_timeout(200)
    hostile = hostile_papers()[0]
    page.goto(root + f"index.html#id={hostile.id}")  # a card built from the shared file
    sync_api.expect(page.locator("#results li")).to_have_count(1)
    assert titles(page) == [" ".join(hostile.title.split())]
    assert page.locator("#results li details").count() == 0  # its abstract: on its topic's page
    assert page.locator("img, svg, iframe, object, embed").count() == 0
    assert page.locator("script").count() == 3  # the two shared data files, site.js
    hrefs = page.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert not [
        h
        for h in hrefs
        if h and not h.startswith(("https://", "http://", "topics/", "index", "feeds/"))
    ]
    watch.open(root + "topics/plain.html")
    assert " ".join(hostile.title.split()) in titles(page)
    tldr = page.locator("#results .tldr").first.text_content() or ""
    assert tldr.startswith("TL;DR: ") and " ".join(hostile.title.split()) in tldr
    assert page.locator("img, svg, iframe, object, embed").count() == 0
    assert page.locator("script").count() == 2  # the shared topics file, site.js
    hrefs = page.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert not [h for h in hrefs if h and not h.startswith(("https://", "http://", "../", "index"))]
    assert page.evaluate("document.title").startswith("Plain")
    assert watch.dialogs == [] and watch.errors == []
    assert not [m for m in watch.console if "Content Security Policy" in m]
    watch.close()


@pytest.mark.parametrize(("scheme", "background"), [("light", "rgb(255, 255, 255)"), ("dark", "")])
def test_phone_width_and_colour_schemes(
    browser: Any, demo_site: Path, scheme: str, background: str
) -> None:
    watch = Watch(browser, viewport={"width": 360, "height": 740}, color_scheme=scheme)
    page = watch.open((demo_site / "index.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    colour = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert colour == background if background else colour != "rgb(255, 255, 255)"
    assert watch.errors == []
    watch.close()


@pytest.mark.parametrize(
    "query",
    [
        "constructor",
        "reward constructor",
        "toString OR valueOf",
        "__proto__",
        "a OR " * 10000 + "a",
    ],
)
def test_words_that_name_object_properties_and_huge_queries_are_searched(
    watch: Watch, demo_site: Path, query: str
) -> None:
    # Before: "constructor" was taken for an operator (Object.prototype's), the
    # search threw, and from a deep link the page's whole search stayed dead; a
    # query of thousands of words overflowed the stack.
    page = watch.page
    page.goto((demo_site / "index.html").as_uri() + "#q=" + query.replace(" ", "+"))
    sync_api.expect(page.locator("#count")).to_contain_text("196")  # a count, not a dead page
    page.locator("#q").fill("reward")
    page.locator("#q").dispatch_event("input")
    sync_api.expect(page.locator("#count")).to_contain_text(" of 196 papers")
    assert all("reward" in t.lower() for t in page.locator("#results li").all_text_contents())


def test_a_category_named_like_an_object_property_is_counted(watch: Watch, tmp_path: Path) -> None:
    papers = [
        p.with_changes(categories=("constructor", "__proto__", "cs.CL")) for p in demo_corpus()[:3]
    ]
    catalog = build_catalog("Daily", [("Odd", "q", papers)])
    publish_tree(tmp_path / "site", site_files(catalog, None), owned=owns_site_file)
    page = watch.open((tmp_path / "site" / "index.html").as_uri())
    options = page.locator("#cat option").all_text_contents()
    assert "constructor (3)" in options and "__proto__ (3)" in options
