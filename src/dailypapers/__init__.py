"""dailypapers: the newest arXiv papers for your topics, every day."""

from __future__ import annotations

from dailypapers.models import Author, Paper

__all__ = ["Author", "Paper", "__version__"]
__version__ = "0.1.0"
