"""Search latency on a store: the scale benchmark's search phase."""

from __future__ import annotations

import time
from typing import Any

from dailypapers.search import iter_matches, parse_search, search
from dailypapers.store import open_store

BENCHMARK_QUERIES = ("reward model", "protein folding", 'ti:"sparse verifier" AND cat:cs.LG')


def benchmark(url: str, runs: int = 20) -> dict[str, Any]:
    """Latency of :func:`search` (limit 20) on the store at ``url``.

    ``reward model`` is the issue's query; the others match the scale corpus.
    """
    figures: dict[str, Any] = {}
    with open_store(url) as store:
        for query in BENCHMARK_QUERIES:
            node, plain = parse_search(query)
            matches = sum(1 for _ in iter_matches(store, node, boost=plain))
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                search(store, query, limit=20)
                times.append(time.perf_counter() - started)
            times.sort()
            figures[query] = {
                "matches": matches,
                "median_ms": round(1000 * times[len(times) // 2], 1),
                "max_ms": round(1000 * times[-1], 1),
            }
    return figures
