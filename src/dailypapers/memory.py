"""When a run's garbage is collected, and giving a finished phase's memory back to the system.

CPython frees a phase's objects (an update's fetched papers, say) to the C
allocator, which keeps most of it: the next phase (rendering) then grows the
process on top of it, and the peak is the sum of both. glibc's
``malloc_trim`` returns the free pages, so the peak is the larger phase's.
Elsewhere (no glibc) this does nothing.

Python's cyclic collector runs by allocation counts, and each of its full
collections walks every object the process holds, the libraries' modules
and classes included (some 80,000 in an update). A run's phases make many
objects and few cycles, so an update pauses the collector for a phase
and collects where the phase leaves its garbage: :func:`collected_each`
after each topic of a fetch, :func:`release_freed` at its end; and no
automatic full collection runs in the whole command, whose modules,
loaded as it goes, live until it ends (:func:`no_full_collections`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_NEVER = 2**31 - 1  # the largest threshold the collector takes (a C int)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes  # here: an update that ends before its fetch never needs it

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # TypeError: Windows' CDLL takes no None
        return None
    return trim


def release_freed() -> None:
    """Collect the young garbage, then return the allocator's free pages to the system.

    Young: the two younger generations, which hold every object made since
    :func:`paused_collections` began (no collection promoted one to the
    oldest), not the modules' and classes' objects of the oldest, which a
    full collection would walk again (50-60 ms of a 20-topic cold update).
    """
    gc.collect(1)
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextlib.contextmanager
def paused_collections() -> Iterator[None]:
    """No automatic cyclic collection runs in the block.

    For a phase that makes many objects and few cycles (an update's fetch
    and save: parsed papers, their index tokens): the automatic collections
    walked them all again, and once or twice everything the process holds,
    for a few thousand objects of garbage. The phase collects where it leaves
    garbage instead (:func:`collected_each`, :func:`release_freed`). The
    collector is enabled again at the block's end (if it was on).
    """
    with kept_out_of_collections() as pause:
        pause()
        yield


@contextlib.contextmanager
def no_full_collections() -> Iterator[None]:
    """No automatic collection of the oldest generation in the block; the younger ones run.

    Around a whole command (``dailypapers update``): its imports, made as
    its phases need them, make some 65,000 objects that live until it ends,
    so the collector's full collections, which it starts once the oldest
    generation has grown by a quarter, came early and walked them all for
    nothing (27-31 ms of a 20-topic cold update, ``gc.callbacks``). The
    young collections still run: they free the classes the imports discard
    (a ``dataclass`` with slots, an enum's conversion; some 200 kB), which a
    fully paused collector would keep until the end. What does reach the
    oldest generation in cycles stays until the block ends (a one-shot
    command ends with it); the phases collect their own garbage young
    (:func:`collected_each`, :func:`release_freed`). The thresholds are
    restored at the block's end.
    """
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, oldest)


def collected_each(items: Iterable[T]) -> Iterator[T]:
    """``items``, with the youngest generation collected once each one is done with.

    In a :func:`paused_collections` block, the youngest generation holds only
    what was made since the last item (a topic's requests, their retry state
    and timers: some 150 objects in cycles a request), so the garbage
    of a long fetch stays that of one topic, and each collection walks no
    older object.
    """
    for item in items:
        yield item
        del item  # the consumer has dropped it too: what it held is garbage now
        gc.collect(0)


@contextlib.contextmanager
def kept_out_of_collections() -> Iterator[Callable[[], None]]:
    """Gives ``pause()``: no cyclic collection runs from then until the block ends.

    A render reads 10,000 papers (a few hundred thousand tuples, dicts and
    objects) that live until it ends, and its renderers make almost no
    reference cycles (strings, and lists and dicts freed by their counts):
    each collection during the render walked young objects, and each full
    one all the papers again (about a sixth of a 100 x 100 render), and in
    a forked child (:mod:`dailypapers.publish.forked`) wrote to every page
    holding them. ``gc.freeze`` would skip the papers too, but its full
    collections then counted only the young objects, so the collector's next
    full collection after the render came early. The collector is enabled
    again at the block's end (if it was on).
    """
    was_enabled = gc.isenabled()

    def pause() -> None:
        gc.disable()

    try:
        yield pause
    finally:
        if was_enabled:
            gc.enable()
