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
def kept_out_of_collections() -> Iterator[None]:
    """While inside, the objects alive on entry are skipped by the cyclic collector.

    A render reads 10,000 papers (a few hundred thousand tuples, dicts and
    objects) that live until it ends: each full collection during the render
    walked all of them again (about a sixth of a 100 x 100 render), and in a
    forked child (:mod:`dailypapers.publish.forked`) wrote to every page
    holding them. ``gc.freeze`` moves them to the permanent generation; they
    are given back to the collector on exit (``gc.unfreeze``).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
