"""Topics by example (``like = [...]``): config checks, a fixed selection, missing examples.

The runs go through the fake arXiv server over real sockets; every test runs
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from dailypapers.config import ConfigError, load_config
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from dailypapers.rank.like import choose
from dailypapers.render.jsonout import schema
from dailypapers.run import RunStatus
from dailypapers.store import open_store

NOW = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)  # a Wednesday
EXAMPLE = "2505.00001"


def paper(number: int, title: str, abstract: str, hours: float, cats: tuple[str, ...]) -> Paper:
    when = NOW - timedelta(hours=hours)
    return Paper(
        id=f"2505.{number:05d}",
        version=1,
        title=title,
        abstract=abstract,
        authors=(Author("A. Author"),),
        categories=cats,
        primary=cats[0],
        published=when,
        updated=when,
    )


# The example (older, already announced) and the day's papers; the order of
# similarity to the example is fixed by their words.
CORPUS = [
    paper(1, "Reward models for preference learning",
          "We train reward models from human preference data to align language models.",
          400, ("cs.LG",)),
    paper(2, "Reward models from human preference data",
          "Reward models trained on preference data align language models with humans.",
          10, ("cs.CL",)),
    paper(3, "Preference learning for language models",
          "Learning from preference comparisons improves language models.", 11, ("cs.LG",)),
    paper(4, "Reward shaping in robotics",
          "Dense reward shaping helps robot control policies.", 12, ("cs.RO",)),
    paper(5, "Graph colouring with local search",
          "A local search heuristic colours sparse graphs quickly.", 13, ("cs.DS",)),
    paper(6, "Protein folding with diffusion",
          "Diffusion generates protein structures.", 14, ("q-bio.BM",)),
]  # fmt: skip


@pytest.fixture
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(CORPUS) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _backend(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_DB", store_url)


def write_config(folder: Path, topic: str, *, api_url: str = "http://127.0.0.1:9/api") -> Path:
    text = (
        'outputs = ["readme", "json", "feeds", "site"]\narchives = ["cs"]\n\n'
        f'[[topics]]\nname = "Reward Model"\n\n[[topics]]\n{topic}\n'
        f'[arxiv]\napi_url = "{api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 2\n'
    )
    path = folder / "papers.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("topic", "line", "message"),
    [
        ('name = "x"\nquery = "ti:reward"\nlike = ["2505.07271"]\n', 10, "either query or like"),
        ('name = "x"\ntop = 5\n', 9, "only a topic by example"),
        ('name = "x"\nmin_score = 0.6\n', 9, "only a topic by example"),
        ('name = "x"\nlike = []\n', 9, "at least one arXiv id"),
        ('name = "x"\nlike = ["reward models"]\n', 9, "neither an arXiv id"),
        ('name = "x"\nlike = ["collection:"]\n', 9, "give the collection's name"),
        ('name = "x"\nlike = ["2505.07271"]\ntop = 0\n', 10, "greater than or equal to 1"),
    ],
)
def test_config_errors_name_the_file_line_and_key(
    tmp_path: Path, topic: str, line: int, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, topic))
    text = str(caught.value)
    assert f"papers.toml:{line}: topics[1]." in text and message in text
    assert "\n" not in text


def test_a_topic_by_example_needs_somewhere_to_draw_from(tmp_path: Path) -> None:
    path = tmp_path / "papers.toml"
    path.write_text('archives = []\n\n[[topics]]\nname = "x"\nlike = ["2505.07271"]\n')
    with pytest.raises(ConfigError, match=r"papers\.toml:5: topics\[0\]\.like: .*categories"):
        load_config(path)


def test_like_asks_arxiv_for_its_categories_only(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            'name = "By example"\nlike = ["2505.07271", "collection:RL"]\n'
            'categories = ["cs.LG", "cs.CL"]\n',
        )
    )
    topic = config.settings.topics[1]
    assert topic.search_query(config.settings.archives) is not None
    from dailypapers.plan import plan_topics

    assert plan_topics(config)[1].query_string == "cat:cs.LG OR cat:cs.CL"
    assert topic.keep_top == 10  # neither top nor min_score: the ten best


def test_the_day_is_ranked_against_the_example_in_a_fixed_order(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, f'name = "By example"\nlike = ["{EXAMPLE}"]\ntop = 3\n')
    )
    with open_store(config.db_url) as store, store.reading() as conn:
        selection = choose(conn, config.settings.topics[1], CORPUS, {EXAMPLE: CORPUS[0]})
    assert [s.paper.id for s in selection.kept] == ["2505.00002", "2505.00003", "2505.00004"]
    scores = [s.score for s in selection.kept]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert selection.kept[0].because["items"] == [EXAMPLE]
    assert "reward" in selection.kept[0].because["terms"]
    assert selection.candidates == 5 and selection.missing == []  # the example is no candidate


def test_update_fills_the_topic_through_the_fake_arxiv(
    tmp_path: Path, server: FakeArxiv, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[str] = []
    topic = f'name = "By example"\nlike = ["{EXAMPLE}", "2505.99999"]\ntop = 2\n'
    config = load_config(write_config(tmp_path, topic, api_url=server.api_url))
    report = run_update(config, now=NOW, progress=lines.append)
    assert report.status == RunStatus.UPDATED, report.error
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema())
    by_example = next(t for t in document["topics"] if t["name"] == "By example")
    assert [p["id"] for p in by_example["papers"]] == ["2505.00002", "2505.00003"]  # newest first
    readme = config.readme_path.read_text(encoding="utf-8")
    assert "## By example" in readme and "Reward models from human preference data" in readme
    at = lines.index("By example: 2 of 4 papers kept by example")
    # the fetch's line counts candidates (before: "5 new or revised", of which 2 were kept)
    assert "By example: 5 candidates" in lines[:at]  # the example itself is one
    assert lines[at + 1].startswith("  2505.00002 0.82")
    assert lines[at + 1].endswith("because 2505.00001: model, prefer, reward")
    assert lines[at + 2].startswith("  2505.00003 ")
    err = capsys.readouterr().err
    assert "warning: topic 'By example': example '2505.99999' not found; ignored" in err
    with open_store(config.db_url) as store, store.reading() as conn:
        from dailypapers.store import stored_papers

        assert [p.id for p in stored_papers(conn, [EXAMPLE])] == [EXAMPLE]  # stored: no lookup next
    feed = (config.feeds_dir / "by-example.xml").read_text(encoding="utf-8")
    assert "2505.00002" in feed and "2505.00004" not in feed
    pages = [page.read_text(encoding="utf-8") for page in config.site_dir.rglob("*.html")]
    assert any("By example" in page and "2505.00002" in page for page in pages)
    # Outside the followed archive (q-bio) a paper is never a candidate.
    assert "2505.00006" not in readme


def test_min_score_keeps_only_close_papers(tmp_path: Path, server: FakeArxiv) -> None:
    topic = f'name = "By example"\nlike = ["{EXAMPLE}"]\nmin_score = 0.6\n'
    config = load_config(write_config(tmp_path, topic, api_url=server.api_url))
    assert run_update(config, now=NOW).status == RunStatus.UPDATED
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    by_example = next(t for t in document["topics"] if t["name"] == "By example")
    assert [p["id"] for p in by_example["papers"]] == ["2505.00002"]


def test_no_example_found_keeps_nothing_and_says_so(
    tmp_path: Path, server: FakeArxiv, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = 'name = "By example"\nlike = ["2505.99999", "collection:Nowhere"]\n'
    config = load_config(write_config(tmp_path, topic, api_url=server.api_url))
    assert run_update(config, now=NOW).status == RunStatus.UPDATED
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    by_example = next(t for t in document["topics"] if t["name"] == "By example")
    assert by_example["papers"] == []
    err = capsys.readouterr().err
    assert "example '2505.99999' not found" in err
    assert "example 'collection:Nowhere' not found" in err


def test_the_local_source_fills_the_topic_from_the_store(tmp_path: Path) -> None:
    from dailypapers.sources.local import LocalSource

    topic = f'name = "By example"\nlike = ["{EXAMPLE}"]\ntop = 2\n'
    config = load_config(write_config(tmp_path, topic))  # its API URL is never asked
    with open_store(config.db_url) as store:
        store.write(lambda conn: store.save_papers(conn, CORPUS, NOW - timedelta(hours=1)))
    report = run_update(config, now=NOW, source_factory=lambda c: LocalSource())
    assert report.status == RunStatus.UPDATED, report.error
    assert report.requests == 0
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    by_example = next(t for t in document["topics"] if t["name"] == "By example")
    assert [p["id"] for p in by_example["papers"]] == ["2505.00002", "2505.00003"]
    assert by_example["query"] == f"like: {EXAMPLE}"


def test_a_paper_rejected_one_day_is_no_candidate_the_next(
    tmp_path: Path, server: FakeArxiv
) -> None:
    topic = f'name = "By example"\nlike = ["{EXAMPLE}"]\ntop = 2\n'
    path = write_config(tmp_path, topic, api_url=server.api_url)
    # A table of 4 rows: arXiv's total (6) never fits, so each run reads the newest 4 again.
    path.write_text("max_papers = 4\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(path)
    assert run_update(config, now=NOW).status == RunStatus.UPDATED
    later = NOW + timedelta(days=1)
    arrival = paper(7, "Reward models trained from preference data",
                    "Reward models align language models.", -20, ("cs.LG",))  # fmt: skip
    server.add_papers([arrival])
    assert run_update(config, now=later).status == RunStatus.UPDATED
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    by_example = next(t for t in document["topics"] if t["name"] == "By example")
    # 2505.00004 (rejected on day one) is not picked up as the second best of day two.
    assert [p["id"] for p in by_example["papers"]] == ["2505.00007", "2505.00002", "2505.00003"]


def test_backfill_leaves_topics_by_example_out(tmp_path: Path) -> None:
    from dailypapers.backfill import select_topics

    topic = f'name = "By example"\nlike = ["{EXAMPLE}"]\n'
    config = load_config(write_config(tmp_path, topic))
    assert [p.topic.name for p in select_topics(config, [])] == ["Reward Model"]
    with pytest.raises(ConfigError, match="topics by example have no past to fill"):
        select_topics(config, ["By example"])


def test_the_feed_source_draws_the_days_announcement(tmp_path: Path) -> None:
    """Warm (fetched once), a topic by example takes its candidates from the day's feed."""
    from datetime import time

    from dailypapers.arxiv.calendar import EASTERN, Calendar
    from dailypapers.arxiv.feed import announcement_evening, feed_day
    from dailypapers.offline.fake_feed import latest_feed_day

    calendar = Calendar()
    with FakeArxiv(CORPUS) as server:
        path = write_config(tmp_path, f'name = "By example"\nlike = ["{EXAMPLE}"]\ntop = 1\n',
                            api_url=server.api_url)  # fmt: skip
        text = path.read_text(encoding="utf-8").replace(
            "[arxiv]\n", f'[arxiv]\nsource = "feed"\nfeed_url = "{server.feed_url}"\n'
        )
        path.write_text(text, encoding="utf-8")
        config = load_config(path)
        first = latest_feed_day(server.papers, calendar)
        server.feed_day = first
        evening = announcement_evening(first)
        at = datetime.combine(feed_day(evening), time(1), EASTERN)
        assert run_update(config, now=at).status == RunStatus.UPDATED
        evening = evening + timedelta(days=1)
        while not calendar.announces_on(evening):
            evening += timedelta(days=1)
        start, _ = calendar.window(evening)
        day_two = [
            paper(8, "Graph search with reward models", "Reward models guide graph search.", 0,
                  ("cs.DS",)),
            paper(9, "Reward models from preference data at scale",
                  "Reward models trained on human preference data align language models.", 0,
                  ("cs.LG",)),
        ]  # fmt: skip
        day_two = [p.with_changes(published=start + timedelta(hours=1),
                                  updated=start + timedelta(hours=1)) for p in day_two]  # fmt: skip
        server.add_papers(day_two)
        server.feed_day = feed_day(evening)
        server.reset_log()
        report = run_update(config, now=datetime.combine(feed_day(evening), time(1), EASTERN))
        assert report.status == RunStatus.UPDATED, report.error
        assert any(r.path.startswith("/atom/") for r in server.requests)
        assert not any(r.params.get("search_query") for r in server.requests)  # no API search
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    by_example = next(t for t in document["topics"] if t["name"] == "By example")
    assert by_example["papers"][0]["id"] == "2505.00009"
    assert "2505.00008" not in [p["id"] for p in by_example["papers"]]


def test_a_zotero_collection_is_the_example(tmp_path: Path, server: FakeArxiv) -> None:
    import sqlite3

    from test_rank_library import zotero_db

    library = zotero_db(tmp_path / "zotero.sqlite")
    with sqlite3.connect(library) as db:  # its RLHF collection holds the example paper
        db.execute("UPDATE itemDataValues SET value = ? WHERE valueID = 5", (f"arXiv:{EXAMPLE}",))
    db.close()
    topic = 'name = "By example"\nlike = ["collection:rlhf"]\ntop = 2\n'
    path = write_config(tmp_path, topic, api_url=server.api_url)
    text = path.read_text(encoding="utf-8") + '\n[library]\npaths = ["zotero.sqlite"]\n'
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    lines: list[str] = []
    assert run_update(config, now=NOW, progress=lines.append).status == RunStatus.UPDATED
    document = json.loads(config.json_path.read_text(encoding="utf-8"))
    by_example = next(t for t in document["topics"] if t["name"] == "By example")
    assert [p["id"] for p in by_example["papers"]] == ["2505.00002", "2505.00003"]
    assert any(line.endswith(f"because {EXAMPLE}: model, prefer, reward") for line in lines)


def test_an_unreadable_library_never_fails_the_run(
    tmp_path: Path, server: FakeArxiv, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "zotero.sqlite").write_bytes(b"not a database at all")
    topic = 'name = "By example"\nlike = ["collection:RLHF"]\n'
    path = write_config(tmp_path, topic, api_url=server.api_url)
    text = path.read_text(encoding="utf-8") + '\n[library]\npaths = ["zotero.sqlite"]\n'
    path.write_text(text, encoding="utf-8")
    assert run_update(load_config(path), now=NOW).status == RunStatus.UPDATED
    err = capsys.readouterr().err
    assert "warning: library not re-imported (" in err
    assert "example 'collection:RLHF' not found" in err
