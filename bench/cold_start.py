"""The 20-topic cold start of ``versus_reference.py --corpus mixed``, repeated, trees side by side.

    python bench/cold_start.py --runs 7                                  # this tree
    python bench/cold_start.py --tree main=/tmp/main --tree now=. --runs 7
    python bench/cold_start.py --text ../shared/data/arxiv-2025.jsonl.xz  # real text
    python bench/cold_start.py --phases          # and each tree's CPU seconds by phase

One ``versus_reference.py`` run measures the cold start once a side, which
on a shared machine is noisy for wall time. This repeats only that case:
each round starts the reference's method and every tree's ``dailypapers
update`` cold (a fresh folder each), in turns, on the mixed corpus's 20
topics against one fake arXiv server (Monday 2025-06-02, the same requests
every round), each as its own process through ``bench/measured.py`` (sleeps
counted, not slept). A tree is a checkout (its ``src/``; ``git archive REV
src bench | tar -x -C DIR`` makes one); its update runs with that ``src``
first on ``PYTHONPATH``. Prints the median CPU, wall (without the waits) and
peak RSS of each, and their ratios to the reference's. ``--text``: the
papers' real titles, abstracts and authors, as ``versus_reference.py --text``.
``--phases``: each tree's update runs through ``bench/phases.py``, and a
second table gives the median CPU seconds up to the end of storing (start-up
and imports included), of the full-text index within it, and after it
(rendering and the rest), and the distinct words the text analysis stemmed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import versus_reference as vr
from bytecode import installed_env
from dailypapers.offline.fake_arxiv import FakeArxiv


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", help="NAME=PATH (default: now=.), repeatable")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--text", type=Path, help="the 2025 sample, arxiv-2025.jsonl.xz: real text")
    parser.add_argument("--phases", action="store_true", help="CPU seconds by phase, too")
    args = parser.parse_args()
    trees = {n: Path(p).resolve() for n, p in (t.split("=", 1) for t in args.tree or ["now=."])}
    corpus = vr.mixed(vr.corpus_texts(parser, args.text))
    when = datetime(*vr.COLD_DAY.timetuple()[:3], *vr.DP_HOUR, tzinfo=UTC)
    results: dict[str, list[vr.Run]] = {name: [] for name in [*trees, "reference"]}
    phases: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    script = "phases.py" if args.phases else "measured.py"
    env = installed_env(os.environ, *(root / "src" for root in trees.values()))
    vr.PROCESS_ENV.clear()
    vr.PROCESS_ENV.update(env)
    with tempfile.TemporaryDirectory() as temp, FakeArxiv(corpus.papers.values()) as server:
        server.feed_day = vr.COLD_DAY
        for _ in range(args.runs):
            for name in results:
                folder = Path(temp) / name
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                if name == "reference":
                    command = ["reference", server.api_url, when.date().isoformat()]
                    run = vr.run_process(server, folder, [*command, *corpus.topics], {})
                else:
                    vr.dailypapers_config(folder, server, corpus.topics)
                    extra = {"BENCH_NOW": when.isoformat(), "DAILYPAPERS_CONFIG": "papers.toml"}
                    extra["PYTHONPATH"] = str(trees[name] / "src")
                    run = vr.run_process(server, folder, ["update"], extra, script)
                    if args.phases:
                        report = folder / "cost.json.phases.json"
                        phases[name].append(json.loads(report.read_text(encoding="utf-8")))
                results[name].append(run)
                print(
                    f"  {name}: {run.requests} requests, {run.bytes:,} B, cpu {run.cpu:.2f} s,"
                    f" wall {run.wall:.2f} s, exit {run.exit_code}",
                    file=sys.stderr,
                )
    ref = {m: median([getattr(r, m) for r in results["reference"]]) for m in ("cpu", "wall")}
    print("| cold start, 20 topics | CPU s | wall s | peak RSS MB | CPU ÷ ref | wall ÷ ref |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, runs in results.items():
        cpu, wall = median([r.cpu for r in runs]), median([r.wall for r in runs])
        rss = median([r.rss_mb for r in runs])
        print(
            f"| {name} | {cpu:.2f} | {wall:.2f} | {rss:.1f} | {cpu / ref['cpu']:.2f} "
            f"| {wall / ref['wall']:.2f} |"
        )
    if args.phases:
        print_phases(phases)
    load = os.getloadavg()
    print(f"(median of {args.runs} rounds, taking turns; load average {load[0]:.1f} at the end)")


def print_phases(phases: dict[str, list[dict[str, float]]]) -> None:
    print()
    print(
        "| CPU s by phase | to the end of storing | of it, the full-text index | after "
        "| distinct words stemmed |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, reports in phases.items():
        stored = median([r["fetch_cpu_s"] for r in reports])
        index = median([r.get("index_cpu_s", 0.0) for r in reports])
        after = median([r["total_cpu_s"] - r["fetch_cpu_s"] for r in reports])
        words = median([r["distinct_words"] for r in reports])
        print(f"| {name} | {stored:.2f} | {index:.2f} | {after:.2f} | {words:,.0f} |")


if __name__ == "__main__":
    main()
