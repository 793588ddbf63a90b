"""What dailypapers costs arXiv, against the reference's method, on the same simulated days.

    python bench/fetch_bench.py                 # 2, 20 and 100 topics; prints Markdown
    python bench/fetch_bench.py --topics 2,20   # quicker
    python bench/fetch_bench.py --write-docs    # also replace the table in docs/benchmarks.md

The project's fake arXiv server (real sockets) serves a corpus generated at
arXiv's daily rates (see ``bench/arxiv_days.py``) and its announcement feed.
Requests and bytes are counted, never slept: implied wall time is
``requests x 3 s`` (arXiv's politeness delay) plus the bytes at
``--bandwidth`` (body bytes; no gzip on either side, HTTP headers not counted).

Timeline (US Eastern): a cold start on Tuesday 2025-06-03 at 01:00, after
Monday's announcement; then one run a day at 01:00 for a week (Wednesday to
the next Tuesday: 5 announcements; Saturday's and Sunday's runs follow none).
"One ordinary day" is the Wednesday run. Each method runs against the same
corpus at the same moments:

* ``api``: ``dailypapers update`` with ``[arxiv] source = "api"`` (defaults);
* ``feed``: ``dailypapers update`` with ``[arxiv] source = "feed"``;
* ``reference``: one request of the newest 100 per keyword per day
  (``ti:"K" OR abs:"K"``, ``AND`` for one word, ``sortBy=lastUpdatedDate``),
  every day including weekends, as the reference's daily job does.

Plus: rendering all outputs for 100 topics x 100 papers, and the peak memory
(``ru_maxrss``) of a 100-topic ``update`` run in a subprocess.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import get_args

sys.path.insert(0, str(Path(__file__).parent))

from arxiv_days import TOPICS, Generator
from dailypapers.arxiv.calendar import EASTERN
from dailypapers.arxiv.client import ArxivClient
from dailypapers.arxiv.feed import feed_day
from dailypapers.config import Output, load_config
from dailypapers.models import Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import render_outputs, run_update
from dailypapers.store import open_store

DELAY = 3.0
COLD_EVENING = date(2025, 6, 2)  # Monday
METHODS = ("api", "feed", "reference")
DOCS = Path(__file__).parent.parent / "docs" / "benchmarks.md"
START_MARK, END_MARK = "<!-- fetch-bench:start -->", "<!-- fetch-bench:end -->"


@dataclass
class Cost:
    """Requests and bytes of one or more runs."""

    requests: int = 0
    bytes: int = 0

    def add(self, requests: int, size: int) -> None:
        self.requests += requests
        self.bytes += size

    def seconds(self, bandwidth: float) -> float:
        return self.requests * DELAY + self.bytes / bandwidth


@dataclass
class Results:
    """Cost per (topics, scenario, method)."""

    costs: dict[tuple[int, str, str], Cost] = field(default_factory=dict)

    def cost(self, topics: int, scenario: str, method: str) -> Cost:
        return self.costs.setdefault((topics, scenario, method), Cost())


def run_times() -> list[datetime]:
    """The cold start, then one run a day at 01:00 US Eastern for a week."""
    first = datetime.combine(feed_day(COLD_EVENING), clock_time(1), EASTERN)
    return [first + timedelta(days=n) for n in range(8)]


def write_config(directory: Path, server: FakeArxiv, topics: list[str], source: str) -> Path:
    lines = [f'[[topics]]\nname = "{name}"\n' for name in topics]
    lines.append(
        f'[arxiv]\napi_url = "{server.api_url}"\nfeed_url = "{server.feed_url}"\n'
        f'source = "{source}"\ndelay = 0\nbackoff = 0\n'
    )
    path = directory / "papers.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def reference_day(client: ArxivClient, topics: list[str]) -> None:
    """The reference's daily fetch: the newest 100 per keyword."""
    for name in topics:
        field_op = "OR" if len(name.split()) > 1 else "AND"
        query = f'ti:"{name}" {field_op} abs:"{name}"'
        client.fetch_page(query, start=0, max_results=100)


class Bench:
    """The simulated week for every topic count and method, in lockstep."""

    def __init__(self, counts: list[int], bandwidth: float, workdir: Path) -> None:
        self.counts, self.bandwidth, self.workdir = counts, bandwidth, workdir
        self.results = Results()
        self.generator = Generator()
        self.corpus: dict[str, Paper] = {}
        self.server = FakeArxiv()

    def prepare(self) -> None:
        topics = TOPICS[: max(self.counts)]
        history = self.generator.history(COLD_EVENING, topics, 110)
        self.add([*history, *self.generator.announcement(COLD_EVENING, topics, self.corpus)])

    def add(self, papers: list[Paper]) -> None:
        self.corpus.update((p.id, p) for p in papers)
        self.server.add_papers(papers)

    def run(self) -> Results:
        with self.server:
            self.prepare()
            times = run_times()
            for index, now in enumerate(times):
                evening = (now - timedelta(days=1)).date()
                if index and self.generator.calendar.announces_on(evening):
                    topics = TOPICS[: max(self.counts)]
                    self.add(self.generator.announcement(evening, topics, self.corpus))
                self.server.feed_day = now.date()
                self.step(index, now)
        return self.results

    def step(self, index: int, now: datetime) -> None:
        scenarios = ["cold"] if index == 0 else (["day", "week"] if index == 1 else ["week"])
        for count in self.counts:
            topics = TOPICS[:count]
            for method in METHODS:
                requests, size = self.measure(count, topics, method, now)
                for scenario in scenarios:
                    self.results.cost(count, scenario, method).add(requests, size)
            print(f"  {now:%a %H:%M} {count} topics done", file=sys.stderr)

    def measure(self, count: int, topics: list[str], method: str, now: datetime) -> tuple[int, int]:
        if method == "reference":
            with ArxivClient(self.server.api_url, delay=0, backoff=0) as client:
                reference_day(client, topics)
                return client.stats.requests, client.stats.bytes_received
        directory = self.workdir / f"{method}-{count}"
        directory.mkdir(exist_ok=True)
        config = load_config(write_config(directory, self.server, topics, method))
        report = run_update(config, now=now)
        if report.status == "failed":
            raise SystemExit(f"{method}, {count} topics, {now}: {report.error}")
        return report.requests, report.bytes


def render_seconds(workdir: Path) -> float:
    """Best of 3: render every output for 100 topics x 100 papers from the store."""
    generator = Generator(seed=7)
    directory = workdir / "render"
    directory.mkdir()
    outputs = ", ".join(f'"{o}"' for o in get_args(Output))
    lines = [f"outputs = [{outputs}]"] + [f'[[topics]]\nname = "{t}"\n' for t in TOPICS]
    (directory / "papers.toml").write_text("\n".join(lines), encoding="utf-8")
    config = load_config(directory / "papers.toml")
    when = datetime(2025, 6, 2, 12, tzinfo=EASTERN)
    from dailypapers.pipeline import save_all
    from dailypapers.sources import TopicFetch, plan_topics

    fetched = [
        TopicFetch(
            plan,
            [generator.paper(when - timedelta(minutes=n), [plan.topic.name]) for n in range(100)],
        )
        for plan in plan_topics(config)
    ]
    with open_store(config.db_url) as store:
        save_all(store, fetched, when)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            render_outputs(config, store, force=True)
            best = min(best, time.perf_counter() - started)
    return best


def peak_memory_mb(workdir: Path, source: str) -> float:
    """ru_maxrss of a 100-topic ``dailypapers update`` (cold start) in a subprocess."""
    generator = Generator(seed=11)
    papers = list(generator.history(COLD_EVENING, TOPICS, 110))
    papers += generator.announcement(COLD_EVENING, TOPICS, {p.id: p for p in papers})
    directory = workdir / f"memory-{source}"
    directory.mkdir()
    with FakeArxiv(papers) as server:
        server.feed_day = feed_day(COLD_EVENING)
        config = write_config(directory, server, TOPICS, source)
        env = {**os.environ, "DAILYPAPERS_CONFIG": str(config)}
        # Linux keeps a forked child's high-water mark across exec, so a child
        # forked from this (large) process would report our size: start it from
        # a small shell, and let it report its own ru_maxrss (kilobytes).
        command = f"{shlex.quote(sys.executable)} -c {shlex.quote(MEASURED)}; :"
        done = subprocess.run(
            ["/bin/sh", "-c", command], env=env, check=True, capture_output=True, text=True
        )
    return int(done.stdout.split("MAXRSS")[-1]) / 1024


MEASURED = """
import resource
from dailypapers.cli import cli
cli(["update"], standalone_mode=False)
print("MAXRSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def table(results: Results, counts: list[int], bandwidth: float) -> str:
    head = (
        "| topics | scenario | method | requests | bytes | implied time | "
        "requests ÷ ref | bytes ÷ ref | time ÷ ref |\n"
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    rows = [head]
    names = {"cold": "(a) cold start", "day": "(b) ordinary day", "week": "(c) week (7 runs)"}
    for count in counts:
        for scenario, label in names.items():
            ref = results.cost(count, scenario, "reference")
            for method in METHODS:
                cost = results.cost(count, scenario, method)
                rows.append(
                    f"| {count} | {label} | {method} | {cost.requests} | {cost.bytes:,} | "
                    f"{cost.seconds(bandwidth):,.0f} s | {_ratio(cost.requests, ref.requests)} | "
                    f"{_ratio(cost.bytes, ref.bytes)} | "
                    f"{_ratio(cost.seconds(bandwidth), ref.seconds(bandwidth))} |"
                )
    return "\n".join(rows)


def _ratio(mine: float, reference: float) -> str:
    return f"{mine / reference:.2f}" if reference else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", default="2,20,100", help="topic counts (default 2,20,100)")
    parser.add_argument("--bandwidth", type=float, default=1.0, help="MB/s (default 1)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    counts = [int(n) for n in args.topics.split(",")]
    bandwidth = args.bandwidth * 1_000_000
    with tempfile.TemporaryDirectory() as temp:
        workdir = Path(temp)
        started = time.perf_counter()
        results = Bench(counts, bandwidth, workdir).run()
        render = render_seconds(workdir)
        memory = {source: peak_memory_mb(workdir, source) for source in ("api", "feed")}
        took = time.perf_counter() - started
    command = "python bench/fetch_bench.py" + (
        f" --topics {args.topics}" if args.topics != "2,20,100" else ""
    )
    text = "\n".join(
        [
            START_MARK,
            f"Command: `{command}` ({took:.0f} s on this machine, "
            f"{datetime.now():%Y-%m-%d}); transfer at {args.bandwidth:g} MB/s.",
            "",
            table(results, counts, bandwidth),
            "",
            "| measure | result | target |",
            "| --- | ---: | ---: |",
            f"| render all outputs, 100 topics × 100 papers | {render:.2f} s | < 1 s |",
            f"| peak memory of a 100-topic update (api, cold start) | {memory['api']:.0f} MB"
            " | < 150 MB |",
            f"| peak memory of a 100-topic update (feed, cold start) | {memory['feed']:.0f} MB"
            " | < 150 MB |",
            END_MARK,
        ]
    )
    print(text)
    if args.write_docs:
        docs = DOCS.read_text(encoding="utf-8")
        before, rest = docs.split(START_MARK, 1)
        after = rest.split(END_MARK, 1)[1]
        DOCS.write_text(before + text + after, encoding="utf-8")


if __name__ == "__main__":
    main()
