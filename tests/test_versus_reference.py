"""The benchmark's copy of the reference's method does what the reference does.

Runs ``bench/measured.py reference`` against the fake arXiv server: one
request of the newest 100 per keyword, 5 s counted after each, and on an
empty result 6 tries with 30 min counted after each, then the run fails and
the README is left as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv

MEASURED = Path(__file__).parent.parent / "bench" / "measured.py"


def _reference(server: FakeArxiv, directory: Path, *keywords: str) -> tuple[int, dict[str, float]]:
    report = directory / "cost.json"
    done = subprocess.run(
        [sys.executable, str(MEASURED), "reference", server.api_url, "2025-06-04", *keywords],
        cwd=directory,
        env={**os.environ, "BENCH_REPORT": str(report)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(report.read_text())


def test_one_request_of_100_per_keyword(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        code, cost = _reference(server, tmp_path, "Reasoning", "Reward Model")
        params = [r.params for r in server.requests]
    assert code == 0
    assert [p["search_query"] for p in params] == [
        'ti:"Reasoning" AND abs:"Reasoning"',
        'ti:"Reward Model" OR abs:"Reward Model"',
    ]
    assert {p["max_results"] for p in params} == {"100"}
    assert cost["waited"] == 10  # 5 s after each keyword, counted not slept
    readme = (tmp_path / "README.md").read_text()
    assert "Last update: 2025-06-04" in readme
    assert readme.count("| **[") == 200 - 1  # the demo's reward-model paper outside cs/stat


def test_an_empty_keyword_costs_six_tries_and_fails_the_run(tmp_path: Path) -> None:
    with FakeArxiv(demo_corpus()) as server:
        code, cost = _reference(server, tmp_path, "Reasoning", "Lunar Regolith Sintering")
        queries = [r.params["search_query"] for r in server.requests]
    assert code != 0
    assert len(queries) == 1 + 6 and queries.count(queries[-1]) == 6
    assert cost["waited"] == 5 + 6 * 30 * 60
    assert "Last update: never" in (tmp_path / "README.md").read_text()  # restored


def test_dailypapers_side_reads_the_benchmark_clock(tmp_path: Path) -> None:
    now = datetime(2025, 4, 28, 3, 17, tzinfo=UTC)
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(
            f'[[topics]]\nname = "Reasoning"\n[arxiv]\napi_url = "{server.api_url}"\n'
        )
        report = tmp_path / "cost.json"
        done = subprocess.run(
            [sys.executable, str(MEASURED), "update"],
            cwd=tmp_path,
            env={**os.environ, "BENCH_REPORT": str(report), "BENCH_NOW": now.isoformat()},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert "Last update: 2025-04-2" in (tmp_path / "README.md").read_text()
    assert json.loads(report.read_text())["cpu"] > 0
