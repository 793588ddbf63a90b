"""File names for topics: safe on every file system, stable, never colliding.

A simple name (ASCII letters and digits in words separated by one space or
hyphen, ``Reward Model``, ``Vision-Language Models``) gets its words in
lower case joined by hyphens: ``reward-model``. Any other name (``C++``,
``../etc``, ``Ünïcode``, a reserved or very long name) gets its ASCII part
plus 8 hex digits of the name's SHA-256: ``c-f1deb75f``. A topic's slug thus
depends on its name only, so adding or removing other topics does not
rename its feed or page; the one exception is two configured names that
differ only by space versus hyphen (``A B`` and ``A-B``), which both get
the hashed form. Topic names are unique up to case (the config checks it).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

MAX_SLUG = 60
# Names of our own files beside the topic files, and names Windows reserves.
RESERVED = frozenset(
    {"all", "for-you", "index", "assets", "topics", "con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(10)}
    | {f"lpt{n}" for n in range(10)}
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SIMPLE = re.compile(r"[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*")


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub("-", folded.lower()).strip("-")


def slugify(name: str, *, digits: int = 8) -> str:
    """The file-name stem of one topic name: only ``[a-z0-9-]``, at most 77 characters."""
    base = _ascii(name)
    if _SIMPLE.fullmatch(name) and len(base) <= MAX_SLUG and base not in RESERVED:
        return base
    return hashed(name, digits=digits)


def hashed(name: str, *, digits: int = 8) -> str:
    """The ASCII part of ``name`` (if any) and ``digits`` hex digits of its SHA-256."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:digits]
    short = _ascii(name)[:MAX_SLUG].rstrip("-")
    return f"{short}-{digest}" if short else f"topic-{digest}"


def slug_map(names: Iterable[str]) -> dict[str, str]:
    """``{name: slug}`` for a config's topics, all slugs distinct."""
    names = list(dict.fromkeys(names))
    result = {name: slugify(name) for name in names}
    for digits in (16, 64):
        clashing = _clashing(result)
        if not clashing:
            return result
        result.update({name: hashed(name, digits=digits) for name in clashing})
    if _clashing(result):
        raise ValueError(f"cannot give distinct file names to topics {_clashing(result)!r}")
    return result


def _clashing(slugs: dict[str, str]) -> list[str]:
    taken: dict[str, list[str]] = {}
    for name, slug in slugs.items():
        taken.setdefault(slug, []).append(name)
    return [name for group in taken.values() if len(group) > 1 for name in group]
