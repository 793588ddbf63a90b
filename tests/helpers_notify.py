"""Shared pieces of the notification tests: servers, config, README parsing."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from dailypapers.models import Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_github import FakeGitHub
from support.webhook import WebhookReceiver

TOKEN = "ghp_fakeTOKEN0123456789abcdef"
REPOSITORY = "lab/papers"
ARXIV_LINK = re.compile(r"arxiv\.org/abs/(\d{4}\.\d{4,5}v\d+)")


def topics_toml(arxiv: FakeArxiv) -> str:
    return (
        '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{arxiv.api_url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 2\n'
    )


def notify_toml(smtp_port: int | None, github: bool = True, webhook: bool = False) -> str:
    text = ""
    if smtp_port is not None:
        text += (
            f'\n[notify.email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\n'
            'security = "none"\nsender = "papers@example.org"\n'
            'recipients = ["alice@example.org", "bob@example.org"]\ntimeout = 5\n'
        )
    if github:
        text += '\n[notify.github]\nlabels = ["daily-papers", "arxiv"]\n'
    if webhook:
        text += "\n[notify.webhook]\nmax_chars = 1500\n"
    return text


def github_env(monkeypatch: pytest.MonkeyPatch, github: FakeGitHub) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("GITHUB_API_URL", github.url)


@contextmanager
def servers() -> Iterator[tuple[FakeGitHub, WebhookReceiver]]:
    with FakeGitHub(token=TOKEN, repository=REPOSITORY) as gh, WebhookReceiver() as hook:
        yield gh, hook


DAY = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)  # a Wednesday


def day(n: int) -> datetime:
    """``n`` days after :data:`DAY` (weekends are days without announcements)."""
    return DAY + timedelta(days=n)


def ids_in(text: str) -> set[str]:
    """Versioned arXiv ids linked from a text (issue body, e-mail part, README)."""
    return set(ARXIV_LINK.findall(text))


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML parts of a received digest."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def arrivals(arxiv: FakeArxiv, count: int, *, hours: int = 0) -> list[Paper]:
    """``count`` new Reward Model papers, newer than anything served so far."""
    top = max(arxiv.papers, key=lambda p: p.updated)
    return [
        top.with_changes(
            id=f"2506.{90000 + hours * 10 + n:05d}",
            title=f"A Reward Model for Task {hours}-{n}",
            updated=top.updated + timedelta(hours=1 + n),
            published=top.updated + timedelta(hours=1 + n),
            comment=None,
        )
        for n in range(count)
    ]


def reasoning_papers(
    arxiv: FakeArxiv, count: int, title: str, *, first: int, hours: int = 0
) -> list[Paper]:
    """``count`` papers titled ``title`` N about multi-step reasoning (ids from
    2506.``first``), ``hours`` and more newer than anything served so far."""
    top = max(arxiv.papers, key=lambda p: p.updated)
    return [
        top.with_changes(
            id=f"2506.{first + n:05d}",
            title=f"{title} {n}",
            abstract="Multi-step reasoning, checked step by step.",
            updated=top.updated + timedelta(hours=1 + hours + n),
            published=top.updated + timedelta(hours=1 + hours + n),
            comment=None,
        )
        for n in range(count)
    ]


def revision(arxiv: FakeArxiv, paper_id: str = "2505.06601") -> Paper:
    """Version 2 of a served paper, dated after everything else."""
    top = max(arxiv.papers, key=lambda p: p.updated)
    old = next(p for p in arxiv.papers if p.id == paper_id)
    return old.with_changes(version=old.version + 1, updated=top.updated + timedelta(days=1))


def readme_ids(path: Path) -> set[str]:
    return ids_in(path.read_text(encoding="utf-8"))


def schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with its vendored GitHub workflow schema (works offline)."""
    command = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(command), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
