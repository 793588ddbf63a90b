"""When a run's garbage is collected (dailypapers.memory)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import dailypapers.config as config_module
from dailypapers import pipeline
from dailypapers.cli import cli
from dailypapers.memory import (
    collected_each,
    no_full_collections,
    paused_collections,
    release_freed,
)
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def cycle() -> weakref.ref[Node]:
    return weakref.ref(Node())


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_a_paused_block_runs_no_automatic_collection_and_then_restores_the_collector() -> None:
    with paused_collections():
        assert not gc.isenabled()
        left = [cycle() for _ in range(5000)]  # far past the youngest generation's threshold
        assert all(ref() is not None for ref in left)
    assert gc.isenabled()
    gc.disable()
    with paused_collections():
        pass
    assert not gc.isenabled()  # it was off: it stays off


def test_each_items_cycles_are_collected_before_the_next_is_handed() -> None:
    made: list[weakref.ref[Node]] = []
    with paused_collections():
        for number in collected_each(range(3)):
            assert all(ref() is None for ref in made), f"item {number}: a cycle was left"
            made.append(cycle())
    assert len(made) == 3


def test_release_freed_collects_what_a_paused_phase_left() -> None:
    with paused_collections():
        left = [cycle() for _ in range(100)]
        assert all(ref() is not None for ref in left)
        release_freed()
        assert all(ref() is None for ref in left)


@pytest.mark.parametrize("error", [OSError, AttributeError, TypeError])
def test_release_freed_without_malloc_trim_only_collects(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    """No glibc: macOS has no ``malloc_trim`` (AttributeError), and on Windows
    ``ctypes.CDLL(None)`` raises TypeError, which ended every update there."""
    import ctypes

    from dailypapers import memory

    def no_libc(name: object) -> object:
        raise error("no C library by that name")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    memory._malloc_trim.cache_clear()
    try:
        with paused_collections():
            left = [cycle() for _ in range(10)]
            release_freed()
            assert all(ref() is None for ref in left)
        assert memory._malloc_trim() is None
    finally:
        memory._malloc_trim.cache_clear()


def collections_while(work: Callable[[], object]) -> list[int]:
    """The generations of the collections that ran (automatically) during ``work()``."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        work()
    finally:
        gc.callbacks.remove(note)
    return seen


def test_no_full_collection_runs_in_the_block_and_the_young_ones_do() -> None:
    gc.collect()
    size = max(len(gc.get_objects()), 100_000)  # the oldest generation grows by far over 25 %

    def many() -> None:
        kept: list[list[int]] = [[] for _ in range(size)]  # noqa: F841 (live, like modules)

    assert 2 in collections_while(many)  # outside the block, a full collection runs
    thresholds = gc.get_threshold()
    inside: list[int] = []
    with no_full_collections():
        inside = collections_while(many)
        young = cycle()
        collections_while(lambda: [[] for _ in range(2 * thresholds[0])])
        assert young() is None  # freed by a young collection
    assert 0 in inside and 2 not in inside, inside
    assert gc.get_threshold() == thresholds


def test_an_update_has_no_full_collection_while_it_loads_and_pauses_its_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    real_fetch, real_load = pipeline._fetch_and_save, config_module.load_config

    def fetch_spy(*args: Any, **kwargs: Any) -> bool:
        seen["fetch"] = (gc.isenabled(), gc.get_threshold()[2] > 10**9)
        return real_fetch(*args, **kwargs)

    def load_spy(*args: Any, **kwargs: Any) -> Any:
        seen["config"] = (gc.isenabled(), gc.get_threshold()[2] > 10**9)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_fetch_and_save", fetch_spy)
    monkeypatch.setattr(config_module, "load_config", load_spy)
    thresholds = gc.get_threshold()
    with FakeArxiv(demo_corpus()) as server:
        (tmp_path / "papers.toml").write_text(
            f'[[topics]]\nname = "Reasoning"\n\n[arxiv]\napi_url = "{server.api_url}"\n'
            "delay = 0\nbackoff = 0\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 0, result.output
    assert seen == {"config": (True, True), "fetch": (False, True)}
    assert gc.isenabled() and gc.get_threshold() == thresholds
