"""papers.json: validates against its shipped schema, every field, stable order."""

from __future__ import annotations

import json

import jsonschema
import pytest

from dailypapers.models import Paper
from dailypapers.offline.corpus import demo_corpus, hostile_papers
from dailypapers.render.catalog import build_catalog
from dailypapers.render.jsonout import SCHEMA_VERSION, render_json, schema


def document(topics: list[tuple[str, str, list[Paper]]]) -> dict[str, object]:
    data: dict[str, object] = json.loads(render_json(build_catalog("Daily Papers", topics)))
    return data


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_every_topic_with_every_field_validates() -> None:
    papers = demo_corpus()[:40]
    data = document(
        [("Reward Model", "q1", papers[:25]), ("Empty", "q2", []), ("All", "q3", papers)]
    )
    jsonschema.validate(data, schema(), format_checker=jsonschema.FormatChecker())
    assert data["schema_version"] == SCHEMA_VERSION
    topics = data["topics"]
    assert isinstance(topics, list)
    assert [t["name"] for t in topics] == ["Reward Model", "Empty", "All"]
    assert [t["count"] for t in topics] == [25, 0, 40]
    first = topics[0]["papers"][0]
    assert {k: first[k] for k in papers[0].to_dict()} == papers[0].to_dict()
    assert Paper.from_dict(first) == papers[0]
    assert first["abs_url"] == papers[0].abs_url and first["revised"] == (papers[0].version > 1)
    assert data["updated"] == max(p.updated for p in papers).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_hostile_text_round_trips() -> None:
    hostile = hostile_papers()
    data = document([("<script>", "q", hostile)])
    jsonschema.validate(data, schema())
    record = data["topics"][0]["papers"][0]  # type: ignore[index]
    assert Paper.from_dict(record) == hostile[0]


def test_same_data_same_bytes() -> None:
    papers = demo_corpus()[:10]
    first = render_json(build_catalog("T", [("A", "q", papers)]))
    assert first == render_json(build_catalog("T", [("A", "q", list(papers))]))
    assert first.endswith("}\n")


def test_schema_rejects_a_broken_document() -> None:
    data = document([("A", "q", demo_corpus()[:1])])
    data["topics"][0]["papers"][0]["version"] = "1"  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema())
