"""Fixes for config mistakes: the nearest valid key, peers' keys, query warnings.

Kept apart from :mod:`dailypapers.config` so the models stay readable; every
function here takes the model or the raw TOML data it needs.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel

# Keys of the popular peers' configs, with the one line that says where they went.
PEER_KEYS: dict[str, str] = {
    "keywords": (
        "cv-arxiv-daily's `keywords` become one `[[topics]]` table each, "
        "with `name` and `query` (see 'Configuration' in the README)"
    ),
    "filters": (
        "cv-arxiv-daily's `filters` become the topic's `query`: "
        '`query = \'abs:"first" OR abs:"second"\'`'
    ),
    "arxiv_query": (
        "zotero-arxiv-daily's `arxiv_query` (cs.AI+cs.CL) becomes "
        '`categories = ["cs.AI", "cs.CL"]` in a `[[topics]]` table, or `archives = ["cs"]`'
    ),
    "category": (
        'zotero-arxiv-daily\'s categories become `categories = ["cs.AI"]` in a '
        '`[[topics]]` table; `archives = ["cs"]` narrows every topic'
    ),
    "query": "a `query` belongs in a `[[topics]]` table, beside the topic's `name`",
}
PEER_KEYS["categories"] = PEER_KEYS["category"]


def model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the last key of ``loc`` (``Settings`` at the top)."""
    current: type[BaseModel] | None = model
    for item in loc[:-1]:
        if current is None or isinstance(item, int):
            continue
        field = _field(current, str(item))
        current = _model_in(field.annotation) if field is not None else None
    return current


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) in (
        list,
        typing.Union,
    ):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def valid_keys(model: type[BaseModel] | None) -> list[str]:
    """The keys a TOML table of ``model`` may hold, as written in the file."""
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def unknown_key(model: type[BaseModel], loc: tuple[Any, ...], value: Any) -> str:
    """``unknown section `[arxv]`; did you mean `[arxiv]`?`` and the like."""
    key = str(loc[-1])
    holder = model_at(model, loc)
    tables = isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
    section = (isinstance(value, dict) or tables) and _is_table(holder, loc)
    # [[topic]] is an array of tables, `keywords = ["a"]` a key: each said as written
    brackets = ("[[", "]]") if tables else ("[", "]")
    shown = f"{brackets[0]}{_dotted_keys(loc)}{brackets[1]}" if section else key
    message = f"unknown {'section' if section else 'key'} `{shown}`"
    if key in PEER_KEYS and key not in valid_keys(holder):
        return f"{message}: {PEER_KEYS[key]}"
    import difflib  # only for a mistake: not loaded by every run

    close = difflib.get_close_matches(key, valid_keys(holder), n=1, cutoff=0.6)
    if close:
        guess = (
            f"{brackets[0]}{_dotted_keys((*loc[:-1], close[0]))}{brackets[1]}"
            if section
            else close[0]
        )
        return f"{message}; did you mean `{guess}`?"
    return message


def _is_table(holder: type[BaseModel] | None, loc: tuple[Any, ...]) -> bool:
    return holder is not None and not any(isinstance(item, int) for item in loc)


def _dotted_keys(loc: tuple[Any, ...]) -> str:
    return ".".join(str(item) for item in loc if not isinstance(item, int))


def value_at(data: Any, loc: tuple[Any, ...]) -> Any:
    """The raw TOML value at ``loc``, or None."""
    for item in loc:
        try:
            data = data[item]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def topic_name(data: Any, loc: tuple[Any, ...]) -> str | None:
    """The name of the topic ``loc`` points into, as the user wrote it."""
    if len(loc) < 2 or loc[0] != "topics" or not isinstance(loc[1], int):
        return None
    name = value_at(data, ("topics", loc[1], "name"))
    return name if isinstance(name, str) and name.strip() else None


def header_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of the ``[a.b]`` / ``[[a.b]]`` header naming ``loc``'s table, if any."""
    name = re.escape(_dotted_keys(loc))
    header = re.compile(rf"^\s*\[\[?\s*{name}(\.[^\]]*)?\s*\]\]?\s*(#.*)?$")
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            return number
    return None
