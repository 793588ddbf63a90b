"""A fake GitHub REST API over real sockets: issues and workflow enabling, for tests.

``with FakeGitHub(token="t", repository="me/papers") as gh:`` serves, at
``gh.url`` (point ``GITHUB_API_URL`` at it):

- ``POST /repos/OWNER/REPO/issues``: checks the bearer token, the repository,
  the title and the 65,536-character body limit, as GitHub does (401, 404,
  422), and records the issue (:attr:`FakeGitHub.issues`);
- ``PUT /repos/OWNER/REPO/actions/workflows/NAME/enable``: 204.

Every request is recorded (:attr:`requests`); :meth:`fail_next` makes the
next requests fail (e.g. a 502 from GitHub's front end). From a shell:
``python -m dailypapers.offline.fake_github --token T --port 8766``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import click

from dailypapers.offline.recording import Answer, RecordingServer, Request

BODY_LIMIT = 65_536
_ISSUES = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues$")
_ENABLE = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/actions/workflows/[^/]+/enable$")


@dataclass(frozen=True)
class Issue:
    """An issue the fake created."""

    number: int
    title: str
    body: str
    labels: tuple[str, ...]


class FakeGitHub(RecordingServer):
    """GitHub's REST API, the parts dailypapers uses."""

    def __init__(
        self, *, token: str, repository: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(self._route, host=host, port=port)
        self.token, self.repository = token, repository
        self.issues: list[Issue] = []

    def _route(self, request: Request) -> Answer:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, {"message": "Bad credentials"})
        path = request.path.split("?", 1)[0]
        for pattern, method, handler in (
            (_ISSUES, "POST", self._create_issue),
            (_ENABLE, "PUT", self._enable),
        ):
            match = pattern.match(path)
            if match and request.method == method:
                if match["repo"] != self.repository:
                    return Answer(404, {"message": "Not Found"})
                return handler(request)
        return Answer(404, {"message": "Not Found"})

    def _create_issue(self, request: Request) -> Answer:
        try:
            data = request.json()
        except ValueError:
            return Answer(400, {"message": "Problems parsing JSON"})
        title, body = data.get("title"), data.get("body") or ""
        if not isinstance(title, str) or not title.strip():
            return Answer(422, {"message": "Validation Failed: title is missing"})
        if len(body) > BODY_LIMIT:
            return Answer(422, {"message": "Validation Failed: body is too long"})
        issue = Issue(len(self.issues) + 1, title, body, tuple(data.get("labels") or ()))
        self.issues.append(issue)
        url = f"https://github.com/{self.repository}/issues/{issue.number}"
        return Answer(201, {"number": issue.number, "html_url": url, "title": title})

    @staticmethod
    def _enable(request: Request) -> Answer:
        return Answer(204)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--token", required=True, help="The token clients must send.")
@click.option("--repository", default="me/papers", show_default=True, help="OWNER/REPO.")
@click.option("--port", type=int, default=0, show_default=True, help="Port; 0 picks a free one.")
def main(token: str, repository: str, port: int) -> None:
    """Serve a fake GitHub API until Ctrl-C; print each issue created."""
    server = FakeGitHub(token=token, repository=repository, port=port).start()
    click.echo(f"GITHUB_API_URL={server.url} GITHUB_REPOSITORY={repository}")
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for issue in server.issues[seen:]:
                click.echo(f"issue #{issue.number}: {issue.title} ({len(issue.body)} chars)")
            seen = len(server.issues)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
