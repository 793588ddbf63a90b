"""Crash safety: SIGKILL ``dailypapers update`` at random points, many times.

After every kill the README is the old one or a complete new one (never
partial), the database passes SQLite's integrity and foreign-key checks and
holds all of a run's papers or none of them; the next run recovers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from support.scenarios import (
    check_database,
    config_text,
    crash_rounds,
    readme_is_whole,
    start_update,
)

pytestmark = pytest.mark.slow

KILLS = 25


def test_sigkill_at_random_points(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(config_text(server.api_url), encoding="utf-8")
        tally = crash_rounds(tmp_path, server, KILLS, seed=20251127)
        killed = sum(n for kind, n in tally.items() if kind.startswith("killed"))
        assert killed >= KILLS // 3, tally
        server.clear_faults()
        assert start_update(tmp_path, "--force").wait(timeout=60) == 0
        readme = (tmp_path / "README.md").read_text(encoding="utf-8")
        assert readme_is_whole(readme)
        assert f"Reward Model {KILLS - 1}" in readme
        check_database(tmp_path / ".dailypapers" / "papers.db")
        assert list(tmp_path.glob(".README.md.*.tmp")) == []
