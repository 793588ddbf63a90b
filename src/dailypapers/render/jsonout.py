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
from collections.abc import Callable
from importlib import resources
from json.encoder import encode_basestring
from typing import Any

from dailypapers.links import labels
from dailypapers.models import ABS_URL, PDF_URL, Paper, format_timestamp
from dailypapers.render.catalog import Catalog, TopicListing, paper_record, timestamp

SCHEMA_VERSION = 2
SCHEMA_FILE = "papers.schema.json"


def papers_document(catalog: Catalog) -> dict[str, Any]:
    """The ``papers.json`` document as Python data.

    With a library (``catalog.ranking``): a top-level ``for_you`` list and a
    ``score`` on each paper of a topic; without one, neither key.
    """
    return _document(catalog, lambda topic: [_record(catalog, paper) for paper in topic.papers])


def _document(catalog: Catalog, papers_of: Callable[[TopicListing], Any]) -> dict[str, Any]:
    """The document with ``papers_of(topic)`` as each topic's ``papers``."""
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
                "papers": papers_of(topic),
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

    A paper on one line keeps diffs small (a revised paper changes one line).
    Each paper's line is written as text (:func:`paper_line`: what
    ``json.dumps`` writes for :func:`_record`, without building the dicts), once
    a paper; the rest of the document by ``json.dumps``.
    """
    marker = f"papers-{uuid.uuid4().hex}-"
    numbered = {topic.slug: number for number, topic in enumerate(catalog.topics)}
    text = json.dumps(
        _document(catalog, lambda topic: f"{marker}{numbered[topic.slug]}"),
        ensure_ascii=False,
        indent=2,
    )
    lines: dict[tuple[str, int], str] = {}

    def topic_lines(number: int) -> str:
        papers = catalog.topics[number].papers
        if not papers:
            return "[]"
        found = []
        for paper in papers:
            key = (paper.id, paper.version)
            line = lines.get(key)
            if line is None:
                line = lines[key] = _scored_line(catalog, paper)
            found.append(line)
        inner = ",\n        ".join(found)
        return f"[\n        {inner}\n      ]"

    text = re.sub(f'"{marker}(\\d+)"', lambda m: topic_lines(int(m[1])), text)
    return text + "\n"


def _scored_line(catalog: Catalog, paper: Paper) -> str:
    line = paper_line(paper)
    if catalog.ranking is None:
        return line
    return f'{line[:-1]}, "score": {_ONE_LINE.encode(catalog.ranking.score(paper.id))}}}'


# ``json.dumps`` with options builds an encoder per call: one for every paper.
_ONE_LINE = json.JSONEncoder(ensure_ascii=False)
_S = encode_basestring  # a string as json writes it with ensure_ascii=False (C)


def paper_line(paper: Paper) -> str:
    """``json.dumps(paper_record(paper), ensure_ascii=False)``, written directly.

    ``tests/test_render_same_bytes.py`` compares the two on hostile text.
    """
    found = labels(paper)
    authors = ", ".join(
        f'{{"name": {_S(a.name)}, "affiliations": [{", ".join(map(_S, a.affiliations))}]}}'
        for a in paper.authors
    )
    links = ", ".join(
        f'{{"kind": {_S(k.kind)}, "label": {_S(k.label)}, "url": {_S(k.url)}}}' for k in found.links
    )
    versioned = paper.versioned_id
    return "".join(
        [
            f'{{"id": {_S(paper.id)}, "version": {int.__repr__(paper.version)}, ',
            f'"title": {_S(paper.title)}, "abstract": {_S(paper.abstract)}, ',
            f'"authors": [{authors}], "categories": [{", ".join(map(_S, paper.categories))}], ',
            f'"primary": {_S(paper.primary)}, ',
            f'"published": {_S(format_timestamp(paper.published))}, ',
            f'"updated": {_S(format_timestamp(paper.updated))}, ',
            f'"comment": {_optional(paper.comment)}, ',
            f'"journal_ref": {_optional(paper.journal_ref)}, ',
            f'"doi": {_optional(paper.doi)}, "versioned_id": {_S(versioned)}, ',
            f'"abs_url": {_S(ABS_URL + versioned)}, "pdf_url": {_S(PDF_URL + versioned)}, ',
            f'"links": [{links}], "venue": {_optional(found.venue)}, ',
            f'"revised": {"true" if found.revised else "false"}, "tldr": {_optional(paper.tldr)}}}',
        ]
    )


def _optional(text: str | None) -> str:
    return "null" if text is None else _S(text)


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that ``papers.json`` follows."""
    text = resources.files("dailypapers.render").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
