"""Hand edits to the README: noticed before it is rewritten, kept, and said in one line.

The README is dailypapers' output, rewritten whole by every run that changes
it. Text a user added to it (notes under a table, an intro line) was thrown
away without a word. Each write now leaves a record in the state folder
(:data:`RECORD`: the file's path, size, mtime and a CRC of its text without the
date line); the next write compares the file in place with it, and a file
that differs in more than its date line was edited since: its copy is kept as
:data:`KEPT` in the state folder before the rewrite, and the run warns.

No record (a first run, a cold cache in Actions, a README written by an
earlier version) means nothing to compare with: no warning. An unchanged
size and mtime skip reading the file; a git checkout (new mtime, same text)
reads it once and finds it the same.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from dailypapers.publish.files import write_atomic

RECORD = "readme-written.json"
KEPT = "README.edited.md"

Strip = Callable[[str], str]  # the text without what each write changes (the date line)


class Written:
    """The CRC of a README's parts as they are rendered (:meth:`parts`), then
    :meth:`remember` records the file written from them."""

    def __init__(self, strip: Strip) -> None:
        self.strip = strip
        self.crc = 0

    def parts(self, parts: Iterable[str]) -> Iterator[str]:
        for part in parts:
            self.crc = zlib.crc32(self.strip(part).encode("utf-8", "surrogatepass"), self.crc)
            yield part

    def remember(self, path: Path, state_dir: Path) -> None:
        """Record ``path`` as written from the parts (best effort: a state folder that
        cannot be written loses only the next run's check)."""
        try:
            info = path.stat()
            record = {"path": str(path), "size": info.st_size, "mtime_ns": info.st_mtime_ns}
            write_atomic(state_dir / RECORD, json.dumps({**record, "crc": self.crc}) + "\n")
        except OSError:
            pass


def keep_edits(path: Path, state_dir: Path, strip: Strip) -> Path | None:
    """Copy ``path`` to the state folder when it was edited since the recorded write;
    returns the copy (``None``: not edited, or nothing to tell)."""
    try:
        record = json.loads((state_dir / RECORD).read_text(encoding="utf-8"))
        info = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("path") != str(path):
        return None
    if (info.st_size, info.st_mtime_ns) == (record.get("size"), record.get("mtime_ns")):
        return None
    try:
        with open(path, encoding="utf-8", errors="surrogateescape", newline=None) as handle:
            text = handle.read()
    except OSError:
        return None
    crc = zlib.crc32(strip(text).encode("utf-8", "surrogateescape"))
    if crc == record.get("crc"):
        return None
    kept = state_dir / KEPT
    try:
        write_atomic(kept, text.encode("utf-8", "surrogateescape"))
    except OSError:
        return None
    return kept
