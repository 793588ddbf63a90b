"""A smoke run of the scale benchmark (the real run is by hand: see docs/benchmarks.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "bench" / "scale_bench.py"


@pytest.mark.slow
def test_scale_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    command = [sys.executable, str(BENCH), "--papers", "2000", "--day", "100"]
    done = subprocess.run(
        [*command, "--backend", "sqlite", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())["sqlite"]
    assert figures["papers_in_store"] == 2000 + 100
    assert figures["ingest-oai"]["papers"] == 100
    # Cold topics evaluate only their full-text candidates (date-only topics: every paper).
    assert 0 < figures["local-cold"]["evaluated_pairs"] < 20 * 2000
    assert figures["search"]["protein folding"]["matches"] > 0
    assert all(q["median_ms"] > 0 for q in figures["search"].values() if isinstance(q, dict))
    assert 0 < figures["local-day"]["evaluated_pairs"] < 20 * 2000
    assert all(phase["peak_rss_mb"] > 0 for k, phase in figures.items() if isinstance(phase, dict))
