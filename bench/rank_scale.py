"""Benchmark: rank 1,000 new papers against a 2,000-item library (target < 2 s, < 300 MB).

Term counts come from the corpus first (the store caches them per paper
version, so a run only analyses what changed); the timed part is what every
run does: weight the vectors and score with the default method.

    python bench/rank_scale.py --corpus /work/shared/data/arxiv-2025.jsonl.xz
"""

from __future__ import annotations

import argparse
import itertools
import json
import lzma
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

from dailypapers.models import Paper
from dailypapers.rank.api import Held, score_papers
from dailypapers.rank.methods import DEFAULT, METHODS
from dailypapers.rank.vectors import Corpus, term_counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--library", type=int, default=2000)
    parser.add_argument("--new", type=int, default=1000)
    args = parser.parse_args()
    with lzma.open(args.corpus, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in itertools.islice(handle, args.library + args.new)]
    when = datetime(2025, 1, 1, tzinfo=UTC)
    papers = [
        Paper(
            r["id"], 1, r["title"], r["abstract"], (), tuple(r["categories"]), "cs.LG", when, when
        )
        for r in rows
    ]
    counts = {p.id: dict(term_counts(p.title, p.abstract)) for p in papers}
    corpus = Corpus().add_all(counts.values())
    method = METHODS[DEFAULT]
    started, cpu = time.perf_counter(), time.process_time()
    library = [Held(p.id, p.title, counts[p.id]) for p in papers[: args.library]]
    ranked = score_papers(papers[args.library :], counts, library, method, corpus)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ranked {len(ranked)} papers against {len(library)} library items")
    print(
        f"{seconds:.2f} s wall, {cpu:.2f} s CPU (target < 2 s), peak RSS {peak:.0f} MB (< 300 MB)"
    )


if __name__ == "__main__":
    main()
