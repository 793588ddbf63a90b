"""The query sent to arXiv leaves out an archive filter the topic's own categories imply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dailypapers.arxiv import query as q
from dailypapers.config import Topic, load_config
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from dailypapers.plan import plan_topics, request_query
from dailypapers.store import open_store

ARCHIVES = ["cs", "stat"]
NOW = datetime(2025, 6, 4, 6, 17, tzinfo=UTC)


def sent(topic: Topic, archives: list[str] = ARCHIVES) -> str:
    return q.to_string(request_query(topic, archives))


def test_categories_inside_the_archives_make_the_archive_filter_redundant() -> None:
    topic = Topic(name="Reward Model", categories=["cs.CL", "stat.ML"])
    assert sent(topic) == '(ti:"Reward Model" OR abs:"Reward Model") AND (cat:cs.CL OR cat:stat.ML)'
    # The topic's identity in the store keeps the filter: an existing store stays warm.
    assert "cat:cs.AI" in q.to_string(topic.search_query(ARCHIVES))


def test_an_explicit_query_that_requires_an_archive_category_sends_no_filter() -> None:
    assert sent(Topic(name="X", query="ti:agent AND (cat:cs.LG OR cat:stat.ML)")) == (
        "ti:agent AND (cat:cs.LG OR cat:stat.ML)"
    )
    assert sent(Topic(name="X", query="ti:agent AND cat:cs.LG ANDNOT ti:survey")) == (
        "ti:agent AND cat:cs.LG ANDNOT ti:survey"
    )


def test_the_filter_stays_where_it_narrows_the_results() -> None:
    assert "cat:cs.AI" in sent(Topic(name="Reward Model"))  # the reference's keyword topics
    # A category outside the archives: a paper must also carry one inside them.
    assert "cat:cs.AI" in sent(Topic(name="Reward Model", categories=["cs.CL", "eess.AS"]))
    assert "cat:cs.AI" in sent(Topic(name="X", query="ti:agent ANDNOT cat:cs.LG"))
    assert "cat:cs.AI" in sent(Topic(name="X", query="ti:agent OR cat:cs.LG"))
    assert sent(Topic(name="Reward Model"), []) == 'ti:"Reward Model" OR abs:"Reward Model"'


def paper(number: int, title: str, categories: tuple[str, ...]) -> Paper:
    when = NOW - timedelta(days=2, hours=number)
    return Paper(
        id=f"2506.{number:05d}",
        version=1,
        title=title,
        abstract="We study it.",
        authors=(Author("Ada Lovelace"),),
        categories=categories,
        primary=categories[0],
        published=when,
        updated=when,
    )


def test_the_api_source_sends_the_shorter_query_and_stores_the_same_papers(
    tmp_path: Path,
) -> None:
    papers = [
        paper(1, "A reward model", ("cs.CL",)),
        paper(2, "A reward model", ("eess.AS", "cs.CL")),
        paper(3, "A reward model", ("cs.LG",)),  # not in the topic's categories
        paper(4, "A reward model", ("eess.AS",)),  # outside the archives
        paper(5, "Graphs", ("cs.CL",)),
    ]
    with FakeArxiv(papers) as server:
        (tmp_path / "papers.toml").write_text(
            '[[topics]]\nname = "Reward Model"\ncategories = ["cs.CL", "eess.AS"]\n\n'
            '[[topics]]\nname = "Reward Models"\ncategories = ["cs.CL"]\n\n'
            f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
            encoding="utf-8",
        )
        config = load_config(tmp_path / "papers.toml")
        run_update(config, now=NOW)
        queries = [r.params["search_query"] for r in server.requests]
    plans = plan_topics(config)
    assert [plan.request for plan in plans] == queries[:2]
    assert "cat:cs.AI" in queries[0] and "cat:cs.AI" not in queries[1]
    assert all(plan.query_string == q.to_string(plan.query) for plan in plans)
    stored = {}
    with open_store(config.db_url) as store:
        for plan in plans:
            topic_id = store.find_topic(plan.topic.name, plan.query_string)
            assert topic_id is not None
            stored[plan.topic.name] = sorted(p.id for p in store.topic_papers(topic_id))
    both = ["2506.00001", "2506.00002"]
    assert stored == {"Reward Model": both, "Reward Models": both}


def test_an_update_plans_its_topics_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetch, the render, the "new" badges, the digests and the stamp share one plan."""
    from dailypapers import plan as plan_module

    built: list[str] = []
    real = plan_module.request_query

    def counted(topic: Topic, archives: list[str], *full: q.Node) -> q.Node:
        built.append(topic.name)
        return real(topic, archives, *full)

    monkeypatch.setattr(plan_module, "request_query", counted)
    with FakeArxiv([paper(1, "A reward model", ("cs.CL",))]) as server:
        (tmp_path / "papers.toml").write_text(
            'outputs = ["readme", "json", "feeds", "site"]\n\n'
            '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Graphs"\n\n'
            f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
            encoding="utf-8",
        )
        config = load_config(tmp_path / "papers.toml")
        report = run_update(config, now=NOW)
    assert report.status == "updated", report.error
    assert built == ["Reward Model", "Graphs"]
    plans = plan_topics(config)  # the same plans again, not built again
    assert [p.topic.name for p in plans] == built == ["Reward Model", "Graphs"]
    again = load_config(tmp_path / "papers.toml")  # another config: planned anew
    assert plan_topics(again) == plans and len(built) == 4
