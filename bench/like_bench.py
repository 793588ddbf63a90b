"""Benchmark: a topic by example on one real day (what it keeps, the scores, the time).

The busiest day of the corpus is the candidates; the examples are the first
papers before it whose title holds ``--phrase``. Prints the kept papers with
their ``because`` and the seconds :func:`dailypapers.rank.like.choose` took
(a fresh store: idf from the day's papers, as on a project's first day).

    python bench/like_bench.py --corpus /work/shared/data/arxiv-2025.jsonl.xz \
        [--phrase "reward model"] [--examples 3] [--top 10]
"""

from __future__ import annotations

import argparse
import json
import lzma
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dailypapers.config import load_config
from dailypapers.models import Author, Paper
from dailypapers.rank.like import choose
from dailypapers.store import open_store


def read(path: Path) -> list[dict[str, Any]]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def as_paper(row: dict[str, Any]) -> Paper:
    when = datetime.fromisoformat(row["day"]).replace(tzinfo=UTC)
    return Paper(
        id=row["id"],
        version=1,
        title=row["title"],
        abstract=row["abstract"],
        authors=(Author("-"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=when,
        updated=when,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--phrase", default="reward model")
    parser.add_argument("--examples", type=int, default=3)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    rows = read(args.corpus)
    day = Counter(r["day"] for r in rows).most_common(1)[0][0]
    candidates = [as_paper(r) for r in rows if r["day"] == day]
    phrase = args.phrase.lower()
    examples = [as_paper(r) for r in rows if r["day"] < day and phrase in r["title"].lower()]
    examples = examples[: args.examples]
    folder = Path(tempfile.mkdtemp())
    like = ", ".join(f'"{e.id}"' for e in examples)
    (folder / "papers.toml").write_text(
        f'[[topics]]\nname = "By example"\nlike = [{like}]\ntop = {args.top}\n', encoding="utf-8"
    )
    topic = load_config(folder / "papers.toml").settings.topics[0]
    with open_store(f"sqlite:///{folder / 'bench.db'}") as store, store.reading() as conn:
        started = time.perf_counter()
        selection = choose(conn, topic, candidates, {e.id: e for e in examples})
        seconds = time.perf_counter() - started
    print(f"{day}: {len(candidates)} candidates, {len(examples)} examples, {seconds:.2f} s")
    for line, scored in zip(selection.lines()[1:], selection.kept, strict=True):
        print(f"{line}\n      {scored.paper.title[:100]}")


if __name__ == "__main__":
    main()
