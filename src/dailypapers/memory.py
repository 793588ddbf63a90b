"""Give the memory a finished phase of a run freed back to the system.

CPython frees a phase's objects (an update's fetched papers, say) to the C
allocator, which keeps most of it: the next phase (rendering) then grows the
process on top of it, and the peak is the sum of both. glibc's
``malloc_trim`` returns the free pages, so the peak is the larger phase's.
Elsewhere (no glibc) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Callable


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
