"""A read-only health check of a SQLite store, before anything writes to it.

A damaged file (a corrupt page, or not a database at all) is reported as
one line saying how to recover, and never opened for writing: SQLite would
otherwise happily append to a file whose other pages are broken.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

DAMAGED = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (``None`` for other databases and in-memory SQLite);
    a query string (``?timeout=20``) is the driver's, not part of the file's name."""
    if not url.startswith("sqlite:///"):
        return None
    name = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if not name or name.startswith(":memory:") else Path(name)


def file_uri(path: Path, mode: str) -> str:
    """An SQLite ``file:`` URI of ``path`` (any bytes: a non-UTF-8 folder name too)."""
    return f"file:{quote(os.fsencode(path))}?mode={mode}"


def path_text(path: str | Path) -> str:
    """``path`` as text a database stores: a non-UTF-8 byte as ``\\xff`` (not a surrogate)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def damage(path: Path) -> str | None:
    """What is wrong with the SQLite file at ``path`` (read-only check), or ``None``."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(file_uri(path, "ro"), uri=True)
    except sqlite3.Error:
        return None  # cannot open at all: the normal path reports it
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in DAMAGED:
            return str(exc)
        return None  # locked, a hot journal...: not damage; the normal path decides
    finally:
        conn.close()
    problems = [str(row[0]) for row in rows if row and row[0] != "ok"]
    return f"database disk image is malformed ({problems[0][:80]})" if problems else None


def damage_message(path: Path, problem: str) -> str:
    """The one line every command prints for a damaged store."""
    return (
        f"{path}: {problem}; nothing was written to it. Recover with "
        f"'sqlite3 {path} .recover | sqlite3 recovered.db' and move recovered.db in its "
        "place, or move it aside and rebuild with 'dailypapers harvest' or 'dailypapers update'"
    )
