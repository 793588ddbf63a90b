"""``bench/measured.py``, plus the peak RSS of an update's phases (Linux only).

    BENCH_REPORT=out.json BENCH_NOW=... python bench/phases.py update

An update hands its freed memory back between fetching (with the store
transaction) and rendering (:func:`dailypapers.memory.release_freed`). This
wraps that call: it notes the fetch phase's peak (``VmHWM``), the resident
size once the memory is handed back, then resets the peak
(``/proc/self/clear_refs``), so the figure at exit is the render phase's.
The figures go to ``BENCH_REPORT`` with ``.phases.json`` appended.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path

import dailypapers.memory as memory
import measured

FIGURES: dict[str, float] = {}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _between_phases(release: object) -> None:
    FIGURES["fetch_peak_mb"] = _status_mb("VmHWM")
    release()  # type: ignore[operator]
    FIGURES["render_start_mb"] = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5", encoding="ascii")  # resets VmHWM


def _report() -> None:
    FIGURES["render_peak_mb"] = _status_mb("VmHWM")
    path = Path(os.environ["BENCH_REPORT"] + ".phases.json")
    path.write_text(json.dumps(FIGURES), encoding="utf-8")


if __name__ == "__main__":
    release = memory.release_freed
    memory.release_freed = lambda: _between_phases(release)  # before the pipeline imports it
    atexit.register(_report)
    measured.main(sys.argv[1:])
