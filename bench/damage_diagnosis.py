"""What naming a damaged stored value costs ``search``: ``python bench/damage_diagnosis.py [N]``.

A SQLite store of N papers (default 1,000,000: the demo update's 100, then
copies of them no search finds), one listed paper damaged (``updated`` =
``'garbage'``) and stored last. Times, taking turns, the old diagnosis (every
stored paper checked in Python: ``schema.find_damaged``) and the whole failing
``search`` now (the papers it read checked: ``searchquery.diagnose``).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import load_config
from dailypapers.models import StoredValueError
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.schema import find_damaged
from dailypapers.search import search
from dailypapers.store import open_store

COLUMNS = (
    "version, title, abstract, authors, categories, primary_category, comment, "
    "journal_ref, doi, published, updated, first_seen, last_seen"
)


def build(folder: Path, count: int) -> str:
    """The project in ``folder`` with ``count`` papers, one damaged; that paper's id."""
    os.chdir(folder)
    with FakeArxiv(demo_corpus()) as arxiv:
        (folder / "papers.toml").write_text(
            f'[[topics]]\nname = "Reward Model"\n[arxiv]\napi_url = "{arxiv.api_url}"\n'
            "delay = 0\nbackoff = 0\n",
            encoding="utf-8",
        )
        assert CliRunner().invoke(cli, ["update"]).exit_code == 0
    with sqlite3.connect(folder / ".dailypapers" / "papers.db") as conn:
        copies = max(0, count // 100 - 1)
        conn.execute(
            f"INSERT INTO papers (id, {COLUMNS}) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
            f" SELECT i + 1 FROM n WHERE i < {copies}) SELECT p.id || 'x' || n.i, {COLUMNS}"
            " FROM papers AS p, n"
        )
        (paper_id,) = conn.execute("SELECT paper_id FROM topic_papers LIMIT 1").fetchone()
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("CREATE TEMP TABLE keep AS SELECT * FROM papers WHERE id = ?", (paper_id,))
        conn.execute("DELETE FROM papers WHERE id = ?", (paper_id,))
        conn.execute("INSERT INTO papers SELECT * FROM keep")
        conn.execute("UPDATE papers SET updated = 'garbage' WHERE id = ?", (paper_id,))
    return str(paper_id)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as root:
        paper_id = build(Path(root), count)
        config = load_config(Path(root) / "papers.toml")
        with open_store(config.db_url) as store:

            def old() -> None:
                with store.reading() as conn:
                    found = find_damaged(conn)
                assert found is not None and paper_id in str(found)

            def new() -> None:
                try:
                    search(store, "reward", limit=10_000)
                except StoredValueError as exc:
                    assert paper_id in str(exc)
                    return
                raise AssertionError("the search did not fail")

            olds, news = [], []
            for _ in range(3):  # taking turns
                olds.append(timed(old))
                news.append(timed(new))
    old_s, new_s = statistics.median(olds), statistics.median(news)
    print(f"papers: {count:,}; load average {os.getloadavg()[0]:.2f}")
    print(f"old diagnosis (every paper in Python): {old_s:.2f} s (median of 3)")
    print(f"failing search with its diagnosis now: {new_s * 1000:.0f} ms (median of 3)")
    print(f"ratio: {old_s / new_s:.0f}x")


if __name__ == "__main__":
    main()
