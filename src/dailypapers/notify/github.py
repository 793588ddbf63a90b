"""The ``github`` channel: one issue per run with new papers, via GitHub's REST API.

Watchers of the repository get GitHub's own e-mail about the issue, as with
the reference. ``GITHUB_TOKEN`` and ``GITHUB_REPOSITORY`` come from the
environment (GitHub Actions sets the latter; the workflow passes the token),
``GITHUB_API_URL`` too (GitHub Enterprise, or a local fake in tests).
"""

from __future__ import annotations

import os
import re

import httpx

from dailypapers import __version__
from dailypapers.bounded import (
    NOTIFY_MAX_BYTES,
    Bounds,
    LimitExceeded,
    bounded_request,
    status_before,
)
from dailypapers.config import GitHubSettings, http_url_problem
from dailypapers.masking import mask
from dailypapers.notify.channel import NotifyError, destination_key
from dailypapers.render.digest import Digest, render_issue

DEFAULT_API_URL = "https://api.github.com"
_REPOSITORY = re.compile(r"^[\w.-]+/[\w.-]+$")


class GitHubChannel:
    """Opens an issue titled ``Latest N Papers - <date>`` with a table per topic."""

    name = "github"

    def __init__(self, settings: GitHubSettings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self.max_per_topic = settings.max_per_topic
        self._transport = transport

    @property
    def api_url(self) -> str:
        return (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")

    @property
    def repository(self) -> str:
        return os.environ.get("GITHUB_REPOSITORY", "")

    def describe(self) -> str:
        labels = ", ".join(self.settings.labels) or "none"
        return f"issue in {self.repository or '$GITHUB_REPOSITORY'} (labels: {labels})"

    def destination(self) -> str:
        repository = self.repository.strip().lower()
        return destination_key(self.name, self.api_url.lower() if repository else "", repository)

    def problem(self) -> str | None:
        token = _token()
        if not token:
            return "$GITHUB_TOKEN is not set (the workflow passes secrets.GITHUB_TOKEN)"
        if not (token.isascii() and token.isprintable()) or " " in token:
            return "$GITHUB_TOKEN holds characters no token has (spaces, line breaks, non-ASCII)"
        if not _REPOSITORY.match(self.repository) or {".", ".."} & set(self.repository.split("/")):
            return "$GITHUB_REPOSITORY is not set to OWNER/REPO"
        if os.environ.get("GITHUB_API_URL") and (problem := http_url_problem(self.api_url)):
            return f"$GITHUB_API_URL {problem.replace('must be', 'is not')}"
        return None

    def preview(self, digest: Digest) -> str:
        title, body = render_issue(digest)
        return f"title: {title}\nlabels: {', '.join(self.settings.labels)}\n\n{body}"

    def send(self, digest: Digest) -> str:
        title, body = render_issue(digest)
        payload = {"title": title, "body": body, "labels": list(self.settings.labels)}
        url = f"{self.api_url}/repos/{self.repository}/issues"
        try:
            with self._client() as client:
                bounds = Bounds(NOTIFY_MAX_BYTES, self.settings.timeout)
                response = bounded_request(client, "POST", url, json=payload, bounds=bounds)
        except (LimitExceeded, httpx.HTTPError) as exc:
            if status_before(exc) == 201:  # created: its answer's body went wrong, not the issue
                return f"issue created (GitHub's answer cut short: {type(exc).__name__})"
            if isinstance(exc, LimitExceeded):
                raise NotifyError(f"{self.api_url}: {exc}") from None
            raise NotifyError(f"cannot reach {self.api_url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 201:
            raise NotifyError(f"GitHub answered HTTP {response.status_code}: {_why(response)}")
        try:
            return str(response.json().get("html_url") or response.json()["number"])
        except (ValueError, KeyError, AttributeError):
            return "issue created"

    def _client(self) -> httpx.Client:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {_token()}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": f"dailypapers/{__version__}",
        }
        timeout = httpx.Timeout(self.settings.timeout, connect=min(self.settings.timeout, 10.0))
        return httpx.Client(headers=headers, timeout=timeout, transport=self._transport)


def _token() -> str:
    """``$GITHUB_TOKEN`` without the line break a pasted secret often ends with."""
    return os.environ.get("GITHUB_TOKEN", "").strip()


def _why(response: httpx.Response) -> str:
    """GitHub's own message, with a hint for the usual permission problem."""
    try:
        message = str(response.json().get("message", ""))
    except (ValueError, AttributeError):
        message = response.text[:200]
    if response.status_code in (401, 403, 404):
        message += " (does the workflow grant 'issues: write' and pass GITHUB_TOKEN?)"
    return mask(" ".join(message.split())) or response.reason_phrase
