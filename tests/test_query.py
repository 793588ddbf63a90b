"""arXiv query grammar: parsing, errors, printing, builders and local matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dailypapers.arxiv.query import (
    DATE_FIELDS,
    TEXT_FIELDS,
    And,
    AndNot,
    DateRange,
    Document,
    Node,
    Or,
    QuerySyntaxError,
    Term,
    all_of,
    analyze,
    any_of,
    compile_query,
    count_occurrences,
    exclude,
    matches,
    parse,
    phrase,
    positive_terms,
    to_string,
)
from dailypapers.models import Author, Paper

WHEN = datetime(2025, 1, 15, 12, 30, 45, tzinfo=UTC)


def make_paper(
    *,
    title: str = "A title",
    abstract: str = "An abstract.",
    authors: tuple[str, ...] = ("Ada Lovelace",),
    categories: tuple[str, ...] = ("cs.LG",),
    published: datetime = WHEN,
    updated: datetime | None = None,
    comment: str | None = None,
    journal_ref: str | None = None,
    paper_id: str = "2501.01234",
    version: int = 1,
) -> Paper:
    return Paper(
        id=paper_id,
        version=version,
        title=title,
        abstract=abstract,
        authors=tuple(Author(name) for name in authors),
        categories=categories,
        primary=categories[0],
        published=published,
        updated=updated or published,
        comment=comment,
        journal_ref=journal_ref,
    )


# --- analysis ----------------------------------------------------------------


def test_analyze_lowercases_splits_and_stems() -> None:
    assert analyze("Reward-Models, Trajectories!") == ["reward", "model", "trajectori"]


def test_analyze_folds_accents_and_keeps_other_scripts() -> None:
    assert analyze("Wübben Gödel") == ["wubben", "godel"]
    assert analyze("α-helix") == ["α", "helix"]


def test_analyze_splits_underscores_and_punctuation() -> None:
    assert analyze("del_maestro C++ p<0.01") == ["del", "maestro", "c", "p", "0", "01"]


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_text_splits_as_the_word_pattern_splits_it(text: str) -> None:
    """ASCII text takes a faster path (translate and split): the same tokens."""
    from dailypapers.arxiv.query import _STEMS, _WORD_RE

    assert analyze(text) == [_STEMS[word] for word in _WORD_RE.findall(text.lower())]


def test_analyze_same_stem_for_inflections() -> None:
    assert analyze("Reward Models") == analyze("Reward Modeling") == analyze("reward model")


# --- parsing -----------------------------------------------------------------


@pytest.mark.parametrize("field", sorted(TEXT_FIELDS))
def test_each_text_field_parses(field: str) -> None:
    assert parse(f"{field}:value") == Term(field, "value", False)


@pytest.mark.parametrize("field", sorted(DATE_FIELDS))
def test_each_date_field_parses(field: str) -> None:
    node = parse(f"{field}:[202501010000 TO 202501312359]")
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 31, 23, 59, tzinfo=UTC)
    assert node == DateRange(field, start, end)


def test_date_range_with_seconds() -> None:
    node = parse("submittedDate:[20250101000000 TO 20250131235959]")
    assert node == DateRange(
        "submittedDate",
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC),
    )


def test_phrase_keeps_text_verbatim() -> None:
    assert parse('ti:"Reward  Model"') == Term("ti", "Reward  Model", True)


def test_bare_words_mean_all() -> None:
    assert parse("reasoning") == Term("all", "reasoning")
    assert parse('"chain of thought"') == Term("all", "chain of thought", True)


def test_hyphenated_bare_word_becomes_a_phrase() -> None:
    node = parse("ti:reward-model")
    assert node == Term("ti", "reward-model", True)
    assert to_string(node) == 'ti:"reward-model"'


def test_author_underscores_stay_bare() -> None:
    assert to_string(parse("au:del_maestro")) == "au:del_maestro"


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Term("all", x) for x in "abc")
    assert parse("a OR b AND c") == Or(a, And(b, c))
    assert parse("a AND b OR c") == Or(And(a, b), c)


def test_andnot_has_and_precedence_and_is_left_associative() -> None:
    a, b, c = (Term("all", x) for x in "abc")
    assert parse("a ANDNOT b AND c") == And(AndNot(a, b), c)
    assert parse("a OR b ANDNOT c") == Or(a, AndNot(b, c))
    assert parse("a ANDNOT b ANDNOT c") == AndNot(AndNot(a, b), c)


def test_parentheses_group() -> None:
    a, b, c = (Term("all", x) for x in "abc")
    assert parse("(a OR b) AND c") == And(Or(a, b), c)
    assert parse("((a))") == a


def test_adjacent_terms_combine_with_and() -> None:
    a, b, c = (Term("all", x) for x in "abc")
    assert parse("a b OR c") == Or(And(a, b), c)
    assert parse("a (b OR c)") == And(a, Or(b, c))


def test_lowercase_operators_are_words() -> None:
    assert parse("a and b") == And(And(Term("all", "a"), Term("all", "and")), Term("all", "b"))


def test_operator_word_as_field_value() -> None:
    assert parse("ti:AND") == Term("ti", "AND")


def test_the_pipeline_query_parses() -> None:
    text = (
        '(ti:"Reward Model" OR abs:"Reward Model") AND (cat:cs.AI OR cat:cs.CL) '
        "ANDNOT (ti:survey OR abs:survey)"
    )
    reward = Or(Term("ti", "Reward Model", True), Term("abs", "Reward Model", True))
    cats = Or(Term("cat", "cs.AI"), Term("cat", "cs.CL"))
    survey = Or(Term("ti", "survey"), Term("abs", "survey"))
    assert parse(text) == AndNot(And(reward, cats), survey)
    assert to_string(parse(text)) == text


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query", None),
        ("   ", "empty query", None),
        ("ti:a AND (ti:b", "unbalanced parenthesis at 9", 9),
        ("ti:a) OR ti:b", "unbalanced parenthesis at 4", 4),
        ("tx:foo", "unknown field 'tx' at 0", 0),
        ("ti:a AND TI:b", "unknown field 'TI' at 9", 9),
        ('ti:a "bcd', "unterminated quote at 5", 5),
        ('ti:""', "empty phrase at 3", 3),
        ("ti:", "missing value for 'ti' at 3", 3),
        ("ti:a AND", "expected a term at 8", 8),
        ("()", "expected a term at 1", 1),
        ("OR ti:a", "unexpected operator 'OR' at 0", 0),
        ("ti:a AND OR ti:b", "unexpected operator 'OR' at 9", 9),
        (
            "ti:a AND submittedDate:[2025 TO 2026]",
            "bad date range at 23: expected [YYYYMMDDHHMM TO YYYYMMDDHHMM]",
            23,
        ),
        (
            "submittedDate:202501010000",
            "bad date range at 14: expected [YYYYMMDDHHMM TO YYYYMMDDHHMM]",
            14,
        ),
        (
            "submittedDate:[2025-01-01 TO 2025-02-01]",
            "bad date range at 14: expected [YYYYMMDDHHMM TO YYYYMMDDHHMM]",
            14,
        ),
        (
            "submittedDate:[202513010000 TO 202601010000]",
            "bad date range at 14: no such date 202513010000",
            14,
        ),
        (
            "lastUpdatedDate:[202502010000 TO 202501010000]",
            "bad date range at 16: start is after end",
            16,
        ),
    ],
)
def test_syntax_errors(query: str, message: str, position: int | None) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert str(caught.value) == message
    assert caught.value.position == position
    assert isinstance(caught.value, ValueError)


def test_invalid_nodes_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a text field"):
        Term("submittedDate", "x")
    with pytest.raises(ValueError, match="without quotes"):
        Term("ti", 'say "hi"')
    with pytest.raises(ValueError, match="timezone-aware"):
        DateRange("submittedDate", datetime(2025, 1, 1), datetime(2025, 1, 2))


# --- printing and round trip ------------------------------------------------


def test_to_string_parenthesises_only_where_needed() -> None:
    a, b, c = (Term("all", x) for x in "abc")
    assert to_string(And(And(a, b), c)) == "all:a AND all:b AND all:c"
    assert to_string(And(a, And(b, c))) == "all:a AND (all:b AND all:c)"
    assert to_string(Or(And(a, b), c)) == "(all:a AND all:b) OR all:c"
    assert to_string(AndNot(And(a, b), c)) == "all:a AND all:b ANDNOT all:c"


def test_to_string_quotes_unsafe_values() -> None:
    assert to_string(Term("ti", "C++")) == 'ti:"C++"'
    assert to_string(Term("cat", "hep-th")) == 'cat:"hep-th"'
    assert to_string(Term("all", "a&b#c")) == 'all:"a&b#c"'
    assert to_string(Term("cat", "cs.AI")) == "cat:cs.AI"


_text = st.text(
    alphabet=st.characters(blacklist_characters='"', blacklist_categories=["Cs"]), min_size=1
).filter(lambda t: t.strip() != "")
_word = st.from_regex(r"[A-Za-z0-9._]+", fullmatch=True)
_stamp = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@st.composite
def _date_ranges(draw: st.DrawFn) -> DateRange:
    start, end = sorted([draw(_stamp), draw(_stamp)])
    return DateRange(draw(st.sampled_from(sorted(DATE_FIELDS))), start, end)


_leaves = st.one_of(
    st.builds(Term, st.sampled_from(sorted(TEXT_FIELDS)), _word, st.just(False)),
    st.builds(Term, st.sampled_from(sorted(TEXT_FIELDS)), _text, st.booleans()),
    _date_ranges(),
)
_nodes: st.SearchStrategy[Node] = st.recursive(
    _leaves,
    lambda children: st.builds(
        lambda op, left, right: op(left, right),
        st.sampled_from([And, Or, AndNot]),
        children,
        children,
    ),
    max_leaves=12,
)


@given(_nodes)
def test_round_trip(node: Node) -> None:
    assert parse(to_string(node)) == node


# --- builders ---------------------------------------------------------------


def test_builders_make_the_pipeline_query() -> None:
    reward = any_of([phrase("ti", "Reward  Model"), phrase("abs", "Reward Model")])
    cats = any_of(Term("cat", c) for c in ("cs.AI", "cs.CL", "cs.LG"))
    survey = any_of([phrase("ti", "survey"), phrase("abs", "survey")])
    node = exclude(all_of([reward, cats]), [survey])
    assert to_string(node) == (
        '(ti:"Reward Model" OR abs:"Reward Model") AND (cat:cs.AI OR cat:cs.CL OR cat:cs.LG) '
        'ANDNOT (ti:"survey" OR abs:"survey")'
    )
    assert parse(to_string(node)) == node


def test_phrase_always_quotes() -> None:
    assert phrase("ti", "Reasoning") == Term("ti", "Reasoning", True)
    assert to_string(all_of([phrase("ti", "Reasoning"), phrase("abs", "Reasoning")])) == (
        'ti:"Reasoning" AND abs:"Reasoning"'
    )
    with pytest.raises(ValueError):
        phrase("ti", "   ")


def test_builder_edge_cases() -> None:
    a, b = Term("all", "a"), Term("all", "b")
    assert any_of([a]) == a
    assert all_of([a, b]) == And(a, b)
    assert exclude(a, []) == a
    assert exclude(a, [b, b]) == AndNot(AndNot(a, b), b)
    with pytest.raises(ValueError):
        any_of([])
    with pytest.raises(ValueError):
        all_of([])


# --- evaluation -------------------------------------------------------------


def test_stemming_matches_inflections() -> None:
    paper = make_paper(title="Learning Trajectories")
    assert matches(parse("ti:Trajectory"), paper)
    assert matches(parse('ti:"learned trajectory"'), paper)
    assert not matches(parse("ti:trace"), paper)


def test_reward_model_topic_matches_inflected_abstracts() -> None:
    query = parse('ti:"Reward Model" OR abs:"Reward Model"')
    assert matches(query, make_paper(abstract="We train reward models on preferences."))
    assert matches(query, make_paper(abstract="Reward modeling is hard."))
    assert matches(query, make_paper(title="Reward-Model Ensembles"))
    assert not matches(query, make_paper(abstract="A model of reward in the brain."))


def test_and_of_fields_needs_both_fields() -> None:
    query = parse('ti:"Reasoning" AND abs:"Reasoning"')
    assert matches(query, make_paper(title="Reasoning", abstract="We study reasoning."))
    assert not matches(query, make_paper(title="Reasoning", abstract="We study planning."))
    assert not matches(query, make_paper(title="Planning", abstract="We study reasoning."))


def test_phrase_needs_adjacent_tokens_in_order() -> None:
    query = parse('abs:"language model"')
    assert matches(query, make_paper(abstract="Large language models reason."))
    assert not matches(query, make_paper(abstract="A model of language."))
    assert not matches(query, make_paper(abstract="Language and a model."))


def test_phrase_never_spans_fields_in_all() -> None:
    paper = make_paper(title="Deep reward", abstract="Model training.")
    assert matches(parse("all:reward AND all:model"), paper)
    assert not matches(parse('all:"reward model"'), paper)
    assert matches(parse('all:"deep reward"'), paper)


def test_hyphen_splitting_on_both_sides() -> None:
    paper = make_paper(title="Self-supervised learning")
    assert matches(parse('ti:"self supervised"'), paper)
    assert matches(parse("ti:self-supervised"), paper)
    assert matches(parse("ti:supervised"), paper)


def test_author_phrase_inside_one_author() -> None:
    paper = make_paper(authors=("Adrian Del Maestro", "Ada Lovelace"))
    assert matches(parse("au:del_maestro"), paper)
    assert matches(parse('au:"Adrian Del Maestro"'), paper)
    assert matches(parse("au:Lovelace"), paper)
    assert not matches(parse('au:"Maestro Ada"'), paper)


def test_category_is_exact_and_case_sensitive() -> None:
    paper = make_paper(categories=("cs.AI", "stat.ML"))
    assert matches(parse("cat:cs.AI"), paper)
    assert matches(parse("cat:stat.ML"), paper)
    assert not matches(parse("cat:cs.ai"), paper)
    assert not matches(parse("cat:cs"), paper)
    assert not matches(parse("cat:cs.A"), paper)


def test_hyphenated_category_matches() -> None:
    assert matches(parse("cat:hep-th"), make_paper(categories=("hep-th",)))


def test_id_with_or_without_current_version() -> None:
    paper = make_paper(paper_id="2501.01234", version=2)
    assert matches(parse("id:2501.01234"), paper)
    assert matches(parse("id:2501.01234v2"), paper)
    assert not matches(parse("id:2501.01234v1"), paper)
    assert not matches(parse("id:2501.0123"), paper)


def test_comment_journal_and_report_number() -> None:
    paper = make_paper(comment="Accepted at NeurIPS", journal_ref="Phys. Rev. Lett. 1 (2020)")
    assert matches(parse("co:neurips"), paper)
    assert matches(parse('jr:"Phys Rev"'), paper)
    assert not matches(parse("rn:anything"), paper)
    assert not matches(parse("co:neurips"), make_paper())


def test_all_covers_every_text_field() -> None:
    paper = make_paper(
        title="alpha",
        abstract="beta",
        authors=("Gamma Delta",),
        comment="epsilon",
        journal_ref="zeta",
        categories=("cs.AI",),
    )
    for word in ("alpha", "beta", "gamma", "epsilon", "zeta", "AI"):
        assert matches(parse(word), paper), word
    assert not matches(parse("omega"), paper)


def test_value_without_word_characters_never_matches() -> None:
    assert not matches(parse('ti:"++"'), make_paper(title="C++ programs"))


def test_boolean_operators_evaluate() -> None:
    paper = make_paper(title="graph neural networks")
    assert matches(parse("ti:graph AND ti:network"), paper)
    assert not matches(parse("ti:graph AND ti:tree"), paper)
    assert matches(parse("ti:tree OR ti:graph"), paper)
    assert not matches(parse("ti:graph ANDNOT ti:neural"), paper)
    assert matches(parse("ti:graph ANDNOT ti:tree"), paper)


def _in_january(published: datetime) -> bool:
    query = parse("submittedDate:[202501010000 TO 202501312359]")
    return matches(query, make_paper(published=published))


def test_submitted_date_edges_are_inclusive_to_the_minute() -> None:
    assert _in_january(datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC))
    assert _in_january(datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC))
    assert not _in_january(datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert not _in_january(datetime(2025, 2, 1, 0, 0, 0, tzinfo=UTC))


def test_date_range_with_seconds_is_inclusive_to_the_second() -> None:
    query = parse("submittedDate:[20250101000000 TO 20250131235930]")
    assert matches(query, make_paper(published=datetime(2025, 1, 31, 23, 59, 30, tzinfo=UTC)))
    assert not matches(query, make_paper(published=datetime(2025, 1, 31, 23, 59, 31, tzinfo=UTC)))


def test_last_updated_date_uses_updated() -> None:
    query = parse("lastUpdatedDate:[202503010000 TO 202503012359]")
    revised = make_paper(published=WHEN, updated=datetime(2025, 3, 1, 8, tzinfo=UTC))
    assert matches(query, revised)
    submitted_then = make_paper(
        published=datetime(2025, 3, 1, 8, tzinfo=UTC), updated=datetime(2025, 4, 1, tzinfo=UTC)
    )
    assert not matches(query, submitted_then)


def test_compiled_matcher_is_reusable_across_documents() -> None:
    matcher = compile_query(parse("abs:transformer AND cat:cs.CL"))
    docs = [
        Document.from_paper(make_paper(abstract="Transformers!", categories=("cs.CL",))),
        Document.from_paper(make_paper(abstract="Transformers!", categories=("cs.CV",))),
        Document.from_paper(make_paper(abstract="RNNs", categories=("cs.CL",))),
    ]
    assert [matcher(doc) for doc in docs] == [True, False, False]


def test_count_occurrences_ignores_excluded_terms() -> None:
    doc = Document.from_paper(
        make_paper(title="Reward models", abstract="reward model reward model survey")
    )
    assert count_occurrences(parse('all:"reward model"'), doc) == 3
    assert count_occurrences(parse("ti:reward ANDNOT abs:survey"), doc) == 1
    assert (
        count_occurrences(parse("cat:cs.LG OR submittedDate:[202501010000 TO 202501312359]"), doc)
        == 1
    )


def test_matching_many_documents_is_fast() -> None:
    papers = [
        make_paper(
            title=f"Paper {i} on reward models",
            abstract="We study reinforcement learning from human feedback. " * 10,
            published=WHEN + timedelta(minutes=i),
        )
        for i in range(2000)
    ]
    docs = [Document.from_paper(paper) for paper in papers]
    matcher = compile_query(
        parse('(ti:"reward model" OR abs:"reward model") AND cat:cs.LG ANDNOT ti:survey')
    )
    assert sum(matcher(doc) for doc in docs) == 2000


_query_pieces = st.sampled_from(
    [*'ab "():[]-_', "AND", "OR", "ANDNOT", "ti:", "au:", "tx:", "é", "\n", "submittedDate:"]
)


@given(st.one_of(st.text(), st.lists(_query_pieces).map("".join)))
def test_any_text_parses_and_round_trips_or_is_a_syntax_error(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError:
        return
    assert parse(to_string(node)) == node


def test_long_chains_stay_off_the_call_stack() -> None:
    words = [f"w{i}" for i in range(3000)]
    text = " OR ".join(f"abs:{w}" for w in words)
    node = parse(text)
    assert to_string(node) == text
    assert matches(node, make_paper(abstract="only w2999 here"))
    excluded = exclude(Term("abs", "only"), [Term("abs", w) for w in words])
    assert to_string(excluded).count("ANDNOT") == 3000
    assert not matches(excluded, make_paper(abstract="only w2999 here"))
    assert matches(excluded, make_paper(abstract="only this"))
    assert len(positive_terms(node)) == 3000


def test_a_date_range_to_the_end_of_time_matches_without_overflow() -> None:
    # Before: OverflowError ("unexpected error" in search and update --source local).
    doc = Document.from_paper(make_paper())
    for end in ("999912312359", "99991231235959"):
        assert compile_query(parse(f"submittedDate:[202501010000 TO {end}]"))(doc)
        assert not compile_query(parse(f"submittedDate:[202502010000 TO {end}]"))(doc)
