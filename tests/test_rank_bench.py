"""bench/rank_bench.py: the protocol on a tiny corpus (readers, reader-days, JSON shape)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).parent.parent / "bench" / "rank_bench.py"


def load_bench() -> object:
    spec = importlib.util.spec_from_file_location("rank_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["rank_bench"] = module
    spec.loader.exec_module(module)
    return module


def row(number: int, day: str, title: str, authors: list[str]) -> dict[str, object]:
    return {
        "id": f"2510.{number:05d}",
        "day": day,
        "title": title,
        "abstract": f"{title} abstract.",
        "authors": authors,
        "categories": ["cs.LG"],
    }


ROWS = [
    row(1, "2025-09-01", "Reward models for alignment", ["Ada"]),
    row(2, "2025-09-02", "Reward hacking in reward models", ["Ada", "Bob"]),
    row(3, "2025-09-03", "Preference data for reward models", ["Ada"]),
    row(4, "2025-09-03", "Protein folding", ["Bob"]),
    row(5, "2025-10-01", "Robust reward models", ["Ada"]),
    row(6, "2025-10-01", "Weather forecasting", ["Cy"]),
    row(7, "2025-10-01", "Galaxy surveys", ["Cy"]),
]
TITLES = [
    "Reward shaping for robots",
    "Language models as judges",
    "Galaxy reward surveys",
    "Protein data at scale",
]


def test_json_protocol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "papers.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in ROWS)
    bench = load_bench()
    assert bench.main(["--corpus", str(corpus), "--split", "2025-10-01", "--json"]) == 0  # type: ignore[attr-defined]
    result = json.loads(capsys.readouterr().out)
    assert result["readers"] == 1 and result["reader_days"] == 1  # Ada, on 2025-10-01
    assert result["default"] in result["methods"]
    assert {"random", "tfidf-mean"} <= set(result["methods"])
    ours = result["methods"][result["default"]]
    assert ours == {"recall_at_10": 1.0, "mrr": 1.0}


def test_the_benchmark_scores_as_rank_does(tmp_path: Path) -> None:
    """Same weighting and scoring code: the batched benchmark and ``rank`` agree."""
    from datetime import UTC, datetime

    from dailypapers.models import Paper
    from dailypapers.rank.api import Held, score_papers
    from dailypapers.rank.methods import METHODS
    from dailypapers.rank.vectors import term_counts

    more = [row(8 + n, "2025-10-01", title, ["Dee"]) for n, title in enumerate(TITLES)]
    corpus = tmp_path / "papers.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS + more), encoding="utf-8")
    bench: Any = load_bench()
    run = bench.Run(bench.read_corpus(corpus), "2025-10-01")
    days = list(run.days())
    when = datetime(2025, 10, 1, tzinfo=UTC)
    for name, method in METHODS.items():
        [(day, reader, scores)] = list(bench.scored(run, method, days))
        assert reader == "Ada"
        ids = [run.papers.ids[p] for p in day.candidates]
        by_id: dict[str, Any] = {str(r["id"]): r for r in ROWS + more}
        papers = [
            Paper(i, 1, by_id[i]["title"], by_id[i]["abstract"], (), (), "cs.LG", when, when)
            for i in ids
        ]
        terms = {i: term_counts(by_id[i]["title"], by_id[i]["abstract"]) for i in by_id}
        library = [
            Held(run.papers.ids[p], "", terms[run.papers.ids[p]]) for p in run.readers[reader]
        ]
        ranked = score_papers(papers, terms, library, method, run.corpus)
        expected = dict(zip(ids, scores.tolist(), strict=True))
        assert {s.paper.id: s.score for s in ranked} == pytest.approx(expected), name
        assert ranked[0].paper.id == "2510.00005", name  # Ada's own paper comes first


def test_a_day_without_readers_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "papers.jsonl"
    quiet = [row(20, "2025-10-02", "Weather at night", ["Cy"])]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in ROWS + quiet), encoding="utf-8")
    bench: Any = load_bench()
    assert bench.main(["--corpus", str(corpus), "--split", "2025-10-01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reader_days"] == 1
