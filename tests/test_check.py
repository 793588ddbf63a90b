"""``dailypapers check``: effective queries, lint, and counts from arXiv or the store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.offline.fake_arxiv import FakeArxiv


def test_check_prints_each_effective_query(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["init"]).exit_code == 0
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Reward Model"
    assert lines[1].startswith('  query: (ti:"Reward Model" OR abs:"Reward Model") AND (cat:cs.AI')
    assert lines[-1] == "papers.toml: 2 topics, ok"


def test_check_counts_the_last_week_on_the_configured_api(
    runner: CliRunner, server: FakeArxiv
) -> None:
    runner.invoke(cli, ["init"])
    result = runner.invoke(cli, ["check", "--count", "--until", "2025-04-27"])
    assert result.exit_code == 0, result.stderr
    counts = [line for line in result.stdout.splitlines() if "last 7 days" in line]
    assert len(counts) == 2
    assert all(int(line.split(": ")[1].split()[0]) > 0 for line in counts)
    assert "submittedDate" in server.requests[-1].params["search_query"]


def test_check_flags_an_empty_topic(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "Nothing"\nquery = \'ti:"zebra crossing orchestra"\'\n'
    )
    result = runner.invoke(cli, ["check", "--count", "--until", "2025-04-27"])
    assert "  last 7 days: 0 papers" in result.stdout
    assert "note: no paper in that window" in result.stdout


def test_check_counts_from_the_store(runner: CliRunner) -> None:
    runner.invoke(cli, ["init"])
    assert runner.invoke(cli, ["update"]).exit_code == 0
    result = runner.invoke(cli, ["check", "--count", "--store", "--until", "2025-05-12"])
    assert result.exit_code == 0, result.stderr
    counts = [
        int(line.split(": ")[1].split()[0])
        for line in result.stdout.splitlines()
        if "last 7 days" in line
    ]
    assert len(counts) == 2 and sum(counts) > 0


def test_check_warns_and_strict_fails(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "LeCun"\nquery = "au:Yann LeCun"\n')
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0
    assert result.stderr.startswith("dailypapers: warning: ")
    assert ":3: topics[0].query: `LeCun` after `au:Yann`" in result.stderr
    assert result.stdout.endswith("papers.toml: 1 topic, 1 warning\n")
    strict = runner.invoke(cli, ["check", "--strict"])
    assert strict.exit_code == 2
    assert len(strict.stderr.strip().splitlines()) == 1


def test_check_reports_a_query_error_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "R"\nquery = "abs:reasoning or abs:reward"\n'
    )
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "papers.toml:3: topics[0].query: lowercase `or`" in result.stderr
    assert "did you mean `OR`?" in result.stderr


def test_check_without_network_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", "http://127.0.0.1:9/api/query")
    monkeypatch.setenv("DAILYPAPERS_ARXIV_DELAY", "0")
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "R"\n[arxiv]\nmax_attempts = 1\nbackoff = 0\n'
    )
    result = CliRunner().invoke(cli, ["check", "--count"])
    assert result.exit_code == 1
    assert result.stderr.startswith("dailypapers: failed: cannot count on arXiv")
    assert "search_query" not in result.stderr


def test_counting_an_empty_store_says_to_update_first(runner: CliRunner) -> None:
    runner.invoke(cli, ["init"])
    result = runner.invoke(cli, ["check", "--store"])
    assert result.exit_code == 1
    assert "no store at" in result.stderr and "run 'dailypapers update' first" in result.stderr
    assert not list(Path.cwd().glob(".dailypapers/*.db"))


def test_check_prints_and_counts_with_the_query_a_run_sends(
    runner: CliRunner, server: FakeArxiv, tmp_path: Path
) -> None:
    """Categories inside the archives imply the archive filter: it is not sent, nor shown."""
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "Reward Model"\ncategories = ["cs.CL"]\n\n'
        '[[topics]]\nname = "Diffusion"\n',
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Reward Model",
        '  query: (ti:"Reward Model" OR abs:"Reward Model") AND cat:cs.CL',
        "  archive filter (cs, stat): implied by the query, not sent",
    ]
    assert lines[3] == "Diffusion" and "cat:cs.AI" in lines[4]  # the filter narrows it
    assert "archive filter" not in lines[5]
    counted = runner.invoke(cli, ["check", "--count", "--until", "2025-04-27"])
    assert counted.exit_code == 0, counted.stderr
    asked = [r.params["search_query"] for r in server.requests]
    assert asked[0].startswith('(ti:"Reward Model" OR abs:"Reward Model") AND cat:cs.CL AND sub')
    assert "cat:cs.AI" not in asked[0] and "cat:cs.AI" in asked[1]


def test_until_without_a_count_is_a_usage_error(runner: CliRunner) -> None:
    """Before, `check --until DAY` printed the queries and ignored the day."""
    result = runner.invoke(cli, ["check", "--until", "2025-05-01"])
    assert result.exit_code == 2
    assert result.stderr == "dailypapers: --until counts up to a day: add --count or --store\n"


SUMMARIES = '[summaries]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\nprompt = "{}"\n'


def test_check_refuses_a_prompt_a_run_could_not_read(runner: CliRunner, tmp_path: Path) -> None:
    # A run goes on without TL;DRs when its prompt is unreadable (summaries never
    # fail a run), every day: check is where the mistake shows.
    topic = '[[topics]]\nname = "Reward Model"\n'
    (tmp_path / "papers.toml").write_text(topic + SUMMARIES.format("missing.txt"))
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("dailypapers: config error: [summaries] prompt ")
    assert "missing.txt: cannot read: No such file or directory" in result.stderr
    os.mkfifo(tmp_path / "pipe.txt")  # a pipe without a writer: reading it would block
    (tmp_path / "papers.toml").write_text(topic + SUMMARIES.format("pipe.txt"))
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 2 and "pipe.txt: not a regular file" in result.stderr
    (tmp_path / "style.txt").write_text("Be brief.")
    (tmp_path / "papers.toml").write_text(topic + SUMMARIES.format("style.txt"))
    assert runner.invoke(cli, ["check"]).exit_code == 0


def config_problems(runner: CliRunner, folder: Path, text: str) -> list[str]:
    """What `check` prints for a config with errors (exit 2), each one a line of its own."""
    (folder / "papers.toml").write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["check"])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, result.stderr
    assert all(line.startswith("dailypapers: config error: ") for line in lines)
    return lines


def test_check_reports_every_config_problem(runner: CliRunner, tmp_path: Path) -> None:
    # Before: the first problem and "(and 2 more problems)": one fix per run of check.
    lines = config_problems(
        runner,
        tmp_path,
        'max_papers = "ten"\n[[topics]]\nname = "A"\nquery = 5\n[[topics]]\nname = "B"\nmax = 3\n',
    )
    assert sorted(line.split(": ")[3] for line in lines) == [
        "max_papers",
        "topics[0].query",
        "topics[1].max",
    ]
    other = runner.invoke(cli, ["render"])  # other commands: the first, counting the rest
    assert other.exit_code == 2 and other.stderr.count("\n") == 1
    assert other.stderr.rstrip().endswith("(and 2 more problems)")


def test_check_warns_of_a_library_file_that_is_not_there(runner: CliRunner, tmp_path: Path) -> None:
    # Before: `check` said ok, and every update ranked without it ("for you: skipped").
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "A"\n[library]\npaths = ["nope.bib", "."]\n', encoding="utf-8"
    )
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "[library] paths" in line]
    assert len(warnings) == 2 and "nope.bib: not a readable file" in warnings[0]


def test_each_problem_line_of_check_is_one_line(runner: CliRunner, tmp_path: Path) -> None:
    # The diff review: the lines before the last were printed raw (a key with a line break
    # made three lines of one problem).
    text = '[[topics]]\nname = "A"\n[arxiv]\n"bad\\nline2" = 1\n[oai]\ndelay = -1\n'
    assert len(config_problems(runner, tmp_path, text)) == 2
