"""The site as readers see it: without JavaScript, on a phone, and its search language.

Debian's Chromium through Playwright, as the other browser tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dailypapers.config import load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.outpaths import owns_site_file
from dailypapers.pipeline import run_update
from dailypapers.publish.tree import publish_tree
from dailypapers.render.catalog import build_catalog, newest_first_key
from dailypapers.render.ranked import Pick, Ranking
from dailypapers.render.site import site_files

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

PHONE = {"width": 390, "height": 844}
TOPIC_NAMES = [
    "Reward Model", "Reasoning", "Diffusion Models", "Retrieval-Augmented Generation",
    "Agents", "Alignment and Safety", "Multimodal LLMs", "Speech", "Robotics",
    "Graph Neural Networks", "Federated Learning", "Time Series", "Code Generation",
    "Mechanistic Interpretability",
]  # fmt: skip


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
    folder = tmp_path_factory.mktemp("reading")
    with pytest.MonkeyPatch.context() as patch, FakeArxiv(demo_corpus()) as server:
        for name in [n for n in os.environ if n.startswith("DAILYPAPERS_")]:
            patch.delenv(name)
        (folder / "papers.toml").write_text(
            'outputs = ["readme", "feeds", "site"]\n'
            '[[topics]]\nname = "Reward Model"\n[[topics]]\nname = "Reasoning"\n'
            f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\n',
            encoding="utf-8",
        )
        config = load_config(folder / "papers.toml")
        report = run_update(config, now=datetime(2025, 5, 14, 12, tzinfo=UTC))
    assert report.status == "updated", report.error
    return config.site_dir


@pytest.fixture(scope="module")
def many_topics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """14 topics of 30 papers each, as a lab's real site might have."""
    papers = demo_corpus()
    topics = [(name, "q", papers[i * 30 : i * 30 + 30]) for i, name in enumerate(TOPIC_NAMES)]
    folder = tmp_path_factory.mktemp("many") / "site"
    publish_tree(folder, site_files(build_catalog("Daily Papers", topics)), owned=owns_site_file)
    return folder


def page_of(browser: Any, url: str, **options: Any) -> tuple[Any, Any]:
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#results li")
    page.errors = errors
    return context, page


def test_without_javascript_every_paper_is_in_the_html(browser: Any, demo_site: Path) -> None:
    """The index lists its newest page; each topic page lists all its papers."""
    context, page = page_of(browser, (demo_site / "index.html").as_uri(), java_script_enabled=False)
    assert page.locator("#results li.paper").count() == 50
    assert page.locator("#controls").is_hidden()
    note = page.locator("noscript .note")
    assert "every paper on its topic's page" in str(note.text_content())
    feed = str(note.locator("a").get_attribute("href"))
    assert (demo_site / feed).is_file()
    first = page.locator("#results li").first
    assert first.locator("h2 a").get_attribute("href").startswith("https://arxiv.org/abs/")
    listed: set[str] = set()
    for topic in ("reward-model", "reasoning"):
        page.goto((demo_site / "topics" / f"{topic}.html").as_uri())
        assert "every paper is listed below" in str(page.locator("noscript .note").text_content())
        ids = page.locator("#results li.paper").evaluate_all("items => items.map(i => i.id)")
        listed |= set(ids)
    assert len(listed) == 196
    context.close()


def test_the_script_takes_over_the_same_list(browser: Any, demo_site: Path) -> None:
    context, page = page_of(browser, (demo_site / "topics" / "reasoning.html").as_uri())
    assert page.locator("#controls").is_visible()
    assert page.locator("#results li").count() == 50
    assert page.errors == []
    context.close()


@pytest.mark.parametrize("path", ["index.html", "topics/mechanistic-interpretability.html"])
def test_on_a_phone_the_first_paper_is_on_the_first_screen(
    browser: Any, many_topics: Path, path: str
) -> None:
    context, page = page_of(browser, (many_topics / path).as_uri(), viewport=PHONE)
    top = page.evaluate("document.querySelector('#results li').getBoundingClientRect().top")
    assert top < PHONE["height"], f"the first paper starts at {top}px"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    nav = page.locator(".topic-nav")
    assert nav.locator("a").count() == 15  # every topic stays reachable (it scrolls)
    assert page.errors == []
    context.close()


def search(page: Any, query: str) -> list[str]:
    page.locator("#q").fill(query)
    page.locator("#q").dispatch_event("input")
    sync_api.expect(page.locator("#count")).not_to_have_text(re.compile("^$"))
    page.wait_for_timeout(250)
    text = str(page.locator("#count").text_content())
    total = int(text.split()[0]) if text[0].isdigit() else 0
    while page.locator("#more").is_visible():
        page.click("#more")
    ids = page.locator("#results li").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == total
    return [str(i) for i in ids]


def test_search_takes_the_field_syntax(browser: Any, demo_site: Path) -> None:
    context, page = page_of(browser, (demo_site / "index.html").as_uri())
    phrase = search(page, 'ti:"reward model"')
    titles = page.locator("#results li h2").all_text_contents()
    assert phrase and all("reward model" in t.lower() for t in titles)
    reward, reasoning = search(page, "ti:reward"), search(page, "ti:reasoning")
    either = search(page, "ti:reward OR ti:reasoning")
    assert set(either) == set(reward) | set(reasoning)
    both = search(page, "ti:reward AND ti:reasoning")
    assert set(both) == set(reward) & set(reasoning)
    without = search(page, "ti:reward ANDNOT ti:reasoning")
    assert set(without) == set(reward) - set(reasoning)
    grouped = search(page, "(ti:reward OR ti:reasoning) AND cat:cs.CL")
    assert grouped and set(grouped) <= set(either)
    metas = page.locator("#results li .meta").all_text_contents()
    assert all("cs.CL" in m for m in metas)
    assert len(search(page, "cat:cs")) == 196  # an archive matches its categories
    assert search(page, "cat:stat") == []
    assert search(page, "au:nobody-of-that-name") == []
    assert len(search(page, "ti:reward (")) == len(reward)  # broken syntax: plain words
    assert page.errors == []
    context.close()


@pytest.fixture(scope="module")
def next_day_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo site after a second update that listed two more papers."""
    folder = tmp_path_factory.mktemp("next-day")
    corpus = demo_corpus()
    model = next(p for p in corpus if "reward model" in p.title.lower())
    later = datetime(2025, 5, 14, 13, tzinfo=UTC)
    arrivals = [model.with_changes(id=f"2505.9990{n}", updated=later) for n in range(2)]
    with pytest.MonkeyPatch.context() as patch, FakeArxiv(corpus) as server:
        for name in [n for n in os.environ if n.startswith("DAILYPAPERS_")]:
            patch.delenv(name)
        (folder / "papers.toml").write_text(
            'outputs = ["site"]\n'
            '[[topics]]\nname = "Reward Model"\n[[topics]]\nname = "Reasoning"\n'
            f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\n',
            encoding="utf-8",
        )
        config = load_config(folder / "papers.toml")
        run_update(config, now=datetime(2025, 5, 14, 12, tzinfo=UTC))
        server.add_papers(arrivals)
        report = run_update(config, now=datetime(2025, 5, 15, 12, tzinfo=UTC))
    assert report.saved.new == 2, report.error
    return config.site_dir


def test_new_papers_are_marked_and_filterable(browser: Any, next_day_site: Path) -> None:
    context, page = page_of(browser, (next_day_site / "index.html").as_uri())
    label = str(page.locator("label.check").text_content())
    assert "New only (2)" in label  # the second update's two, not the first's 196
    page.check("#new")
    sync_api.expect(page.locator("#count")).to_have_text("2 of 196 papers")  # 100 a topic
    ids = page.locator("#results li.is-new").evaluate_all("els => els.map(e => e.id)")
    assert sorted(ids) == ["paper-2505.99900", "paper-2505.99901"]
    assert page.locator("#results li:not(.is-new)").count() == 0
    assert "new=1" in page.evaluate("location.hash")
    context.close()


@pytest.fixture(scope="module")
def ranked_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """A site with a library's scores: 60 papers in two topics, scored out of date order."""
    papers = sorted(demo_corpus()[:60], key=newest_first_key, reverse=True)
    scores = {p.id: round(((n * 37) % 61) / 61, 4) for n, p in enumerate(papers)}
    del scores[papers[3].id]  # a library's own paper has no score
    ranking = Ranking([Pick(p, scores[p.id]) for p in papers[:10] if p.id in scores], scores)
    topics = [("Reward Model", "q", papers[:40]), ("Reasoning", "q", papers[20:])]
    folder = tmp_path_factory.mktemp("ranked") / "site"
    publish_tree(folder, site_files(build_catalog("D", topics, ranking)), owned=owns_site_file)
    return folder, scores


@pytest.mark.parametrize("path", ["index.html", "topics/reward-model.html"])
def test_sort_by_score_with_a_library(
    browser: Any, ranked_site: tuple[Path, dict[str, float]], path: str
) -> None:
    folder, scores = ranked_site
    context, page = page_of(browser, (folder / path).as_uri())
    newest = search(page, "")
    page.select_option("#sort", "score")
    sync_api.expect(page).to_have_url(re.compile(r"sort=score"))
    ranked = search(page, "")
    assert sorted(ranked) == sorted(newest) and ranked != newest
    ids = [i.removeprefix("paper-") for i in ranked]
    shown = [scores[i] for i in ids if i in scores]
    assert shown == sorted(shown, reverse=True)
    assert ids[-1] not in scores or len(shown) == len(ids)  # unscored papers go last
    badge = str(page.locator("#results li .badge.score").first.text_content())
    assert badge == f"score {shown[0]}"
    narrowed = search(page, "ti:model")  # a search keeps the score order
    narrowed_scores = [scores.get(i.removeprefix("paper-"), -1.0) for i in narrowed]
    assert narrowed_scores == sorted(narrowed_scores, reverse=True)
    page.select_option("#sort", "")
    assert search(page, "") == newest
    assert page.errors == []
    context.close()


def test_a_topic_page_searches_the_abstracts_in_its_html(browser: Any, demo_site: Path) -> None:
    context, page = page_of(browser, (demo_site / "topics" / "reasoning.html").as_uri())
    found = search(page, "abs:probabilistic")
    assert 0 < len(found) < 100
    abstracts = page.locator("#results li details p").all_text_contents()
    assert all("probabilistic" in text.lower() for text in abstracts)
    marks = page.locator("#results li details p mark").all_text_contents()
    assert marks and all(mark.lower() == "probabilistic" for mark in marks)
    assert page.errors == []
    context.close()
