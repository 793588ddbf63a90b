"""`dailypapers --help` imports no heavy library (a test on module sets, not on time).

Each command imports what it uses in its body; what ``--help`` and option
parsing need lives in modules that import nothing heavy. Start-up time
itself is measured by ``bench/versus_reference.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
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
    return _loaded_by(PROBE.format(args=list(args)))


def _printed_by(probe: str, **environ: str) -> list[str]:
    """The lines a child process running ``probe`` printed (it must exit 0)."""
    env = {k: v for k, v in os.environ.items() if k != PLUGINS} | environ
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return done.stdout.splitlines()


def _loaded_by(probe: str, **environ: str) -> set[str]:
    """The modules a child process running ``probe`` printed on its last line (JSON)."""
    return set(json.loads(_printed_by(probe, **environ)[-1]))


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


UPDATE_PROBE = """
import json, sys
sys.argv = ["dailypapers", "update", "--config", {config!r}]
from dailypapers.entry import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)))
"""


def _update_prints(tmp_path: Path, probe: str, **environ: str) -> list[str]:
    """What ``probe`` printed, a child process that ran a one-topic update of the demo corpus."""
    from dailypapers.offline.corpus import demo_corpus
    from dailypapers.offline.fake_arxiv import FakeArxiv

    config = tmp_path / "papers.toml"
    with FakeArxiv(demo_corpus()) as server:
        config.write_text(
            f'[[topics]]\nname = "Reasoning"\n\n[arxiv]\napi_url = "{server.api_url}"\n'
            "delay = 0\nbackoff = 0\n",
            encoding="utf-8",
        )
        printed = _printed_by(probe.format(config=str(config)), **environ)
        assert server.requests  # the update did fetch and store
    return printed


def test_an_update_loads_what_it_uses_only(tmp_path: Path) -> None:
    """No asyncio: SQLAlchemy imports it for its asyncio extension, which no command uses.

    Nor, with no library and no ``[summaries]``, the ranking's or the LLM's modules; nor
    filelock where ``flock(2)`` takes the run lock; nor ``importlib.metadata`` (pydantic's
    search for plugins)."""
    loaded = set(json.loads(_update_prints(tmp_path, UPDATE_PROBE)[-1]))
    assert (tmp_path / "README.md").is_file() and "sqlalchemy.engine" in loaded
    assert "asyncio" in loaded  # the stand-in
    assert not {m for m in loaded if m.startswith("asyncio.")}, sorted(loaded)
    unused = {"dailypapers.summaries", "dailypapers.llm", "dailypapers.tldr"}
    unused |= {"dailypapers.rank.libstore", "dailypapers.rank.library", "dailypapers.rank.api"}
    unused |= {"filelock"}
    assert "dailypapers.rank.foryou" in loaded and not unused & loaded, sorted(unused & loaded)


PLUGINS_PROBE = UPDATE_PROBE + "from pydantic.plugin import _loader\nprint(_loader._plugins)\n"


@pytest.mark.parametrize(("setting", "plugins"), [(None, "None"), ("0", "{}"), ("", "{}")])
def test_pydantic_looks_for_plugins_only_when_the_environment_asks(
    tmp_path: Path, setting: str | None, plugins: str
) -> None:
    """The console script spares pydantic the search (``None``: never looked) by default;
    pydantic's own switch, set by the user to keep plugins, is left as it is."""
    environ = {} if setting is None else {PLUGINS: setting}
    assert _update_prints(tmp_path, PLUGINS_PROBE, **environ)[-1] == plugins


def test_a_submodule_imported_first_through_the_stand_in_runs_once() -> None:
    """Another library's ``import asyncio.events`` as the first use gets the module asyncio ran."""
    probe = """
import importlib, sys
from dailypapers.entry import asyncio_on_first_use
asyncio_on_first_use()
import asyncio.events as events
import asyncio
same = events.AbstractEventLoop is asyncio.AbstractEventLoop
print(events is sys.modules["asyncio.events"], same)
print(type(sys.modules["asyncio"]).__name__,
      type(events.__spec__.loader).__name__, events.__spec__.origin == events.__file__)
from asyncio.exceptions import CancelledError
print(CancelledError is asyncio.CancelledError)
import asyncio.__main__  # not run by asyncio's __init__: found as usual
async def three():
    return 3
print(asyncio.run(three()), "asyncio.__main__" in sys.modules)
print(importlib.reload(events) is events)  # a reload still runs it again
"""
    printed = _printed_by(probe)
    assert printed == [
        "True True",
        "module SourceFileLoader True",
        "True",
        "3 True",
        "True",
    ], printed


def test_asyncio_after_its_stand_in_is_asyncio() -> None:
    probe = """
import sys
from dailypapers.entry import asyncio_on_first_use
asyncio_on_first_use()
import sqlalchemy
from sqlalchemy.util import concurrency
print("asyncio.events" in sys.modules, type(sys.modules["asyncio"]).__name__)
import asyncio
async def three():
    return 3
coroutine = three()
print(concurrency.iscoroutine(coroutine), concurrency.iscoroutine(3))
coroutine.close()
print(asyncio.run(three()), type(sys.modules["asyncio"]).__name__)
asyncio.marker = "set"
print(sys.modules["asyncio"].marker, asyncio.marker)
from asyncio import events
print(events.get_event_loop_policy().__class__.__name__ != "")
"""
    printed = _printed_by(probe)
    assert printed == [
        "False _OnFirstUse",
        "True False",
        "3 module",
        "set set",
        "True",
    ], printed
