"""Read the static site back: the papers its pages list and its shared papers file."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from dailypapers.render.site import EPOCH, ROW_FIELDS

# A card starts with its class and its title's arXiv link (the paper's id and version).
CARD = re.compile(r'<li class="(paper[^"]*)"[^>]*><h2><a href="https://arxiv\.org/abs/([^"]+)v\d+"')
PREFIX = "window.DAILYPAPERS_PAPERS = "


def listed(page: str | bytes, *, new: bool = False) -> list[str]:
    """The ids of the papers a page lists in its HTML, in order (only the new ones)."""
    text = page.decode() if isinstance(page, bytes) else page
    return [pid for kind, pid in CARD.findall(text) if not new or "is-new" in kind.split()]


def papers_file(content: str | bytes) -> list[dict[str, Any]]:
    """The shared papers file as one object per paper (what its rows say, named)."""
    text = content.decode() if isinstance(content, bytes) else content
    assert text.startswith(PREFIX) and text.endswith(";\n")
    body = text.removeprefix(PREFIX).removesuffix(";\n")
    assert "<" not in body and ">" not in body and "&" not in body
    data = json.loads(body)
    found = []
    for row in data["papers"]:
        paper = dict(zip(ROW_FIELDS, row, strict=False))
        paper["categories"] = [data["categories"][n] for n in paper["categories"]]
        paper["updated"] = (EPOCH + timedelta(days=paper["updated"])).isoformat()
        found.append({**paper, **(row[len(ROW_FIELDS)] if len(row) > len(ROW_FIELDS) else {})})
    return found


def shared_papers(site: dict[str, bytes]) -> list[dict[str, Any]]:
    """The site's shared papers file, read back."""
    [path] = [p for p in site if p.startswith("assets/papers-")]
    return papers_file(site[path])
