"""When a run's garbage is collected (dailypapers.memory)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from dailypapers.memory import collected_each, paused_collections, release_freed


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
