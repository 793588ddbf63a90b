"""Two runs on one project at once: the second waits for the lock, or says why not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from support.scenarios import TIMEOUT, config_text

pytestmark = pytest.mark.slow
NOW = "2025-05-14T12:00:00+00:00"  # a Wednesday: arXiv announced that morning


def run(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env["DAILYPAPERS_NOW"] = NOW  # arXiv's calendar never depends on the real weekday
    return subprocess.Popen(
        [sys.executable, "-m", "dailypapers", "update", *args],
        cwd=project,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def patient_config(api_url: str) -> str:
    """The scenario project, with a read timeout longer than any hold of the gate."""
    return config_text(api_url).replace(f"timeout = {TIMEOUT}\n", "timeout = 120\n")


def test_second_run_exits_with_a_clear_message(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(patient_config(server.api_url), encoding="utf-8")
        gate = server.hold()  # the first run holds the lock until the test lets it go
        first = run(tmp_path)
        assert gate.wait_for_request(), "the first run never reached arXiv"
        second = run(tmp_path, "--wait", "0")
        _, err = second.communicate(timeout=60)
        gate.release()
        assert second.returncode == 1
        assert err.strip().splitlines()[-1].startswith("dailypapers: failed: another dailypapers")
        assert "Traceback" not in err
        assert first.wait(timeout=60) == 0


def test_second_run_waits_and_then_finds_no_announcement(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(patient_config(server.api_url), encoding="utf-8")
        gate = server.hold()
        first = run(tmp_path)
        assert gate.wait_for_request(), "the first run never reached arXiv"
        second = run(tmp_path, "--wait", "60")
        assert second.stderr is not None
        # The first run is still held at the gate: the second must be waiting for it.
        waiting = second.stderr.readline()
        assert waiting.startswith("waiting up to 60 s for another dailypapers run"), waiting
        assert first.poll() is None and second.poll() is None
        gate.release()
        first_out, _ = first.communicate(timeout=60)
        second_out, err = second.communicate(timeout=60)
        assert first.returncode == 0 and first_out.startswith("updated (")
        assert second.returncode == 0, err
        # Same clock for both: arXiv's calendar says nothing was announced since
        # the first run, so the second asks nothing (the cold start's 6 pages only).
        assert second_out.startswith(("no announcement today", "nothing new since the last run")), (
            second_out
        )
        assert len(server.requests) == 6
