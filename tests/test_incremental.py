"""Incremental fetching: pages fitted to a topic's arrivals, and the cold-fetch equivalence."""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dailypapers.arxiv.atom import FeedPage
from dailypapers.arxiv.calendar import EASTERN, Calendar
from dailypapers.arxiv.client import ArxivClient
from dailypapers.config import Config, load_config
from dailypapers.fetchstate import TopicHistory
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import fault
from dailypapers.pipeline import run_update
from dailypapers.sources.api import (
    ApiSource,
    NextPage,
    ScanPolicy,
    first_page_size,
    scan_policy,
)

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)
WORDS = ["reward", "model", "reasoning", "graph", "agent", "policy", "vision", "rewards"]


def paper(number: int, when: datetime, title: str, abstract: str, version: int = 1) -> Paper:
    return Paper(
        id=f"2503.{number:05d}",
        version=version,
        title=title,
        abstract=abstract,
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=when - timedelta(days=version - 1),
        updated=when,
    )


def write_config(
    directory: Path,
    server: FakeArxiv,
    *,
    max_papers: int,
    page_size: int,
    lag: float = 4,
    lookback: float = 24,
) -> Config:
    path = directory / "papers.toml"
    path.write_text(
        f"max_papers = {max_papers}\n"
        '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n'
        f"page_size = {page_size}\nindex_lag_hours = {lag}\nlookback_hours = {lookback}\n",
        encoding="utf-8",
    )
    return load_config(path)


def fast_source(config: Config) -> ApiSource:
    """The API source as configured, without loading CA certificates on every run."""
    arxiv = config.settings.arxiv
    transport = httpx.HTTPTransport(verify=False)
    client = ArxivClient(
        arxiv.api_url, delay=0, page_size=arxiv.page_size, backoff=0, transport=transport
    )
    return ApiSource(client, scan_policy(config))


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


# --- page sizes ----------------------------------------------------------------

CALENDAR = Calendar()
MON_1PM = datetime(2025, 6, 2, 13, 0, tzinfo=EASTERN)  # before Monday's 14:00 cutoff


def history(fetched_at: datetime, *, per_batch: int = 4, warm: bool = True) -> TopicHistory:
    """A topic with ``per_batch`` papers in each announcement of the two weeks to Monday."""
    recent = []
    day = MON_1PM.date()
    while day > MON_1PM.date() - timedelta(days=14):
        if CALENDAR.announces_on(day):
            recent += [CALENDAR.cutoff(day) - timedelta(hours=1 + n) for n in range(per_batch)]
        day -= timedelta(days=1)
    known = {f"p{n}": 1 for n in range(100)}
    floor = MON_1PM - timedelta(days=60)
    return TopicHistory(known, warm, fetched_at, floor, tuple(sorted(recent, reverse=True)))


def test_cold_topic_asks_for_a_full_table() -> None:
    cold = history(MON_1PM, warm=False)
    policy = ScanPolicy(CALENDAR)
    assert first_page_size(cold, policy, now=MON_1PM, limit=100, cap=100) == 100
    assert first_page_size(cold, policy, now=MON_1PM, limit=100, cap=50) == 50


def test_warm_topic_asks_for_one_announcement_of_arrivals() -> None:
    policy = ScanPolicy(CALENDAR, index_lag=timedelta(hours=4), lookback=timedelta(hours=24))
    tue_1am = datetime(2025, 6, 3, 1, 0, tzinfo=EASTERN)  # 5 h after Monday's announcement
    wed_1am = tue_1am + timedelta(days=1)
    daily = history(tue_1am)
    # 4 a batch x 1 announcement (Tuesday's) + 2 sigma -> 8; the newest known; 1 margin.
    assert policy.cutoff(daily) == MON_1PM
    assert first_page_size(daily, policy, now=wed_1am, limit=100, cap=100) == 8 + 1 + 1
    # Three announcements since: 12 + 2 x sqrt(12) -> 19.
    later = wed_1am + timedelta(days=2)
    assert first_page_size(daily, policy, now=later, limit=100, cap=100) == 19 + 1 + 1
    assert first_page_size(daily, policy, now=later, limit=100, cap=10) == 10


def test_a_fetch_soon_after_an_announcement_rereads_that_announcement() -> None:
    """All of its submissions: Monday's carries three days (the weekend's), not one."""
    policy = ScanPolicy(CALENDAR, index_lag=timedelta(hours=4), lookback=timedelta(hours=24))
    soon = history(datetime(2025, 6, 2, 21, 0, tzinfo=EASTERN))  # 1 h after Monday's
    friday = datetime(2025, 5, 30, 14, 0, tzinfo=EASTERN)  # Sunday's announcement's cutoff
    assert policy.cutoff(soon) == friday
    wed_1am = datetime(2025, 6, 4, 1, 0, tzinfo=EASTERN)
    # Re-read: Monday's 4 (the newest known among them); Sunday's, before Friday 14:00, not.
    assert first_page_size(soon, policy, now=wed_1am, limit=100, cap=100) == 8 + 4 + 1
    # A lookback longer than the window reaches further.
    week = ScanPolicy(CALENDAR, index_lag=timedelta(hours=4), lookback=timedelta(days=5))
    assert week.cutoff(soon) == MON_1PM - timedelta(days=5)
    # Tuesday's announcement carries one day: the lookback (24 h) is the longer.
    tuesday = history(datetime(2025, 6, 3, 21, 0, tzinfo=EASTERN))
    assert policy.cutoff(tuesday) == MON_1PM - timedelta(hours=24)
    late = history(datetime(2025, 6, 3, 1, 0, tzinfo=EASTERN))
    assert policy.cutoff(late) == MON_1PM
    # lookback_hours = 0 turns the re-read off.
    assert replace(policy, lookback=timedelta(0)).cutoff(soon) == MON_1PM


def test_a_scans_fetch_time_is_its_first_request_or_the_announcement_it_saw() -> None:
    """Recorded so that "soon after an announcement" is judged on what the scan saw."""
    policy = ScanPolicy(CALENDAR, index_lag=timedelta(hours=4))
    monday = datetime(2025, 6, 2, 20, 0, tzinfo=EASTERN)  # Monday's announcement
    at = monday.replace  # times on Monday evening (US Eastern)
    # Asked and answered after it: the first request's time.
    assert policy.fetch_time(at(hour=20, minute=10), at(hour=20, minute=12)) == at(minute=10)
    # Asked before it, answered after: the announcement itself (within its lag).
    asked, answered = monday - timedelta(seconds=30), monday + timedelta(seconds=35)
    assert policy.fetch_time(asked, answered) == monday
    # Asked within the lag, answered after it: the first request (the scan began there).
    asked = monday + timedelta(hours=4) - timedelta(seconds=2)
    assert policy.fetch_time(asked, asked + timedelta(seconds=6)) == asked
    later = history(asked)
    assert policy.cutoff(later) == datetime(2025, 5, 30, 14, 0, tzinfo=EASTERN)  # re-read


def test_the_runs_clock_reads_on_from_when_the_run_began(tmp_path: Path) -> None:
    """Not from when the fetch began: a run that waited for the lock (or opened a big
    store) first would record a fetch time earlier than its requests."""
    import time

    from dailypapers.sources.base import FetchContext

    seen: list[tuple[float, FetchContext]] = []

    class Recording:
        name = "recording"

        def fetch(self, plans: Any, context: FetchContext) -> list[Any]:
            seen.append((time.monotonic(), context))
            return []

        def close(self) -> None:
            pass

    def factory(config: Config) -> Any:
        seen.append((time.monotonic(), None))  # type: ignore[arg-type]
        return Recording()

    with FakeArxiv([]) as server:
        config = write_config(tmp_path, server, max_papers=5, page_size=10)
        before = time.monotonic()
        run_update(config, now=START, source_factory=factory, force=True)
    made, (_, context) = seen[0][0], seen[1]
    assert before <= context.started < made  # when ``now`` was read, before the source


# --- against the fake server -----------------------------------------------------


def corpus(count: int, rng: random.Random) -> list[Paper]:
    found = []
    for n in range(count):
        when = START - timedelta(hours=6 * n + 1)
        text = rng.choice(["reward model", "reasoning about reasoning", "graph policy"])
        found.append(paper(n, when, f"A {text} study", f"We study {text} at length."))
    return found


def test_a_quiet_day_costs_one_small_request_per_topic(tmp_path: Path) -> None:
    with FakeArxiv(corpus(300, random.Random(1))) as server:
        config = write_config(tmp_path, server, max_papers=20, page_size=100)
        run_update(config, now=START)
        server.reset_log()
        arrival = paper(900, START + timedelta(hours=3), "Reward Model news", "A reward model.")
        server.add_papers([arrival])
        report = run_update(config, now=START + timedelta(days=1))
    assert report.saved.new == 1
    sizes = [int(r.params["max_results"]) for r in server.requests]
    assert len(sizes) == 2 and max(sizes) < 20, sizes


def test_a_burst_of_arrivals_grows_the_pages(tmp_path: Path) -> None:
    with FakeArxiv(corpus(300, random.Random(2))) as server:
        config = write_config(tmp_path, server, max_papers=20, page_size=40)
        run_update(config, now=START)
        burst = [
            paper(1000 + n, START + timedelta(minutes=n + 1), f"Reward Model {n}", "x")
            for n in range(60)
        ]
        server.add_papers(burst)
        server.reset_log()
        report = run_update(config, now=START + timedelta(days=1))
    assert report.saved.new == 60
    reward = [r for r in server.requests if "Reward" in r.params["search_query"]]
    sizes = [int(r.params["max_results"]) for r in reward]
    assert sizes == sorted(sizes) and sizes[-1] == 40 and sizes[0] < 40, sizes


@pytest.mark.parametrize(
    "first_run, caught",
    [
        (datetime(2025, 3, 3, 21, 0, tzinfo=EASTERN), True),  # 1 h after Monday's announcement
        (datetime(2025, 3, 4, 3, 0, tzinfo=EASTERN), False),  # 7 h after: the index had it all
    ],
)
def test_a_late_paper_is_caught_when_the_last_fetch_was_soon_after_an_announcement(
    tmp_path: Path, first_run: datetime, caught: bool
) -> None:
    """A paper that reaches the index after its announcement was fetched, with an older date.

    Within ``index_lag_hours`` of an announcement the next run re-reads
    ``lookback_hours``; later than that, the API source trusts the index
    (the feed source lists it anyway). See docs/design.md.
    """
    with FakeArxiv(corpus(300, random.Random(3))) as server:
        config = write_config(tmp_path, server, max_papers=20, page_size=100, lookback=240)
        run_update(config, now=first_run)
        newest = max(p.updated for p in server.papers)
        late = paper(901, newest - timedelta(days=9), "Late Reward Model", "A reward model.")
        server.add_papers([late])
        report = run_update(config, now=first_run + timedelta(days=1))
    assert report.saved.new == int(caught)
    assert ("Late Reward Model" in config.readme_path.read_text(encoding="utf-8")) is caught


@pytest.mark.parametrize(
    "first_run",
    [
        datetime(2025, 3, 3, 21, 0, tzinfo=EASTERN),  # 1 h after Monday's announcement
        # A run that starts just before it reads arXiv after it: the topic's own time counts.
        datetime(2025, 3, 3, 20, 0, tzinfo=EASTERN) - timedelta(microseconds=1),
    ],
    ids=["after", "started-before"],
)
def test_a_weekend_paper_indexed_late_after_mondays_announcement_is_caught(
    tmp_path: Path, first_run: datetime
) -> None:
    """Fetched soon after Monday's announcement, which carries Friday 14:00 to Monday 14:00.

    A paper submitted on Saturday that the index shows only later is older
    than the default lookback (24 h behind the newest known paper) but in
    the announcement the last fetch may have read in part: it is read again.
    """
    monday = datetime(2025, 3, 3, 13, 30, tzinfo=EASTERN)  # one paper every 10 minutes
    busy = [
        paper(n, monday - timedelta(minutes=10 * n), f"Reward Model {n}", "A reward model.")
        for n in range(600)
    ]
    with FakeArxiv(busy) as server:
        # The table (500 rows) reaches back to Friday: a Saturday paper belongs in it.
        config = write_config(tmp_path, server, max_papers=500, page_size=50)
        run_update(config, now=first_run)
        saturday = datetime(2025, 3, 1, 12, 5, tzinfo=EASTERN)
        server.add_papers([paper(902, saturday, "Late Reward Model", "A reward model.")])
        report = run_update(config, now=datetime(2025, 3, 4, 21, 0, tzinfo=EASTERN))
    assert report.saved.new == 1
    assert "Late Reward Model" in config.readme_path.read_text(encoding="utf-8")


def test_a_revision_that_stops_matching_keeps_its_matching_version(tmp_path: Path) -> None:
    """The documented limit of keyword search: the revision is never seen again.

    The row stays at the version that matched (with that version's link and
    date); a cold fetch would not list the paper. See docs/design.md.
    """
    with FakeArxiv(corpus(40, random.Random(4))) as server:
        config = write_config(tmp_path, server, max_papers=10, page_size=100)
        run_update(config, now=START)
        text = config.readme_path.read_text(encoding="utf-8")
        target = next(p for p in server.papers if p.id in text and "reward model" in p.title)
        gone = target.with_changes(
            version=2, title="Something else", abstract="No match.", updated=START + timedelta(1)
        )
        server.add_papers([gone])
        run_update(config, now=START + timedelta(days=1))
    text = config.readme_path.read_text(encoding="utf-8")
    assert f"{target.id}v1" in text and "Something else" not in text


# --- the property: incremental == cold ---------------------------------------------


@dataclass
class World:
    """The fake arXiv's corpus as a test evolves it, with distinct timestamps."""

    papers: dict[str, Paper] = field(default_factory=dict)
    used: set[datetime] = field(default_factory=set)
    next_number: int = 0

    def stamp(self, when: datetime) -> datetime:
        when = when.replace(microsecond=0)
        while when in self.used:  # equal dates have no defined order on arXiv: avoid them
            when += timedelta(seconds=1)
        self.used.add(when)
        return when

    def arrive(self, when: datetime, title: str, abstract: str) -> None:
        self.next_number += 1
        new = paper(self.next_number, self.stamp(when), title, abstract)
        self.papers[new.id] = new

    def revise(self, pick: int, when: datetime, extra: str) -> None:
        if not self.papers:
            return
        old = sorted(self.papers.values(), key=lambda p: p.id)[pick % len(self.papers)]
        # Words are only added: a revision never stops matching (that case is
        # a documented limit, tested above).
        self.papers[old.id] = old.with_changes(
            version=old.version + 1, abstract=f"{old.abstract} {extra}", updated=self.stamp(when)
        )


text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=5).map(" ".join)
event = st.one_of(
    st.tuples(st.just("arrive"), st.floats(0, 0.99), text, text),
    st.tuples(st.just("late"), st.floats(0.01, 0.99), text, text),
    st.tuples(st.just("revise"), st.integers(0, 1000), st.floats(0, 0.99), text),
)
days = st.lists(st.lists(event, max_size=6), min_size=1, max_size=5)
seed = st.lists(st.tuples(st.floats(0, 30), text, text), max_size=25)


def apply(world: World, item: tuple[Any, ...], day_start: datetime) -> None:
    kind = item[0]
    if kind == "arrive":
        _, at, title, abstract = item
        world.arrive(day_start + timedelta(days=float(at)), str(title), str(abstract))
    elif kind == "late":  # reaches the index now, dated within a day before the last run
        _, back, title, abstract = item
        world.arrive(day_start - timedelta(days=float(back)), str(title), str(abstract))
    else:
        _, pick, at, extra = item
        world.revise(int(pick), day_start + timedelta(days=float(at)), str(extra))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(initial=seed, history=days, max_papers=st.integers(1, 12), page_size=st.integers(1, 5))
def test_incremental_updates_render_the_readme_of_a_cold_fetch(
    shared_server: FakeArxiv,
    initial: list[tuple[float, str, str]],
    history: list[list[tuple[object, ...]]],
    max_papers: int,
    page_size: int,
) -> None:
    world = World()
    for back, title, abstract in initial:
        world.arrive(START - timedelta(days=back + 0.01), title, abstract)
    shared_server.set_papers(world.papers.values())
    with tempfile.TemporaryDirectory() as warm_dir, tempfile.TemporaryDirectory() as cold_dir:
        warm = write_config(
            Path(warm_dir), shared_server, max_papers=max_papers, page_size=page_size
        )
        now = START
        assert run_update(warm, now=now, force=True, source_factory=fast_source).status != "failed"
        for events in history:
            for item in events:
                apply(world, item, now)
            shared_server.set_papers(world.papers.values())
            now += timedelta(days=1)
            assert (
                run_update(warm, now=now, force=True, source_factory=fast_source).status != "failed"
            )
        cold = write_config(
            Path(cold_dir), shared_server, max_papers=max_papers, page_size=page_size
        )
        assert run_update(cold, now=now, force=True, source_factory=fast_source).status != "failed"
        assert warm.readme_path.read_text("utf-8") == cold.readme_path.read_text("utf-8")


# --- small and empty topics ---------------------------------------------------------


def test_a_topic_whose_matches_all_fit_is_fetched_incrementally(tmp_path: Path) -> None:
    few = [p for p in corpus(300, random.Random(5)) if "reward model" in p.title][:6]
    with FakeArxiv(few) as server:
        config = write_config(tmp_path, server, max_papers=20, page_size=100)
        run_update(config, now=START)
        server.reset_log()
        arrival = paper(902, START + timedelta(hours=3), "Reward Model news", "A reward model.")
        server.add_papers([arrival])
        report = run_update(config, now=START + timedelta(days=1))
    assert report.saved.new == 1
    reward = [r for r in server.requests if "Reward" in r.params["search_query"]]
    # Six stored of six on arXiv: warm, so a page fitted to a day, not the full table again.
    assert len(reward) == 1 and int(reward[0].params["max_results"]) < 20


def test_an_empty_topic_is_asked_twice_then_once(tmp_path: Path) -> None:
    few = [p for p in corpus(300, random.Random(6)) if "reward model" in p.title][:30]
    with FakeArxiv(few) as server:
        config = write_config(tmp_path, server, max_papers=20, page_size=100)
        run_update(config, now=START)
        empty = [r for r in server.requests if "Reasoning" in r.params["search_query"]]
        server.reset_log()
        run_update(config, now=START + timedelta(days=1))
        again = [r for r in server.requests if "Reasoning" in r.params["search_query"]]
    assert len(empty) == 2  # totalResults 0: asked once more (arXiv's glitch), at once
    assert len(again) == 1  # empty before: believed at once


def test_a_topic_with_matches_answered_empty_twice_is_not_taken_for_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """arXiv's transient empty answer, twice: the last total is kept, and asked again next run."""
    import sqlalchemy as sa

    from dailypapers.schema import topic_fetch_state
    from dailypapers.store import open_store

    few = [p for p in corpus(300, random.Random(6)) if "reward model" in p.title][:30]

    def reward(params: Mapping[str, str]) -> bool:
        return "Reward" in params.get("search_query", "")

    with FakeArxiv(few) as server:
        config = write_config(tmp_path, server, max_papers=20, page_size=100)
        run_update(config, now=START)
        empty = fault("empty_page", total=0, when=reward)  # arXiv's glitch: "no match"
        server.inject(empty, empty)
        run_update(config, now=START + timedelta(days=1), force=True)
        assert "answered no match at all" in caplog.text
        with open_store(config.db_url) as store, store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(topic_fetch_state.c.total_results, topic_fetch_state.c.fetched_at)
            ).all()
        assert {total for total, _ in rows} == {30, 0}  # Reward Model's 30 kept; Reasoning: 0
        # Nothing was read: Reward Model keeps its last fetch's time (the first run's).
        times = sorted(when for _, when in rows)
        assert times[0] < START + timedelta(hours=1) < START + timedelta(days=1) <= times[1]
        # The next run asks an empty answer again, and gets the topic's papers.
        server.inject(empty)
        server.add_papers([paper(904, START + timedelta(hours=30), "Reward Model news", "x")])
        server.reset_log()
        report = run_update(config, now=START + timedelta(days=2))
    asked = [r for r in server.requests if reward(r.params)]
    assert len(asked) == 2 and report.saved.new == 1


def test_migration_7_adds_the_totals_to_a_store_without_them(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from dailypapers.store import SCHEMA_VERSION, open_store

    url = f"sqlite:///{tmp_path / 'papers.db'}"
    with open_store(url) as store, store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE topic_fetch_state DROP COLUMN total_results"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 7"))
    with open_store(url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        columns = sa.inspect(store.engine).get_columns("topic_fetch_state")
        assert "total_results" in {c["name"] for c in columns}
        assert store.migrate() == []


def test_the_last_announcements_raise_a_rate_the_window_underestimates() -> None:
    """A window of 4 a batch whose last two batches brought 10 each asks for 10 a batch."""
    policy = ScanPolicy(CALENDAR, index_lag=timedelta(hours=4), lookback=timedelta(hours=24))
    base = history(datetime(2025, 6, 3, 1, 0, tzinfo=EASTERN))
    monday, friday = CALENDAR.cutoff(MON_1PM.date()), CALENDAR.cutoff(date(2025, 5, 30))
    extra = [when - timedelta(minutes=5 + n) for when in (monday, friday) for n in range(6)]
    busy = replace(base, recent=tuple(sorted([*base.recent, *extra], reverse=True)))
    wed_1am = datetime(2025, 6, 4, 1, 0, tzinfo=EASTERN)
    assert policy.expected_arrivals(base, wed_1am) == 8  # 4 + 2 x sqrt(4)
    assert policy.expected_arrivals(busy, wed_1am) == 17  # 10 + 2 x sqrt(10) -> 16.3
    # A window of less than two announcements keeps the window's rate.
    short = replace(base, recent=tuple(w for w in base.recent if w > friday))
    assert policy.expected_arrivals(short, wed_1am) == 8


# --- quiet topics and second pages -------------------------------------------------


def test_a_quiet_topic_counts_arrivals_from_its_last_fetch_not_its_newest_paper() -> None:
    """Newest paper three weeks old, fetched yesterday: one announcement of arrivals."""
    policy = ScanPolicy(CALENDAR, index_lag=timedelta(hours=4), lookback=timedelta(hours=24))
    wed_1am = datetime(2025, 6, 25, 1, 0, tzinfo=EASTERN)
    quiet = history(wed_1am - timedelta(days=1), per_batch=1)  # the newest on June 2
    assert policy.unseen_announcements(quiet, wed_1am) == 1
    assert policy.expected_arrivals(quiet, wed_1am) == 3  # 1 + 2 x sqrt(1), not 17 batches
    # The last announcement that fetch read in full: where the silence is counted to.
    assert policy.seen_mark(quiet) == CALENDAR.cutoff(date(2025, 6, 23))
    assert not policy.rate_unknown(quiet)  # 16 silent announcements at 1 a batch: plausible
    assert first_page_size(quiet, policy, now=wed_1am, limit=100, cap=100) == 3 + 1 + 1
    # Fetched within the index lag of an announcement: that one counts as unseen too,
    # and there is no seen mark.
    soon = replace(quiet, fetched_at=datetime(2025, 6, 23, 21, 0, tzinfo=EASTERN))
    assert policy.unseen_announcements(soon, wed_1am) == 2
    assert policy.seen_mark(soon) is None


def test_a_quiet_topic_sends_one_small_request_for_one_arrival(tmp_path: Path) -> None:
    """Its newest paper weeks old, fetched yesterday: a page of one announcement, then stop."""
    old = [p for p in corpus(300, random.Random(7)) if "reward model" in p.title]
    with FakeArxiv(old) as server:
        config = write_config(tmp_path, server, max_papers=5, page_size=100)
        later = START + timedelta(days=21, hours=12)  # past the index lag
        run_update(config, now=later)
        server.reset_log()
        arrival = paper(903, later + timedelta(hours=3), "Reward Model news", "A reward model.")
        server.add_papers([arrival])
        report = run_update(config, now=later + timedelta(days=1))
    assert report.saved.new == 1
    reward = [r for r in server.requests if "Reward" in r.params["search_query"]]
    # One announcement of its rate (about 4 a batch in this corpus) and its slack, not the
    # three weeks of announcements since its newest paper (about 60 papers).
    assert len(reward) == 1 and int(reward[0].params["max_results"]) <= 12, reward


def feed_page(dates: list[datetime]) -> FeedPage:
    papers = tuple(paper(n, when, "t", "a") for n, when in enumerate(dates))
    return FeedPage(total_results=500, start_index=0, items_per_page=len(papers), papers=papers)


def test_a_short_first_page_is_followed_by_one_fitted_to_the_rest() -> None:
    """10 entries over 10 hours, 5 hours left above the cutoff: about 5 more, not 2 x 10."""
    top = datetime(2025, 6, 3, 13, 0, tzinfo=UTC)
    cutoff = top - timedelta(hours=14)
    known = [cutoff - timedelta(minutes=1)]  # below the cutoff: not to re-read
    base = TopicHistory({"x": 1}, True, top, None, tuple(known))
    sizer = NextPage(base, cutoff, horizon=top + timedelta(days=1))
    first = feed_page([top - timedelta(hours=n + 1) for n in range(10)])  # 12:00 .. 03:00
    # 10 per 9 hours, 4 hours left -> 4.4 + 2 x sqrt(4.4) -> 9; 1 margin.
    assert sizer(first, 10) == 9 + 0 + 1
    assert sizer(feed_page([cutoff + timedelta(hours=1)]), 11) == 22  # then it doubles
    # Known papers between the page's end and the cutoff are read again: counted.
    busy = replace(base, recent=(top - timedelta(hours=11), top - timedelta(hours=12), *known))
    assert NextPage(busy, cutoff, horizon=top + timedelta(days=1))(first, 10) == 9 + 2 + 1


def test_a_second_page_counts_the_new_papers_left_from_arxivs_totals() -> None:
    """arXiv's total rose by 12 since the last fetch and the page read 10 of them: 2 left."""
    top = datetime(2025, 6, 3, 13, 0, tzinfo=UTC)
    cutoff = top - timedelta(hours=14)
    known = [cutoff - timedelta(minutes=1)]
    base = TopicHistory({"x": 1}, True, top, None, tuple(known), total=488)
    first = feed_page([top - timedelta(hours=n + 1) for n in range(10)])  # total 500
    # Extrapolated, 9 (the test above); counted, 2 first versions and no revision.
    assert NextPage(base, cutoff, horizon=top + timedelta(days=1))(first, 10) == 2 + 0 + 1
    # Revisions are not counted by the total: they are extrapolated (2 read -> 0.9 left).
    revised = replace(
        first, papers=(*first.papers[:8], *(replace(p, version=2) for p in first.papers[8:]))
    )
    sized = NextPage(base, cutoff, horizon=top + timedelta(days=1))(revised, 10)
    assert sized == 4 + math.ceil(0.9 + 2 * math.sqrt(0.9)) + 0 + 1
    # Never more than the extrapolation (a total that jumped), never below the known papers.
    jumped = replace(base, total=100)
    assert NextPage(jumped, cutoff, horizon=top + timedelta(days=1))(first, 10) == 9 + 0 + 1


def test_a_full_table_whose_window_cannot_tell_its_rate_asks_for_a_full_page() -> None:
    """After a cold start whose history ends weeks before: one full page, not two."""
    policy = ScanPolicy(CALENDAR, index_lag=timedelta(hours=4), lookback=timedelta(hours=24))
    wed_1am = datetime(2025, 6, 25, 1, 0, tzinfo=EASTERN)
    # 4 a batch up to June 2; fetched yesterday: 16 silent announcements (64 papers' worth).
    stale = history(wed_1am - timedelta(days=1), per_batch=4)
    assert policy.rate_unknown(stale)
    assert first_page_size(stale, policy, now=wed_1am, limit=100, cap=100) == 100
    # The same window read the day after its newest paper: the rate stands.
    fresh = history(datetime(2025, 6, 3, 1, 0, tzinfo=EASTERN), per_batch=4)
    assert not policy.rate_unknown(fresh)
    # A complete table (every match stored) never re-reads itself.
    assert not policy.rate_unknown(replace(stale, total=len(stale.known)))
    # A window of one announcement: many papers in it say nothing of the next day.
    one = CALENDAR.cutoff(date(2025, 6, 23))
    day = replace(stale, recent=tuple(one - timedelta(minutes=n + 1) for n in range(12)))
    assert policy.rate_unknown(day)
    few = replace(day, recent=day.recent[:3])  # a few: the usual slack covers it
    assert not policy.rate_unknown(few)
    assert first_page_size(few, policy, now=wed_1am, limit=100, cap=100) < 20
