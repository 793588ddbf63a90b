"""bench/rank_bench.py: the protocol on a tiny corpus (readers, reader-days, JSON shape)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

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
