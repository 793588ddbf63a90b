"""Whether an output folder's place holds the user's own files.

The feeds folder's renderer owns every ``.xml`` file at its top, and the
site's owns ``index.html`` and the ``topics/``, ``assets/`` and ``feeds/``
folders (:mod:`dailypapers.outpaths`): a run replaces them, and deletes the
ones it no longer renders. That is right for what an earlier run wrote,
and wrong for a folder the user already had (``[site] dir = "docs"`` over a
repository's own pages, ``[feeds] dir`` beside a ``sitemap.xml``): those
files were deleted without a word. A run now refuses, naming one such file,
as it refuses to replace a README it did not write.

A feed is dailypapers' when its head names dailypapers as its
``<generator>``; a site is when its ``index.html`` links the stylesheet
under the content-hashed name every version wrote (``assets/site-<10 hex>.css``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

HEAD = 16_384  # bytes read of a file: the feed's generator and the page's <head> come first
FEED_MARK = b">dailypapers</generator>"
SITE_MARK = re.compile(rb'href="assets/site-[0-9a-f]{10}\.css"')
SITE_FOLDERS = ("topics", "assets", "feeds")


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(HEAD)
    except OSError:  # unreadable: the write names its error
        return b""


def foreign_feed(folder: Path) -> str | None:
    """The first (by name) ``.xml`` file at the top of ``folder`` that no dailypapers wrote."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".xml") and e.is_file())
    except OSError:  # no folder yet, or not one: the write says what is wrong
        return None
    return next((n for n in names if FEED_MARK not in _head(folder / n)), None)


def foreign_site(folder: Path) -> str | None:
    """A file the site would replace or delete in ``folder`` when ``folder`` is not a site
    dailypapers wrote (``index.html``, or the first file under an owned folder)."""
    index = folder / "index.html"
    if index.is_file():
        return None if SITE_MARK.search(_head(index)) else "index.html"
    for name in SITE_FOLDERS:
        for root, dirs, files in os.walk(folder / name):
            dirs.sort()
            if files:
                return Path(root, sorted(files)[0]).relative_to(folder).as_posix()
    return None
