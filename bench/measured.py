"""Run one side of the comparison in its own process and report what it cost.

    BENCH_REPORT=out.json python bench/measured.py reference API_URL DATE KEYWORD...
    BENCH_REPORT=out.json BENCH_NOW=2025-06-04T06:17:00+00:00 python bench/measured.py update

Every :func:`time.sleep` is counted, not slept (the reference's waits and
dailypapers' politeness delay and backoff alike). At exit the process writes
its own CPU seconds (user + system, start-up and imports included; a forked
child's added), its peak RSS (or its child's, if higher) and the counted
waits to ``BENCH_REPORT``. For ``update``, dailypapers' clock reads
``BENCH_NOW``: the run clock through ``DAILYPAPERS_NOW``, and
``dailypapers.store.utcnow`` by a patch applied when the store module is first
imported, so the command imports exactly what it would anyway.
``BENCH_PAGE_SLACK=Z`` sets ``dailypapers.sources.api.PAGE_SLACK`` the same
way (the standard deviations of slack in a warm topic's pages), for the
slack trade-off of ``versus_reference.py --page-slack``.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import resource
import runpy
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader as AnyLoader

WAITED = [0.0]


def _counted_sleep(seconds: float) -> None:
    WAITED[0] += max(0.0, seconds)


class _Patch:
    """Set attributes of a module as soon as that module is executed.

    A meta path finder by its ``find_spec``, not a subclass of ``importlib.abc``'s:
    that module imports ``importlib.resources`` and ``tempfile`` (some 10 ms
    of start-up) that neither measured side loads on its own.
    """

    def __init__(self, fullname: str, values: dict[str, Any]) -> None:
        self.fullname, self.values = fullname, values

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.fullname:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader, values = spec.loader, self.values

        class Loader:
            def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
                return loader.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                loader.exec_module(module)
                for name, value in values.items():
                    setattr(module, name, value)

        spec.loader = cast("AnyLoader", Loader())
        return spec


def _report() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # A render's forked child (publish/forked.py: all four outputs, not the README
    # alone) counts too: its CPU, and its peak if above the process's own.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = {
        "cpu": usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime,
        "maxrss_kb": max(usage.ru_maxrss, children.ru_maxrss),
        "waited": WAITED[0],
    }
    Path(os.environ["BENCH_REPORT"]).write_text(json.dumps(data), encoding="utf-8")


def main(argv: list[str]) -> Any:
    time.sleep = _counted_sleep  # type: ignore[assignment]
    try:
        if argv[0] == "reference":
            sys.argv = [str(Path(__file__).with_name("reference_method.py")), *argv[1:]]
            return runpy.run_path(sys.argv[0], run_name="__main__")
        now = datetime.fromisoformat(os.environ["BENCH_NOW"])
        sys.meta_path.insert(0, _Patch("dailypapers.store", {"utcnow": lambda: now}))
        if os.environ.get("BENCH_PAGE_SLACK"):
            slack = {"PAGE_SLACK": float(os.environ["BENCH_PAGE_SLACK"])}
            sys.meta_path.insert(0, _Patch("dailypapers.sources.api", slack))
        os.environ["DAILYPAPERS_NOW"] = os.environ["BENCH_NOW"]  # the run clock, store or not
        from dailypapers.entry import main as dailypapers  # the console script's

        sys.argv = ["dailypapers", *argv]
        return dailypapers()
    finally:
        _report()


if __name__ == "__main__":
    main(sys.argv[1:])
