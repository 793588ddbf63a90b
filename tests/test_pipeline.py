"""The daily job end to end, against the fake arXiv server over real sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dailypapers.config import Config, load_config
from dailypapers.models import Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import fault
from dailypapers.offline.reference import read_readme, reference_text
from dailypapers.pipeline import run_update
from dailypapers.render.markdown import table_row
from dailypapers.store import open_store

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)  # a Wednesday
DAY2 = datetime(2025, 5, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _backend(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pipeline test runs on SQLite and on PostgreSQL."""
    monkeypatch.setenv("DAILYPAPERS_DB", store_url)


def make_config(tmp_path: Path, server: FakeArxiv, extra: str = "") -> Config:
    text = (
        f"{extra}\n"
        '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 3\n'
    )
    path = tmp_path / "papers.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def rows(readme: Path) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = line[3:]
            sections[current] = []
        elif line.startswith("| **["):
            sections[current].append(line)
    return sections


def test_cold_start_fills_each_topic_with_the_newest_100(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    report = run_update(config, now=DAY1)
    assert report.status == "updated", report.error
    tables = rows(config.readme_path)
    assert list(tables) == ["Reward Model", "Reasoning"]
    for name, lines in tables.items():
        assert len(lines) == 100, name
        dates = [line.split(" | ")[1] for line in lines]
        assert dates == sorted(dates, reverse=True)
    text = config.readme_path.read_text(encoding="utf-8")
    assert "Last update: 2025-05-14\n" in text
    assert "Gene Expression" not in text  # a q-bio paper: outside the cs/stat archives
    assert "Reasoning About Proteins" not in text  # one word: title AND abstract


def test_rows_of_reference_papers_equal_the_reference_rows(
    tmp_path: Path, server: FakeArxiv
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    ours = rows(config.readme_path)
    reference = read_readme(reference_text())
    checked = 0
    for name, ref_rows in reference.sections:
        mine = {line.split("](")[1].split(")")[0]: line for line in ours[name]}
        for row in ref_rows:
            https = row.link.replace("http://", "https://")
            expected = reference_line(name, row.link).replace(row.link, https)
            assert mine[https] == expected
            checked += 1
    assert checked == 40


def reference_line(section: str, link: str) -> str:
    text = reference_text().split(f"## {section}\n", 1)[1]
    return next(line for line in text.splitlines() if f"({link})" in line)


def test_rerun_with_nothing_new_changes_nothing(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    before = config.readme_path.read_bytes()
    mtime = config.readme_path.stat().st_mtime_ns
    server.reset_log()
    report = run_update(config, now=DAY2)
    assert report.status == "nothing new"
    assert report.summary().startswith("nothing new since the last run: 2 topics, 2 requests")
    assert report.written == []
    assert config.readme_path.read_bytes() == before
    assert config.readme_path.stat().st_mtime_ns == mtime
    assert len(server.requests) == 2  # one page per topic: incremental


def test_force_rerenders_with_the_new_date(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    report = run_update(config, now=DAY2, force=True)
    assert report.written == [config.readme_path]
    assert "Last update: 2025-05-15" in config.readme_path.read_text(encoding="utf-8")


def newest(server: FakeArxiv) -> Paper:
    return max(server.papers, key=lambda p: p.updated)


def test_arrivals_and_revisions_go_to_the_top(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    top = newest(server)
    arrival = top.with_changes(
        id="2505.99999", title="A New Reward Model", updated=top.updated + timedelta(days=1)
    )
    old = next(p for p in server.papers if p.id == "2505.06601")
    revision = old.with_changes(version=2, updated=top.updated + timedelta(days=2))
    server.add_papers([arrival, revision])
    server.reset_log()
    report = run_update(config, now=DAY2)
    assert report.status == "updated"
    assert (report.saved.new, report.saved.revised) == (1, 1)
    lines = rows(config.readme_path)["Reward Model"]
    assert len(lines) == 100
    assert lines[0] == table_row(revision)
    assert lines[1] == table_row(arrival)
    assert sum("2505.06601" in line for line in lines) == 1
    assert len(server.requests) == 2


def test_history_is_kept_beyond_the_table(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server, "max_papers = 10")
    run_update(config, now=DAY1)
    with open_store(config.db_url) as store:
        first = store.count_papers()
    top = newest(server)
    arrivals = [
        top.with_changes(
            id=f"2505.9{n:04d}", title=f"Reward Model {n}", updated=top.updated + timedelta(hours=n)
        )
        for n in range(1, 6)
    ]
    server.add_papers(arrivals)
    run_update(config, now=DAY2)
    assert len(rows(config.readme_path)["Reward Model"]) == 10
    with open_store(config.db_url) as store:
        assert store.count_papers() == first + 5


def test_failed_fetch_changes_no_output_and_no_papers(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    before = config.readme_path.read_bytes()
    with open_store(config.db_url) as store:
        stored = store.count_papers()
    top = newest(server)
    server.add_papers([top.with_changes(id="2505.99998", updated=top.updated + timedelta(1))])
    server.inject(*[fault("status", code=503)] * 10)
    report = run_update(config, now=DAY2, force=True)
    assert report.status == "failed"
    assert "503" in (report.error or "") and "\n" not in (report.error or "")
    assert config.readme_path.read_bytes() == before
    with open_store(config.db_url) as store:
        assert store.count_papers() == stored
        assert store.last_runs(1)[0].status == "failed"


def test_error_feed_fails_with_arxivs_message(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    server.inject(fault("error_feed", message="malformed query near 'ti'"))
    report = run_update(config, now=DAY1)
    assert report.status == "failed"
    assert "malformed query near 'ti'" in (report.error or "")
    assert not config.readme_path.exists()


def test_transient_faults_are_retried(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    server.inject(fault("status", code=503, retry_after=0), fault("truncated"), fault("empty_page"))
    report = run_update(config, now=DAY1)
    assert report.status == "updated", report.error
    assert all(len(lines) == 100 for lines in rows(config.readme_path).values())


def test_deleted_readme_is_rewritten_even_with_nothing_new(
    tmp_path: Path, server: FakeArxiv
) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    config.readme_path.unlink()
    report = run_update(config, now=DAY2)
    assert report.status == "nothing new"
    assert config.readme_path.exists()


def test_config_change_rerenders_without_new_papers(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=DAY1)
    smaller = make_config(tmp_path, server, "max_papers = 5")
    run_update(smaller, now=DAY2)
    assert [len(v) for v in rows(smaller.readme_path).values()] == [5, 5]


def test_render_alone_uses_the_store(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, render=False)
    assert not config.readme_path.exists()
    server.reset_log()
    report = run_update(config, fetch=False, now=DAY1)
    assert report.written == [config.readme_path]
    assert server.requests == []


def test_no_announcement_on_weekends_and_holidays(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    run_update(config, now=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    friday = run_update(config, now=datetime(2026, 11, 27, 12, 0, tzinfo=UTC))  # Thu: holiday
    assert friday.status == "no announcement"
    assert friday.summary().startswith("no announcement today: ")
    monday = run_update(config, now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))  # after Sunday's
    assert monday.status == "nothing new"


def test_updated_headline_counts_new_and_revised(tmp_path: Path, server: FakeArxiv) -> None:
    config = make_config(tmp_path, server)
    report = run_update(config, now=DAY1)
    assert report.summary().startswith("updated (196 new): 2 topics, 2 requests, ")
    assert report.summary().endswith("1 file written")
