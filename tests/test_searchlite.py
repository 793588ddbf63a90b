"""The search command's SQLite path without SQLAlchemy: the same hits as the store's path."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dailypapers import schema, searchlite
from dailypapers import search as search_module
from dailypapers.offline.corpus import demo_corpus, synthetic_corpus
from dailypapers.search import SearchError, search, search_url
from dailypapers.store import Store, open_store

T0 = datetime(2025, 5, 1, tzinfo=UTC)
QUERIES = [
    "reward model",
    "reward",
    "model reward",
    'ti:"reward model"',
    "ti:reward AND cat:cs.CL",
    "ti:reward ANDNOT abs:model",
    "abs:reasoning OR ti:verifier",
    "au:Lovelace",
    'all:"reinforcement learning"',
    "nothing-matches-this",
    "rn:anything",
]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    folder = tmp_path_factory.mktemp("lite")
    url = f"sqlite:///{folder / 'papers.db'}"
    papers = [*synthetic_corpus(3000, reward_share=0.1, near_miss_share=0.2), *demo_corpus()]
    with open_store(url) as store:
        with store.transaction() as conn:
            store.save_papers(conn, papers, T0)
            reward = store.topic_id(conn, "Reward Model", "q1")
            store.link(conn, reward, [p.id for p in papers[::3]], T0)
            other = store.topic_id(conn, "Other", "q2")
            store.link(conn, other, [p.id for p in papers[::5]], T0)
            again = store.topic_id(conn, "reward model", "q3")  # the same name, another query
            store.link(conn, again, [p.id for p in papers[1::7]], T0)
        yield url, store


def lite_hits(url: str, text: str, **options: object) -> list[search_module.Hit]:
    """The hits of the lite path, failing the test if it fell back to the store."""
    path = Path(url.removeprefix("sqlite:///"))
    node, plain = search_module.parse_search(text)
    topic, since, limit = options.get("topic"), options.get("since"), options.get("limit", 20)
    with searchlite.LiteStore(path) as lite:
        return search_module._search_lite(lite, node, plain, topic, since, limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", QUERIES)
@pytest.mark.parametrize(
    "options",
    [{}, {"limit": None}, {"topic": "Reward Model"}, {"since": date(2025, 4, 20), "limit": 50}],
    ids=["limit20", "all", "topic", "since"],
)
def test_the_lite_path_finds_what_the_store_finds(
    stored: tuple[str, Store], text: str, options: dict[str, object]
) -> None:
    url, store = stored
    expected = search(store, text, **options)  # type: ignore[arg-type]
    got = lite_hits(url, text, **options)
    assert got == expected
    assert search_url(url, text, **options) == expected  # type: ignore[arg-type]


def test_the_fixture_has_something_to_compare(stored: tuple[str, Store]) -> None:
    _url, store = stored
    hits = search(store, "reward model", limit=None)
    assert len(hits) > 300 and any(hit.topics for hit in hits)
    assert {len(hit.topics) for hit in hits} >= {0, 1, 2}
    assert len(search(store, "reward model", since=date(2025, 4, 20), limit=None)) < len(hits)


def test_an_unknown_topic_is_the_same_error(stored: tuple[str, Store]) -> None:
    url, store = stored
    with pytest.raises(SearchError) as full:
        search(store, "reward", topic="nope")
    with pytest.raises(SearchError) as lite:
        search_url(url, "reward", topic="nope")
    assert str(lite.value) == str(full.value)


def test_the_schema_version_is_the_stores() -> None:
    """A new migration bumps searchlite.SCHEMA_VERSION too (its queries follow the schema)."""
    assert searchlite.SCHEMA_VERSION == schema.SCHEMA_VERSION


def test_what_the_lite_path_cannot_answer_goes_to_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'papers.db'}"
    papers = synthetic_corpus(200, reward_share=0.2)
    with open_store(url) as store, store.transaction() as conn:
        store.save_papers(conn, papers, T0)
    by_id = search_url(url, f"id:{papers[0].id}")  # the index cannot narrow id:
    assert [hit.paper.id for hit in by_id] == [papers[0].id]
    with sqlite3.connect(tmp_path / "papers.db") as conn:  # a store to migrate
        conn.execute("DELETE FROM schema_migrations WHERE version = ?", (schema.SCHEMA_VERSION,))
    with pytest.raises(searchlite.Unusable, match="schema version"):
        searchlite.LiteStore(tmp_path / "papers.db")
    assert len(search_url(url, "reward model", limit=None)) > 0
    with sqlite3.connect(tmp_path / "papers.db") as conn:  # the full path migrated it
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (
            schema.SCHEMA_VERSION,
        )


def test_the_lite_path_loads_no_sqlalchemy(stored: tuple[str, Store]) -> None:
    url, _store = stored
    script = (
        "import sys; from dailypapers.search import search_url; "
        f"hits = search_url({url!r}, 'reward model'); "
        "assert len(hits) == 20, hits; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'); "
        "assert not loaded, loaded[:3]"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def test_the_default_store_is_found_as_the_config_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dailypapers import searchconfig
    from dailypapers.config import load_config

    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert searchconfig.default_store_url(None) == load_config(None).db_url
    other = tmp_path / "sub" / "x.toml"
    other.parent.mkdir()
    other.write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    monkeypatch.setenv("DAILYPAPERS_CONFIG", str(other))
    assert searchconfig.default_store_url(None) == load_config(None).db_url
    assert (
        searchconfig.default_store_url(tmp_path / "papers.toml")
        == load_config(tmp_path / "papers.toml").db_url
    )
    # anything else: load the config (None)
    monkeypatch.setenv("DAILYPAPERS_DB", "sqlite:////tmp/x.db")
    assert searchconfig.default_store_url(None) is None
    monkeypatch.delenv("DAILYPAPERS_DB")
    other.write_text('[store]\nurl = "sqlite:///y.db"\n', encoding="utf-8")
    assert searchconfig.default_store_url(None) is None
    other.write_text("not toml [", encoding="utf-8")
    assert searchconfig.default_store_url(None) is None
    # init's papers.toml has an empty [store]: still the default (before, search loaded
    # the whole config, and a typo in a topic's query failed it)
    other.write_text('[[topics]]\nname = "A"\nquery = "ti:a or ti:b"\n[store]\n', "utf-8")
    assert (
        searchconfig.default_store_url(None) == f"sqlite:///{other.parent}/.dailypapers/papers.db"
    )
    monkeypatch.setenv("DAILYPAPERS_DB", "")  # an empty variable is unset
    assert searchconfig.default_store_url(None) is not None
    other.write_text('[store]\nURL = "sqlite:///elsewhere.db"\n', "utf-8")  # a misspelt key
    assert searchconfig.default_store_url(None) is None  # the config load reports it


def test_a_broken_config_without_a_store_is_still_reported(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dailypapers.cli import cli

    (tmp_path / "papers.toml").write_text("[[topics]]\nnme = 1\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["search", "reward", "--config", str(tmp_path / "papers.toml")]
    )
    assert result.exit_code == 2 and "config error" in result.stderr
