"""The fault scenarios of the reliability table (docs/reliability.md).

Each scenario is a list of faults the fake arXiv server injects into a cold
start that needs several pages per topic, and the outcome a user must see:
``ok`` (the run completes with exactly the papers of a clean run) or ``fail``
(one-line error, exit 1, every output byte-identical and the store unchanged;
the next clean run recovers). ``tests/test_faults.py`` runs each once;
``bench/reliability.py`` runs each many times through the real CLI and writes
the table.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import Fault, fault

Params = Mapping[str, str]


def mid_paging(params: Params) -> bool:
    """Only requests after the first page of a search."""
    return int(params.get("start", "0")) > 0


def first_page(params: Params) -> bool:
    return int(params.get("start", "0")) == 0


# Page size and table size that make every topic's cold start take 3 pages.
PAGE_SIZE = 20
MAX_PAPERS = 50
MAX_ATTEMPTS = 3
TIMEOUT = 0.5


@dataclass(frozen=True)
class Scenario:
    """One row of the reliability table."""

    name: str
    faults: Callable[[], list[Fault]]
    expect: str  # "ok" or "fail"
    server_down: bool = False

    @property
    def description(self) -> str:
        faults = self.faults()
        if self.server_down:
            return "nothing listens on the API port"
        kinds = sorted({f.kind + _params(f) for f in faults})
        times = f" x{len(faults)}" if len(faults) > 1 else ""
        return ", ".join(kinds) + times


def _params(item: Fault) -> str:
    if not item.params:
        return ""
    return "(" + ", ".join(f"{k}={v}" for k, v in sorted(item.params.items())) + ")"


def _times(item: Fault, count: int) -> list[Fault]:
    return [item] * count


PERSISTENT = MAX_ATTEMPTS * 4  # more failures than any request's retry budget

SCENARIOS: list[Scenario] = [
    Scenario("503 with Retry-After", lambda: [fault("status", code=503, retry_after=0)], "ok"),
    Scenario("503 without Retry-After", lambda: [fault("status", code=503)], "ok"),
    Scenario("429 with Retry-After", lambda: [fault("status", code=429, retry_after=0)], "ok"),
    Scenario("429 without Retry-After", lambda: [fault("status", code=429)], "ok"),
    Scenario(
        "500 and 502 in a row", lambda: [fault("status", code=500), fault("status", code=502)], "ok"
    ),
    Scenario("connection reset", lambda: [fault("reset")], "ok"),
    Scenario("read timeout", lambda: [fault("slow", seconds=TIMEOUT * 3)], "ok"),
    Scenario("slow drip (within timeout)", lambda: [fault("drip", chunks=6, pause=0.05)], "ok"),
    Scenario("truncated XML (connection cut)", lambda: [fault("truncated")], "ok"),
    Scenario(
        "truncated XML (complete response)", lambda: [fault("truncated", honest_length=True)], "ok"
    ),
    Scenario("HTML error page (HTTP 200)", lambda: [fault("html", code=200)], "ok"),
    Scenario("HTML error page (HTTP 502)", lambda: [fault("html", code=502)], "ok"),
    Scenario('plain "Rate exceeded." (503)', lambda: [fault("rate_limited_text")], "ok"),
    Scenario("empty page mid-paging", lambda: [fault("empty_page", when=mid_paging)], "ok"),
    Scenario("empty first page", lambda: [fault("empty_page", when=first_page)], "ok"),
    Scenario(
        'first page "no match at all" (totalResults 0)',
        lambda: [fault("empty_page", total=0, when=first_page)],
        "ok",
    ),
    Scenario(
        "page shorter than promised", lambda: [fault("short_page", count=7, when=mid_paging)], "ok"
    ),
    Scenario(
        "totalResults changes between pages",
        lambda: [fault("total_results", value=10_000, when=mid_paging)],
        "ok",
    ),
    Scenario(
        "same paper on two pages", lambda: [fault("duplicate", count=3, when=mid_paging)], "ok"
    ),
    Scenario(
        "results moved up between pages",
        lambda: [fault("moved_up", count=3, when=mid_paging)],
        "ok",
    ),
    Scenario(
        "error feed (HTTP 400)",
        lambda: [fault("error_feed", message="incorrect query syntax")],
        "fail",
    ),
    Scenario("persistent 503", lambda: _times(fault("status", code=503), PERSISTENT), "fail"),
    Scenario("persistent connection reset", lambda: _times(fault("reset"), PERSISTENT), "fail"),
    Scenario(
        "persistent read timeout",
        lambda: _times(fault("slow", seconds=TIMEOUT * 3), PERSISTENT),
        "fail",
    ),
    Scenario("persistent truncated XML", lambda: _times(fault("truncated"), PERSISTENT), "fail"),
    Scenario(
        "empty page mid-paging, persistent",
        lambda: _times(fault("empty_page", when=mid_paging), PERSISTENT),
        "fail",
    ),
    Scenario(
        'later page "no match at all", persistent',
        lambda: _times(fault("empty_page", total=0, when=mid_paging), PERSISTENT),
        "fail",
    ),
    Scenario("connection refused (server down)", lambda: [], "fail", server_down=True),
]


def config_text(api_url: str, store_url: str | None = None) -> str:
    """A two-topic project whose cold start needs several pages per topic."""
    store = f'[store]\nurl = "{store_url}"\n' if store_url else ""
    return (
        f"max_papers = {MAX_PAPERS}\n"
        '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{api_url}"\ndelay = 0\nbackoff = 0\n'
        f"page_size = {PAGE_SIZE}\nmax_attempts = {MAX_ATTEMPTS}\ntimeout = {TIMEOUT}\n"
        f"max_retry_seconds = 5\n{store}"
    )


def readme_is_whole(text: str, rows_per_topic: int = MAX_PAPERS) -> bool:
    """A complete README of the scenario project: both tables, every row, the end."""
    sections = text.split("\n## ")[1:]
    rows = [section.count("\n| **[") for section in sections]
    return text.endswith("|\n\n") and rows == [rows_per_topic, rows_per_topic]


def check_database(path: Path) -> tuple[int, int]:
    """SQLite integrity and foreign keys, and no paper without its topic link.

    Returns ``(papers, links)``; raises ``AssertionError`` on any violation.
    """
    with sqlite3.connect(path) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()
        foreign = conn.execute("PRAGMA foreign_key_check").fetchall()
        papers = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        links = conn.execute("SELECT count(*) FROM topic_papers").fetchone()[0]
        unlinked = conn.execute(
            "SELECT count(*) FROM papers WHERE id NOT IN (SELECT paper_id FROM topic_papers)"
        ).fetchone()[0]
    if integrity != ("ok",) or foreign or unlinked:
        raise AssertionError(f"database damaged: {integrity}, {foreign[:3]}, {unlinked} unlinked")
    return int(papers), int(links)


def start_update(project: Path, *args: str) -> subprocess.Popen[bytes]:
    """``python -m dailypapers update`` in ``project``, without the caller's DAILYPAPERS_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "dailypapers", "update", *args],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def crash_rounds(project: Path, server: FakeArxiv, rounds: int, seed: int) -> Counter[str]:
    """SIGKILL ``update --force`` at random moments, checking the invariants after each.

    Every round adds a paper, starts an update whose requests are slowed a
    little, and kills it at a random moment within the time a whole run
    takes (measured first), so kills land in every phase: start-up, fetching,
    the store transaction, rendering and the README write. After each round
    the README must be the old one or a whole new one and the database must
    pass :func:`check_database`. Returns what happened, by kind.
    """
    rng = random.Random(seed)
    readme, db = project / "README.md", project / ".dailypapers" / "papers.db"
    top = max(server.papers, key=lambda p: p.updated)
    tally: Counter[str] = Counter()
    duration = _timed_round(project, server)
    stored_before, _ = check_database(db)  # also the cold start: rounds are incremental
    for number in range(rounds):
        arrival = top.with_changes(
            id=f"2506.{number:05d}",
            title=f"Reward Model {number}",
            updated=top.updated + timedelta(hours=number + 1),
        )
        server.add_papers([arrival])
        server.clear_faults()
        server.inject(*[fault("slow", seconds=SLOW_REQUEST)] * 4)
        before = readme.read_bytes()
        process = start_update(project, "--force")
        time.sleep(rng.uniform(0.2, 1.1) * duration)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        after = readme.read_bytes()
        if not (after == before or readme_is_whole(after.decode("utf-8"))):
            raise AssertionError(f"round {number}: README partial after SIGKILL")
        stored, _ = check_database(db)
        tally[_phase(killed, stored > stored_before, after != before)] += 1
        stored_before = stored
    return tally


SLOW_REQUEST = 0.1


def _timed_round(project: Path, server: FakeArxiv) -> float:
    server.inject(*[fault("slow", seconds=SLOW_REQUEST)] * 4)
    process = start_update(project, "--force")
    process.wait(timeout=120)  # the cold start
    server.clear_faults()
    server.inject(*[fault("slow", seconds=SLOW_REQUEST)] * 4)
    started = time.monotonic()
    if start_update(project, "--force").wait(timeout=120) != 0:
        raise AssertionError("an uninterrupted update failed")
    return time.monotonic() - started


def _phase(killed: bool, stored: bool, rewritten: bool) -> str:
    if not killed:
        return "finished"
    if rewritten:
        return "killed after the README write"
    if stored:
        return "killed after the store commit, before the README write"
    return "killed before the store commit"
