"""The release path: licence, metadata, sdist contents, and the repository's own workflows."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from dailypapers import __version__
from dailypapers.workflow import DEFAULT_INSTALL, render_workflow
from helpers_notify import schema_check

ROOT = Path(__file__).parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
README_TEST_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"
)


def project() -> dict[str, Any]:
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"])


def workflow(name: str) -> dict[Any, Any]:
    return dict(YAML(typ="safe").load((WORKFLOWS / name).read_text()))


def test_the_licence_is_mit_in_spdx_and_in_the_file() -> None:
    meta = project()
    assert meta["license"] == "MIT" and meta["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert not any("License ::" in c for c in meta["classifiers"])  # PEP 639: SPDX only
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    assert build["requires"] == ["setuptools>=77"]


def test_urls_and_a_changelog_entry_for_this_version() -> None:
    urls = project()["urls"]
    assert {"Source", "Issues", "Changelog"} <= set(urls)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog
    assert urls["Changelog"].endswith("/CHANGELOG.md")


def test_classifiers_name_every_python_ci_tests() -> None:
    matrix = workflow("ci.yml")["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    classified = [
        c.rsplit(" ", 1)[1]
        for c in project()["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert matrix == classified == ["3.11", "3.12", "3.13"]


def test_ci_runs_the_readme_test_command_ruff_and_mypy() -> None:
    readme = (ROOT / "README.md").read_text()
    assert README_TEST_COMMAND in readme
    steps = workflow("ci.yml")["jobs"]["test"]["steps"]
    assert any(step.get("run") == README_TEST_COMMAND for step in steps)
    lint = " ".join(step.get("run", "") for step in workflow("ci.yml")["jobs"]["lint"]["steps"])
    assert "ruff check" in lint and "ruff format --check" in lint and "mypy" in lint


def test_release_builds_checks_and_publishes_with_trusted_publishing() -> None:
    release = workflow("release.yml")
    assert release["on"]["push"]["tags"] == ["v*"]
    build = " ".join(step.get("run", "") for step in release["jobs"]["build"]["steps"])
    assert "python -m build" in build and "twine check --strict dist/*" in build
    publish = release["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["steps"][-1]["uses"] == "pypa/gh-action-pypi-publish@release/v1"
    assert "password" not in str(publish)


def test_both_workflows_validate_against_the_github_schema(tmp_path: Path) -> None:
    done = schema_check(WORKFLOWS / "ci.yml", WORKFLOWS / "release.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "ci.yml"
    broken.write_text((WORKFLOWS / "ci.yml").read_text().replace("runs-on:", "runs_on:"))
    assert schema_check(broken).returncode != 0


def test_generated_workflow_pins_this_version_and_current_actions() -> None:
    assert f"dailypapers=={__version__}" == DEFAULT_INSTALL
    text = render_workflow(issues=False)
    assert f"pip install dailypapers=={__version__}" in text
    used = set(re.findall(r"uses: (\S+)", text))
    assert used == {
        "actions/checkout@v7",
        "actions/setup-python@v7",
        "actions/cache/restore@v6",
        "actions/cache/save@v6",
    }
    ours = set(re.findall(r"uses: (actions/[\w-]+)@", (WORKFLOWS / "ci.yml").read_text()))
    assert ours <= {u.split("@")[0] for u in used}


def test_readme_links_work_on_the_package_page() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets
    relative = [t for t in targets if not t.startswith(("https://", "http://", "#"))]
    assert relative == []


@pytest.mark.slow
def test_sdist_leaves_the_tests_out_and_both_dists_pass_twine(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    checkout = tmp_path / "checkout"
    for name in tracked:
        if (ROOT / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, checkout / name)
    dist = tmp_path / "dist"
    command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), "."]
    built = subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    top = f"dailypapers-{__version__}"
    assert f"{top}/LICENSE" in names and f"{top}/CHANGELOG.md" in names
    assert not [n for n in names if n.startswith((f"{top}/tests", f"{top}/bench"))]
    with zipfile.ZipFile(wheel) as archive:
        assert not [n for n in archive.namelist() if n.startswith("tests/")]
    twine = Path(sys.executable).parent / "twine"
    checked = subprocess.run(
        [str(twine), "check", "--strict", str(sdist), str(wheel)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_release_reads_the_version_the_package_reports() -> None:
    step = next(
        s["run"]
        for s in workflow("release.yml")["jobs"]["build"]["steps"]
        if s.get("name") == "The tag names the package version"
    )
    command = step.splitlines()[0].removeprefix("version=$(").removesuffix(")")
    found = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == __version__
