"""Give the memory a finished phase of a run freed back to the system.

CPython frees a phase's objects (an update's fetched papers, say) to the C
allocator, which keeps most of it: the next phase (rendering) then grows the
process on top of it, and the peak is the sum of both. glibc's
``malloc_trim`` returns the free pages, so the peak is the larger phase's.
Elsewhere (no glibc) this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
from collections.abc import Callable, Iterator


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_freed() -> None:
    """Collect garbage, then return the allocator's free pages to the system."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


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
