"""dailypapers against the reference's method, whole processes, on the same simulated week.

    python bench/versus_reference.py                       # both corpora; prints Markdown
    python bench/versus_reference.py --json out.json       # also every measurement as JSON
    python bench/versus_reference.py --write-docs          # replace the table in docs/benchmarks.md
    python bench/versus_reference.py --page-slack 3.5      # warm pages with 3.5 standard deviations
    python bench/versus_reference.py --text ../shared/data/arxiv-2025.jsonl.xz --write-docs
                                                          # real titles, abstracts and authors

Both sides run as their own processes (``bench/measured.py``) against the
project's fake arXiv server (real sockets), which this process runs:

* ``reference``: ``bench/reference_method.py``, the reference's method
  (urllib + feedparser, the newest 100 per keyword, 5 s between keywords,
  6 tries 30 min apart on an empty result, then the whole run fails), on
  its cron ``30 16 * * 0-4`` (16:30 UTC, Sunday to Thursday: 5 runs a week);
* ``dailypapers``: ``dailypapers update``, all defaults (``[arxiv] source =
  "api"``, 3 s between requests), on the cron its ``workflow`` command
  writes, ``17 6 * * 1-5`` (06:17 UTC, Monday to Friday: 5 runs a week).

Each process pays its own start-up and imports. Sleeps are counted, not
slept ("wait"); "wall" is the process's wall time without them. Requests
and bytes (response bodies) are counted by the server; CPU seconds and peak
RSS by each process itself.

Corpora (``bench/arxiv_days.py`` at arXiv's daily rates for the week):

* ``demo``: the offline demo corpus (the reference README's papers plus
  generated ones) and the reference's two keywords, "Reasoning" (~30 new
  or revised a day) and "Reward Model" (~8);
* ``mixed``: 20 topics: 12 busy (3 to 40 a day), 5 small (20 to 60 matches
  ever, one every few days) and 3 that match nothing (listed last, as a
  topic added on a hunch would be).

Their papers' words are drawn from a short list; ``--text`` gives them real
titles, abstracts and authors instead (``arxiv_days.real_texts``: a real
vocabulary, which stemming and the full-text index grow with), and
``--write-docs`` then fills the second table of docs/benchmarks.md.

Timeline (UTC; arXiv announces at 00:00 UTC Monday to Friday): both sides
start cold on Monday 2025-06-02, then run on their crons for the seven days
Tuesday 2025-06-03 to Monday 2025-06-09. "Ordinary day" is Wednesday; the
"no-news day" is an extra run on Saturday at 12:00 (nothing announced since
Friday's run), not part of the week.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from arxiv_days import TOPICS, Generator, Text, real_texts
from bytecode import installed_env
from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs" / "benchmarks.md"
START_MARK, END_MARK = "<!-- versus-reference:start -->", "<!-- versus-reference:end -->"
TEXT_MARKS = "<!-- versus-reference-text:start -->", "<!-- versus-reference-text:end -->"
METHODS = ("dailypapers", "reference")
COLD_DAY = date(2025, 6, 2)  # Monday
WEEK = [COLD_DAY + timedelta(days=n) for n in range(1, 8)]  # Tuesday .. Monday
ORDINARY_DAY = date(2025, 6, 4)
NO_NEWS = datetime(2025, 6, 7, 12, tzinfo=UTC)
DP_HOUR, REF_HOUR = (6, 17), (16, 30)
BUSY, SMALL = TOPICS[:12], TOPICS[20:25]
EMPTY = ["Tropical Cyclone Genesis", "Lunar Regolith Sintering", "Sign Language Parsing"]
MEASURES = ("requests", "bytes", "wait", "cpu", "wall", "rss_mb")
SKIPS = 7  # runs that end with "no announcement today", for the start-up table


@dataclass
class Run:
    """What one process cost."""

    corpus: str
    method: str
    when: str
    requests: int = 0
    bytes: int = 0
    wait: float = 0.0
    cpu: float = 0.0
    wall: float = 0.0
    rss_mb: float = 0.0
    exit_code: int = 0


@dataclass
class Corpus:
    """Topics, history and the daily announcements of one benchmark corpus."""

    name: str
    topics: list[str]
    generator: Generator
    history: list[Paper] = field(default_factory=list)
    papers: dict[str, Paper] = field(default_factory=dict)

    def announce(self, server: FakeArxiv, day: date) -> None:
        """Add the announcement that arXiv publishes at 00:00 UTC on ``day``, if any."""
        evening = day - timedelta(days=1)
        if self.generator.calendar.announces_on(evening):
            fresh = self.generator.announcement(evening, self.topics, self.papers)
            self.papers.update((p.id, p) for p in fresh)
            server.add_papers(fresh)


def demo(texts: Sequence[Text] = ()) -> Corpus:
    topics = ["Reasoning", "Reward Model"]
    corpus = Corpus("demo", topics, Generator(seed=1, texts=texts))
    corpus.papers = {p.id: p for p in demo_corpus()}
    return corpus


def mixed(texts: Sequence[Text] = ()) -> Corpus:
    rates = {topic: 0.3 for topic in SMALL} | {topic: 0.0 for topic in EMPTY}
    generator = Generator(seed=2, rates=rates, texts=texts)
    corpus = Corpus("mixed", [*BUSY, *SMALL, *EMPTY], generator)
    # Up to Sunday evening's announcement (00:00 UTC Monday), the last one before the
    # cold start (`history` starts at the announcing day strictly before its date).
    history = list(generator.history(COLD_DAY, BUSY, 110))
    for index, topic in enumerate(SMALL):
        history += generator.history(COLD_DAY, [topic], 20 + 10 * index)
    corpus.papers = {p.id: p for p in history}
    return corpus


def corpus_texts(parser: argparse.ArgumentParser, path: Path | None) -> Sequence[Text]:
    """``--text``'s papers, for the corpora's topics; a bad file is the parser's one line."""
    if path is None:
        return ()
    try:
        return real_texts(path, [*BUSY, *SMALL, *EMPTY])  # the demo's topics are busy ones
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        parser.error(f"--text {path}: {exc}")


def dailypapers_config(directory: Path, server: FakeArxiv, topics: list[str]) -> None:
    lines = [f'[[topics]]\nname = "{name}"\n' for name in topics]
    lines.append(f'[arxiv]\napi_url = "{server.api_url}"\nfeed_url = "{server.feed_url}"\n')
    (directory / "papers.toml").write_text("\n".join(lines), encoding="utf-8")


PROCESS_ENV = dict(os.environ)  # with bytecode (``bytecode.installed_env``) once main() starts


def run_process(
    server: FakeArxiv,
    directory: Path,
    args: list[str],
    env: dict[str, str],
    script: str = "measured.py",
) -> Run:
    """One measured process (``script``: ``measured.py`` or ``phases.py``); requests and
    bytes from the server's log."""
    report = directory / "cost.json"
    env = {**PROCESS_ENV, **env, "BENCH_REPORT": str(report)}
    env.pop("DAILYPAPERS_ARXIV_DELAY", None)
    # Linux keeps a forked child's high-water mark across exec, so start the
    # measured process from a small shell, never straight from this process.
    command = " ".join(shlex.quote(a) for a in [sys.executable, str(HERE / script), *args])
    server.reset_log()
    started = time.perf_counter()
    done = subprocess.run(
        ["/bin/sh", "-c", command + "; exit $?"], cwd=directory, env=env, capture_output=True
    )
    wall = time.perf_counter() - started
    cost = json.loads(report.read_text(encoding="utf-8"))
    log = server.requests
    return Run(
        "",
        "",
        "",
        requests=len(log),
        bytes=sum(r.bytes_sent for r in log),
        wait=cost["waited"],
        cpu=cost["cpu"],
        wall=wall,
        rss_mb=cost["maxrss_kb"] / 1024,
        exit_code=done.returncode,
    )


def at(day: date, hour: tuple[int, int]) -> datetime:
    return datetime(day.year, day.month, day.day, *hour, tzinfo=UTC)


class Bench:
    """Both methods on one corpus through the cold day, the week and the no-news day."""

    def __init__(self, corpus: Corpus, workdir: Path) -> None:
        self.corpus, self.workdir = corpus, workdir
        self.server = FakeArxiv(corpus.papers.values())
        self.dirs = {m: workdir / f"{corpus.name}-{m}" for m in METHODS}
        self.runs: list[Run] = []

    def run(self) -> list[Run]:
        for directory in self.dirs.values():
            directory.mkdir()
        with self.server:
            dailypapers_config(self.dirs["dailypapers"], self.server, self.corpus.topics)
            for day in [COLD_DAY, *WEEK]:
                if day != COLD_DAY:
                    self.corpus.announce(self.server, day)
                self.server.feed_day = day
                if day.weekday() < 5:  # Monday to Friday
                    self.measure(
                        "dailypapers", datetime(*day.timetuple()[:3], *DP_HOUR, tzinfo=UTC)
                    )
                if day.weekday() in (6, 0, 1, 2, 3):  # Sunday to Thursday
                    self.measure("reference", datetime(*day.timetuple()[:3], *REF_HOUR, tzinfo=UTC))
                if day == NO_NEWS.date():
                    for method in METHODS:
                        self.measure(method, NO_NEWS, label="no-news")
                    for _ in range(SKIPS):  # nothing since the last run: ends by the calendar
                        self.measure("dailypapers", NO_NEWS + timedelta(hours=6), label="skip")
                        self.baseline()
        return self.runs

    def baseline(self) -> None:
        """``python -c pass`` from the same shell right after a skip: its unit, same load."""
        command = f"{shlex.quote(sys.executable)} -c pass; exit $?"
        started = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", command], capture_output=True, check=True)
        wall = time.perf_counter() - started
        self.runs.append(Run(self.corpus.name, "python -c pass", "pass", wall=wall))

    def measure(self, method: str, when: datetime, label: str = "") -> None:
        directory = self.dirs[method]
        if method == "reference":
            args = ["reference", self.server.api_url, when.date().isoformat(), *self.corpus.topics]
            run = run_process(self.server, directory, args, {})
        else:
            env = {"BENCH_NOW": when.isoformat(), "DAILYPAPERS_CONFIG": "papers.toml"}
            run = run_process(self.server, directory, ["update"], env)
        run.corpus, run.method = self.corpus.name, method
        run.when = label or when.isoformat(timespec="minutes")
        self.runs.append(run)
        print(
            f"  {run.corpus} {method:11} {run.when}: {run.requests} requests, "
            f"{run.bytes:,} B, cpu {run.cpu:.2f} s, exit {run.exit_code}",
            file=sys.stderr,
        )


def startup(repeat: int) -> dict[str, float]:
    """Median wall seconds of ``python -c pass``, ``dailypapers --help`` and ``--version``."""
    script = shutil_which("dailypapers")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "dailypapers --help": [script, "--help"],
    }
    result = {}
    for name, command in commands.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=PROCESS_ENV)
            times.append(time.perf_counter() - started)
        result[name] = sorted(times)[len(times) // 2]
    return result


def shutil_which(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


# --- summaries ---------------------------------------------------------------


def total(runs: list[Run]) -> dict[str, float]:
    sums: dict[str, float] = {m: 0.0 for m in MEASURES}
    for run in runs:
        for measure in MEASURES:
            value = getattr(run, measure)
            sums[measure] = (
                max(sums[measure], value) if measure == "rss_mb" else sums[measure] + value
            )
    return sums


def cases(runs: list[Run], corpus: str) -> dict[str, dict[str, dict[str, float]]]:
    """Per case (cold, each day of the week, week, no-news) and method: the summed costs."""

    def pick(method: str, test: object) -> list[Run]:
        return [r for r in runs if r.corpus == corpus and r.method == method and test(r)]  # type: ignore[operator]

    tests: dict[str, object] = {"cold": lambda r: r.when.startswith(COLD_DAY.isoformat())}
    for day in WEEK:
        tests[f"{day:%a %m-%d}"] = lambda r, d=day: r.when.startswith(d.isoformat())
    tests["week"] = lambda r: r.when[:10] in {d.isoformat() for d in WEEK}
    tests["no-news"] = lambda r: r.when == "no-news"
    return {case: {m: total(pick(m, test)) for m in METHODS} for case, test in tests.items()}


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}" if theirs else ("0.00" if not mine else "∞")


def table(summary: dict[str, dict[str, dict[str, float]]], corpus: str, topics: int) -> str:
    head = (
        f"**{corpus}** ({topics} topics): dailypapers ÷ reference, and the two sides' figures\n\n"
        "| case | requests | bytes | wait | CPU | wall w/o waits | peak RSS | "
        "dailypapers (req / KB / wait s / CPU s / RSS MB) | reference (same) |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    )
    rows = [head]
    for case, sides in summary.items():
        ours, ref = sides["dailypapers"], sides["reference"]
        both = ours["cpu"] > 0 and ref["cpu"] > 0  # a side that did not run has no ratio
        cells = [ratio(ours[m], ref[m]) if both else "—" for m in MEASURES]
        rows.append(f"| {case} | " + " | ".join(cells) + f" | {_side(ours)} | {_side(ref)} |")
    return "\n".join(rows)


def _side(cost: dict[str, float]) -> str:
    if not cost["requests"] and not cost["cpu"]:
        return "no run"
    return (
        f"{cost['requests']:.0f} / {cost['bytes'] / 1000:,.0f} / {cost['wait']:,.0f} / "
        f"{cost['cpu']:.2f} / {cost['rss_mb']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="demo,mixed", help="demo, mixed or both (default)")
    parser.add_argument("--json", type=Path, help="write every run and summary as JSON")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--page-slack",
        type=float,
        help="standard deviations of slack in warm pages (default: dailypapers' PAGE_SLACK)",
    )
    parser.add_argument(
        "--text",
        type=Path,
        help="the 2025 sample (arxiv-2025.jsonl.xz): real titles, abstracts and authors",
    )
    args = parser.parse_args()
    if args.page_slack is not None and args.write_docs:
        parser.error("--write-docs measures the defaults: leave out --page-slack")
    if args.page_slack is not None:  # read by bench/measured.py in each dailypapers process
        os.environ["BENCH_PAGE_SLACK"] = str(args.page_slack)
    makers = {"demo": demo, "mixed": mixed}
    started = time.perf_counter()
    runs: list[Run] = []
    texts = corpus_texts(parser, args.text)
    corpora = [makers[name](texts) for name in args.corpus.split(",")]
    with tempfile.TemporaryDirectory() as temp:
        PROCESS_ENV.update(installed_env(os.environ))
        PROCESS_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        for corpus in corpora:
            runs += Bench(corpus, Path(temp)).run()
        starts = startup(repeat=7)
    took = time.perf_counter() - started
    summaries = {c.name: cases(runs, c.name) for c in corpora}
    command = "python bench/versus_reference.py" + (
        f" --corpus {args.corpus}" if args.corpus != "demo,mixed" else ""
    )
    if args.page_slack is not None:
        command += f" --page-slack {args.page_slack:g}"
    if args.text:
        command += f" --text {args.text}"
    start_mark, end_mark = TEXT_MARKS if args.text else (START_MARK, END_MARK)

    parts = [
        start_mark,
        f"Command: `{command}` ({took:.0f} s, {datetime.now():%Y-%m-%d}). Ratios are "
        "dailypapers ÷ reference (below 1: dailypapers costs less); “—”: one side has "
        "no run that day (their crons differ: compare the weeks).",
        "",
    ]
    for corpus in corpora:
        parts += [table(summaries[corpus.name], corpus.name, len(corpus.topics)), ""]
    base = starts["python -c pass"]
    rows = [(name, value, base) for name, value in starts.items()]
    skipped = sorted(r.wall for r in runs if r.when == "skip")
    if skipped:  # runs that end with "no announcement today", as their own processes
        # each followed by `python -c pass` (same shell, same moment): the ratio's unit
        passes = sorted(r.wall for r in runs if r.when == "pass")
        value, base = skipped[len(skipped) // 2], passes[len(passes) // 2]
        starts["dailypapers update (no announcement today)"] = value
        starts["python -c pass (after each skip)"] = base
        rows += [("python -c pass (after each skip)", base, base)]
        rows += [("dailypapers update (no announcement today)", value, base)]
    parts += [
        "| start-up (median of 7 processes) | wall | ÷ `python -c pass` |",
        "| --- | ---: | ---: |",
        *(
            f"| `{name}` | {value * 1000:.0f} ms | {value / unit:.1f} |"
            for name, value, unit in rows
        ),
        end_mark,
    ]
    text = "\n".join(parts)
    print(text)
    if args.json:
        data = {"runs": [asdict(r) for r in runs], "summaries": summaries, "startup": starts}
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    if args.write_docs:
        docs = DOCS.read_text(encoding="utf-8")
        before, rest = docs.split(start_mark, 1)
        DOCS.write_text(before + text + rest.split(end_mark, 1)[1], encoding="utf-8")


if __name__ == "__main__":
    main()
