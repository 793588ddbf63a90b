"""Crash safety: SIGKILL ``dailypapers update`` at random points, many times.

After every kill the README is the old one or a complete new one (never
partial), the database passes SQLite's integrity and foreign-key checks and
holds all of a run's papers or none of them; the next run recovers.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from dailypapers.testing.corpus import demo_corpus
from dailypapers.testing.fake_arxiv import FakeArxiv
from dailypapers.testing.faults import fault
from dailypapers.testing.scenarios import check_database, config_text, readme_is_whole

pytestmark = pytest.mark.slow

KILLS = 25


def start_update(project: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "dailypapers.cli", "update"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_at_random_points(tmp_path: Path) -> None:
    rng = random.Random(20251127)
    corpus = demo_corpus()
    top = max(corpus, key=lambda p: p.updated)
    with FakeArxiv(corpus) as server:
        (tmp_path / "papers.toml").write_text(config_text(server.api_url), encoding="utf-8")
        readme, db = tmp_path / "README.md", tmp_path / ".dailypapers" / "papers.db"
        outcomes = {"killed": 0, "finished": 0}
        for round_ in range(KILLS):
            # something new every round, and slow answers so kills land mid-run
            arrival = top.with_changes(
                id=f"2506.{round_:05d}",
                title=f"Reward Model {round_}",
                updated=top.updated + timedelta(hours=round_ + 1),
            )
            server.add_papers([arrival])
            server.clear_faults()
            server.inject(*[fault("slow", seconds=0.3)] * 12)
            before = readme.read_bytes() if readme.exists() else None
            process = start_update(tmp_path)
            time.sleep(rng.uniform(0.1, 1.6))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                outcomes["killed"] += 1
            else:
                outcomes["finished"] += 1
            process.wait(timeout=30)
            if readme.exists():
                after = readme.read_bytes()
                assert after == before or readme_is_whole(after.decode("utf-8"))
            if db.exists():
                check_database(db)
        assert outcomes["killed"] >= KILLS // 3, outcomes
        server.clear_faults()
        final = start_update(tmp_path)
        assert final.wait(timeout=60) == 0
        assert readme_is_whole(readme.read_text(encoding="utf-8"))
        assert "Reward Model 24" in readme.read_text(encoding="utf-8")
        check_database(db)
        assert list(tmp_path.glob(".README.md.*.tmp")) == []
