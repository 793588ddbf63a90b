"""A new user's first minutes: fast, short failures; help; init over kept files."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from dailypapers import __version__
from dailypapers.arxiv.client import ArxivClient
from dailypapers.arxiv.errors import ArxivUnavailable
from dailypapers.cli import cli
from support.clock import FakeClock

LONG_QUERY = " OR ".join(f'abs:"term number {n}"' for n in range(60))


def dns_failure(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)


def test_a_name_that_does_not_resolve_is_retried_once(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return dns_failure(request)

    client = ArxivClient(
        "http://export.arxiv.invalid/api/query",
        delay=3.0,
        max_attempts=5,
        clock=FakeClock(),
        transport=httpx.MockTransport(handler),
    )
    caplog.set_level(logging.DEBUG, logger="dailypapers")
    with pytest.raises(ArxivUnavailable) as caught:
        client.fetch_page(LONG_QUERY, start=0, max_results=10)
    assert len(calls) == 2
    brief = caught.value.brief()
    assert brief.startswith("arXiv unavailable after 2 attempts (cannot resolve host); check")
    assert "HTTPS_PROXY" in brief and "$DAILYPAPERS_ARXIV_URL" in brief
    assert "python -m dailypapers.offline.fake_arxiv" in brief
    assert "search_query" not in brief and len(brief) < 300
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("arXiv: GET export.arxiv.invalid: cannot resolve host; retry 1")
    assert len(warnings[0]) < 80
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("search_query=" in line for line in debug)


def test_a_server_error_is_still_retried_to_the_budget() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503)

    client = ArxivClient(
        "http://fake.test/api/query",
        max_attempts=4,
        clock=FakeClock(),
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(ArxivUnavailable) as caught:
        client.fetch_page("all:x", start=0, max_results=1)
    assert len(calls) == 4 and caught.value.hint() == ""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_update_without_a_server_fails_in_two_attempts_with_what_to_check(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DAILYPAPERS_ARXIV_URL": f"http://127.0.0.1:{closed_port()}/api/query"}
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "Reasoning"\nquery = \'' + LONG_QUERY + "'\n"
        "[arxiv]\ndelay = 0\nbackoff = 0\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "dailypapers", "update"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    retries = [line for line in lines if "; retry " in line]
    assert retries == ["arXiv: GET 127.0.0.1: connection refused; retry 1 in 0.0 s"]
    final = lines[-1]
    assert final.startswith("dailypapers: failed: topic 'Reasoning': arXiv unavailable after 2")
    assert "(connection refused)" in final and "DAILYPAPERS_ARXIV_URL" in final
    assert "fake_arxiv" in final and "term number" not in result.stderr


def test_bare_command_prints_help_and_exits_0() -> None:
    result = CliRunner().invoke(cli, [])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ") and "Commands:" in result.stdout
    assert "the DailyArXiv README format" in " ".join(result.stdout.split())


@pytest.mark.parametrize("command", [[], *([name] for name in sorted(cli.commands))])
def test_help_never_says_the_reference(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "reference" not in result.stdout.lower()


def test_init_over_kept_files_is_not_an_error(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["init", "--github"])
    assert first.exit_code == 0
    assert f"the workflow installs dailypapers=={__version__}; to upgrade" in first.stdout
    assert "dailypapers workflow --force" in first.stdout
    again = runner.invoke(cli, ["init", "--github"])
    assert again.exit_code == 0
    assert "kept papers.toml" in again.stderr and "kept .github/workflows" in again.stderr
    assert "'dailypapers init --force' overwrites" in again.stdout
