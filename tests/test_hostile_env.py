"""Odd URLs and values from papers.toml or the environment: one config line, exit 2.

Each failed on the old code: a URL the HTTP client cannot parse was an
"unexpected error" at the first request (and left the run unfinished), and a
bad value from an environment variable was blamed on papers.toml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli

BAD_URLS = ["http://[::1", "http://x:abc/", "http://x:99999/", "https://a..b/", "http://:80/"]


def update(tmp_path: Path, extra: str = "") -> tuple[int, str]:
    (tmp_path / "papers.toml").write_text(f'[[topics]]\nname = "A"\n{extra}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["update"])
    return result.exit_code, result.stderr


@pytest.mark.parametrize("url", [*BAD_URLS, "http://x\x01/"])
def test_an_unusable_arxiv_url_from_the_environment_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", url)
    code, err = update(tmp_path)
    assert code == 2, err
    assert err.startswith(
        "dailypapers: config error: $DAILYPAPERS_ARXIV_URL (overrides arxiv.api_url"
    )
    assert "must be an http(s) URL" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize(
    ("table", "key"), [("arxiv", "api_url"), ("arxiv", "feed_url"), ("feeds", "base_url")]
)
def test_an_unusable_url_in_papers_toml_names_its_line(
    tmp_path: Path, table: str, key: str, url: str
) -> None:
    code, err = update(tmp_path, f'[{table}]\n{key} = "{url}"\n')
    assert code == 2, err
    assert f"papers.toml:4: {table}.{key}: must be an http(s) URL with a valid host" in err


@pytest.mark.parametrize("url", ["http://[::1]:8080/api", "https://export.arxiv.org/api/query"])
def test_usable_urls_still_pass(url: str) -> None:
    from dailypapers.config import ArxivSettings

    assert ArxivSettings(api_url=url).api_url == url


def test_a_bad_delay_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILYPAPERS_ARXIV_DELAY", "-1")
    code, err = update(tmp_path)
    assert code == 2 and "$DAILYPAPERS_ARXIV_DELAY (overrides arxiv.delay of " in err


@pytest.mark.parametrize("url", [*BAD_URLS, "http://x\x01/"])
def test_an_unusable_webhook_url_is_the_channels_problem(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """The client raised InvalidURL/UnicodeError at the send: 'unexpected error'."""
    from dailypapers.config import WebhookSettings
    from dailypapers.notify.webhook import WebhookChannel

    monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", url)
    problem = WebhookChannel(WebhookSettings()).problem()
    assert problem is not None and problem.startswith("$DAILYPAPERS_WEBHOOK_URL is not an http")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GITHUB_API_URL", "http://[::1", "$GITHUB_API_URL is not an http(s) URL with a valid"),
        ("GITHUB_API_URL", "http://x:abc", "$GITHUB_API_URL is not an http(s) URL with a valid"),
        ("GITHUB_REPOSITORY", "../..", "$GITHUB_REPOSITORY is not set to OWNER/REPO"),
    ],
)
def test_an_unusable_github_setting_is_the_channels_problem(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    from dailypapers.config import GitHubSettings
    from dailypapers.notify.github import GitHubChannel

    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/papers")
    monkeypatch.setenv(name, value)
    problem = GitHubChannel(GitHubSettings()).problem()
    assert problem is not None and problem.startswith(expected)
