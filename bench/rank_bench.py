"""Benchmark: ranking for the reader, on real arXiv papers (author-proxy protocol).

A *reader* is an author name with at least 3 papers before the split date;
their library is those papers, newest first (standing in for date added).
For every day on or after the split, the candidates are that day's papers
and the positives are the reader's own papers that day. Scores use title
and abstract only (never author names); idf comes from the papers before
the split (the store on the split day). Reported: recall@10 and MRR per
(reader, day) with at least one positive, averaged, for ``random``,
``tfidf-mean`` (the baseline) and every method in
:data:`dailypapers.rank.methods.METHODS` (the code ``rank`` ships: the same
weighting and scoring functions; the benchmark only batches them, stacking
the libraries of a day's readers into one sparse product).

    python bench/rank_bench.py --corpus /work/shared/data/arxiv-2025.jsonl.xz \
        --split 2025-10-01 [--json] [--scale 75000]

``--scale N`` appends copies of the corpus (ids suffixed, days shifted past
its last day) until it holds N papers: the size test of the issue.
"""

from __future__ import annotations

import argparse
import gzip
import json
import lzma
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np

from dailypapers.rank import methods as m
from dailypapers.rank.score import profile_norm, similarities
from dailypapers.rank.vectors import Corpus, term_counts
from dailypapers.rank.weights import MatrixBuilder, TermMatrix, corpus_of

MIN_LIBRARY = 3
TOP = 10


@dataclass(slots=True)
class Papers:
    """The corpus: ids, days and authors, and the term counts as one matrix."""

    ids: list[str] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    authors: list[list[str]] = field(default_factory=list)
    builder: MatrixBuilder = field(default_factory=MatrixBuilder)

    def add(self, row: dict[str, Any], suffix: str = "", shift: int = 0) -> None:
        day = row["day"]
        if shift:
            day = (date.fromisoformat(day) + timedelta(days=shift)).isoformat()
        self.ids.append(row["id"] + suffix)
        self.days.append(day)
        self.authors.append(list(row["authors"]))
        self.builder.add(term_counts(row["title"], row.get("abstract")))


@dataclass(slots=True)
class Totals:
    recall: float = 0.0
    mrr: float = 0.0

    def add(self, ranks: Any) -> None:
        """``ranks``: the 1-based ranks of a reader-day's positives."""
        self.recall += float(np.count_nonzero(ranks <= TOP)) / len(ranks)
        self.mrr += 1.0 / float(ranks.min())


@dataclass(slots=True)
class Day:
    """One evaluated day: its candidates and the readers with positives among them."""

    candidates: Any  # paper positions, in id order
    positives: dict[str, Any]  # reader -> candidate columns


@dataclass(slots=True)
class Run:
    papers: Papers
    split: str
    counts: TermMatrix = field(init=False)
    corpus: Corpus = field(init=False)
    readers: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counts = self.papers.builder.build()
        days = self.papers.days
        before = np.array([d < self.split for d in days], dtype=bool)
        self.corpus = corpus_of(self.counts.rows(np.flatnonzero(before)))
        libraries: defaultdict[str, list[int]] = defaultdict(list)
        for position in np.flatnonzero(before).tolist():
            for author in self.papers.authors[position]:
                libraries[author].append(position)
        ids = self.papers.ids
        newest_first = lambda i: (days[i], ids[i])  # noqa: E731
        self.readers = {
            author: sorted(items, key=newest_first, reverse=True)
            for author, items in libraries.items()
            if len(items) >= MIN_LIBRARY
        }

    def days(self) -> Iterator[Day]:
        by_day: defaultdict[str, list[int]] = defaultdict(list)
        for position, day in enumerate(self.papers.days):
            if day >= self.split:
                by_day[day].append(position)
        for day in sorted(by_day):
            candidates = sorted(by_day[day], key=self.papers.ids.__getitem__)
            found: defaultdict[str, list[int]] = defaultdict(list)
            for column, position in enumerate(candidates):
                for author in self.papers.authors[position]:
                    if author in self.readers:
                        found[author].append(column)
            positives = {reader: np.array(sorted(set(cols))) for reader, cols in found.items()}
            yield Day(np.array(candidates), positives)


def ranks(scores: Any, positives: Any) -> Any:
    """1-based ranks of ``positives`` when sorted by score, ties by id (column order)."""
    found = np.empty(len(positives), dtype=np.int64)
    columns = np.arange(len(scores))
    for n, p in enumerate(positives):
        value = scores[p]
        found[n] = 1 + np.count_nonzero(scores > value)
        found[n] += np.count_nonzero((scores == value) & (columns < p))
    return found


def scored(run: Run, method: m.Method, days: Sequence[Day]) -> Iterator[tuple[Day, str, Any]]:
    """Every reader-day's scores: each day is one sparse product for all its readers."""
    weighted = method.weigh(run.counts, run.corpus)
    norms: dict[str, float] = {}
    for day in days:
        if not day.positives:
            continue
        candidates = weighted[day.candidates]
        readers = list(day.positives)
        rows = [run.readers[reader] for reader in readers]
        # co-authors share library papers: each distinct one is multiplied once
        distinct, where = np.unique(np.concatenate(rows), return_inverse=True)
        block = similarities(weighted[distinct], candidates)
        start = 0
        for reader, library in zip(readers, rows, strict=True):
            mine = block[where[start : start + len(library)]]
            start += len(library)
            if reader not in norms:
                norms[reader] = profile_norm(weighted[library])
            yield day, reader, method.score(mine, norms[reader]).scores


def evaluate_method(run: Run, method: m.Method, days: Sequence[Day]) -> Totals:
    totals = Totals()
    for day, reader, scores in scored(run, method, days):
        totals.add(ranks(scores, day.positives[reader]))
    return totals


def evaluate(run: Run, names: Sequence[str], seed: int = 0) -> dict[str, Any]:
    days = list(run.days())
    rng = np.random.default_rng(seed)
    chance = Totals()
    readers: set[str] = set()
    for day in days:
        readers.update(day.positives)
        for positives in day.positives.values():
            chance.add(rng.permutation(len(day.candidates))[positives] + 1)
    totals = {"random": chance}
    for name in names:
        totals[name] = evaluate_method(run, m.METHODS[name], days)
    reader_days = sum(len(day.positives) for day in days)
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


def rows_of(path: Path) -> Iterator[dict[str, Any]]:
    """Papers of a ``.jsonl``, ``.jsonl.gz`` or ``.jsonl.xz`` file."""
    openers: dict[str, Any] = {".xz": lzma.open, ".gz": gzip.open}
    opener = openers.get(path.suffix, open)
    handle: IO[str]
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_corpus(path: Path, scale: int = 0) -> Papers:
    """The corpus, then shifted copies of it until it holds ``scale`` papers."""
    papers = Papers()
    for row in rows_of(path):
        papers.add(row)
    size = len(papers.ids)
    if not size:
        return papers
    span = (date.fromisoformat(max(papers.days)) - date.fromisoformat(min(papers.days))).days + 1
    copy = 0
    while len(papers.ids) < scale:
        copy += 1
        for row in rows_of(path):
            if len(papers.ids) >= scale:
                break
            papers.add(row, f"-copy{copy}", span * copy)
    return papers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--split", required=True, help="first evaluated day, YYYY-MM-DD")
    parser.add_argument("--methods", default=",".join(m.METHODS), help="comma-separated")
    parser.add_argument("--scale", type=int, default=0, help="grow the corpus to N papers")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    names = [name for name in args.methods.split(",") if name]
    unknown = [name for name in names if name not in m.METHODS]
    if unknown:
        parser.error(f"unknown method(s): {', '.join(unknown)}")
    papers = read_corpus(args.corpus, args.scale)
    result = evaluate(Run(papers, args.split), names)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print_table(result, len(papers.ids), time.perf_counter() - started)
    return 0


def print_table(result: dict[str, Any], papers: int, seconds: float) -> None:
    baseline = result["methods"].get(m.BASELINE, {}).get("recall_at_10") or 1.0
    print(f"{papers} papers, {result['readers']} readers, {result['reader_days']} reader-days")
    print(f"{'method':<18} {'recall@10':>10} {'MRR':>8} {'vs baseline':>12}")
    for name, values in result["methods"].items():
        mark = "  (default)" if name == result["default"] else ""
        ratio = values["recall_at_10"] / baseline
        print(
            f"{name:<18} {values['recall_at_10']:>10.4f} {values['mrr']:>8.4f}"
            f" {ratio:>11.2f}x{mark}"
        )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(f"{seconds:.0f} s wall, {cpu:.0f} s CPU, peak RSS {usage.ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
