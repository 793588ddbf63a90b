"""Benchmark: ranking for the reader, on real arXiv papers (author-proxy protocol).

A *reader* is an author name with at least 3 papers before the split date;
their library is those papers, newest first (standing in for date added).
For every day on or after the split, the candidates are that day's papers
and the positives are the reader's own papers that day. Scores use title
and abstract only (never author names); idf comes from the papers before
the split (the store on the split day). Reported: recall@10 and MRR per
(reader, day) with at least one positive, averaged, for ``random``,
``tfidf-mean`` (the baseline) and every method in
:data:`dailypapers.rank.methods.METHODS` (the code ``rank`` ships).

    python bench/rank_bench.py --corpus /work/shared/data/arxiv-2025.jsonl.xz \
        --split 2025-10-01 [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dailypapers.rank import methods as m
from dailypapers.rank.score import CandidateIndex, LibraryItem, order
from dailypapers.rank.vectors import Corpus, Vector, term_counts

MIN_LIBRARY = 3
TOP = 10


@dataclass(slots=True)
class Paper:
    id: str
    day: str
    authors: list[str]
    counts: Counter[str]


@dataclass(slots=True)
class Totals:
    recall: float = 0.0
    mrr: float = 0.0

    def add(self, ranked: Sequence[int], positives: set[int]) -> None:
        top = set(ranked[:TOP])
        self.recall += len(positives & top) / len(positives)
        first = next(rank for rank, i in enumerate(ranked, 1) if i in positives)
        self.mrr += 1.0 / first


@dataclass(slots=True)
class Run:
    papers: list[Paper]
    split: str
    corpus: Corpus = field(default_factory=Corpus)
    readers: dict[str, list[int]] = field(default_factory=dict)
    vectors: dict[tuple[str, str, int], Vector] = field(default_factory=dict)

    def __post_init__(self) -> None:
        libraries: defaultdict[str, list[int]] = defaultdict(list)
        for position, paper in enumerate(self.papers):
            if paper.day < self.split:
                self.corpus.add(paper.counts)
                for author in paper.authors:
                    libraries[author].append(position)
        newest_first = lambda i: (self.papers[i].day, self.papers[i].id)  # noqa: E731
        self.readers = {
            author: sorted(items, key=newest_first, reverse=True)
            for author, items in libraries.items()
            if len(items) >= MIN_LIBRARY
        }

    def vector(self, method: m.Method, position: int, side: str) -> Vector:
        key = (method.name, side, position)
        if key not in self.vectors:
            counts = self.papers[position].counts
            build = method.library_vector if side == "lib" else method.candidate_vector
            self.vectors[key] = build(counts, self.corpus)
        return self.vectors[key]


def read_corpus(path: Path) -> list[Paper]:
    """Papers of a ``.jsonl``, ``.jsonl.gz`` or ``.jsonl.xz`` file."""
    openers: dict[str, Any] = {".xz": lzma.open, ".gz": gzip.open}
    opener = openers.get(path.suffix, open)
    papers = []
    handle: IO[str]
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                counts = term_counts(row["title"], row.get("abstract"))
                papers.append(Paper(row["id"], row["day"], list(row["authors"]), counts))
    return papers


def days_after(papers: Sequence[Paper], split: str) -> Iterator[list[int]]:
    by_day: defaultdict[str, list[int]] = defaultdict(list)
    for position, paper in enumerate(papers):
        if paper.day >= split:
            by_day[paper.day].append(position)
    for day in sorted(by_day):
        yield by_day[day]


def evaluate(run: Run, names: Sequence[str], seed: int = 0) -> dict[str, Any]:
    totals = {name: Totals() for name in ("random", *names)}
    rng = random.Random(seed)
    readers: set[str] = set()
    reader_days = 0
    for candidates in days_after(run.papers, run.split):
        keys = [run.papers[i].id for i in candidates]
        indexes = {
            name: CandidateIndex([run.vector(m.METHODS[name], i, "cand") for i in candidates])
            for name in names
        }
        for reader, positives in positives_by_reader(run, candidates).items():
            readers.add(reader)
            reader_days += 1
            shuffled = list(range(len(candidates)))
            rng.shuffle(shuffled)
            totals["random"].add(shuffled, positives)
            for name in names:
                method = m.METHODS[name]
                library = [
                    LibraryItem(run.papers[i].id, "", run.vector(method, i, "lib"))
                    for i in run.readers[reader]
                ]
                scores, _ = method.neighbours(indexes[name], library)
                totals[name].add(order(scores, keys), positives)
    count = max(reader_days, 1)
    return {
        "methods": {
            name: {"recall_at_10": round(t.recall / count, 4), "mrr": round(t.mrr / count, 4)}
            for name, t in totals.items()
        },
        "default": m.DEFAULT,
        "readers": len(readers),
        "reader_days": reader_days,
    }


def positives_by_reader(run: Run, candidates: Sequence[int]) -> dict[str, set[int]]:
    found: defaultdict[str, set[int]] = defaultdict(set)
    for position, paper_index in enumerate(candidates):
        for author in run.papers[paper_index].authors:
            if author in run.readers:
                found[author].add(position)
    return dict(found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--split", required=True, help="first evaluated day, YYYY-MM-DD")
    parser.add_argument("--methods", default=",".join(m.METHODS), help="comma-separated")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    papers = read_corpus(args.corpus)
    names = [name for name in args.methods.split(",") if name]
    unknown = [name for name in names if name not in m.METHODS]
    if unknown:
        parser.error(f"unknown method(s): {', '.join(unknown)}")
    result = evaluate(Run(papers, args.split), names)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print_table(result, len(papers), time.perf_counter() - started)
    return 0


def print_table(result: dict[str, Any], papers: int, seconds: float) -> None:
    baseline = result["methods"][m.BASELINE]["recall_at_10"] or 1.0
    print(f"{papers} papers, {result['readers']} readers, {result['reader_days']} reader-days")
    print(f"{'method':<18} {'recall@10':>10} {'MRR':>8} {'vs baseline':>12}")
    for name, values in result["methods"].items():
        mark = "  (default)" if name == result["default"] else ""
        ratio = values["recall_at_10"] / baseline
        print(
            f"{name:<18} {values['recall_at_10']:>10.4f} {values['mrr']:>8.4f}"
            f" {ratio:>11.2f}x{mark}"
        )
    print(f"{seconds:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
