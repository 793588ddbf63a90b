"""A per-render memo keyed on a paper's ``(id, version)``.

``functools.lru_cache`` on a :class:`~dailypapers.models.Paper` hashes every
field of the paper (title, abstract, authors...) on each call; one render of
100 topics x 100 papers makes tens of thousands of such calls. Within one
render a paper's id and version name its content, so they are the key. The
memo is unbounded: renderers clear it after each render
(:func:`dailypapers.publish.outputs.forget_rendered`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Generic, TypeVar

from dailypapers.models import Paper

T = TypeVar("T")
MAX_ENTRIES = 1 << 15


class PaperMemo(Generic[T]):
    """``func(paper)`` computed once per ``(paper.id, paper.version)`` until cleared."""

    def __init__(self, func: Callable[[Paper], T]) -> None:
        self._func = func
        self._values: dict[tuple[str, int], tuple[Paper, T]] = {}
        functools.update_wrapper(self, func)

    def __call__(self, paper: Paper) -> T:
        key = (paper.id, paper.version)
        found = self._values.get(key)
        if found is not None and found[0] is paper:
            return found[1]
        if len(self._values) >= MAX_ENTRIES:
            self._values.clear()
        value = self._func(paper)
        self._values[key] = (paper, value)
        return value

    def cache_clear(self) -> None:
        """Forget every value (after a render)."""
        self._values.clear()


def per_paper(func: Callable[[Paper], T]) -> PaperMemo[T]:
    """Decorator: memoise ``func`` on the paper's ``(id, version)``."""
    return PaperMemo(func)
