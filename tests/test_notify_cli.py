"""The issue's "Done when", literally, plus `notify --dry-run`, Actions outputs and secrets."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import NotifySettings
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_github import FakeGitHub
from dailypapers.workflow import WORKFLOW_PATH
from helpers_notify import (
    TOKEN,
    arrivals,
    github_env,
    ids_in,
    notify_toml,
    parts,
    readme_ids,
    revision,
    schema_check,
    servers,
)
from support.smtp import SmtpSink, free_port
from support.webhook import WebhookReceiver


@pytest.fixture
def arxiv(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        monkeypatch.setenv("DAILYPAPERS_ARXIV_URL", fake.api_url)
        monkeypatch.setenv("DAILYPAPERS_ARXIV_DELAY", "0")
        yield fake


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeGitHub, WebhookReceiver]]:
    with servers() as (github, hook):
        github_env(monkeypatch, github)
        yield github, hook


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def add_config(tmp_path: Path, text: str) -> None:
    with (tmp_path / "papers.toml").open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_done_when(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    github, _ = gh
    port = free_port()
    code, _, _ = invoke("init", "--github")
    assert code == 0
    done = schema_check(tmp_path / WORKFLOW_PATH)
    assert done.returncode == 0, done.stdout
    add_config(tmp_path, "\n[notify]\nmax_per_topic = 100\n" + notify_toml(port))
    readme = tmp_path / "README.md"

    with SmtpSink(port=port) as smtp:  # first update: everything is new
        code, out, err = invoke("update")
        assert code == 0, err
        new = readme_ids(readme)
        assert len(new) == 196 and out.startswith("updated (196 new): ")
        assert len(smtp.messages) == 1 and len(github.issues) == 1
        text, html = parts(smtp.messages[0])
        assert ids_in(text) == ids_in(html) == ids_in(github.issues[0].body) == new

        code, out, _ = invoke("update")  # second update: nothing to deliver
        assert code == 0 and "sent:" not in out
        assert len(smtp.messages) == 1 and len(github.issues) == 1

    fresh = [*arrivals(arxiv, 2), revision(arxiv)]
    expected = {p.versioned_id for p in fresh}
    arxiv.add_papers(fresh)
    # --force: arXiv's calendar says nothing was announced since the first run
    code, out, err = invoke("update", "--force")  # the SMTP server is down
    assert code == 1
    assert err.strip().splitlines()[-1] == (  # and what it did before failing
        f"dailypapers: failed: notify email: 127.0.0.1:{port}: connection refused"
        " (1 file written; sent: github 3)"
    )
    assert expected <= readme_ids(readme)
    assert ids_in(github.issues[-1].body) == expected

    with SmtpSink(port=port) as smtp:  # back: the pending papers, once
        code, out, err = invoke("update")
        assert code == 0, err
        assert len(smtp.messages) == 1 and len(github.issues) == 2
        text, html = parts(smtp.messages[0])
        assert ids_in(text) == ids_in(html) == expected
        assert "[revised, v2]" in text
        assert invoke("update")[0] == 0
        assert len(smtp.messages) == 1 and len(github.issues) == 2


def test_notify_dry_run_prints_and_sends_nothing(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    github, _ = gh
    invoke("init")
    invoke("update")
    add_config(tmp_path, notify_toml(free_port(), webhook=True))
    arxiv.add_papers(arrivals(arxiv, 2))
    invoke("update", "--force")  # email down and no webhook URL: both stay pending
    requests = len(github.requests)
    code, out, err = invoke("notify", "--dry-run")
    assert code == 0, err
    assert "github: nothing new to send" in out
    assert "email: would send 2 papers, to alice@example.org, bob@example.org via 127.0.0.1:" in out
    assert "webhook: would send 2 papers, POST to $DAILYPAPERS_WEBHOOK_URL" in out
    assert "(would fail: $DAILYPAPERS_WEBHOOK_URL is not set)" in out
    assert "subject: Daily Papers: 2 new papers (" in out and "== Reward Model ==" in out
    assert len(github.requests) == requests


def test_notify_without_channels_is_a_usage_error(tmp_path: Path) -> None:
    invoke("init")
    code, _, err = invoke("notify", "--dry-run")
    channels = set(NotifySettings.model_fields) - {"max_per_topic", "min_score", "link"}
    assert code == 2 and channels == {"email", "github", "webhook", "feishu", "telegram"}
    assert all(f"[notify.{name}]" in err for name in channels), err  # every channel named


def test_update_reports_to_github_actions(
    tmp_path: Path, arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    invoke("init")
    code, out, _ = invoke("update")
    assert code == 0
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert values["status"] == "updated" and values["new"] == "196"
    assert values["commit-message"] == f"Daily papers {values['date']}: 196 new"
    assert summary.read_text().startswith("### dailypapers: updated (196 new)\n")
    assert out.strip() in summary.read_text()


SECRETS = {
    "GITHUB_TOKEN": TOKEN,
    "DAILYPAPERS_SMTP_USER": "smtp-user-8f3a",
    "DAILYPAPERS_SMTP_PASSWORD": "pw-Zx81-very-secret",
}


@pytest.mark.slow
def test_secrets_never_leak(tmp_path: Path, arxiv: FakeArxiv) -> None:
    """Plant every secret, fail every channel, and grep everything dailypapers wrote."""
    with FakeGitHub(token=TOKEN, repository="lab/papers") as github, WebhookReceiver() as hook:
        hook_url = f"{hook.url}/services/T0/B0/hookSecret9d2"
        github.fail_next(500, message=f"echo {TOKEN}")
        hook.fail_next(500)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "DAILY"))},
            **SECRETS,
            "DAILYPAPERS_WEBHOOK_URL": hook_url,
            "DAILYPAPERS_ARXIV_URL": arxiv.api_url,
            "DAILYPAPERS_ARXIV_DELAY": "0",
            "GITHUB_REPOSITORY": "lab/papers",
            "GITHUB_API_URL": github.url,
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        }
        exe = Path(sys.executable).parent / "dailypapers"
        subprocess.run([str(exe), "init"], cwd=tmp_path, env=env, check=True)
        add_config(tmp_path, notify_toml(free_port(), webhook=True))
        runs = [
            subprocess.run([str(exe), *args], cwd=tmp_path, env=env, capture_output=True, text=True)
            for args in (["update", "--debug"], ["notify", "--dry-run"], ["notify", "--debug"])
        ]
    assert [r.returncode for r in runs] == [1, 0, 1]
    assert "notify webhook: the webhook answered HTTP 500" in runs[0].stderr
    texts = [r.stdout + r.stderr for r in runs]
    texts += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    with sqlite3.connect(tmp_path / ".dailypapers" / "papers.db") as db:
        texts += [repr(row) for row in db.execute("SELECT * FROM runs")]
    everything = "\n".join(texts)
    assert "HTTP Request: POST" in everything  # the debug log is there, masked
    for secret in [*SECRETS.values(), "hookSecret9d2"]:
        assert secret not in everything
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[topics]]\nname = "X"\n[notify.webhook]\nwebhook_url = "https://h/hookSecret9d2"\n'
    )
    done = subprocess.run(
        [str(exe), "update", "--config", str(bad)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "looks like a secret" in done.stderr
    assert "hookSecret9d2" not in done.stderr + done.stdout
