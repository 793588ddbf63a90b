"""``dailypapers backfill``: submittedDate windows, resumable, stored like update's."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.arxiv.query import parse
from dailypapers.backfill import run_backfill, window_query, windows
from dailypapers.cli import cli
from dailypapers.config import Config, load_config
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import fault
from dailypapers.pipeline import run_update
from dailypapers.sources import plan_topics
from dailypapers.store import open_store

NOW = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)


def paper(number: int, submitted: datetime, title: str) -> Paper:
    return Paper(
        id=f"2504.{number:05d}",
        version=1,
        title=title,
        abstract="An abstract.",
        authors=(Author("Grace Hopper"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=submitted,
        updated=submitted,
    )


def corpus() -> list[Paper]:
    """A reward-model paper every 8 hours from Jan 1 to May 13, and some noise."""
    found = []
    when, number = datetime(2025, 1, 1, 3, 0, tzinfo=UTC), 0
    while when < datetime(2025, 5, 14, tzinfo=UTC):
        number += 1
        title = "A Reward Model Study" if number % 4 else "Graph Policies"
        found.append(paper(number, when, f"{title} {number}"))
        when += timedelta(hours=8)
    return found


@pytest.fixture
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(corpus()) as fake:
        yield fake


def make_config(tmp_path: Path, server: FakeArxiv) -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        'max_papers = 10\n[[topics]]\nname = "Reward Model"\n\n'
        '[[topics]]\nname = "Graph Policies"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 2\n',
        encoding="utf-8",
    )
    return load_config(path)


def test_windows_cover_the_range_newest_first() -> None:
    found = windows(date(2025, 1, 1), date(2025, 1, 20))  # a Wednesday to a Monday
    assert found == [
        (date(2025, 1, 20), date(2025, 1, 20)),
        (date(2025, 1, 13), date(2025, 1, 19)),
        (date(2025, 1, 6), date(2025, 1, 12)),
        (date(2025, 1, 1), date(2025, 1, 5)),
    ]
    # The next day's backfill (--until defaults to today) meets the same full weeks:
    # before, every window moved by a day and none was found done.
    later = windows(date(2025, 1, 1), date(2025, 1, 21))
    assert later[0] == (date(2025, 1, 20), date(2025, 1, 21)) and later[1:] == found[1:]
    assert windows(date(2025, 1, 1), date(2025, 1, 1)) == [(date(2025, 1, 1), date(2025, 1, 1))]
    with pytest.raises(ValueError):
        windows(date(2025, 1, 2), date(2025, 1, 1))


def test_window_query_uses_submitted_date(tmp_path: Path, server: FakeArxiv) -> None:
    plan = plan_topics(make_config(tmp_path, server))[0]
    text = window_query(plan, (date(2025, 1, 7), date(2025, 1, 13)))
    assert text.endswith("AND submittedDate:[202501070000 TO 202501132359]")
    parse(text)  # a query arXiv's grammar accepts


def stored_ids(config: Config, name: str) -> set[str]:
    with open_store(config.db_url) as store:
        plan = next(p for p in plan_topics(config) if p.topic.name == name)
        topic_id = store.find_topic(name, plan.query_string)
        assert topic_id is not None
        return {p.id for p in store.topic_papers(topic_id)}


def test_backfill_stores_exactly_the_range(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    report = run_backfill(
        config, since=date(2025, 2, 1), until=date(2025, 2, 28), topics=["reward model"], now=NOW
    )
    assert report.status == "updated", report.error
    expected = {
        p.id
        for p in server.papers
        if "Reward" in p.title and date(2025, 2, 1) <= p.published.date() <= date(2025, 2, 28)
    }
    assert stored_ids(config, "Reward Model") == expected
    assert report.saved.new == len(expected) == 63
    assert report.windows == 5 and len(server.requests) == 5  # Feb 1-2, then Monday to Sunday
    assert all("submittedDate" in r.params["search_query"] for r in server.requests)
    assert report.summary().startswith("backfilled (63 new): 1 topic, 5 windows (0 already done)")
    assert config.readme_path.exists()


def test_an_interrupted_backfill_resumes(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    since, until = date(2025, 1, 1), date(2025, 3, 31)
    server.inject(*[fault("status", code=503, when=_window_after("20250301"))] * 2)
    failed = run_backfill(config, since=since, until=until, topics=["Reward Model"], now=NOW)
    assert failed.status == "failed" and "503" in (failed.error or "")
    assert "run again to resume" in failed.summary()
    done_before = len(stored_ids(config, "Reward Model"))
    assert done_before > 0  # the March windows were stored before the failure
    server.reset_log()
    again = run_backfill(config, since=since, until=until, topics=["Reward Model"], now=NOW)
    assert again.status == "updated", again.error
    assert again.already_done == 5  # the March windows (newest first) are not asked again
    assert len(server.requests) == again.windows - again.already_done
    expected = {p.id for p in server.papers if "Reward" in p.title and p.published.month <= 3}
    assert stored_ids(config, "Reward Model") == expected


def _window_after(stamp: str) -> Callable[[Mapping[str, str]], bool]:
    def before_march(params: Mapping[str, str]) -> bool:
        query = params.get("search_query", "")
        start = query.rsplit("submittedDate:[", 1)[-1][:8]
        return "submittedDate" in query and start < stamp

    return before_march


def test_a_window_answered_empty_twice_is_asked_again_next_time(
    tmp_path: Path, server: FakeArxiv
) -> None:
    """arXiv's "no match at all" glitch, twice on one window: before, the window was
    marked done with nothing in it, and no later backfill asked for its papers again."""
    config = make_config(tmp_path, server)
    since, until = date(2025, 2, 1), date(2025, 2, 28)
    server.inject(*[fault("empty_page", total=0)] * 2)  # the first (newest) window, twice
    first = run_backfill(config, since=since, until=until, topics=["Reward Model"], now=NOW)
    assert first.status == "updated", first.error
    assert first.empty == 1 and "1 answered empty: asked once more" in first.summary()
    missing = {
        p.id
        for p in server.papers
        if "Reward" in p.title and date(2025, 2, 1) <= p.published.date() <= date(2025, 2, 28)
    } - stored_ids(config, "Reward Model")
    assert missing  # the glitch's window
    server.reset_log()
    again = run_backfill(config, since=since, until=until, topics=["Reward Model"], now=NOW)
    assert again.already_done == 4 and len(server.requests) == 1 and again.empty == 0
    assert missing <= stored_ids(config, "Reward Model")


def test_a_window_empty_on_two_backfills_is_done(tmp_path: Path, server: FakeArxiv) -> None:
    """A truly empty week costs one more backfill, not every later one."""
    config = make_config(tmp_path, server)
    empty_week = (date(2024, 12, 2), date(2024, 12, 8))  # before the corpus begins
    for expected_requests, expected_empty in ((2, 1), (2, 0), (0, 0)):
        server.reset_log()
        report = run_backfill(
            config, since=empty_week[0], until=empty_week[1], topics=["Reward Model"], now=NOW
        )
        assert report.status in ("updated", "nothing new"), report.error
        assert len(server.requests) == expected_requests  # "no match" is asked twice
        assert report.empty == expected_empty


def test_recent_windows_are_not_marked_done(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_backfill(config, since=date(2025, 5, 1), topics=["Graph Policies"], now=NOW)
    server.reset_log()
    again = run_backfill(config, since=date(2025, 5, 1), topics=["Graph Policies"], now=NOW)
    assert again.windows == 3 and again.already_done == 1  # May 5-11 and 12-14 may still grow
    assert len(server.requests) == 2


def test_update_after_a_backfill_still_starts_cold(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_backfill(config, since=date(2025, 1, 1), until=date(2025, 1, 31), now=NOW)
    report = run_update(config, now=NOW)
    assert report.status == "updated"
    newest = sorted((p for p in server.papers if "Reward" in p.title), key=lambda p: p.updated)
    readme = config.readme_path.read_text(encoding="utf-8")
    assert newest[-1].versioned_id in readme and newest[-10].versioned_id in readme


def test_cli_backfill(tmp_path: Path, server: FakeArxiv) -> None:
    make_config(tmp_path, server)
    runner = CliRunner()
    result = runner.invoke(cli, ["backfill", "--since", "2025-04-01", "--until", "2025-04-10"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("backfilled (")
    bad = runner.invoke(cli, ["backfill", "--since", "2025-04-01", "--topic", "Nope"])
    assert bad.exit_code == 2 and "no such topic" in bad.stderr
    backwards = runner.invoke(cli, ["backfill", "--since", "2025-04-10", "--until", "2025-04-01"])
    assert backwards.exit_code == 2 and "after --until" in backwards.stderr
