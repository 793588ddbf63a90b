"""The full-text index: kept in sync with the papers, and never misses a match.

The central property: for any papers and any query, searching the store
(candidates from the index, then the exact matcher) returns exactly the
papers that :func:`dailypapers.arxiv.query.matches` accepts by brute force.
Since results are drawn from the candidates only, this proves the candidates
have no false negatives.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dailypapers import fts
from dailypapers.arxiv import query as q
from dailypapers.doctor import diagnose, repair
from dailypapers.models import Author, Paper
from dailypapers.search import iter_matches
from dailypapers.store import Store, open_store
from support.postgres import TemporaryPostgres

T0 = datetime(2025, 5, 1, tzinfo=UTC)

# Words chosen to stress the analysis: stems, accents, ligatures, case
# folding that changes length, non-Latin scripts, digits, underscores.
WORDS = [
    "model",
    "models",
    "modeling",
    "reward",
    "Rewards",
    "rewarding",
    "reason",
    "reasoning",
    "running",
    "runs",
    "the",
    "of",
    "GPT4",
    "x2",
    "généralisation",
    "Über",
    "naïve",
    "ﬁne",
    "İstanbul",
    "straße",
    "ab_cd",
    "C++",
    "a.b",
    "数据",
    "データ",
    "١٢٣",
    "𝔘nicode",
    "ǅemal",
    "Ω",
    "ÆON",
    "i̇",
]
SEPARATORS = [" ", "-", ", ", ". ", "\n", "/", "'s ", " (", ") ", "\t"]
CATEGORIES = ["cs.CL", "cs.LG", "stat.ML", "q-bio.GN", "math.GT"]
TEXT_FIELDS = ["ti", "abs", "au", "co", "jr", "all"]


def text(draw: st.DrawFn, most: int = 8) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=most))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps, strict=True)).strip()


@st.composite
def papers(draw: st.DrawFn) -> list[Paper]:
    count = draw(st.integers(1, 8))
    found = []
    for number in range(count):
        cats = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
        authors = draw(st.integers(1, 3))
        when = T0 + timedelta(days=draw(st.integers(0, 30)))
        found.append(
            Paper(
                id=f"2505.{number:05d}",
                version=draw(st.integers(1, 3)),
                title=text(draw, 5),
                abstract=text(draw, 12),
                authors=tuple(Author(text(draw, 3)) for _ in range(authors)),
                categories=tuple(cats),
                primary=cats[0],
                published=when - timedelta(days=3),
                updated=when,
                comment=text(draw, 4) if draw(st.booleans()) else None,
                journal_ref=text(draw, 3) if draw(st.booleans()) else None,
            )
        )
    return found


@st.composite
def terms(draw: st.DrawFn) -> q.Node:
    kind = draw(st.sampled_from(["text", "text", "text", "cat", "id", "date", "rn"]))
    if kind == "cat":
        return q.Term("cat", draw(st.sampled_from(CATEGORIES)))
    if kind == "id":
        return q.Term("id", f"2505.{draw(st.integers(0, 8)):05d}")
    if kind == "rn":
        return q.Term("rn", "x")
    if kind == "date":
        start = T0 + timedelta(days=draw(st.integers(0, 30)))
        return q.DateRange(
            "lastUpdatedDate", start, start + timedelta(days=draw(st.integers(0, 9)))
        )
    field = draw(st.sampled_from(TEXT_FIELDS))
    value = text(draw, 3).replace('"', "")
    if not value.strip():
        value = "model"
    return q.Term(field, value, phrase=draw(st.booleans()))


def queries() -> st.SearchStrategy[q.Node]:
    return st.recursive(
        terms(),
        lambda inner: st.one_of(
            st.builds(q.And, inner, inner),
            st.builds(q.Or, inner, inner),
            st.builds(q.AndNot, inner, inner),
        ),
        max_leaves=6,
    )


def fresh_store(url: str = "sqlite:///:memory:") -> Store:
    store = open_store(url)
    if store.dialect == "postgresql":
        with store.transaction() as conn:
            for table in ("paper_search", "paper_fields", "topic_papers", "topics", "papers"):
                conn.execute(sa.text(f"DELETE FROM {table}"))
    return store


def save(store: Store, items: list[Paper]) -> None:
    with store.transaction() as conn:
        store.save_papers(conn, items, T0)


def check_no_false_negatives(url: str, corpus: list[Paper], node: q.Node) -> None:
    with fresh_store(url) as store:
        save(store, corpus)
        expected = {p.id for p in corpus if q.matches(node, p)}
        for boost in (False, True):
            found = [paper.id for paper, _ in iter_matches(store, node, boost=boost)]
            assert len(found) == len(set(found))
            assert set(found) == expected, (q.to_string(node), fts.candidates(node))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(papers(), queries())
def test_search_finds_exactly_what_the_query_engine_matches(
    corpus: list[Paper], node: q.Node
) -> None:
    check_no_false_negatives("sqlite:///:memory:", corpus, node)


@pytest.fixture(scope="module")
def pg_url(postgres_server: TemporaryPostgres) -> str:
    return postgres_server.create_database()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpus=papers(), node=queries())
def test_postgresql_finds_exactly_what_the_query_engine_matches(
    pg_url: str, corpus: list[Paper], node: q.Node
) -> None:
    check_no_false_negatives(pg_url, corpus, node)


def paper(number: int, title: str, *, version: int = 1, abstract: str = "An abstract.") -> Paper:
    return Paper(
        id=f"2505.{number:05d}",
        version=version,
        title=title,
        abstract=abstract,
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=T0,
        updated=T0 + timedelta(days=version),
    )


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with fresh_store(store_url) as opened:
        yield opened


def ids(store: Store, query: str) -> list[str]:
    return [p.id for p, _ in iter_matches(store, q.parse(query))]


def test_a_revision_replaces_the_indexed_text(store: Store) -> None:
    save(store, [paper(1, "Reward models")])
    assert ids(store, "ti:reward") == ["2505.00001"]
    save(store, [paper(1, "Policy gradients", version=2)])
    assert ids(store, "ti:reward") == []
    assert ids(store, "ti:gradient") == ["2505.00001"]


@given(st.lists(st.text(max_size=30), max_size=6))
def test_names_analysed_together_give_each_names_tokens_in_turn(names: list[str]) -> None:
    """field_tokens analyses a paper's authors (and categories) as one text."""
    assert fts._tokens(" ".join(names)) == [t for name in names for t in fts._tokens(name)]


def test_a_word_longer_than_the_index_takes_is_left_out_and_the_rest_kept() -> None:
    long = "x" * (fts.MAX_TOKEN + 1)
    tokens = fts.field_tokens(paper(1, f"Reward {long} models"))["ti"]
    assert tokens == ["reward", "model"]
    assert fts.field_tokens(paper(1, "x" * fts.MAX_TOKEN))["ti"] == ["x" * fts.MAX_TOKEN]


def test_an_older_version_does_not_touch_the_index(store: Store) -> None:
    save(store, [paper(1, "Policy gradients", version=2)])
    save(store, [paper(1, "Reward models", version=1)])
    assert ids(store, "ti:reward") == []
    assert ids(store, "ti:policy") == ["2505.00001"]


def test_a_newer_version_stored_since_the_snapshot_keeps_its_index_entry(store: Store) -> None:
    # PostgreSQL's concurrent runs: the other run stored version 2 after this
    # run's snapshot (``known``) was read; the upsert leaves its row, and the
    # index must still hold that row's text, not the version this run fetched.
    save(store, [paper(1, "Policy gradients", version=2)])
    with store.transaction() as conn:
        store.save_papers(
            conn, [paper(1, "Reward models"), paper(3, "Reward shaping")], T0, known={}
        )
    assert ids(store, "ti:policy") == ["2505.00001"]
    assert ids(store, "ti:reward") == ["2505.00003"]


def test_migration_indexes_papers_stored_before_it(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    with open_store(url) as old:
        save(old, [paper(1, "Reward models"), paper(2, "Something else")])
        with old.transaction() as conn:
            conn.execute(sa.text("DROP TABLE paper_search_fts"))
            conn.execute(sa.text("DROP TABLE paper_search"))
            conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 3"))
    with open_store(url) as migrated:
        assert ids(migrated, "reward") == ["2505.00001"]
        assert migrated.migrate() == []


def test_candidates_keep_only_what_is_safe() -> None:
    node = q.parse('ti:"reward models" ANDNOT abs:survey')
    assert fts.candidates(node) == fts.Phrase("ti", ("reward", "model"))
    assert fts.candidates(q.parse("id:2505.00001")) is fts.Const.EVERYTHING
    assert fts.candidates(q.parse("rn:x OR ti:a")) == fts.Phrase("ti", ("a",))
    assert fts.candidates(q.parse('ti:"+++"')) is fts.Const.NOTHING
    assert fts.candidates(q.parse("ti:a OR id:1")) is fts.Const.EVERYTHING


def test_candidates_can_leave_categories_to_the_exact_match() -> None:
    node = q.parse('ti:"reward model" AND (cat:cs.AI OR cat:cs.CL)')
    narrowed = fts.candidates(node)
    assert isinstance(narrowed, fts.AllOf)
    assert fts.candidates(node, categories=False) == narrowed  # two categories: few
    # A topic's own few categories still narrow; an archive filter does not.
    assert fts.candidates(q.parse("cat:cs.AI"), categories=False) == fts.Phrase("cat", ("cs", "ai"))
    few = q.parse("ti:a AND (cat:cs.AI OR cat:cs.CL OR cat:cs.LG)")
    assert isinstance(fts.candidates(few, categories=False), fts.AllOf)
    many = q.parse("ti:a AND (cat:cs.AI OR cat:cs.CL OR cat:cs.LG OR cat:cs.IR)")
    assert fts.candidates(many, categories=False) == fts.Phrase("ti", ("a",))


def test_expressions_for_both_dialects() -> None:
    found = fts.candidates(q.parse('(ti:"reward model" OR au:smith) AND all:Rewards'))
    assert not isinstance(found, fts.Const)
    assert fts.fts5_expression(found) == '((ti : "reward model" OR au : "smith") AND "reward")'
    assert fts.tsquery_expression(found) == "((('reward':A & 'model':A) | 'smith':B) & 'reward')"


def test_plain_words_rank_their_phrase_first(store: Store) -> None:
    save(
        store,
        [
            paper(1, "Model of a reward", abstract="The model and the reward apart."),
            paper(2, "Reward model training", abstract="A reward model."),
        ],
    )
    ranked = [p.id for p, _ in iter_matches(store, q.parse("reward model"), boost=True)]
    assert ranked == ["2505.00002", "2505.00001"]


def test_tsvector_literal_weights_fields_and_quotes() -> None:
    fields = {"ti": ["reward", "model"], "abs": ["model"], "au": ["o'neil"]}
    fields |= {"co": [], "jr": [], "cat": ["cs", "lg"]}
    literal = fts.tsvector_literal(fields)
    assert literal == "'reward':1A 'model':2A,3C 'o''neil':4B 'cs':5D 'lg':6D"


def test_doctor_finds_papers_missing_from_the_index_and_rebuilds_it(store: Store) -> None:
    save(store, [paper(1, "Reward models"), paper(2, "Policy gradients")])
    assert [f.check for f in diagnose(store) if not f.ok] == []
    with store.transaction() as conn:  # a writer that bypassed Store.save_papers
        conn.execute(sa.text("DELETE FROM paper_search WHERE paper_id = '2505.00002'"))
    [finding] = [f for f in diagnose(store) if not f.ok]
    assert finding.check == "search index" and "2 papers, 1 indexed" in finding.detail
    assert ids(store, "ti:policy") == []  # (on SQLite, an index row of no paper is skipped)
    assert "rebuilt the search index of 2 papers" in repair(store)
    assert [f.check for f in diagnose(store) if not f.ok] == []
    assert ids(store, "ti:policy") == ["2505.00002"]
