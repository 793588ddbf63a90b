"""Two runs on one project at once: the second waits for the lock, or says why not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import fault
from support.scenarios import config_text

pytestmark = pytest.mark.slow


def run(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "dailypapers", "update", *args],
        cwd=project,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_lock_holder(project: Path, server: FakeArxiv) -> None:
    deadline = time.monotonic() + 20
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.requests, "the first run never reached arXiv"


def test_second_run_exits_with_a_clear_message(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(config_text(server.api_url), encoding="utf-8")
        server.inject(*[fault("slow", seconds=0.3)] * 6)
        first = run(tmp_path)
        wait_for_lock_holder(tmp_path, server)
        second = run(tmp_path, "--wait", "0")
        _, err = second.communicate(timeout=30)
        assert second.returncode == 1
        assert err.strip().splitlines()[-1].startswith("dailypapers: failed: another dailypapers")
        assert "Traceback" not in err
        assert first.wait(timeout=60) == 0


def test_second_run_waits_and_then_finds_nothing_new(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(config_text(server.api_url), encoding="utf-8")
        server.inject(*[fault("slow", seconds=0.2)] * 6)
        first = run(tmp_path)
        wait_for_lock_holder(tmp_path, server)
        second = run(tmp_path, "--wait", "60")
        first_out, _ = first.communicate(timeout=60)
        second_out, err = second.communicate(timeout=60)
        assert first.returncode == 0 and first_out.startswith("updated (")
        assert second.returncode == 0, err
        assert second_out.startswith(("nothing new for these topics", "no announcement today"))
        starts = [r.params.get("start") for r in server.requests]
        # the cold start's 6 pages; then at most one page per topic (none when
        # arXiv's calendar says nothing was announced since the first run)
        assert len(starts) in (6, 6 + 2)
