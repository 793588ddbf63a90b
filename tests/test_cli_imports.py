"""`dailypapers --help` imports no heavy library (a test on module sets, not on time).

Each command imports what it uses in its body; what ``--help`` and option
parsing need lives in modules that import nothing heavy. Start-up time
itself is measured by ``bench/versus_reference.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = {"sqlalchemy", "httpx", "pydantic", "jinja2", "rich", "lxml", "tenacity", "filelock"}

PROBE = """
import json, sys
from dailypapers.cli import cli
try:
    cli({args!r}, prog_name="dailypapers", standalone_mode=False)
except (SystemExit, Exception):
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=list(args))],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    loaded = {name.split(".")[0] for name in _modules_after(*args)}
    assert not loaded & HEAVY, sorted(loaded & HEAVY)


def test_a_command_imports_what_it_uses() -> None:
    # The probe is honest: running a command does import its libraries.
    loaded = {name.split(".")[0] for name in _modules_after("doctor", "--config", "missing.toml")}
    assert "pydantic" in loaded


def test_cli_constants_match_the_library() -> None:
    from dailypapers import cli, pipeline
    from dailypapers.arxiv.oai import FORMATS
    from dailypapers.names import CONFIG_ENV
    from dailypapers.sources import SOURCES

    assert cli.FAILED == pipeline.FAILED  # a StrEnum member equals its value
    shown = vars(cli)
    assert (shown["CONFIG_ENV"], shown["SOURCES"], shown["OAI_FORMATS"]) == (
        CONFIG_ENV,
        SOURCES,
        FORMATS,
    )


def test_the_console_script_is_the_entry_that_skips_before_click() -> None:
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).parent.parent / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"dailypapers": "dailypapers.entry:main"}


ENTRY_PROBE = """
import json, sys
sys.argv = ["dailypapers", *{args!r}]
from dailypapers.entry import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(set(sys.modules) - {{"httpx._main"}})))  # its stand-in, not httpx
"""


@pytest.mark.parametrize("args", [["--help"], ["update", "--help"]])
def test_the_entry_hands_everything_else_to_the_command_line(args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_PROBE.format(args=args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    *help_text, modules = done.stdout.splitlines()
    loaded = {name.split(".")[0] for name in json.loads(modules)}
    assert "click" in loaded and not loaded & HEAVY, sorted(loaded & HEAVY)
    assert help_text[0].startswith("Usage: dailypapers ")


def test_the_entry_knows_updates_defaults() -> None:
    from dailypapers import cli, entry
    from dailypapers.names import SOURCES

    wait = next(p for p in cli.update.params if p.name == "wait")
    source = next(p for p in cli.update.params if p.name == "source")
    assert wait.default == entry.DEFAULT_WAIT and getattr(source.type, "choices", None) == SOURCES


def test_httpx_loads_without_its_command_line_which_still_runs_if_called() -> None:
    probe = """
import sys
from dailypapers.entry import without_httpx_command_line
without_httpx_command_line()
import httpx
print(sorted({"rich", "pygments", "click"} & set(sys.modules)))
sys.argv = ["httpx", "--help"]
try:
    httpx.main()
except SystemExit:
    pass
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    first, *rest = done.stdout.splitlines()
    assert first == "[]"
    assert "Usage: httpx" in "\n".join(rest)


def test_the_console_script_leaves_its_objects_to_the_system_at_exit() -> None:
    """No last garbage collection after the command: ``gc.freeze`` runs at exit."""
    probe = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # runs last
sys.argv = ["dailypapers", "--version"]
from dailypapers.entry import main
print("frozen before:", gc.get_freeze_count() > 0)
try:
    main()
except SystemExit:
    pass
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "frozen before: False" and lines[-1] == "frozen at exit: True", lines
