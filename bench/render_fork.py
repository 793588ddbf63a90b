"""What the forked render costs: all four outputs at 100 x 100, forked and in one process.

    python bench/render_fork.py

Stores 100 topics x 100 papers (as ``bench/render_memory.py``), renders all
four outputs once (the outputs of the day before), then renders them with
``force`` 5 times each way, in turns: forked (the feeds and ``papers.json``
in a child, ``dailypapers.publish.forked``, taken whatever the machine's
load) and in one process (the fork declined). Prints the best wall time,
the median CPU seconds (this process's and the child's) and minor page
faults (copy-on-write copies) of each way. The seconds move with the
machine's load; the CPU and the faults much less. Then the peak RSS of one
such render each way, as its own process (``ru_maxrss`` of the process and
of its child).
"""

from __future__ import annotations

import json
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import get_args

sys.path.insert(0, str(Path(__file__).parent))

from arxiv_days import TOPICS, Generator
from dailypapers.arxiv.calendar import EASTERN
from dailypapers.config import Output, load_config
from dailypapers.pipeline import render_outputs, save_all
from dailypapers.publish import forked
from dailypapers.sources import TopicFetch, plan_topics
from dailypapers.store import open_store

ROUNDS = 5
# One render in its own process: its peak RSS and its child's (kilobytes), as JSON.
PEAK = """
import json, resource, sys
from pathlib import Path
from dailypapers.config import load_config
from dailypapers.pipeline import render_outputs
from dailypapers.publish import forked
from dailypapers.store import open_store
forked._a_core_is_free = (lambda: True) if sys.argv[2] == "fork" else (lambda: False)
config = load_config(Path(sys.argv[1]))
with open_store(config.db_url) as store:
    render_outputs(config, store, force=True)
whose = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
print(json.dumps([resource.getrusage(who).ru_maxrss for who in whose]))
"""


def peak_mb(path: Path, way: str) -> tuple[float, float]:
    """Peak RSS (MB) of a process rendering ``path``'s outputs once, and of its child."""
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-c", PEAK, str(path), way])
    # From a small shell: a child forked from this process would inherit its high-water mark.
    done = subprocess.run(["/bin/sh", "-c", f"{command}; :"], capture_output=True, check=True)
    own, child = json.loads(done.stdout.decode().splitlines()[-1])
    return own / 1024, child / 1024


def usage() -> tuple[float, float, int]:
    """CPU seconds of this process and of its children, and their minor page faults."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        own.ru_utime + own.ru_stime,
        children.ru_utime + children.ru_stime,
        own.ru_minflt + children.ru_minflt,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        quoted = ", ".join(f'"{o}"' for o in get_args(Output))
        lines = [f"outputs = [{quoted}]"] + [f'[[topics]]\nname = "{t}"\n' for t in TOPICS]
        (directory / "papers.toml").write_text("\n".join(lines), encoding="utf-8")
        config = load_config(directory / "papers.toml")
        when = datetime(2025, 6, 2, 12, tzinfo=EASTERN)
        generator = Generator(seed=7)
        minutes = [when - timedelta(minutes=n) for n in range(100)]
        figures: dict[bool, list[tuple[float, float, float, int]]] = {True: [], False: []}
        with open_store(config.db_url) as store:
            fetched = [
                TopicFetch(plan, [generator.paper(at, [plan.topic.name]) for at in minutes])
                for plan in plan_topics(config)
            ]
            save_all(store, fetched, when)
            render_outputs(config, store, force=True)
            for _ in range(ROUNDS):
                for fork in (True, False):
                    forked._a_core_is_free = (lambda: True) if fork else (lambda: False)
                    own, child, faults = usage()
                    started = time.perf_counter()
                    render_outputs(config, store, force=True)
                    wall = time.perf_counter() - started
                    own2, child2, faults2 = usage()
                    figures[fork].append((wall, own2 - own, child2 - child, faults2 - faults))
        peaks = {way: peak_mb(directory / "papers.toml", way) for way in ("fork", "one")}
    print(
        "| 100 × 100, all four, `--force` | best wall | CPU: process + child | minor faults"
        " | peak RSS: process, child |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for fork, way, label in ((True, "fork", "forked"), (False, "one", "one process")):
        rows = figures[fork]
        own_cpu = statistics.median(r[1] for r in rows)
        child_cpu = statistics.median(r[2] for r in rows)
        own_mb, child_mb = peaks[way]
        print(
            f"| {label} | {min(r[0] for r in rows):.2f} s | {own_cpu:.2f} + {child_cpu:.2f} s"
            f" | {statistics.median(r[3] for r in rows):,.0f} | {own_mb:.0f}, {child_mb:.0f} MB |"
        )


if __name__ == "__main__":
    main()
