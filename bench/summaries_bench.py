"""Benchmark: TL;DR summaries against the fake OpenAI-compatible endpoint.

Checks the targets of docs/summaries.md, each measured in this one run:

* ``first``: 100 papers summarised at concurrency 4 (target: under 5 s);
* ``second``: the same command again sends 0 requests and leaves every
  output byte-identical;
* ``down``: ``update`` with a hanging endpoint (``timeout`` = 1 s) takes at
  most one timeout longer than the same ``update`` without ``[summaries]``;
* ``secret``: the planted API key appears in no output file, printed line,
  log record or database row.

    python bench/summaries_bench.py
    python bench/summaries_bench.py --papers 300 --concurrency 8 --json out.json
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dailypapers.config import Config, load_config
from dailypapers.models import Author, Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_llm import FakeLLM
from dailypapers.pipeline import run_update
from dailypapers.plan import plan_topics
from dailypapers.schema import metadata
from dailypapers.store import open_store
from dailypapers.summarize import run_summarize

KEY = "sk-BENCH-planted-7f3a9c0e5d1b"
DAY = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)
OUTPUTS = 'outputs = ["readme", "json", "feeds", "site"]\n'


def papers(count: int) -> list[Paper]:
    return [
        Paper(
            id=f"2505.{n:05d}",
            version=1,
            title=f"Reward Model Study {n}",
            abstract="We train a reward model. " * 40,
            authors=(Author("Ada Lovelace"), Author("Alan Turing")),
            categories=("cs.CL",),
            primary="cs.CL",
            published=DAY - timedelta(minutes=n),
            updated=DAY - timedelta(minutes=n),
            comment="9 pages",
        )
        for n in range(count)
    ]


def project(folder: Path, text: str) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "papers.toml").write_text(OUTPUTS + text, encoding="utf-8")
    return load_config(folder / "papers.toml")


def seed(config: Config, found: list[Paper]) -> None:
    with open_store(config.db_url) as store:

        def save(conn: sa.Connection) -> None:
            store.save_papers(conn, found, DAY)
            plan = plan_topics(config)[0]
            store.link(
                conn,
                store.topic_id(conn, plan.topic.name, plan.query_string),
                [p.id for p in found],
                DAY,
            )

        store.write(save)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix != ".toml" and ".dailypapers" not in p.parts
    }


def key_in_rows(config: Config) -> bool:
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if not sa.inspect(conn).has_table(table.name):
                continue
            if any(KEY in repr(tuple(row)) for row in conn.execute(sa.select(table))):
                return True
    return False


def summarise_twice(root: Path, count: int, concurrency: int) -> dict[str, Any]:
    with FakeLLM(api_key=KEY) as llm:
        config = project(
            root / "many",
            f'max_papers = {count}\n\n[[topics]]\nname = "Reward Model"\n\n'
            f'[summaries]\nbase_url = "{llm.url}"\nmodel = "fake"\nmax_papers = {count}\n'
            f"max_requests = {count}\nconcurrency = {concurrency}\n",
        )
        seed(config, papers(count))
        run_update(config, fetch=False)
        started = time.perf_counter()
        first = run_summarize(config).summary
        first_s = time.perf_counter() - started
        before = snapshot(config.base_dir)
        started = time.perf_counter()
        second = run_summarize(config).summary
        second_s = time.perf_counter() - started
        identical = snapshot(config.base_dir) == before
        secret_files = any(KEY.encode() in data for data in before.values())
        secret_rows = key_in_rows(config)
    return {
        "papers": count,
        "concurrency": concurrency,
        "first_seconds": round(first_s, 3),
        "first_written": first.written,
        "first_requests": first.requests,
        "tokens_in": first.tokens_in,
        "tokens_out": first.tokens_out,
        "second_seconds": round(second_s, 3),
        "second_requests": second.requests,
        "outputs_identical": identical,
        "key_in_files": secret_files,
        "key_in_rows": secret_rows,
    }


def down_endpoint(root: Path, timeout: float) -> dict[str, Any]:
    with FakeArxiv(demo_corpus()) as arxiv, FakeLLM() as llm:
        llm.fail("slow", times=None)
        base = '[[topics]]\nname = "Reward Model"\n\n'
        base += f'[arxiv]\napi_url = "{arxiv.api_url}"\ndelay = 0\n'
        plain = project(root / "plain", base)
        started = time.perf_counter()
        run_update(plain, now=DAY)
        without = time.perf_counter() - started
        hanging = project(
            root / "hanging",
            base + f'\n[summaries]\nbase_url = "{llm.url}"\nmodel = "fake"\ntimeout = {timeout}\n',
        )
        started = time.perf_counter()
        report = run_update(hanging, now=DAY)
        with_summaries = time.perf_counter() - started
        llm.release()
    return {
        "timeout": timeout,
        "update_without_summaries_s": round(without, 3),
        "update_with_hanging_endpoint_s": round(with_summaries, 3),
        "extra_s": round(with_summaries - without, 3),
        "status": report.status,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["DAILYPAPERS_LLM_API_KEY"] = KEY
    log = io.StringIO()
    logging.basicConfig(level=logging.DEBUG, stream=log)
    printed = io.StringIO()
    with tempfile.TemporaryDirectory() as folder, redirect_stderr(printed):
        results: dict[str, Any] = {
            "summaries": summarise_twice(Path(folder), args.papers, args.concurrency),
            "down": down_endpoint(Path(folder), args.timeout),
        }
    results["key_in_output"] = KEY in printed.getvalue() or KEY in log.getvalue()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    s, d = results["summaries"], results["down"]
    ok = (
        s["first_seconds"] < 5
        and s["first_written"] == args.papers
        and s["second_requests"] == 0
        and s["outputs_identical"]
        and not (s["key_in_files"] or s["key_in_rows"] or results["key_in_output"])
        and d["extra_s"] <= args.timeout + 0.5
        and d["status"] == "updated"
    )
    print("targets met" if ok else "TARGET MISSED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
