""" "For you" in ``update``: ranked once per run, shown in README and papers.json.

Without a library every output is byte-identical; a bad library file never
blocks the run. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from lxml import etree

from dailypapers import summaries
from dailypapers.config import Config, load_config
from dailypapers.models import Paper
from dailypapers.notify.foryou import ranked_sections
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_notify, run_update
from dailypapers.rank.foryou import Pick, Ranking
from dailypapers.render.digest import Entry, TopicDigest
from dailypapers.render.jsonout import schema
from dailypapers.run import RunStatus
from support.sitedata import listed

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)  # a Wednesday
LIBRARY = ["2505.07271", "2505.07263"]  # two reward-model papers of the demo corpus
OUTPUTS = 'outputs = ["readme", "json", "feeds", "site"]\n'


@pytest.fixture(autouse=True)
def _backend(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_DB", store_url)


@pytest.fixture
def summarised(monkeypatch: pytest.MonkeyPatch) -> list[Sequence[str] | None]:
    """The ``for_you`` ids each run handed to the summaries step (which asks no endpoint)."""
    seen: list[Sequence[str] | None] = []

    def spy(*args: object, for_you: Sequence[str] | None = None, **kwargs: object) -> None:
        seen.append(for_you)

    monkeypatch.setattr(summaries, "summarise_for_update", spy)
    return seen


def make_config(
    folder: Path, server: FakeArxiv, *, top: str = "", reward: str = "", library: str = ""
) -> Config:
    folder.mkdir(exist_ok=True)
    text = (
        f"{OUTPUTS}{top}\n"
        f'[[topics]]\nname = "Reward Model"\n{reward}\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 3\n'
        f"{library}"
    )
    (folder / "papers.toml").write_text(text, encoding="utf-8")
    (folder / "library.txt").write_text("\n".join(LIBRARY) + "\n", encoding="utf-8")
    return load_config(folder / "papers.toml")


def outputs(folder: Path) -> dict[str, bytes]:
    skip = {"papers.toml", "library.txt"}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip and ".dailypapers" not in p.parts
    }


RANKED = {"top": "[readme]\nfor_you = 3\n", "reward": 'order = "relevance"\n'}
ARXIV = re.compile(r"arxiv\.org/abs/(\d{4}\.\d{4,5}v\d+)")
WITH_LIBRARY = '\n[library]\npaths = ["library.txt"]\n'
SUMMARIES = '\n[summaries]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n'


def test_without_library_every_output_is_byte_identical(
    tmp_path: Path,
    server: FakeArxiv,
    summarised: list[Sequence[str] | None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = make_config(tmp_path / "plain", server)
    keys = make_config(tmp_path / "keys", server, **RANKED)  # the keys, but no library
    for config, db in ((plain, "plain"), (keys, "keys")):
        monkeypatch.setenv("DAILYPAPERS_DB", _db(tmp_path, db))
        status = run_update(config, now=DAY1).status
        assert status in (RunStatus.UPDATED, RunStatus.NOTHING_NEW)  # PostgreSQL: one database
    assert outputs(tmp_path / "plain") == outputs(tmp_path / "keys")
    document = json.loads((tmp_path / "keys" / "papers.json").read_text(encoding="utf-8"))
    assert "for_you" not in document
    assert all("score" not in p for t in document["topics"] for p in t["papers"])
    assert "For you" not in (tmp_path / "keys" / "README.md").read_text(encoding="utf-8")
    assert not (tmp_path / "keys" / "feeds" / "for-you.xml").exists()
    assert summarised == []  # no [summaries]: the step is not even loaded
    assert "for you" not in capsys.readouterr().err


def _db(tmp_path: Path, name: str) -> str:
    url = os.environ["DAILYPAPERS_DB"]
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / (name + '.db')}"
    return url  # one throwaway PostgreSQL database: the second run re-renders it


def test_library_ranks_the_run_for_readme_json_and_summaries(
    tmp_path: Path, server: FakeArxiv, summarised: list[Sequence[str] | None]
) -> None:
    config = make_config(tmp_path, server, **RANKED, library=WITH_LIBRARY + SUMMARIES)
    assert run_update(config, now=DAY1).status == RunStatus.UPDATED
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema())
    picks = document["for_you"]
    assert picks and [p["score"] for p in picks] == sorted(
        (p["score"] for p in picks), reverse=True
    )
    assert not {p["id"] for p in picks} & set(LIBRARY)  # the library's own papers are not news
    assert picks[0]["because"]["items"][0] in LIBRARY and picks[0]["because"]["terms"]
    assert summarised == [[p["id"] for p in picks]]
    papers = [p for t in document["topics"] for p in t["papers"]]
    assert all("score" in p for p in papers)
    assert {p["id"] for p in papers if p["score"] is None} <= set(LIBRARY)

    readme = config.readme_path.read_text(encoding="utf-8")
    headings = [line for line in readme.splitlines() if line.startswith("## ")]
    assert headings == ["## For you", "## Reward Model", "## Reasoning"]
    table = readme.split("## For you\n")[1].split("\n\n")[0].splitlines()
    assert table[0].startswith("| **Title** | **Date** | **Abstract** | **Comment** |")
    assert len(table) == 2 + 3 and picks[0]["id"] in table[2]

    feed = etree.fromstring((config.feeds_dir / "for-you.xml").read_bytes())
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}id")
    assert [e.text for e in entries] == [f"https://arxiv.org/abs/{p['id']}" for p in picks]
    assert (config.site_dir / "feeds" / "for-you.xml").exists()
    page = (config.site_dir / "topics" / "for-you.html").read_text(encoding="utf-8")
    listed = {p["id"] for p in papers}
    expected = [p["id"] for p in picks if p["id"] in listed]
    assert expected and _page_ids(page) == expected
    assert 'href="topics/for-you.html">For you</a>' in (config.site_dir / "index.html").read_text(
        encoding="utf-8"
    )

    scores = {p["id"]: p["score"] or 0.0 for p in papers}
    reward = readme.split("## Reward Model\n")[1].split("\n\n")[0].splitlines()[2:]
    shown = [_row_id(row) for row in reward]
    assert shown == sorted(shown, key=lambda i: -scores[i])  # order = "relevance"
    reasoning = readme.split("## Reasoning\n")[1].split("\n\n")[0].splitlines()[2:]
    topic = next(t for t in document["topics"] if t["name"] == "Reasoning")
    assert [_row_id(row) for row in reasoning] == [p["id"] for p in topic["papers"]]


def _page_ids(page: str) -> list[str]:
    return listed(page)


def _row_id(row: str) -> str:
    return row.split("/abs/")[1].split(")")[0].rsplit("v", 1)[0]


def test_bad_library_file_is_one_line_and_the_run_goes_on(
    tmp_path: Path,
    server: FakeArxiv,
    summarised: list[Sequence[str] | None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = make_config(
        tmp_path, server, **RANKED, library='\n[library]\npaths = ["broken.bib"]\n' + SUMMARIES
    )
    (tmp_path / "broken.bib").write_text("@article{x, title={unclosed\n", encoding="utf-8")
    assert run_update(config, now=DAY1).status == RunStatus.UPDATED
    lines = [line for line in capsys.readouterr().err.splitlines() if "for you" in line]
    assert len(lines) == 1 and "broken.bib" in lines[0]
    assert summarised == [None]
    assert "## For you" not in config.readme_path.read_text(encoding="utf-8")
    assert "for_you" not in json.loads(config.json_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("damage", ["malformed", "missing"])
def test_a_library_file_broken_later_ranks_with_the_library_as_imported(
    tmp_path: Path, server: FakeArxiv, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    config = make_config(tmp_path, server, **RANKED, library=WITH_LIBRARY)
    run_update(config, now=DAY1)
    before = json.loads(config.json_path.read_text(encoding="utf-8"))["for_you"]
    capsys.readouterr()
    library = tmp_path / "library.txt"
    if damage == "missing":
        library.unlink()
    else:
        library.write_bytes(b"2505.07271\nnot an id at all\n")
    assert run_update(config, fetch=False, now=DAY1).status == RunStatus.RENDERED
    lines = [line for line in capsys.readouterr().err.splitlines() if "for you" in line]
    assert len(lines) == 1 and "library.txt" in lines[0] and "as last imported" in lines[0]
    after = json.loads(config.json_path.read_text(encoding="utf-8"))["for_you"]
    assert after == before and "## For you" in config.readme_path.read_text(encoding="utf-8")


def test_digest_puts_for_you_first_and_leaves_low_scores_out(
    tmp_path: Path, server: FakeArxiv
) -> None:
    notify = "\n[notify]\nmin_score = 0.03\n\n[notify.github]\n"
    config = make_config(tmp_path, server, library=WITH_LIBRARY + notify)
    run_update(config, now=DAY1, notify=False)
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    preview = run_notify(config, dry_run=True).notified[0].preview
    headings = [line for line in preview.splitlines() if line.startswith("## ")]
    assert headings[0] == "## For you"
    first = preview.split("## For you")[1].split("## ")[0]
    assert document["for_you"][0]["id"] in first
    low = {p["id"] for t in document["topics"] for p in t["papers"] if (p["score"] or 0) < 0.03}
    assert low and not low & {i.split("v")[0] for i in ARXIV.findall(preview)}
    assert re.search(r"\d+ more", preview)


def _section(name: str, *ids: str) -> TopicDigest:
    return TopicDigest(name, tuple(Entry(_paper(i)) for i in ids))


def _paper(paper_id: str) -> Paper:
    return next(p for p in demo_corpus() if p.id == paper_id).with_changes(id=paper_id)


def test_ranked_sections_order_threshold_and_counts() -> None:
    corpus = [p.id for p in demo_corpus()[:4]]
    a, b, c, d = corpus
    ranking = Ranking(
        [Pick(_paper(c), 0.9), Pick(_paper(a), 0.5)], {a: 0.5, b: 0.01, c: 0.9, d: 0.2}
    )
    sections = [_section("One", a, b), _section("Two", c, d)]
    plain = ranked_sections(sections, ranking, None)
    assert [s.name for s in plain] == ["For you", "One", "Two"]
    assert [e.paper.id for e in plain[0].entries] == [c, a]
    strict = ranked_sections(sections, ranking, 0.3)
    assert [[e.paper.id for e in s.entries] for s in strict] == [[c, a], [a], [c]]
    assert [s.more for s in strict] == [0, 1, 1] and strict[1].dropped == {b}
    assert ranked_sections(sections, Ranking([], {}), None) == sections


def test_render_alone_ranks_too(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    assert "for_you" not in json.loads(config.json_path.read_text(encoding="utf-8"))
    config = make_config(tmp_path, server, **RANKED, library=WITH_LIBRARY)
    run_update(config, fetch=False, now=DAY1)  # `dailypapers render`
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    assert document["for_you"] and "## For you" in config.readme_path.read_text(encoding="utf-8")
