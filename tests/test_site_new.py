"""The site's "new" badge: the papers the latest update that added papers first listed.

Not a time window: a paper revised today is not new, a paper listed by the
previous update stops being new when a later update lists others (even if
its date is within a day of theirs), and a run that adds nothing (a skipped
or quiet day) changes no byte of the site.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dailypapers.config import Config, load_config
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from support.sitedata import listed

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)


def paper(number: int, when: datetime, title: str, version: int = 1) -> Paper:
    return Paper(
        id=f"2503.{number:05d}",
        version=version,
        title=title,
        abstract=f"We study {title.lower()}.",
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=when - timedelta(days=version - 1),
        updated=when,
    )


def write_config(folder: Path, server: FakeArxiv) -> Config:
    (folder / "papers.toml").write_text(
        'outputs = ["site"]\nmax_papers = 50\n'
        '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    return load_config(folder / "papers.toml")


def marked(config: Config) -> set[str]:
    """The ids the index and the topic pages mark new (they must agree)."""
    pages = [config.site_dir / "index.html", *sorted((config.site_dir / "topics").glob("*.html"))]
    found = [set(listed(page.read_text(encoding="utf-8"), new=True)) for page in pages]
    index, topics = found[0], set().union(*found[1:])
    assert index == topics
    return index


def site_bytes(config: Config) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(config.site_dir.rglob("*")) if p.is_file()}


def test_new_means_first_listed_by_the_latest_update_that_listed_any(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILYPAPERS_DB", store_url)  # SQLite and PostgreSQL
    corpus = [paper(n, START - timedelta(hours=6 * n + 1), f"Reward model {n}") for n in range(6)]
    corpus += [
        paper(10 + n, START - timedelta(hours=5 * n + 2), f"Reasoning {n}") for n in range(4)
    ]
    with FakeArxiv(corpus) as server:
        config = write_config(tmp_path, server)
        assert run_update(config, now=START).saved.new == 10
        assert marked(config) == {p.id for p in corpus}  # the first update lists them all

        first = paper(100, START + timedelta(hours=3), "Reward model arrives")
        revised = corpus[0].with_changes(version=2, updated=START + timedelta(hours=4))
        server.add_papers([first, revised])
        assert run_update(config, now=START + timedelta(days=1)).saved.new == 1
        assert marked(config) == {first.id}  # the revision is newer, but not new

        # 23 hours after `first`: within a day of it, yet `first` is no longer new.
        second = paper(101, START + timedelta(hours=26), "Reasoning arrives")
        server.add_papers([second])
        assert run_update(config, now=START + timedelta(days=2)).saved.new == 1
        assert marked(config) == {second.id}
        before = site_bytes(config)

        report = run_update(config, now=START + timedelta(days=3))  # nothing new: a quiet day
        assert report.saved.new == 0
        assert site_bytes(config) == before
    page = (config.site_dir / "topics" / "reasoning.html").read_text(encoding="utf-8")
    assert " · 1 new" in page


def test_papers_json_inside_the_site_is_never_older_than_its_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `[json] path` inside the site folder: the site's swap carries the file over,
    # so it is written first; a render that fails on it leaves the old site whole.
    from dailypapers.publish import outputs

    corpus = [paper(n, START - timedelta(hours=6 * n + 1), f"Reward model {n}") for n in range(3)]
    with FakeArxiv(corpus) as server:
        config = write_config(tmp_path, server)
        text = config.path.read_text(encoding="utf-8")
        text = text.replace('outputs = ["site"]', 'outputs = ["json", "site"]')
        config.path.write_text(text + '[json]\npath = "site/papers.json"\n', encoding="utf-8")
        config = load_config(config.path)
        run_update(config, now=START)
        before = site_bytes(config)
        server.add_papers([paper(100, START + timedelta(hours=3), "Reward model arrives")])

        def broken(*args: object) -> bytes:
            raise OSError("disk full")

        monkeypatch.setattr(outputs, "render_json", broken)
        report = run_update(config, now=START + timedelta(days=1))
        assert report.status == "failed"
        assert site_bytes(config) == before  # not new pages beside the old papers.json
