"""Site size and render time against the number of topics (issue 11, cause 6).

    python bench/site_scale.py                 # 250, 500 and 1,000 topics x 10 papers
    python bench/site_scale.py --topics 2000 --papers 10

Each topic lists ``--papers`` real arXiv papers (from the shared 40k-paper
sample when present, else the demo corpus repeated under new ids). Prints,
per size, the render time, the site's total bytes, and the per-topic cost
relative to the smallest size (1.0 = linear; quadratic growth shows as a
ratio growing with the size), the shared files' part of the size (the
index's papers file, the topic index, script and style) and the papers' own
text (titles, abstracts, authors: each topic page lists its papers in its
HTML, so this is a floor). Targets: 1,000 topics x 10 papers under 5 s and
20 MB.
"""

from __future__ import annotations

import argparse
import gc
import json
import lzma
import time
from datetime import UTC, datetime
from pathlib import Path

from dailypapers.models import Author, Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.publish.outputs import forget_rendered
from dailypapers.render.catalog import build_catalog
from dailypapers.render.site import site_files

SAMPLE = Path("/work/shared/data/arxiv-2025.jsonl.xz")


def real_papers(count: int) -> list[Paper]:
    """``count`` papers: the shared sample's, or the demo corpus under fresh ids."""
    found: list[Paper] = []
    if SAMPLE.exists():
        with lzma.open(SAMPLE, "rt", encoding="utf-8") as lines:
            for line in lines:
                if len(found) == count:
                    break
                row = json.loads(line)
                when = datetime.fromisoformat(row["day"]).replace(tzinfo=UTC)
                found.append(
                    Paper(
                        id=row["id"],
                        version=1,
                        title=row["title"],
                        abstract=row["abstract"],
                        authors=tuple(Author(a) for a in row["authors"][:50]),
                        categories=tuple(row["categories"]) or ("cs.LG",),
                        primary=(row["categories"] or ["cs.LG"])[0],
                        published=when,
                        updated=when,
                    )
                )
    demo = demo_corpus()
    while len(found) < count:
        n = len(found)
        found.append(demo[n % len(demo)].with_changes(id=f"2599.{n:05d}"))
    return found


def measure(topics: int, per_topic: int, pool: list[Paper]) -> dict[str, float]:
    listings = [
        (f"Topic {n}", f'ti:"topic {n}"', pool[n * per_topic : (n + 1) * per_topic])
        for n in range(topics)
    ]
    catalog = build_catalog("Daily Papers", listings)
    seconds = float("inf")
    for _ in range(2):  # the faster of two runs, each from cold memos (a shared machine)
        forget_rendered()
        gc.collect()
        started = time.perf_counter()
        files = site_files(catalog)
        seconds = min(seconds, time.perf_counter() - started)
    size = sum(len(content) for content in files.values())
    shared = sum(len(content) for path, content in files.items() if path.startswith("assets/"))
    papers = {p.id: p for _, _, listed in listings for p in listed}.values()
    text = sum(len(f"{p.title}{p.abstract}{', '.join(p.author_names)}".encode()) for p in papers)
    return {
        "topics": topics,
        "seconds": seconds,
        "mb": size / 2**20,
        "files": len(files),
        "shared_mb": shared / 2**20,
        "text_mb": text / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--papers", type=int, default=10, help="papers per topic")
    options = parser.parse_args()
    pool = real_papers(max(options.topics) * options.papers)
    rows = [measure(t, options.papers, pool) for t in sorted(options.topics)]
    base = rows[0]
    print("topics  seconds     MB  files  s/topic ratio  MB/topic ratio  shared MB  text MB")
    for row in rows:
        time_ratio = (row["seconds"] / row["topics"]) / (base["seconds"] / base["topics"])
        size_ratio = (row["mb"] / row["topics"]) / (base["mb"] / base["topics"])
        print(
            f"{row['topics']:6.0f} {row['seconds']:8.2f} {row['mb']:6.1f} {row['files']:6.0f}"
            f" {time_ratio:14.2f} {size_ratio:15.2f} {row['shared_mb']:10.1f}"
            f" {row['text_mb']:8.1f}"
        )


if __name__ == "__main__":
    main()
