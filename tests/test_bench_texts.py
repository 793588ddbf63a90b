"""The benchmark corpus with real text (``bench/arxiv_days.py``: ``real_texts``, ``texts=``).

``versus_reference.py --text`` compares the two methods on real titles,
abstracts and authors; these check that only the text changes, and that no
text adds a paper to a topic beyond its rate.
"""

from __future__ import annotations

import json
import lzma
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

from arxiv_days import Generator, Text, real_texts
from dailypapers.arxiv import query as q

RECORDS = [
    {"title": "Sparse Probing", "abstract": "We probe features.", "authors": ["A"]},
    {"title": "Learning a reward model", "abstract": "Preferences.", "authors": ["B", "C"]},
    {"title": "Graph Search", "abstract": "A Reward-Model for search.", "authors": ["D"]},
    {"title": "No authors", "abstract": "Nothing.", "authors": []},
    {"title": "Élan: Tokens Vite", "abstract": "Fast tokenizers; many words.", "authors": ["É"]},
]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.jsonl.xz"
    with lzma.open(path, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(record) + "\n" for record in RECORDS)
    return path


def test_real_texts_leave_out_what_mentions_a_topic(sample: Path) -> None:
    texts = real_texts(sample, ["Reward Model"])
    assert sorted(t.title for t in texts) == ["Sparse Probing", "Élan: Tokens Vite"]
    assert real_texts(sample, ["Reward Model"]) == texts  # a fixed order
    assert {t.authors for t in texts} == {("A",), ("É",)}


def test_texts_change_the_text_only() -> None:
    texts = [Text(f"Real title {n}", f"Real abstract number {n}.", ("Ada Real",)) for n in range(3)]
    topics = ["Reward Model", "Reasoning"]
    drawn = Generator(seed=5).announcement(date(2025, 6, 3), topics, {})
    real = Generator(seed=5, texts=texts).announcement(date(2025, 6, 3), topics, {})
    keep = ("id", "version", "categories", "primary", "published", "updated", "comment")
    assert [[getattr(p, k) for k in keep] for p in real] == [
        [getattr(p, k) for k in keep] for p in drawn
    ]
    assert {p.title[:12] for p in real} == {"Real title 0", "Real title 1", "Real title 2"}
    assert all(p.authors[0].name == "Ada Real" for p in real)
    for topic in topics:  # each topic is mentioned by the same papers, in its default search
        node = q.Or(q.phrase("ti", topic), q.phrase("abs", topic))
        assert [q.matches(node, p) for p in real] == [q.matches(node, p) for p in drawn]
    assert any(q.matches(q.phrase("abs", "Reasoning"), p) for p in real)


@pytest.mark.parametrize(
    "line", ["not json", '{"title": 1, "abstract": "a", "authors": []}', '{"title": "t"}', "[]"]
)
def test_a_line_that_is_not_a_paper_is_named(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.jsonl.xz"
    with lzma.open(path, "wt", encoding="utf-8") as out:
        out.write(json.dumps(RECORDS[0]) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=r"^line 2: not a paper of the 2025 sample$"):
        real_texts(path, ["Reward Model"])
