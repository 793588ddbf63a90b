"""dailypapers: the newest arXiv papers for your topics, every day."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dailypapers.models import Author, Paper

__all__ = ["Author", "Paper", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``Author`` and ``Paper`` load on first use: a calendar skip never needs them."""
    if name in ("Author", "Paper"):
        from dailypapers import models

        return getattr(models, name)
    raise AttributeError(f"module 'dailypapers' has no attribute {name!r}")
