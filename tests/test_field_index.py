"""PostgreSQL's field-exact index (migration 12): built for stored papers, kept in sync,
and never missing a match of a local topic's query."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from dailypapers import fts
from dailypapers.arxiv import query as q
from dailypapers.doctor import diagnose, repair
from dailypapers.models import Paper
from dailypapers.sources.local_index import IndexFinder
from dailypapers.store import SCHEMA_VERSION, Store, open_store
from support.postgres import TemporaryPostgres
from test_fts import T0, fresh_store, paper, papers, queries, save


def candidate_ids(store: Store, node: q.Node, *, categories: bool) -> set[str] | None:
    """The ids the local source's candidate query names (None: no index query)."""
    found = fts.candidates(node, categories=categories)
    if isinstance(found, fts.Const):
        return None
    with store.engine.connect() as conn:
        return set(fts.candidate_ids(conn, found))


def check_no_false_negatives(url: str, corpus: list[Paper], node: q.Node) -> None:
    with fresh_store(url) as store:
        save(store, corpus)
        stored = {p.id: p for p in corpus}  # the newest version of each id is stored
        for p in corpus:
            if p.is_newer_than(stored[p.id]):
                stored[p.id] = p
        expected = {pid for pid, p in stored.items() if q.matches(node, p)}
        for categories in (True, False):
            named = candidate_ids(store, node, categories=categories)
            assert named is None or expected <= named, (q.to_string(node), categories)


@pytest.fixture(scope="module")
def pg_url(postgres_server: TemporaryPostgres) -> str:
    return postgres_server.create_database()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=papers(), node=queries())
def test_field_candidates_include_every_match(
    pg_url: str, corpus: list[Paper], node: q.Node
) -> None:
    check_no_false_negatives(pg_url, corpus, node)


@settings(max_examples=50, deadline=None)
@given(corpus=papers(), node=queries())
def test_sqlite_candidates_include_every_match(corpus: list[Paper], node: q.Node) -> None:
    check_no_false_negatives("sqlite:///:memory:", corpus, node)


def test_field_terms_are_exact_per_field() -> None:
    fields = {"ti": ["reward", "model"], "abs": ["model"], "au": ["o'neil"]}
    fields |= {"co": [], "jr": [], "cat": ["cs", "lg"]}
    literal = fts.field_terms_literal(fields)
    assert literal == "'ti.reward' 'ti.model' 'abs.model' 'au.o''neil' 'cat.cs' 'cat.lg'"
    found = fts.candidates(q.parse('ti:"reward model" AND (abs:model OR reward)'))
    assert not isinstance(found, fts.Const)
    assert fts.field_tsquery(found) == (
        "(('ti.reward' & 'ti.model') & ('abs.model' | ('ti.reward' | 'abs.reward' | 'au.reward'"
        " | 'co.reward' | 'jr.reward' | 'cat.reward')))"
    )


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    with fresh_store(pg_url) as opened:
        yield opened


def rows(store: Store) -> dict[str, tuple[object, str]]:
    with store.engine.connect() as conn:
        found = conn.execute(sa.text("SELECT paper_id, updated, terms::text FROM paper_fields"))
        return {pid: (updated, terms) for pid, updated, terms in found}


def ti_matches(store: Store, word: str) -> set[str] | None:
    return candidate_ids(store, q.parse(f"ti:{word}"), categories=False)


def test_migration_indexes_the_papers_stored_before_it(pg_store: Store, pg_url: str) -> None:
    save(pg_store, [paper(1, "Reward models"), paper(2, "Policy gradients", abstract="Reward.")])
    with pg_store.transaction() as conn:  # as a store of migration 11 had it
        conn.execute(sa.text("DROP TABLE paper_fields"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 12"))
    with open_store(pg_url) as migrated, migrated.engine.connect() as conn:
        assert migrated.schema_version() == SCHEMA_VERSION
        assert fts.candidate_counts(conn) == (2, 2)
        indexes = conn.scalars(
            sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'paper_fields'")
        )
        assert "ix_paper_fields_terms" in set(indexes)
        assert ti_matches(migrated, "reward") == {"2505.00001"}  # not the abstract's "reward"
        assert rows(migrated)["2505.00002"][0] == (T0 + timedelta(days=1)).replace(tzinfo=None)


def test_a_store_older_than_the_full_text_index_fills_the_field_index_once(
    pg_store: Store, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 3 fills ``paper_search`` only; migration 12 alone fills ``paper_fields``."""
    save(pg_store, [paper(1, "Reward models"), paper(2, "Policy gradients")])
    with pg_store.transaction() as conn:  # as a store of migration 2 had its index (none)
        conn.execute(sa.text("DROP TABLE paper_fields"))
        conn.execute(sa.text("DROP TABLE paper_search"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version IN (3, 12)"))
    filled: list[str] = []
    real = fts._index_fields

    def counted(conn: sa.Connection, analysed: list[tuple[Paper, dict[str, list[str]]]]) -> None:
        filled.extend(p.id for p, _ in analysed)
        real(conn, analysed)

    monkeypatch.setattr(fts, "_index_fields", counted)
    with open_store(pg_url) as migrated, migrated.engine.connect() as conn:
        assert migrated.schema_version() == SCHEMA_VERSION
        assert fts.index_counts(conn)[1] == [2, 2]  # paper_search and paper_fields complete
    assert sorted(filled) == ["2505.00001", "2505.00002"]  # each paper once, not twice
    assert ti_matches(pg_store, "gradient") == {"2505.00002"}


def test_new_papers_and_revisions_are_indexed_as_they_are_stored(pg_store: Store) -> None:
    save(pg_store, [paper(1, "Reward models")])
    assert ti_matches(pg_store, "reward") == {"2505.00001"}
    save(pg_store, [paper(1, "Policy gradients", version=2), paper(2, "Reward shaping")])
    assert ti_matches(pg_store, "reward") == {"2505.00002"}
    assert ti_matches(pg_store, "gradient") == {"2505.00001"}
    updated, terms = rows(pg_store)["2505.00001"]
    assert updated == (T0 + timedelta(days=2)).replace(tzinfo=None)
    assert "'ti.polici'" in terms and "'ti.reward'" not in terms
    save(pg_store, [paper(1, "Reward models", version=1)])  # older: nothing changes
    assert ti_matches(pg_store, "reward") == {"2505.00002"}


def test_sqlite_has_no_field_table(tmp_path: object) -> None:
    with open_store(f"sqlite:///{tmp_path}/papers.db") as store, store.engine.connect() as conn:
        assert store.schema_version() == SCHEMA_VERSION
        assert not sa.inspect(conn).has_table("paper_fields")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("all:lovelace", {"2505.00001"}),  # an author name only
        ("all:errata", {"2505.00002"}),  # a comment only
        ("all:annals", {"2505.00003"}),  # a journal reference only
        ('all:"stat.ML"', {"2505.00003"}),  # a category only
        ("abs:lovelace", set()),
        ("co:annals OR jr:errata", set()),  # fields sharing a weight in paper_search
    ],
)
def test_each_field_is_its_own(pg_store: Store, query: str, expected: set[str]) -> None:
    first = paper(1, "Reward models")
    second = replace(paper(2, "Reward models"), authors=(), comment="Errata added")
    third = replace(paper(3, "Reward models"), authors=(), journal_ref="Annals 3")
    save(pg_store, [first, second, replace(third, categories=("stat.ML",), primary="stat.ML")])
    named = candidate_ids(pg_store, q.parse(query), categories=True)
    assert named == expected
    assert {p.id for p in (first, second) if q.matches(q.parse(query), p)} <= expected


def test_a_paper_missing_from_the_field_index_is_noticed_and_rebuilt(pg_store: Store) -> None:
    save(pg_store, [paper(1, "Reward models"), paper(2, "Policy gradients")])
    with pg_store.transaction() as conn:  # a writer that bypassed Store.save_papers
        conn.execute(sa.text("DELETE FROM paper_fields WHERE paper_id = '2505.00002'"))
    with pg_store.engine.connect() as conn:
        assert not IndexFinder().complete(conn)  # the local source scans instead
    [finding] = [f for f in diagnose(pg_store) if not f.ok]
    assert finding.check == "search index" and "2 papers, 1 indexed" in finding.detail
    assert "rebuilt the search index of 2 papers" in repair(pg_store)
    with pg_store.engine.connect() as conn:
        assert IndexFinder().complete(conn)
    assert ti_matches(pg_store, "gradient") == {"2505.00002"}
