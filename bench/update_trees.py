"""CPU, wall and peak RSS of a 2-topic ``dailypapers update``, for source trees side by side.

    python bench/update_trees.py --tree before=/tmp/before --tree after=. --runs 7
    python bench/update_trees.py --tree after=. --runs 1 --importtime   # also -X importtime

Each tree is a checkout (its ``src/`` and ``bench/``; ``git archive REV src
bench | tar -x -C DIR`` makes one of an older commit); its ``update`` runs
as ``bench/measured.py`` does in ``bench/versus_reference.py`` (its own
process, sleeps counted, not slept), cold, on the demo corpus's two topics
against the fake arXiv server, Wednesday 2025-06-04 06:17 UTC. The trees
take turns, so a loaded machine weighs on each alike: compare their medians
within one run. With ``--importtime`` each tree's last run leaves Python's
``-X importtime`` report in ``importtime-NAME.txt`` (current folder).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bytecode import installed_env
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv

NOW = "2025-06-04T06:17:00+00:00"
TOPICS = ("Reasoning", "Reward Model")


def run_once(
    root: Path, project: Path, server: FakeArxiv, importtime: bool, base: dict[str, str]
) -> dict[str, float]:
    """One cold update by the tree at ``root`` in ``project``: CPU s, wall s, RSS MB."""
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir()
    topics = "".join(f'[[topics]]\nname = "{name}"\n\n' for name in TOPICS)
    arxiv = f'[arxiv]\napi_url = "{server.api_url}"\nfeed_url = "{server.feed_url}"\n'
    (project / "papers.toml").write_text(topics + arxiv, encoding="utf-8")
    report = project / "cost.json"
    env = {**base, "PYTHONPATH": str(root / "src"), "BENCH_NOW": NOW}
    env |= {"DAILYPAPERS_CONFIG": "papers.toml", "BENCH_REPORT": str(report)}
    env.pop("DAILYPAPERS_ARXIV_DELAY", None)
    flags = ["-X", "importtime"] if importtime else []
    command = [sys.executable, *flags, str(root / "bench" / "measured.py"), "update"]
    started = time.perf_counter()
    done = subprocess.run(
        ["/bin/sh", "-c", shlex.join(command) + "; exit $?"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{root}: exit {done.returncode}: {done.stderr[-1000:]}")
    if importtime:
        Path(f"importtime-{project.name}.txt").write_text(done.stderr, encoding="utf-8")
    cost = json.loads(report.read_text(encoding="utf-8"))
    return {"cpu": cost["cpu"], "wall": wall, "rss": cost["maxrss_kb"] / 1024}


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH, repeatable")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    trees = {name: Path(path).resolve() for name, path in (t.split("=", 1) for t in args.tree)}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as temp, FakeArxiv(demo_corpus()) as server:
        env = installed_env(os.environ, *(root / "src" for root in trees.values()))
        for _ in range(args.runs):
            for name, root in trees.items():
                cost = run_once(root, Path(temp) / name, server, args.importtime, env)
                results[name].append(cost)
    first = next(iter(results))
    print("| tree | CPU s | wall s | peak RSS MB | CPU ÷ " + first + " |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, runs in results.items():
        cpu = median([r["cpu"] for r in runs])
        base = median([r["cpu"] for r in results[first]])
        wall, rss = median([r["wall"] for r in runs]), median([r["rss"] for r in runs])
        print(f"| {name} | {cpu:.3f} | {wall:.2f} | {rss:.0f} | {cpu / base:.2f} |")
    print(f"(median of {args.runs} runs each, taking turns)")


if __name__ == "__main__":
    main()
