"""``bench/measured.py``, plus the peak RSS and CPU seconds of an update's phases (Linux only).

    BENCH_REPORT=out.json BENCH_NOW=... python bench/phases.py update

An update hands its freed memory back between fetching (with the store
transaction) and rendering (:func:`dailypapers.memory.release_freed`). This
wraps that call: it notes the fetch phase's peak (``VmHWM``), the resident
size once the memory is handed back, then resets the peak
(``/proc/self/clear_refs``), so the figure at exit is the render phase's.
It also notes the process's CPU seconds there (start-up, fetching and
storing), the CPU seconds of the full-text index
(:func:`dailypapers.fts.index_papers`, part of storing) and at exit, and
how many distinct words the text analysis stemmed (the misses of its
stemming cache, which holds far more words than a run meets). The figures
go to ``BENCH_REPORT`` with ``.phases.json`` appended.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dailypapers.fts as fts
import dailypapers.memory as memory
import measured
from dailypapers.arxiv import query

FIGURES: dict[str, float] = {}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(work: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(work)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = _cpu()
        try:
            return work(*args, **kwargs)
        finally:
            FIGURES["index_cpu_s"] = FIGURES.get("index_cpu_s", 0.0) + _cpu() - started

    return timed


def _between_phases(release: object) -> None:
    FIGURES["fetch_cpu_s"] = _cpu()
    FIGURES["fetch_peak_mb"] = _status_mb("VmHWM")
    release()  # type: ignore[operator]
    FIGURES["render_start_mb"] = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")  # resets VmHWM


def _report() -> None:
    FIGURES["render_peak_mb"] = _status_mb("VmHWM")
    FIGURES["total_cpu_s"] = _cpu()
    analysis: Any = query  # a tree before the stem cache has _stem's lru_cache instead
    stems = getattr(analysis, "_STEMS", None)
    misses = stems.misses if stems is not None else analysis._stem.cache_info().misses
    FIGURES["distinct_words"] = misses
    path = Path(os.environ["BENCH_REPORT"] + ".phases.json")
    path.write_text(json.dumps(FIGURES), encoding="utf-8")


if __name__ == "__main__":
    release = memory.release_freed
    memory.release_freed = lambda: _between_phases(release)  # before the pipeline imports it
    fts.index_papers = _timed(fts.index_papers)  # the store calls it as fts.index_papers
    assert "dailypapers.store" not in sys.modules  # measured.py sets its clock on first import
    atexit.register(_report)
    measured.main(sys.argv[1:])
