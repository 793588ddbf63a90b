"""The command line: exit codes, one-line errors, help text, and the Quick start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import cmarkgfm
import pytest
from click.testing import CliRunner
from cmarkgfm.cmark import Options

from dailypapers.cli import cli
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import fault

COMMANDS = sorted(cli.commands)


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_then_update_writes_the_readme(runner: CliRunner, tmp_path: Path) -> None:
    code, out, _ = invoke(runner, "init")
    assert code == 0 and "papers.toml" in out
    code, out, err = invoke(runner, "update")
    assert code == 0, err
    assert out.startswith("updated (196 new): 2 topics, ") and "requests" in out
    html = cmarkgfm.github_flavored_markdown_to_html(
        (tmp_path / "README.md").read_text(encoding="utf-8"), options=Options.CMARK_OPT_UNSAFE
    )
    assert html.count("<table>") == 2
    assert html.count("<tr>") == 2 * 101
    assert html.count("<td>") == 4 * 200


def test_second_update_says_no_new_papers(runner: CliRunner, tmp_path: Path) -> None:
    invoke(runner, "init")
    invoke(runner, "update")
    before = (tmp_path / "README.md").read_bytes()
    code, out, _ = invoke(runner, "update")
    assert code == 0
    assert out.startswith(("nothing new since the last run: ", "no announcement today: "))
    assert (tmp_path / "README.md").read_bytes() == before


def test_init_never_overwrites_without_force(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text("# mine\n", encoding="utf-8")
    code, out, err = invoke(runner, "init")
    assert code == 0 and "kept papers.toml" in err and "init --force" in out
    assert (tmp_path / "papers.toml").read_text(encoding="utf-8") == "# mine\n"
    code, _, _ = invoke(runner, "init", "--force")
    assert code == 0 and "[[topics]]" in (tmp_path / "papers.toml").read_text(encoding="utf-8")


def test_bad_config_exits_2_with_one_line(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = ""\n', encoding="utf-8")
    code, out, err = invoke(runner, "update")
    assert code == 2
    assert err.count("\n") == 1 and "papers.toml:2: topics[0].name" in err
    assert "Traceback" not in err + out


def test_missing_config_exits_2(runner: CliRunner) -> None:
    code, _, err = invoke(runner, "update")
    assert code == 2 and "dailypapers init" in err


def test_fetch_failure_exits_1_and_keeps_the_readme(
    runner: CliRunner, server: FakeArxiv, tmp_path: Path
) -> None:
    invoke(runner, "init")
    with (tmp_path / "papers.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    text = (tmp_path / "papers.toml").read_text(encoding="utf-8")
    (tmp_path / "papers.toml").write_text(
        text.replace("[arxiv]\n", "[arxiv]\nbackoff = 0\nmax_attempts = 2\n"), encoding="utf-8"
    )
    invoke(runner, "update")
    readme = (tmp_path / "README.md").read_bytes()
    server.inject(*[fault("status", code=503)] * 4)
    code, out, err = invoke(runner, "update", "--force")
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("dailypapers: failed: topic 'Reward Model': ") and "503" in last
    assert "Traceback" not in err + out
    assert (tmp_path / "README.md").read_bytes() == readme


def test_render_without_network(runner: CliRunner, tmp_path: Path) -> None:
    invoke(runner, "init")
    code, _, _ = invoke(runner, "fetch")
    assert code == 0 and not (tmp_path / "README.md").exists()
    code, out, _ = invoke(runner, "render")
    assert code == 0 and out.startswith("rendered: ") and "1 file written" in out
    assert (tmp_path / "README.md").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 3


def test_every_command_is_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"dailypapers {command}" in readme, command


def _reference_rows() -> dict[str, str]:
    """The command-line reference's first cells, by command (``library`` for its three)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    for line in readme.splitlines():
        if line.startswith("| `dailypapers "):
            cell = line.split("` |", 1)[0]
            name = cell.removeprefix("| `dailypapers ").split()[0]
            rows[name] = rows.get(name, "") + cell
    return rows


@pytest.mark.parametrize("command", COMMANDS)
def test_the_readme_reference_names_every_option(command: str) -> None:
    # --config, --debug and --help are said once for all commands, above the table
    common = {"--config", "--debug", "--help", "-h"}
    group = cli.commands[command]
    commands = getattr(group, "commands", {command: group}).values()
    options = {
        name
        for each in commands
        for param in each.params
        if isinstance(param, click.Option)
        for name in param.opts
        if name.startswith("--") and name not in common
    }
    row = _reference_rows()[command]
    assert not {name for name in options if name not in row}, row


def test_the_readme_says_which_commands_take_debug() -> None:
    def takes_debug(command: click.Command) -> bool:
        subcommands = getattr(command, "commands", {}).values()
        if subcommands:
            return all(takes_debug(each) for each in subcommands)
        return any(param.name == "debug" for param in command.params)

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    without = sorted(name for name, command in cli.commands.items() if not takes_debug(command))
    assert without == ["init", "workflow"]
    assert " ".join(readme.split()).count("every command but `init` and `workflow` takes `--debug`")


def quick_start_commands() -> list[str]:
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n")[1] for block in quick_start.split("```sh")[1:]]


@pytest.mark.slow
def test_quick_start_command_line(tmp_path: Path) -> None:
    """The README's main job, as written there, after its install steps (this venv's)."""
    steps = quick_start_commands()[0].split(" && ")
    assert steps[:3] == ["python3 -m venv .venv", ". .venv/bin/activate", "pip install ."]
    assert "-m dailypapers.offline.fake_arxiv --corpus demo -- dailypapers update" in steps[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-c", " && ".join(steps[3:])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "updated (196 new): 2 topics" in done.stdout
    readme = (tmp_path / "demo" / "README.md").read_text(encoding="utf-8")
    assert readme.count("\n| **[") == 200


def test_ci_runs_the_readme_test_command() -> None:
    root = Path(__file__).parent.parent
    test_command = next(c for c in quick_start_commands() if c.endswith("pytest"))
    assert test_command in (root / ".ci" / "run").read_text(encoding="utf-8")


def test_config_before_the_command_says_where_it_goes() -> None:
    """`dailypapers --config X update` was click's bare "No such option"."""
    result = CliRunner().invoke(cli, ["--config", "papers.toml", "check"], standalone_mode=True)
    assert result.exit_code == 2
    assert "after the command: 'dailypapers update --config FILE'" in result.stderr
