"""Rendering time (all outputs vs the README alone) and the memory of a 100-topic cold update.

    python bench/render_memory.py            # prints Markdown
    python bench/render_memory.py --json out.json

* render: 100 topics x 100 papers (10,000 papers, real-sized: see
  ``bench/arxiv_days.py``) stored once; then the README alone, and all four
  outputs (README, ``papers.json``, 101 Atom feeds, the site), each rendered
  from the store with ``force`` (the per-paper memos are cleared after each
  render, as in a daily run); and all four again with every published file
  given other bytes before the render (a day on which every output
  changed: nothing is linked from the old trees, whose removal frees
  durable blocks). The three take turns for 5 rounds; each figure is the
  best of its 5, and the ratio is also given as the median of the rounds'.
  The ratio holds on a loaded machine too; the seconds do not.
* memory: peak RSS of ``dailypapers update`` (API source, cold start, 20
  and 100 topics) as its own process, through ``bench/measured.py`` (which
  counts the politeness waits instead of sleeping them). ``--before SRC``
  measures the same updates with another checkout's ``src`` (say the base
  commit's, from ``git archive``) on ``PYTHONPATH``, interleaved with these,
  in the same run; ``--memory-only`` skips the render part, ``--render-only``
  the memory part.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import get_args

sys.path.insert(0, str(Path(__file__).parent))

from arxiv_days import TOPICS, Generator
from dailypapers.arxiv.calendar import EASTERN
from dailypapers.config import Output, load_config
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import render_outputs, save_all
from dailypapers.sources import TopicFetch, plan_topics
from dailypapers.store import open_store

HERE = Path(__file__).parent
COLD = date(2025, 6, 2)


ROUNDS = 5


def render_seconds(workdir: Path) -> dict[str, float]:
    """Best of ``ROUNDS`` for the README alone, every output, and every output changed.

    The three renders take turns, round after round, on one store, so that a
    change of the machine's load reaches all three alike; ``ratio`` is the
    median of the rounds' all-four ÷ README-alone ratios.
    """
    generator = Generator(seed=7)
    directory = workdir / "render"
    directory.mkdir()
    when = datetime(2025, 6, 2, 12, tzinfo=EASTERN)
    every = list(get_args(Output))
    configs = {}
    for label, outputs in (("readme", ["readme"]), ("all", every)):
        quoted = ", ".join(f'"{o}"' for o in outputs)
        lines = [f"outputs = [{quoted}]"] + [f'[[topics]]\nname = "{t}"\n' for t in TOPICS]
        (directory / f"{label}.toml").write_text("\n".join(lines), encoding="utf-8")
        configs[label] = load_config(directory / f"{label}.toml")
    configs["changed"] = configs["all"]
    seconds: dict[str, list[float]] = {label: [] for label in configs}
    with open_store(configs["readme"].db_url) as store:
        minutes = [when - timedelta(minutes=n) for n in range(100)]
        fetched = [
            TopicFetch(plan, [generator.paper(at, [plan.topic.name]) for at in minutes])
            for plan in plan_topics(configs["readme"])
        ]
        save_all(store, fetched, when)
        render_outputs(configs["all"], store, force=True)  # the outputs of the day before
        for _ in range(ROUNDS):
            for label, config in configs.items():
                if label == "changed":
                    change_published(directory)
                started = time.perf_counter()
                render_outputs(config, store, force=True)
                seconds[label].append(time.perf_counter() - started)
    results = {label: min(values) for label, values in seconds.items()}
    ratios = sorted(a / r for a, r in zip(seconds["all"], seconds["readme"], strict=True))
    results["ratio"] = ratios[len(ratios) // 2]
    return results


def change_published(directory: Path) -> None:
    """Give every published file other bytes, made durable (as yesterday's outputs are)."""
    for path in directory.rglob("*"):
        if path.is_file() and ".dailypapers" not in path.parts and path.suffix != ".toml":
            with open(path, "ab") as handle:
                handle.write(b" ")
    os.sync()


def cold_update_rss_mb(workdir: Path, topics: int, src: Path | None = None) -> float:
    """Peak RSS of a cold ``dailypapers update`` of ``topics`` topics, as its own process.

    ``src``: a checkout's ``src`` folder to import dailypapers from instead.
    """
    return float(cold_update(workdir, topics, src)["maxrss_kb"]) / 1024


def cold_update_phases_mb(workdir: Path, topics: int, src: Path | None = None) -> dict[str, float]:
    """The same update through ``bench/phases.py``: the peak of its fetch and of its render,
    and its resident size between them (Linux)."""
    return cold_update(workdir, topics, src, script="phases.py")


def cold_update(
    workdir: Path, topics: int, src: Path | None = None, script: str = "measured.py"
) -> dict[str, float]:
    """Run a cold update through ``script``; returns what it reported."""
    generator = Generator(seed=11)
    chosen = TOPICS[:topics]
    papers = list(generator.history(COLD - timedelta(days=1), chosen, 110))
    directory = workdir / f"memory-{topics}{'-before' if src else ''}-{Path(script).stem}"
    directory.mkdir()
    with FakeArxiv(papers) as server:
        lines = [f'[[topics]]\nname = "{name}"\n' for name in chosen]
        lines.append(f'[arxiv]\napi_url = "{server.api_url}"\n')
        (directory / "papers.toml").write_text("\n".join(lines), encoding="utf-8")
        report = directory / "cost.json"
        env = {
            **os.environ,
            "BENCH_REPORT": str(report),
            "BENCH_NOW": datetime(2025, 6, 2, 3, 17, tzinfo=UTC).isoformat(),
            "DAILYPAPERS_CONFIG": "papers.toml",
        }
        if src is not None:
            env["PYTHONPATH"] = str(src.resolve())
        command = " ".join(shlex.quote(a) for a in [sys.executable, str(HERE / script)])
        # From a small shell: a child forked from this process would inherit its high-water mark.
        subprocess.run(
            ["/bin/sh", "-c", f"{command} update; :"],
            cwd=directory,
            env=env,
            check=True,
            capture_output=True,
        )
    figures: dict[str, float] = json.loads(report.read_text())
    phases = report.with_name(report.name + ".phases.json")
    if phases.exists():
        figures.update(json.loads(phases.read_text()))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--memory-only", action="store_true", help="skip the render part")
    parser.add_argument("--render-only", action="store_true", help="skip the memory part")
    parser.add_argument(
        "--before", type=Path, help="also measure the memory with this src folder, interleaved"
    )
    parser.add_argument(
        "--phases", action="store_true", help="the 100-topic update's phases too (Linux)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        workdir = Path(temp)
        render = {} if args.memory_only else render_seconds(workdir)
        memory, before = {}, {}
        for n in () if args.render_only else (20, 100):
            if args.before:
                before[n] = cold_update_rss_mb(workdir, n, args.before)
            memory[n] = cold_update_rss_mb(workdir, n)
        phases = {}
        if args.phases:
            if args.before:
                phases["before"] = cold_update_phases_mb(workdir, 100, args.before)
            phases["now"] = cold_update_phases_mb(workdir, 100)
    figures = {"render": render, "rss_mb": memory, "rss_mb_before": before, "phases": phases}
    print(
        f"Command: `{' '.join(['python', 'bench/render_memory.py', *sys.argv[1:]])}`"
        f" ({datetime.now():%Y-%m-%d}, load average {os.getloadavg()[0]:.1f}).\n"
    )
    print("\n".join(table(render, memory, before)))
    for side, values in phases.items():
        print(
            f"\n100 topics, {side}: fetch phase peak {values['fetch_peak_mb']:.0f} MB,"
            f" {values['render_start_mb']:.0f} MB when rendering starts,"
            f" render phase peak {values['render_peak_mb']:.0f} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


def table(
    render: dict[str, float], memory: dict[int, float], before: dict[int, float]
) -> list[str]:
    """The figures as a Markdown table (a "before" column when measured)."""
    was = " | before" if before else ""
    lines = [
        f"| measure{was} | result | target |",
        f"| ---{' | ---:' if before else ''} | ---: | ---: |",
    ]
    if render:
        lines += [
            f"| render README alone, 100 topics × 100 papers |{' |' if before else ''}"
            f" {render['readme']:.2f} s | |",
            f"| render all four outputs, 100 × 100 |{' |' if before else ''} {render['all']:.2f} s"
            " | < 1 s |",
            f"| all four ÷ README alone |{' |' if before else ''}"
            f" {render['all'] / render['readme']:.1f} (median of the rounds:"
            f" {render['ratio']:.1f}) | ≤ 4 |",
            f"| all four, every published file changed |{' |' if before else ''}"
            f" {render['changed']:.2f} s | |",
            f"| the same ÷ README alone |{' |' if before else ''}"
            f" {render['changed'] / render['readme']:.1f} | |",
        ]
    for n, target in ((20, ""), (100, "< 120 MB")):
        if n not in memory:
            continue
        old = f" {before[n]:.0f} MB |" if before else ""
        lines.append(
            f"| peak RSS, cold `update`, {n} topics |{old} {memory[n]:.0f} MB | {target} |"
        )
    return lines


if __name__ == "__main__":
    main()
