"""The outputs beyond the README, end to end: update and render write them all, atomically."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import jsonschema
import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import Config, ConfigError, load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from dailypapers.render.jsonout import schema
from dailypapers.search import search
from dailypapers.store import open_store

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
DAY2 = datetime(2025, 5, 15, 12, 0, tzinfo=UTC)
ALL_OUTPUTS = 'outputs = ["readme", "json", "feeds", "site"]\n'
TOPICS = '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n'


@pytest.fixture(scope="module")
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


def make_config(folder: Path, server: FakeArxiv, topics: str = TOPICS, extra: str = "") -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    text = (
        f"{ALL_OUTPUTS}{topics}{extra}\n"
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 3\n'
    )
    path = folder / "papers.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def outputs(folder: Path) -> dict[str, bytes]:
    """Every output file under ``folder`` (not the config or the state)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".dailypapers" not in p.parts and p.name != "papers.toml"
    }


def test_update_writes_every_output_valid(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    report = run_update(config, now=DAY1)
    assert report.status == "updated", report.error
    assert report.written == [
        config.readme_path,
        config.json_path,
        config.feeds_dir,
        config.site_dir,
    ]
    for name in ("all", "reward-model", "reasoning"):
        feed = feedparser.parse((config.feeds_dir / f"{name}.xml").read_bytes())
        assert feed.bozo == 0 and len(feed.entries) == 100, name
    data = json.loads(config.json_path.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema(), format_checker=jsonschema.FormatChecker())
    assert [t["count"] for t in data["topics"]] == [100, 100]
    site = config.site_dir
    assert (site / "index.html").is_file() and (site / "topics" / "reasoning.html").is_file()
    assert (site / "feeds" / "reward-model.xml").read_bytes() == (
        config.feeds_dir / "reward-model.xml"
    ).read_bytes()
    with open_store(config.db_url) as store:
        hits = search(store, "reward model", limit=10)
    assert len(hits) == 10 and hits[0].score >= hits[-1].score > 0


def test_nothing_new_leaves_every_output_byte_identical(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    before = outputs(tmp_path)
    files = [p for p in tmp_path.rglob("*") if ".dailypapers" not in p.parts]
    times = {p: p.stat().st_mtime_ns for p in files}
    report = run_update(config, now=DAY2)
    assert report.status == "nothing new" and report.written == []
    assert outputs(tmp_path) == before
    assert {p: p.stat().st_mtime_ns for p in times} == times


def test_render_writes_what_update_writes(tmp_path: Path, server: FakeArxiv) -> None:
    updated = make_config(tmp_path / "a", server)
    run_update(updated, now=DAY1)
    rendered = make_config(tmp_path / "b", server)
    run_update(rendered, render=False, now=DAY1)
    assert outputs(tmp_path / "b") == {}
    report = run_update(rendered, fetch=False, now=DAY1)
    assert report.status == "rendered"
    assert outputs(tmp_path / "b") == outputs(tmp_path / "a")


def test_removed_topic_loses_its_feed_and_page(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    (config.site_dir / "CNAME").write_text("papers.example.org", encoding="utf-8")
    smaller = make_config(tmp_path, server, topics='[[topics]]\nname = "Reward Model"\n')
    report = run_update(smaller, fetch=False, now=DAY1)
    assert config.json_path in report.written
    assert sorted(p.name for p in config.feeds_dir.iterdir()) == ["all.xml", "reward-model.xml"]
    assert [p.name for p in (config.site_dir / "topics").iterdir()] == ["reward-model.html"]
    assert not (config.site_dir / "feeds" / "reasoning.xml").exists()
    assert (config.site_dir / "CNAME").read_text(encoding="utf-8") == "papers.example.org"
    data = json.loads(config.json_path.read_text(encoding="utf-8"))
    assert [topic["name"] for topic in data["topics"]] == ["Reward Model"]


def test_output_locations_are_configurable(tmp_path: Path, server: FakeArxiv) -> None:
    extra = '\n[json]\npath = "public/data.json"\n[feeds]\ndir = "atom"\n[site]\ndir = "public"\n'
    config = make_config(tmp_path, server, extra=extra)
    run_update(config, now=DAY1)
    assert (tmp_path / "public" / "data.json").is_file()
    assert (tmp_path / "public" / "index.html").is_file()
    assert (tmp_path / "atom" / "all.xml").is_file()
    report = run_update(config, fetch=False, now=DAY2)
    assert report.written == [] and (tmp_path / "public" / "data.json").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[site]\ndir = "."', "site.dir: must be a folder inside or beside the project"),
        ('[site]\ndir = ".."', "site.dir: must be a folder inside or beside the project"),
        ('[feeds]\ndir = ".dailypapers"', "feeds.dir: must not overlap the state folder"),
        ('[feeds]\ndir = "site/feeds"', "feeds.dir: must not be inside [site] dir"),
        ('[feeds]\ndir = "out"\n[site]\ndir = "out/site"', "feeds.dir: must not contain"),
        ('[feeds]\nbase_url = "ftp://x"', "feeds.base_url: must be an http(s) URL"),
    ],
)
def test_dangerous_output_folders_are_config_errors(
    tmp_path: Path, server: FakeArxiv, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_config(tmp_path, server, extra="\n" + extra + "\n")


def test_cli_update_names_the_folders_it_wrote(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_config(tmp_path, server)
    result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 0, result.stderr
    assert "wrote site/" in result.stderr and "wrote feeds/" in result.stderr
    assert "wrote papers.json\n" in result.stderr
    assert result.stdout.startswith("updated (196 new): 2 topics") and "4 files written" in (
        result.stdout
    )
