"""Skipping days arXiv has not announced: by its calendar (no request) or one small probe."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dailypapers.arxiv.calendar import EASTERN
from dailypapers.config import Config, load_config
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import run_update
from dailypapers.sources import Source, open_source
from dailypapers.sources.api import ApiSource

# US Eastern: arXiv announces Sunday to Thursday at 20:00.
THU_1AM = datetime(2025, 5, 15, 1, 0, tzinfo=EASTERN)  # after Wednesday's announcement
FRI_1AM = datetime(2025, 5, 16, 1, 0, tzinfo=EASTERN)  # after Thursday's
SAT_10AM = datetime(2025, 5, 17, 10, 0, tzinfo=EASTERN)  # nothing since Thursday's
SUN_2030 = datetime(2025, 5, 18, 20, 30, tzinfo=EASTERN)  # half an hour after Sunday's


def make_config(tmp_path: Path, server: FakeArxiv, topics: str = "") -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f"{topics}"
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    return load_config(path)


def test_the_calendar_skips_a_saturday_without_any_request(
    tmp_path: Path, server: FakeArxiv
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=THU_1AM)
    assert run_update(config, now=FRI_1AM).status == "nothing new"
    server.reset_log()
    mtime = config.readme_path.stat().st_mtime_ns
    report = run_update(config, now=SAT_10AM)
    assert report.status == "no announcement"
    assert report.summary().startswith("no announcement today: 2 topics, 0 requests")
    assert server.requests == []
    assert config.readme_path.stat().st_mtime_ns == mtime


def test_a_skipped_run_builds_no_source(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)

    def no_client(config: Config) -> Source:
        raise AssertionError("built a source (and its HTTP client) on a skipped day")

    monkeypatch.setattr(ApiSource, "from_config", no_client)
    for factory in (open_source, functools.partial(open_source, name="api")):  # as the CLI
        assert run_update(config, now=SAT_10AM, source_factory=factory).status == "no announcement"


def test_force_fetches_anyway(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    server.reset_log()
    report = run_update(config, now=SAT_10AM, force=True)
    assert len(server.requests) == 2
    assert report.status == "no announcement"  # fetched, found nothing, calendar agrees


def test_a_new_topic_is_fetched_even_on_a_saturday(tmp_path: Path, server: FakeArxiv) -> None:
    run_update(make_config(tmp_path, server), now=FRI_1AM)
    config = make_config(tmp_path, server, '[[topics]]\nname = "Reward Shaping"\n\n')
    server.reset_log()
    report = run_update(config, now=SAT_10AM)
    assert len(server.requests) == 3
    assert report.status == "updated"


def test_soon_after_an_announcement_one_small_request_decides(
    tmp_path: Path, server: FakeArxiv
) -> None:
    config = make_config(tmp_path, server, '[[topics]]\nname = "Graph"\n\n')  # 3 topics
    run_update(config, now=FRI_1AM)
    server.reset_log()
    first = run_update(config, now=SUN_2030)  # no probe seen before: fetch after the probe
    probe = server.requests[0].params
    assert probe["max_results"] == "1" and "cat:cs.AI" in probe["search_query"]
    assert len(server.requests) == 4 and first.status == "nothing new"
    server.reset_log()
    again = run_update(config, now=SUN_2030 + timedelta(minutes=30))
    # arXiv did announce at 20:00; the probe shows this project already has it.
    assert again.status == "nothing new" and len(server.requests) == 1
    assert again.summary().startswith("nothing new since the last run: ")
    newest = max(server.papers, key=lambda p: p.updated)
    server.add_papers([newest.with_changes(id="2505.99990", updated=newest.updated + timedelta(1))])
    server.reset_log()
    later = run_update(config, now=SUN_2030 + timedelta(hours=1))
    assert later.status == "updated" and len(server.requests) == 4


def test_two_topics_soon_after_an_announcement_fetch_without_a_probe(
    tmp_path: Path, server: FakeArxiv
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=FRI_1AM)
    server.reset_log()
    first = run_update(config, now=SUN_2030)  # the probe would cost more than it saves
    assert len(server.requests) == 2 and first.status == "nothing new"
    assert all(r.params["max_results"] != "1" for r in server.requests)
    server.reset_log()
    run_update(config, now=SUN_2030 + timedelta(minutes=30))  # the same evening: probes
    assert server.requests[0].params["max_results"] == "1"


def shared_config(directory: Path, server: FakeArxiv, topic: str, db: str, *extra: str) -> Config:
    directory.mkdir()
    more = "".join(f'[[topics]]\nname = "{name}"\n\n' for name in extra)
    (directory / "papers.toml").write_text(
        f'[[topics]]\nname = "{topic}"\n\n{more}[arxiv]\napi_url = "{server.api_url}"\n'
        f'delay = 0\nbackoff = 0\n\n[store]\nurl = "{db}"\n',
        encoding="utf-8",
    )
    return load_config(directory / "papers.toml")


def test_configs_sharing_a_store_decide_for_their_own_topics(
    tmp_path: Path, server: FakeArxiv
) -> None:
    """One lab's run after the announcement does not make another's skip it."""
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    first = shared_config(tmp_path / "a", server, "Reward Model", db)
    second = shared_config(tmp_path / "b", server, "Reasoning", db)
    run_update(first, now=THU_1AM)
    run_update(second, now=THU_1AM)
    run_update(first, now=FRI_1AM)  # after Thursday's announcement
    server.reset_log()
    run_update(second, now=SAT_10AM)  # its topics last fetched before Thursday's
    assert [r.params["max_results"] != "1" for r in server.requests] == [True]  # a real fetch


def test_probes_of_configs_sharing_a_store_do_not_mix(tmp_path: Path, server: FakeArxiv) -> None:
    """A probe answer remembered for one set of topics is not another's."""
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    # Three topics each, so that both probe soon after the announcement.
    first = shared_config(tmp_path / "a", server, "Reward Model", db, "Reward A", "Reward B")
    second = shared_config(tmp_path / "b", server, "Reasoning", db, "Reason A", "Reason B")
    for config in (first, second):
        run_update(config, now=SUN_2030 - timedelta(days=3))  # Thursday evening, after 20:00
    first_report = run_update(first, now=SUN_2030)  # probes, remembers the newest paper
    assert first_report.requests >= 1
    server.reset_log()
    second_report = run_update(second, now=SUN_2030 + timedelta(minutes=5))
    assert len(server.requests) >= 2  # its own probe, then its own fetch: not skipped
    assert second_report.status in ("nothing new", "updated")


def test_a_paper_dated_in_the_future_does_not_stick_the_probe(
    tmp_path: Path, server: FakeArxiv
) -> None:
    """It stays on top of the archives: the old probe's marker never changed again, and
    every run soon after an announcement said "nothing new" while papers came in below."""
    config = make_config(tmp_path, server, '[[topics]]\nname = "Graph"\n\n')  # 3: a probe
    run_update(config, now=FRI_1AM)
    newest = max(server.papers, key=lambda p: p.updated)
    ahead = newest.with_changes(id="2505.99991", updated=SUN_2030 + timedelta(days=30))
    server.add_papers([ahead])
    run_update(config, now=SUN_2030)
    arrived = newest.with_changes(id="2505.99992", updated=SUN_2030 - timedelta(minutes=20))
    server.add_papers([arrived])
    server.reset_log()
    later = run_update(config, now=SUN_2030 + timedelta(minutes=30))
    assert later.status == "updated" and later.new_papers >= 1
    assert server.requests[0].params["max_results"] == "1"  # the probe was still asked


def _limited(tmp_path: Path, server: FakeArxiv, limit: int) -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        f'max_papers = {limit}\n[[topics]]\nname = "Reward Model"\n\n'
        f'[[topics]]\nname = "Reasoning"\n\n[arxiv]\napi_url = "{server.api_url}"\n'
        "delay = 0\nbackoff = 0\n",
        encoding="utf-8",
    )
    return load_config(path)


def _rows(config: Config) -> int:
    return config.readme_path.read_text(encoding="utf-8").count("| **[")


def _queued_and_totals(config: Config) -> tuple[int, list[int]]:
    import sqlalchemy as sa

    from dailypapers.schema import notify_outbox, topic_fetch_state
    from dailypapers.store import open_store

    with open_store(config.db_url) as store, store.reading() as conn:
        queued = conn.scalar(sa.select(sa.func.count()).select_from(notify_outbox))
        totals = conn.scalars(sa.select(topic_fetch_state.c.total_results)).all()
    return int(queued or 0), sorted(int(t or 0) for t in totals)


def test_a_raised_max_papers_refills_the_tables_and_announces_no_history(
    tmp_path: Path, server: FakeArxiv
) -> None:
    # Before: after a skipped or quiet run, raising max_papers from 50 to 100
    # changed only the header ("up to a maximum of 100 papers") over tables of 50;
    # once refilled, the 50 older papers of each topic were queued as "new papers".
    config_with = functools.partial(_limited, tmp_path, server)

    def rows() -> int:
        return _rows(config_with(100))

    def queued() -> int:
        return _queued_and_totals(config_with(100))[0]

    run_update(config_with(50), now=THU_1AM)
    first = queued()
    assert rows() == 2 * 50 and first > 0
    assert run_update(config_with(50), now=SAT_10AM).status == "no announcement"
    refill = run_update(config_with(100), now=SAT_10AM)
    assert refill.status != "no announcement"
    assert rows() == 2 * 100
    assert queued() == first  # the older papers filling the tables are no news
    assert run_update(config_with(100), now=SAT_10AM).status == "no announcement"


def test_a_topic_whose_matches_fit_a_raised_max_papers_is_fetched_whole(
    tmp_path: Path, server: FakeArxiv
) -> None:
    # Before: arXiv's total (71 and 144 on the demo corpus) fitting in the new
    # table made the topic "complete" though only 50 of each were stored: every
    # later run was incremental, and the older papers were never fetched.
    run_update(_limited(tmp_path, server, 50), now=THU_1AM)
    first, totals = _queued_and_totals(_limited(tmp_path, server, 50))
    assert all(total > 50 for total in totals)
    config = _limited(tmp_path, server, 500)
    run_update(config, now=FRI_1AM)
    queued, totals = _queued_and_totals(config)
    assert _rows(config) == sum(totals)
    new_on_friday = queued - first  # Thursday's announcement only, no history
    assert 0 <= new_on_friday < sum(totals) - 2 * 50
