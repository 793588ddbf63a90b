"""Benchmark: `dailypapers search "reward model"` on a store of 100,000 papers.

Builds (once, then reuses) two SQLite stores of generated papers
(``dailypapers.offline.corpus.synthetic_corpus``) and times the search:

* ``typical``: 5% of the papers are about reward models (about 5,000
  matches), the rest mention "model" or "reward" alone at most, roughly as
  in arXiv's cs listings;
* ``stress``: 75% of the papers contain both words (75,000 candidates to
  rank), the worst case for the full-text ranking.

Times the library call (what the command does after start-up), the command
in-process, and the whole command as a process. Target: under 100 ms.

    python bench/search_bench.py                      # stores in ./bench-store/
    python bench/search_bench.py --papers 20000 --runs 50 --dir /tmp/bench
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from bytecode import installed_env
from dailypapers.cli import cli
from dailypapers.offline.corpus import synthetic_corpus
from dailypapers.search import search
from dailypapers.store import Store, open_store

QUERY = "reward model"


STORES = {
    "typical": {"reward_share": 0.05},
    "stress": {"reward_share": 0.25, "near_miss_share": 0.5},
}


def build(folder: Path, count: int, kind: str) -> Path:
    """The project folder with a config and a store of ``count`` papers (built once)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    db = folder / ".dailypapers" / "papers.db"
    with open_store(f"sqlite:///{db}") as store:
        have = store.count_papers()
        if have != count:
            if have:
                raise SystemExit(f"{db} holds {have} papers, not {count}: use another --dir")
            started = time.perf_counter()
            fill(store, count, kind)
            print(f"built {count} papers in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


def fill(store: Store, count: int, kind: str) -> None:
    shares = STORES[kind]
    papers = synthetic_corpus(
        count,
        reward_share=shares["reward_share"],
        near_miss_share=shares.get("near_miss_share", 0.0),
    )
    now = datetime.now(UTC)
    for start in range(0, count, 10_000):
        chunk = papers[start : start + 10_000]
        with store.transaction() as conn:
            store.save_papers(conn, chunk, now)
            topic = store.topic_id(conn, "Reward Model", "bench")
            store.link(conn, topic, [p.id for p in chunk[::4]], now)


def library_times(folder: Path, runs: int) -> tuple[list[float], int]:
    with open_store(f"sqlite:///{folder / '.dailypapers' / 'papers.db'}") as store:
        matches = len(search(store, QUERY, limit=None))  # also warms the page cache
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            search(store, QUERY, limit=20)
            times.append(time.perf_counter() - started)
    return times, matches


def in_process_times(folder: Path, runs: int) -> list[float]:
    runner = CliRunner()
    config = str(folder / "papers.toml")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = runner.invoke(cli, ["search", QUERY, "--config", config])
        times.append(time.perf_counter() - started)
        assert result.exit_code == 0, result.output
    return times


def cli_times(folder: Path, runs: int, *args: str) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of the command as a new process, per run.

    On a loaded machine the wall time mostly measures the wait for a core;
    the CPU time is what the process itself costs.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env = installed_env(env)
    command = [str(Path(sys.executable).with_name("dailypapers")), *args]
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def describe(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {p95:.1f} | {ms[0]:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--dir", type=Path, default=Path("bench-store"))
    options = parser.parse_args()
    few = max(5, options.runs // 3)
    typical = build(options.dir / "typical", options.papers, "typical")
    stress = build(options.dir / "stress", options.papers, "stress")
    rows = []
    for name, folder in (("typical", typical), ("stress", stress)):
        times, matches = library_times(folder, options.runs)
        rows.append(describe(f"{name}: search() library call, {matches} matches", times))
    rows.append(describe("typical: `search` command in-process", in_process_times(typical, few)))
    walls, cpus = cli_times(typical, few, "search", QUERY)
    rows.append(describe("typical: `dailypapers search` process, wall", walls))
    rows.append(describe("typical: `dailypapers search` process, CPU", cpus))
    walls, cpus = cli_times(typical, few, "--version")
    rows.append(describe("`dailypapers --version` process (start-up), wall", walls))
    rows.append(describe("`dailypapers --version` process (start-up), CPU", cpus))
    print(f"{options.papers} papers per store; limit 20; load average {os.getloadavg()[0]:.1f}")
    versions = f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    print(f"{versions}, {os.cpu_count()} cores")
    print("| what | runs | median ms | p95 ms | min ms |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
