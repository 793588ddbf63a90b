"""What the calendar skip's check of the outputs costs: ``python bench/skip_outputs.py``.

The update stamp keeps each output's size and mtime (a folder's, per file),
and a skipped day compares them (:func:`dailypapers.quickskip.output_state`).
This times that comparison for output folders of 100 to 10,000 files (a
site of N topics holds about 2N + 10), as a ratio to the cost of
``os.stat`` on the same files, so the figure does not depend on the load.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dailypapers.quickskip import output_state

SIZES = (100, 1_000, 10_000)
REPEATS = 9


def _median_ms(action: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    print("files   output_state ms   os.stat of each ms   ratio")
    for size in SIZES:
        with tempfile.TemporaryDirectory() as root:
            site = Path(root) / "site"
            (site / "topics").mkdir(parents=True)
            files = [site / "topics" / f"topic-{i}.html" for i in range(size)]
            for file in files:
                file.write_bytes(b"x")
            state = _median_ms(lambda: output_state({"site": str(site)}))  # noqa: B023
            stats = _median_ms(lambda: [os.stat(f) for f in files])  # noqa: B023
            print(f"{size:>6}   {state:>14.1f}   {stats:>18.1f}   {state / stats:>5.1f}")


if __name__ == "__main__":
    main()
