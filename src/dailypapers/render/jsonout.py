"""``papers.json``: every topic with its papers, for scripts.

The layout is versioned (``schema_version``) and described by the JSON
Schema shipped beside this module (``papers.schema.json``; see
:func:`schema`). Order is stable: topics in config order, papers newest
first, keys in a fixed order; no time of rendering is written, so the file is
byte-identical when the data did not change.
"""

from __future__ import annotations

import json
import re
import uuid
from importlib import resources
from typing import Any

from dailypapers.models import Paper
from dailypapers.render.catalog import Catalog, paper_record, timestamp

SCHEMA_VERSION = 2
SCHEMA_FILE = "papers.schema.json"


def papers_document(catalog: Catalog) -> dict[str, Any]:
    """The ``papers.json`` document as Python data.

    With a library (``catalog.ranking``): a top-level ``for_you`` list and a
    ``score`` on each paper of a topic; without one, neither key.
    """
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": "dailypapers",
        "title": catalog.title,
        "updated": timestamp(catalog.updated),
        "topics": [
            {
                "name": topic.name,
                "slug": topic.slug,
                "query": topic.query,
                "count": len(topic.papers),
                "updated": timestamp(topic.updated),
                "papers": [_record(catalog, paper) for paper in topic.papers],
            }
            for topic in catalog.topics
        ],
    }
    if catalog.ranking is not None:
        document["for_you"] = [pick.as_json() for pick in catalog.ranking.picks]
    return document


def _record(catalog: Catalog, paper: Paper) -> dict[str, Any]:
    record = paper_record(paper)
    if catalog.ranking is not None:
        record["score"] = catalog.ranking.score(paper.id)
    return record


def render_json(catalog: Catalog) -> str:
    """``papers.json`` as text: UTF-8, two-space indent, one paper per line, final newline.

    A paper on one line keeps diffs small (a revised paper changes one line)
    and lets json's C encoder write the bulk: with ``indent`` everywhere,
    10,000 papers took over a second.
    """
    document = papers_document(catalog)
    marker = f"papers-{uuid.uuid4().hex}-"
    papers: list[list[Any]] = []
    for number, topic in enumerate(document["topics"]):
        papers.append(topic["papers"])
        topic["papers"] = f"{marker}{number}"
    text = json.dumps(document, ensure_ascii=False, indent=2)
    text = re.sub(f'"{marker}(\\d+)"', lambda m: _paper_lines(papers[int(m[1])]), text)
    return text + "\n"


# ``json.dumps`` with options builds an encoder per call: one for every paper.
_ONE_LINE = json.JSONEncoder(ensure_ascii=False)


def _paper_lines(records: list[Any]) -> str:
    if not records:
        return "[]"
    lines = [_ONE_LINE.encode(record) for record in records]
    inner = ",\n        ".join(lines)
    return f"[\n        {inner}\n      ]"


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that ``papers.json`` follows."""
    text = resources.files("dailypapers.render").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
