"""Scale benchmark: a store of a million generated papers, on SQLite and PostgreSQL.

Measures, each phase in its own subprocess (so its peak RSS is its own):

* ``build``: the generated base of the store (bulk insert, not a target);
* ``ingest-store``: harvest ingest through the store path alone: arXivRaw
  pages of 1,000 records parsed (streaming) and upserted, one transaction a
  page (XML generation excluded from the time);
* ``ingest-oai``: a real harvest through the fake OAI-PMH server (its own
  process, real sockets, no politeness delay);
* ``local-cold``: ``update --source local`` for 20 topics, first run;
* ``local-day``: a day of arXiv (5,000 new papers) stored, then the same
  update again (incremental);
* ``search``: hook for issue 4's ``dailypapers.search`` (reported when present).

Run (about 4 minutes a backend on 2 cores)::

    python bench/scale_bench.py --papers 1000000 --backend both

Targets (issue 7): ingest >= 5,000 papers/s on SQLite; ``update --source
local`` for 20 topics < 2 s at 1M papers; peak memory < 300 MB throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dailypapers import fts
from dailypapers.arxiv.oai import parse_page
from dailypapers.config import load_config
from dailypapers.models import Paper
from dailypapers.offline.corpus import scale_corpus
from dailypapers.offline.fake_oai import list_records_xml
from dailypapers.pipeline import run_update
from dailypapers.schema import paper_row
from dailypapers.sources.local import LocalSource
from dailypapers.sources.local_index import IndexFinder
from dailypapers.store import open_store, papers, utcnow
from search_latency import benchmark

HERE = Path(__file__).resolve()
PAGE = 1000
TOPICS = [
    *(
        f'name = "{name}"'
        for name in (
            "Image Segmentation",
            "Code Generation",
            "Machine Translation",
            "Question Answering",
            "Robot Navigation",
            "Protein Folding",
            "Speech Recognition",
            "Time Series Forecasting",
            "Program Synthesis",
            "Theorem Proving",
        )
    ),
    "name = \"Sparse Verifiers\"\nquery = 'ti:sparse AND ti:verifier'",
    "name = \"Causal Agents\"\nquery = 'ti:causal AND abs:agent'",
    'name = "Robotics"\nquery = \'abs:"robot navigation"\'\ncategories = ["cs.RO"]',
    'name = "Retrieval"\nquery = \'ti:retriever OR ti:retrieval\'\ncategories = ["cs.IR"]',
    'name = "Federated"\nquery = \'ti:federated\'\nexclude = ["dialogue"]',
    "name = \"Tokenizers\"\nquery = 'ti:tokenizer ANDNOT abs:speech'",
    "name = \"Curriculum\"\nquery = 'ti:curriculum AND (cat:cs.LG OR cat:cs.AI)'",
    'name = "Simulators"\nquery = \'ti:simulator AND abs:"robot navigation"\'',
    "name = \"Graph Planners\"\nquery = 'ti:graph AND abs:planner'",
    "name = \"Lovelace\"\nquery = 'au:Lovelace AND ti:benchmark'",
]


def _peak_mb() -> float:
    # VmHWM is this program's own peak; ru_maxrss would carry the parent's
    # peak across fork and exec on Linux.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_corpus(papers: Iterator[Paper], path: Path) -> None:
    """A corpus file for the fake server, written one paper at a time."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write('{"papers": [\n')
        for number, paper in enumerate(papers):
            handle.write((",\n" if number else "") + json.dumps(paper.to_dict()))
        handle.write("\n]}\n")


def _batches(items: Iterator[Paper], size: int) -> Iterator[list[Paper]]:
    batch: list[Paper] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- phases (run in a child process) ------------------------------------------------


def phase_build(url: str, offset: int, count: int) -> dict[str, Any]:
    """Bulk-insert generated papers (plain INSERTs, the fastest way to make the base).

    The full-text index is filled too, as ``Store.save_papers`` would: the local
    source trusts it only when it holds every paper.
    """
    now = utcnow()
    started = time.perf_counter()
    with open_store(url) as store:
        for batch in _batches(scale_corpus(count, offset=offset), 10_000):
            with store.transaction() as conn:
                conn.execute(papers.insert(), [paper_row(p, now) for p in batch])
                fts.index_papers(conn, batch)
    seconds = time.perf_counter() - started
    return {"papers": count, "seconds": seconds, "papers_per_s": count / seconds}


def phase_ingest_store(url: str, offset: int, count: int) -> dict[str, Any]:
    """Parse arXivRaw pages and store them as the harvester does (one transaction a page)."""
    timed = 0.0
    with open_store(url) as store:
        for batch in _batches(scale_corpus(count, offset=offset), PAGE):
            body = list_records_xml(batch, "arXivRaw", "token", {"verb": "ListRecords"}, "x")
            started = time.perf_counter()
            page = parse_page(body)
            found = [r.paper for r in page.records if r.paper]
            now = utcnow()
            store.write(lambda conn, found=found, now=now: store.save_papers(conn, found, now))
            timed += time.perf_counter() - started
    return {"papers": count, "seconds": timed, "papers_per_s": count / timed}


def phase_harvest(url: str, directory: str) -> dict[str, Any]:
    """A real harvest from the fake OAI-PMH server named by DAILYPAPERS_OAI_URL."""
    from dailypapers.harvest import HarvestRequest, run_harvest

    config = load_config(_config(Path(directory), url))
    started = time.perf_counter()
    report = run_harvest(config, HarvestRequest("cs", "arXivRaw"))
    seconds = time.perf_counter() - started
    if report.status != "complete":
        raise SystemExit(f"harvest failed: {report.error}")
    return {"papers": report.records, "seconds": seconds, "papers_per_s": report.records / seconds}


def phase_local(url: str, directory: str, day_offset: int | None, day: int = 0) -> dict[str, Any]:
    """``update --source local`` for the 20 topics; with ``day_offset``, after a day's papers."""
    config = load_config(_config(Path(directory), url))
    extra: dict[str, Any] = {}
    if day_offset is not None:
        with open_store(url) as store:
            fresh = list(scale_corpus(day, seed=7, offset=day_offset))
            store.write(lambda conn: store.save_papers(conn, fresh, utcnow()))
        extra["day_papers"] = len(fresh)
    source = LocalSource(IndexFinder())
    started = time.perf_counter()
    report = run_update(config, source_factory=lambda c: source, now=datetime.now(UTC))
    seconds = time.perf_counter() - started
    if report.error:
        raise SystemExit(f"update failed: {report.error}")
    return {
        "seconds": seconds,
        "evaluated_pairs": source.evaluated,
        "status": report.status,
        **extra,
    }


def phase_search(url: str) -> dict[str, Any]:
    """The search latency (:mod:`search_latency`)."""
    return benchmark(url)


def _config(directory: Path, url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    blocks = "".join(f"[[topics]]\n{topic}\n\n" for topic in TOPICS)
    path = directory / "papers.toml"
    path.write_text(f'{blocks}[store]\nurl = "{url}"\n', encoding="utf-8")
    return path


def child(argv: list[str]) -> None:
    """Entry point of a phase subprocess: prints one JSON line with the phase's figures."""
    name, url, *rest = argv
    phases = {
        "build": lambda: phase_build(url, int(rest[0]), int(rest[1])),
        "ingest-store": lambda: phase_ingest_store(url, int(rest[0]), int(rest[1])),
        "ingest-oai": lambda: phase_harvest(url, rest[0]),
        "local-cold": lambda: phase_local(url, rest[0], None),
        "local-day": lambda: phase_local(url, rest[0], int(rest[1]), int(rest[2])),
        "search": lambda: phase_search(url),
    }
    result = phases[name]()
    result["peak_rss_mb"] = round(_peak_mb(), 1)
    print(json.dumps(result))


# --- orchestration ------------------------------------------------------------------


def run_phase(*args: str, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    command = [*prefix, sys.executable, str(HERE), "_phase", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {args[0]:<13} {json.dumps(result)}", flush=True)
    return result


def bench_backend(url: str, total: int, workdir: Path, day: int = 5000) -> dict[str, Any]:
    ingest, via_oai = min(100_000, total // 10), min(50_000, total // 20)
    base = total - ingest - via_oai
    results = {"build": run_phase("build", url, "0", str(base))}
    results["ingest-store"] = run_phase("ingest-store", url, str(base), str(ingest))
    corpus = workdir / "oai-corpus.json"
    _write_corpus(scale_corpus(via_oai, offset=base + ingest), corpus)
    fake = (sys.executable, "-m", "dailypapers.offline.fake_oai", "--corpus", str(corpus))
    prefix = (*fake, "--page-size", str(PAGE), "--")
    results["ingest-oai"] = run_phase("ingest-oai", url, str(workdir / "h"), prefix=prefix)
    results["local-cold"] = run_phase("local-cold", url, str(workdir / "l"))
    results["local-day"] = run_phase("local-day", url, str(workdir / "l"), str(total), str(day))
    results["search"] = run_phase("search", url)
    with open_store(url) as store, store.engine.connect() as conn:
        results["papers_in_store"] = conn.scalar(sa.select(sa.func.count()).select_from(papers))
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_phase":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--day", type=int, default=5000, help="New papers for local-day.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    report: dict[str, Any] = {"papers": args.papers, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="dailypapers-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            print("sqlite", flush=True)
            url = f"sqlite:///{Path(tmp) / 'sqlite' / 'papers.db'}"
            report["sqlite"] = bench_backend(url, args.papers, Path(tmp) / "sqlite", args.day)
        if args.backend in ("postgresql", "both"):
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
            from support.postgres import TemporaryPostgres

            print("postgresql", flush=True)
            with TemporaryPostgres() as server:
                workdir = Path(tmp) / "pg"
                workdir.mkdir()
                pg_url = server.create_database()
                report["postgresql"] = bench_backend(pg_url, args.papers, workdir, args.day)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
