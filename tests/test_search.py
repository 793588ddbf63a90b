"""``dailypapers search`` and the search library: ranking, syntax, filters, output."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dailypapers.arxiv import query as q
from dailypapers.cli import cli
from dailypapers.models import Author, Paper
from dailypapers.search import Hit, SearchError, parse_search, search
from dailypapers.store import Store, open_store

T0 = datetime(2025, 5, 1, tzinfo=UTC)


def paper(number: int, title: str, abstract: str, *, days: int = 0, cats: str = "cs.LG") -> Paper:
    categories = tuple(cats.split())
    return Paper(
        id=f"2505.{number:05d}",
        version=1,
        title=title,
        abstract=abstract,
        authors=(Author("Ada Lovelace"), Author("Alan Turing")),
        categories=categories,
        primary=categories[0],
        published=T0 + timedelta(days=days),
        updated=T0 + timedelta(days=days),
    )


CORPUS = [
    paper(1, "Reward Model Ensembles", "We train a reward model.", days=1, cats="cs.CL"),
    paper(2, "Policy Optimisation", "A model of the reward signal.", days=2),
    paper(3, "Reward Models for Robots", "Reward modeling at scale.", days=3, cats="cs.RO"),
    paper(4, "Graph Networks", "Nothing about it.", days=4),
    paper(5, "Rewarding Models", "Reward-model training in cs.", days=5, cats="cs.CL cs.LG"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}") as opened:
        with opened.transaction() as conn:
            opened.save_papers(conn, CORPUS, T0)
            topic = opened.topic_id(conn, "Reward Model", "q1")
            opened.link(conn, topic, ["2505.00001", "2505.00003"], T0)
            other = opened.topic_id(conn, "Robots", "q2")
            opened.link(conn, other, ["2505.00003", "2505.00004"], T0)
        yield opened


def ids(hits: Sequence[Hit]) -> list[str]:
    return [hit.paper.id for hit in hits]


def test_plain_words_match_every_word_with_stemming_best_first(store: Store) -> None:
    hits = search(store, "reward model")
    assert set(ids(hits)) == {"2505.00001", "2505.00002", "2505.00003", "2505.00005"}
    assert ids(hits)[0] in ("2505.00001", "2505.00003")  # the phrase in title and abstract
    assert ids(hits)[-1] == "2505.00002"  # the words only apart, in the abstract
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_arxiv_syntax_is_evaluated_exactly(store: Store) -> None:
    # "Rewarding Models" stems to "reward model", as on arXiv
    assert set(ids(search(store, 'ti:"reward model" AND cat:cs.CL'))) == {
        "2505.00001",
        "2505.00005",
    }
    assert ids(search(store, 'abs:reward ANDNOT ti:"reward model"')) == ["2505.00002"]
    assert ids(search(store, "id:2505.00004")) == ["2505.00004"]


def test_filters_topic_since_and_limit(store: Store) -> None:
    assert set(ids(search(store, "reward", topic="reward MODEL"))) == {"2505.00001", "2505.00003"}
    assert set(ids(search(store, "reward", since=date(2025, 5, 5)))) == {"2505.00005"}
    assert len(search(store, "reward", limit=2)) == 2
    hit = search(store, "robots", topic="Robots")[0]
    assert hit.topics == ("Reward Model", "Robots")


def test_unknown_topic_and_empty_query_are_errors(store: Store) -> None:
    with pytest.raises(SearchError, match=r"no topic named 'Nope'.*known: Reward Model, Robots"):
        search(store, "reward", topic="Nope")
    with pytest.raises(SearchError, match="nothing to search for"):
        search(store, '"" ::')


def test_text_that_is_not_arxiv_syntax_is_searched_as_words() -> None:
    node, plain = parse_search("reward AND")
    assert q.to_string(node) == "all:reward AND all:AND" and plain
    node, plain = parse_search('ti:"reward model" OR abs:x')
    assert not plain and isinstance(node, q.Or)


@pytest.fixture
def project(tmp_path: Path, store: Store) -> Path:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["search", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_prints_tab_separated_lines_when_piped(project: Path) -> None:
    code, out, _ = invoke('ti:"reward model"', "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].split("\t")[0] in ("2505.00001v1", "2505.00003v1")
    assert lines[0].split("\t")[3] == "Ada Lovelace, Alan Turing"


def test_cli_takes_the_words_unquoted(project: Path) -> None:
    """`dailypapers search reward model`, as the README writes it: before, "Got
    unexpected extra argument (model)", exit 2."""
    assert invoke("reward", "model", "--limit", "5") == invoke("reward model", "--limit", "5")
    code, out, _ = invoke("reward", "model", "--limit", "5")
    assert code == 0 and out
    code, _, err = invoke("--limit", "5")
    assert code == 2 and "QUERY" in err


def test_cli_json_output(project: Path) -> None:
    code, out, _ = invoke("reward", "--json", "--topic", "Robots")
    assert code == 0
    [result] = json.loads(out)
    assert result["id"] == "2505.00003" and result["topics"] == ["Reward Model", "Robots"]
    assert result["title"] == "Reward Models for Robots" and result["score"] > 0


def test_cli_rich_table_on_a_terminal(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def terminal(**kwargs: object) -> Console:
        return Console(force_terminal=True, color_system=None, width=160, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("rich.console.Console", terminal)  # the command imports it on use
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # else a pipe prints plain lines without rich
    code, out, _ = invoke("graph")
    assert code == 0
    assert "┃ date" in out and "2505.00004v1" in out and "Graph Networks" in out


def test_cli_errors_and_no_results(project: Path) -> None:
    code, _, err = invoke("reward", "--topic", "Nope")
    assert code == 2 and err.startswith("dailypapers: no topic named 'Nope'")
    code, out, err = invoke("unmatched")
    assert code == 0 and out == "" and "no stored paper matches" in err
    code, _, _ = invoke("x", "--since", "yesterday")
    assert code == 2
