from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dailypapers.models import Author, Paper
from dailypapers.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SaveResult,
    Store,
    StoreError,
    open_store,
    schema_migrations,
)

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def paper(number: int, *, version: int = 1, hours: int = 0, title: str = "T") -> Paper:
    when = T0 + timedelta(hours=hours)
    return Paper(
        id=f"2505.{number:05d}",
        version=version,
        title=title,
        abstract="abstract",
        authors=(Author("Ada Lovelace", ("Analytical Engines Ltd",)),),
        categories=("cs.LG", "stat.ML"),
        primary="cs.LG",
        published=T0,
        updated=when,
        comment="5 pages",
        journal_ref=None,
        doi="10.1/x",
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def save(store: Store, papers: list[Paper], topic: str = "T") -> tuple[int, SaveResult]:
    with store.transaction() as conn:
        topic_id = store.topic_id(conn, topic, "q")
        result = store.save_papers(conn, papers, T0)
        store.link(conn, topic_id, [p.id for p in papers], T0)
    return topic_id, result


def test_migrations_are_idempotent(store: Store) -> None:
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == []
    assert store.schema_version() == SCHEMA_VERSION


def test_round_trip_keeps_every_field(store: Store) -> None:
    original = paper(1)
    topic_id, _ = save(store, [original])
    assert store.topic_papers(topic_id) == [original]


def test_newer_version_replaces_older_and_older_never_downgrades(store: Store) -> None:
    topic_id, first = save(store, [paper(1)])
    assert (first.new, first.revised) == (1, 0)
    _, second = save(store, [paper(1, version=2, hours=5, title="T v2")])
    assert (second.new, second.revised) == (0, 1)
    _, third = save(store, [paper(1, version=1)])
    assert (third.new, third.revised) == (0, 0)
    [stored] = store.topic_papers(topic_id)
    assert (stored.version, stored.title) == (2, "T v2")
    assert store.count_papers() == 1


def test_duplicates_within_one_save_keep_the_newest(store: Store) -> None:
    topic_id, result = save(store, [paper(1), paper(1, version=3, hours=9), paper(1, version=2)])
    assert result.new == 1
    assert store.topic_papers(topic_id)[0].version == 3


def test_topic_papers_newest_first_with_limit(store: Store) -> None:
    papers = [paper(n, hours=n) for n in range(1, 6)]
    topic_id, _ = save(store, papers)
    newest = store.topic_papers(topic_id, limit=3)
    assert [p.id for p in newest] == ["2505.00005", "2505.00004", "2505.00003"]


def test_history_is_kept_when_papers_leave_the_top(store: Store) -> None:
    topic_id, _ = save(store, [paper(n, hours=n) for n in range(1, 4)])
    save(store, [paper(n, hours=n) for n in range(10, 14)])
    assert len(store.topic_papers(topic_id)) == 7
    assert len(store.topic_papers(topic_id, limit=2)) == 2


def test_known_versions_and_links_per_topic(store: Store) -> None:
    one, _ = save(store, [paper(1), paper(2)], topic="A")
    two, _ = save(store, [paper(2, version=2, hours=1)], topic="B")
    with store.engine.connect() as conn:
        assert store.known_versions(conn, one) == {"2505.00001": 1, "2505.00002": 2}
        assert store.known_versions(conn, two) == {"2505.00002": 2}
    with store.transaction() as conn:
        assert store.link(conn, one, ["2505.00001", "2505.00002"], T0) == set()


def test_changed_query_is_a_new_topic(store: Store) -> None:
    with store.transaction() as conn:
        a = store.topic_id(conn, "Reasoning", "q1")
        b = store.topic_id(conn, "Reasoning", "q2")
        assert a != b and store.topic_id(conn, "Reasoning", "q1") == a


def test_a_failed_transaction_stores_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.save_papers(conn, [paper(1)], T0)
        raise RuntimeError("crash mid-run")
    assert store.count_papers() == 0


def test_runs_are_recorded(store: Store) -> None:
    run = store.start_run("update")
    store.finish_run(run, "updated", requests=3, bytes=1000, new_papers=2, error=None)
    [record] = store.last_runs()
    assert (record.command, record.status, record.requests, record.new_papers) == (
        "update",
        "updated",
        3,
        2,
    )
    assert record.finished_at is not None and record.finished_at >= record.started_at


def test_foreign_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a dailypapers database"):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_corrupt_file_is_a_clear_error_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "papers.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{path}")
    assert "\n" not in str(info.value) and "not a database" in str(info.value)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_newer_schema_is_refused(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute(schema_migrations.insert().values(version=999, name="future", applied_at=T0))
    with pytest.raises(StoreError, match="newer than this dailypapers"):
        open_store(store.engine.url.render_as_string(hide_password=False))


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="bad store URL"):
        open_store("not a url")
    with pytest.raises(StoreError, match="unsupported database 'nosuchdb'"):
        open_store("nosuchdb://x")


def test_a_password_is_never_shown_in_a_store_error() -> None:
    # Before: "?password=" came back as it was, and an unparsable URL showed its host
    # part after the password (and SQLAlchemy's message quoted the whole string).
    url = "postgresql+psycopg://papers@127.0.0.1:1/db?password=s3cretPW&sslmode=disable"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert "s3cretPW" not in str(caught.value)
    assert "cannot use postgresql+psycopg://papers@127.0.0.1:1/db?password=***" in str(caught.value)
    with pytest.raises(StoreError) as caught:
        open_store("papers:s3cretPW@127.0.0.1")
    assert "s3cretPW" not in str(caught.value) and "127.0.0.1" not in str(caught.value)


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(StoreError) as raised, store.transaction() as conn:
        topic_id = store.topic_id(conn, "T", "q")
        store.link(conn, topic_id, ["9999.99999"], T0)
    assert isinstance(raised.value.__cause__, sa.exc.IntegrityError)


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        open_store("mysql+pymysql://user@127.0.0.1/x", migrate=False)


@pytest.mark.parametrize("applied", range(1, len(MIGRATIONS)))
def test_every_older_store_upgrades(
    store_url: str, applied: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store made by an older release (its first N migrations) upgrades in place."""
    from dailypapers import schema as store_module

    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:applied])
        patch.setattr(store_module, "SCHEMA_VERSION", MIGRATIONS[applied - 1][0])
        with open_store(store_url) as old:
            save(old, [paper(1)])
    with open_store(store_url) as upgraded:
        assert upgraded.schema_version() == SCHEMA_VERSION
        assert upgraded.migrate() == []
        assert upgraded.count_papers() == 1


def test_a_large_save_goes_in_batches_in_one_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dailypapers import store as store_module

    monkeypatch.setattr(store_module, "SAVE_BATCH", 7)
    upserts: list[str] = []
    real_upsert = store_module._upsert_newer

    def counted_upsert(dialect: str) -> Any:
        upserts.append(dialect)
        return real_upsert(dialect)

    monkeypatch.setattr(store_module, "_upsert_newer", counted_upsert)
    papers = store_module.papers
    when = datetime(2025, 5, 1, tzinfo=UTC)
    many = [
        Paper(
            id=f"2505.{n:05d}",
            version=1,
            title=f"Paper {n}",
            abstract="About reward models.",
            authors=(Author("Ada Lovelace"),),
            categories=("cs.LG",),
            primary="cs.LG",
            published=when,
            updated=when,
        )
        for n in range(30)
    ]
    with open_store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        with pytest.raises(RuntimeError), store.engine.begin() as conn:
            assert store.save_papers(conn, many, when).new == 30
            raise RuntimeError("the run fails after saving")
        with store.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(papers)) == 0
        with store.engine.begin() as conn:
            store.save_papers(conn, many, when)
        with store.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(papers)) == 30
    assert len(upserts) == 2 * 5  # 30 papers in batches of 7, twice


def test_a_topics_newest_papers_have_one_definition(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store, the outputs' reader and the summaries read one order (no drift)."""
    from dailypapers import listedquery
    from dailypapers.schema import papers as table

    topic_id, _ = save(store, [paper(n, hours=n) for n in range(1, 5)])
    newest = ["2505.00004", "2505.00003", "2505.00002", "2505.00001"]
    with store.reading() as conn:
        assert [p.id for p in listedquery.PaperReader().newest(conn, topic_id, None)] == newest
    assert [p.id for p in store.topic_papers(topic_id)] == newest
    monkeypatch.setattr(listedquery, "NEWEST_FIRST", (table.c.id.asc(),))
    assert [p.id for p in store.topic_papers(topic_id)] == newest[::-1]
    with store.reading() as conn:
        assert [p.id for p in listedquery.PaperReader().newest(conn, topic_id, 2)] == newest[:1:-1]


def test_a_small_sqlite_store_has_a_small_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fails on the old code (SQLite's 2 MB for every store). Large stores keep it."""
    from dailypapers import store as store_module

    def cache_size(url: str) -> int:
        with open_store(url) as opened, opened.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())

    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert cache_size(url) == -store_module.SMALL_STORE_CACHE_KIB == -256
    monkeypatch.setattr(store_module, "SMALL_STORE_BYTES", 4096)  # this file is larger
    assert cache_size(url) == -2000  # SQLite's default
