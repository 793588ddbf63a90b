"""Topic file names: safe for any name, stable, and never colliding."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from dailypapers.render.slugs import RESERVED, slug_map, slugify

SAFE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

HOSTILE = [
    "../../etc/passwd",
    "..",
    ".",
    "/",
    "a/b\\c",
    "CON",
    "nul",
    "all",
    "Index",
    "assets",
    "<script>alert(1)</script>",
    "名前",
    "",
    " ",
    "\x00",
    "x" * 500,
    "C++",
    "C",
    "c#",
    "Ünïcode",
    "Unicode",
]


def test_simple_names_read_well() -> None:
    assert slugify("Reward Model") == "reward-model"
    assert slugify("Vision-Language Models") == "vision-language-models"
    assert slugify("LLM 2") == "llm-2"


def test_hostile_names_get_safe_distinct_slugs() -> None:
    slugs = slug_map(HOSTILE)
    for name, slug in slugs.items():
        assert SAFE.match(slug), (name, slug)
        assert slug not in RESERVED and len(slug) <= 77
    assert len(set(slugs.values())) == len(HOSTILE)
    assert slugs["C++"] != slugs["C"] and slugs["Ünïcode"] != slugs["Unicode"]


def test_space_and_hyphen_twins_both_get_hashes() -> None:
    slugs = slug_map(["Reward Model", "Reward-Model", "Reasoning"])
    assert slugs["Reasoning"] == "reasoning"
    assert slugs["Reward Model"] != slugs["Reward-Model"]
    assert all(s.startswith("reward-model-") for s in list(slugs.values())[:2])


@given(st.lists(st.text(min_size=1, max_size=40), unique_by=str.casefold, max_size=12))
def test_any_names_any_order(names: list[str]) -> None:
    slugs = slug_map(names)
    assert len(set(slugs.values())) == len(names)
    assert all(SAFE.match(slug) for slug in slugs.values())
    assert slug_map(reversed(names)) == slugs  # independent of config order
