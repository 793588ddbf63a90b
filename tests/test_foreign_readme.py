"""A README that dailypapers did not write is never replaced (a project's own, GitHub's).

Before, ``update`` and ``render`` overwrote any ``README.md`` in the folder
with the tables, without a word: the user's text was gone from the working
tree, and the workflow committed that.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.render.markdown import OWNED_HEAD, replaceable

OWN = "# My project\n\nHow to build it.\n"


@pytest.mark.parametrize("command", ["update", "render"])
def test_a_readme_of_the_user_s_own_is_left_and_the_run_fails(
    runner: CliRunner, server: FakeArxiv, tmp_path: Path, command: str
) -> None:
    assert runner.invoke(cli, ["init"]).exit_code == 0
    readme = tmp_path / "README.md"
    readme.write_text(OWN, encoding="utf-8")
    result = runner.invoke(cli, [command])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "README.md was not written by dailypapers" in result.stderr
    assert "[readme] path" in result.stderr
    assert readme.read_text(encoding="utf-8") == OWN
    assert server.requests == []  # refused before anything was fetched


def test_another_path_for_the_tables_keeps_the_user_s_readme(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "README.md").write_text(OWN, encoding="utf-8")
    (tmp_path / "papers.toml").write_text(
        '[readme]\npath = "PAPERS.md"\n\n[[topics]]\nname = "Reasoning"\n', encoding="utf-8"
    )
    result = runner.invoke(cli, ["update"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == OWN
    assert "Last update: " in (tmp_path / "PAPERS.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "text",
    [
        "",  # an empty file
        " \n\n",
        # the reference tool's README (the format this one replaces)
        "# Daily Papers\nThe project automatically fetches ...\n\nLast update: 2025-05-14\n",
    ],
)
def test_a_blank_readme_or_the_reference_s_is_replaced(
    runner: CliRunner, tmp_path: Path, text: str
) -> None:
    assert runner.invoke(cli, ["init"]).exit_code == 0
    (tmp_path / "README.md").write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["update"])
    assert result.exit_code == 0, result.stderr
    assert "## Reasoning" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_init_says_the_readme_there_is_kept(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(OWN, encoding="utf-8")
    result = runner.invoke(cli, ["init"])
    assert result.exit_code == 0
    assert "note: README.md here was not written by dailypapers" in result.stderr
    assert runner.invoke(cli, ["init", "--force"]).stderr.count("note: README.md") == 1
    # A kept config (naming another file, say): init --github writes the workflow only.
    (tmp_path / "papers.toml").write_text(
        '[readme]\npath = "PAPERS.md"\n\n[[topics]]\nname = "A"\n', encoding="utf-8"
    )
    assert "note: README.md" not in runner.invoke(cli, ["init", "--github"]).stderr
    (tmp_path / "README.md").unlink()
    assert "note:" not in runner.invoke(cli, ["init", "--force"]).stderr


def test_only_the_head_is_read(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("x" * OWNED_HEAD + "\nLast update: 2025-05-14\n", encoding="utf-8")
    assert not replaceable(readme)  # a date line deep in someone's file is not ours
    readme.write_text("# T\n\nLast update: 2025-05-14\n" + "x" * OWNED_HEAD, encoding="utf-8")
    assert replaceable(readme)
    readme.write_bytes(b"\xff\xfe# T\nLast update: 2025-05-14\n")  # undecodable bytes
    assert replaceable(readme)
    assert replaceable(tmp_path / "missing.md")
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    assert replaceable(fifo)  # not opened: a pipe with no writer blocked the run forever


def test_render_from_a_store_without_papers_keeps_the_published_readme(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A fresh clone, or a lost store: before, `render` replaced the published tables
    with empty ones."""
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert runner.invoke(cli, ["update"]).exit_code == 0
    readme = tmp_path / "README.md"
    published = readme.read_bytes()
    shutil.rmtree(tmp_path / ".dailypapers")
    result = runner.invoke(cli, ["render"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "holds no paper yet" in result.stderr and "'dailypapers update' first" in result.stderr
    assert readme.read_bytes() == published
    readme.unlink()  # nothing published: rendering the empty tables loses nothing
    assert runner.invoke(cli, ["render"]).exit_code == 0


@pytest.mark.parametrize(
    "command",
    [
        ["backfill", "--since", "2025-04-01", "--until", "2025-04-07"],
        ["summarize"],
    ],
)
def test_backfill_and_summarize_leave_the_user_s_readme(
    runner: CliRunner, server: FakeArxiv, tmp_path: Path, command: list[str]
) -> None:
    """Before, they rendered over it after their work (a backfill after fetching)."""
    assert runner.invoke(cli, ["init"]).exit_code == 0
    with (tmp_path / "papers.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[summaries]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\n')
    readme = tmp_path / "README.md"
    readme.write_text(OWN, encoding="utf-8")
    result = runner.invoke(cli, command)
    assert result.exit_code == 1, result.output
    assert "README.md was not written by dailypapers" in result.stderr
    assert readme.read_text(encoding="utf-8") == OWN
    assert server.requests == []  # refused before any fetch


def test_every_render_leaves_the_user_s_readme(tmp_path: Path) -> None:
    """The guard is in the render itself, for any caller."""
    from dailypapers.config import load_config
    from dailypapers.pipeline import ForeignReadme, render_outputs
    from dailypapers.store import open_store

    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    (tmp_path / "README.md").write_text(OWN, encoding="utf-8")
    config = load_config(tmp_path / "papers.toml")
    with open_store(config.db_url) as store, pytest.raises(ForeignReadme):
        render_outputs(config, store)
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == OWN


def _outputs(folder: Path, extra: str = "") -> None:
    (folder / "papers.toml").write_text(
        f'outputs = ["readme", "feeds", "site"]\n{extra}\n[[topics]]\nname = "Reasoning"\n',
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("extra", "own", "named"),
    [
        ('[feeds]\ndir = "docs"\n', "docs/sitemap.xml", "docs/sitemap.xml"),
        ('[site]\ndir = "pages"\n', "pages/index.html", "pages/index.html"),
        ('[site]\ndir = "pages"\n', "pages/assets/custom.css", "pages/assets/custom.css"),
        ("", "site/topics/mine.html", "site/topics/mine.html"),
    ],
)
def test_an_output_folder_holding_the_user_s_files_is_left_and_the_run_fails(
    runner: CliRunner, server: FakeArxiv, tmp_path: Path, extra: str, own: str, named: str
) -> None:
    # Before: [feeds] dir = "docs" deleted docs/sitemap.xml, and a [site] dir over
    # the user's own pages replaced index.html and removed assets/custom.css, silently.
    _outputs(tmp_path, extra)
    mine = tmp_path / own
    mine.parent.mkdir(parents=True)
    mine.write_text("<mine/>\n", encoding="utf-8")
    result = runner.invoke(cli, ["update"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert f"{named} was not written by dailypapers" in result.stderr
    assert "move it away, or set [" in result.stderr
    assert mine.read_text(encoding="utf-8") == "<mine/>\n"
    assert server.requests == []  # refused before anything was fetched


def test_output_folders_of_an_earlier_run_and_the_user_s_other_files_are_fine(
    runner: CliRunner, tmp_path: Path
) -> None:
    _outputs(tmp_path)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "CNAME").write_text("papers.example.org\n", encoding="utf-8")
    (tmp_path / "site" / ".nojekyll").write_text("", encoding="utf-8")
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "notes.txt").write_text("mine\n", encoding="utf-8")
    first = runner.invoke(cli, ["update"])
    assert first.exit_code == 0, first.stderr
    assert (tmp_path / "feeds" / "all.xml").is_file()
    again = runner.invoke(cli, ["update", "--force"])
    assert again.exit_code == 0, again.stderr
    assert (tmp_path / "site" / "CNAME").read_text(encoding="utf-8") == "papers.example.org\n"
    assert (tmp_path / "feeds" / "notes.txt").is_file()


def test_hand_edits_to_the_readme_are_kept_aside_and_said(
    runner: CliRunner, tmp_path: Path
) -> None:
    # Before: notes added under the tables were thrown away by the next run,
    # without a word and without a copy.
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert runner.invoke(cli, ["update"]).exit_code == 0
    readme = tmp_path / "README.md"
    written = readme.read_text(encoding="utf-8")
    redated = re.sub(r"(?m)^Last update: .*$", "Last update: 2020-01-01", written)
    readme.write_text(redated, encoding="utf-8")
    dated = runner.invoke(cli, ["render"])  # a date line is no edit (and no date: kept)
    assert dated.exit_code == 0 and "warning" not in dated.stderr
    readme.write_text(written + "\n## My notes\nKeep this!\n", encoding="utf-8")
    result = runner.invoke(cli, ["render"])
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: README.md had changes dailypapers did not write (edited by hand?): "
        "rewritten; the edited copy is .dailypapers/README.edited.md"
    ) in result.stderr
    assert "Keep this!" not in readme.read_text(encoding="utf-8")
    kept = tmp_path / ".dailypapers" / "README.edited.md"
    assert kept.read_text(encoding="utf-8").endswith("## My notes\nKeep this!\n")
    again = runner.invoke(cli, ["render", "--force"])
    assert again.exit_code == 0 and "warning" not in again.stderr
