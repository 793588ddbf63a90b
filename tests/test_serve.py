"""``dailypapers serve``: the site folder on localhost."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.serve import make_server, server_url


def test_serves_the_folder_without_caching(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>hello</p>", encoding="utf-8")
    server = make_server(tmp_path, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = httpx.get(server_url(server) + "index.html")
        assert response.status_code == 200 and response.text == "<p>hello</p>"
        assert response.headers["cache-control"] == "no-store"
        assert httpx.get(server_url(server) + "../papers.toml").status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_without_a_site_it_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert (
        'no site yet in site/ (no index.html): add "site" to outputs in papers.toml'
        in result.stderr
    )


def test_an_empty_bind_address_is_a_usage_error(tmp_path: Path) -> None:
    # Before: "" listened on every interface (0.0.0.0), from an empty "$ADDR".
    result = CliRunner().invoke(cli, ["serve", "--bind", " "])
    assert result.exit_code == 2
    assert result.stderr.startswith("dailypapers: --bind is empty: give an address")


@pytest.mark.slow
def test_command_serves_until_stopped(tmp_path: Path) -> None:
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "A"\n', encoding="utf-8")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>site</p>", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    command = [sys.executable, "-m", "dailypapers.cli", "serve", "--port", "0"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving site at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].split()[0]
        assert httpx.get(url, timeout=10).text == "<p>site</p>"
    finally:
        process.terminate()
        process.wait(timeout=10)
