"""Notifications through the daily job: what is new is sent once, failures stay pending.

Real sockets throughout: the fake arXiv server, the fake GitHub API, an
aiosmtpd server on loopback and a local webhook receiver.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from dailypapers.config import Config, load_config
from dailypapers.models import Paper
from dailypapers.notify import readme_link
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_github import FakeGitHub
from dailypapers.pipeline import run_notify, run_update
from dailypapers.store import open_store
from helpers_notify import (
    REPOSITORY,
    arrivals,
    day,
    github_env,
    ids_in,
    notify_toml,
    parts,
    readme_ids,
    reasoning_papers,
    revision,
    servers,
    topics_toml,
)
from support.smtp import SmtpSink, free_port
from support.webhook import WebhookReceiver


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeGitHub, WebhookReceiver]]:
    with servers() as (github, hook):
        github_env(monkeypatch, github)
        monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", f"{hook.url}/hooks/T000/B000/secretpath")
        yield github, hook


def configure(tmp_path: Path, arxiv: FakeArxiv, extra: str = "") -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(topics_toml(arxiv) + extra, encoding="utf-8")
    return load_config(path)


def started(tmp_path: Path, arxiv: FakeArxiv, extra: str) -> Config:
    """A project configured with ``extra`` after its first run (day 0)."""
    config = configure(tmp_path, arxiv, extra)
    run_update(config, now=day(0))
    return config


def test_only_new_papers_are_sent_once_per_channel(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver], store_url: str
) -> None:
    github, hook = gh
    with SmtpSink() as smtp:
        extra = f'[store]\nurl = "{store_url}"\n' + notify_toml(smtp.port, webhook=True)
        config = configure(tmp_path, arxiv, extra)
        run_update(config, now=day(0))
        assert (len(github.issues), len(smtp.messages), len(hook.texts)) == (1, 1, 1)
        new = arrivals(arxiv, 2)
        revised = revision(arxiv)
        arxiv.add_papers([*new, revised])
        report = run_update(config, now=day(1))
        assert report.status == "updated", report.error
        expected = {p.versioned_id for p in [*new, revised]}
        issue = github.issues[-1]
        assert ids_in(issue.body) == expected
        assert issue.title == "Latest 3 Papers - May 15, 2025"
        assert issue.labels == ("daily-papers", "arxiv")
        text, html = parts(smtp.messages[-1])
        assert ids_in(text) == ids_in(html) == expected
        assert ids_in(hook.texts[-1]) == expected
        assert "revised, v2" in text and "revised, v2" in issue.body
        assert "revised, v2" in hook.texts[-1]
        assert report.summary().endswith("sent: github 3, email 3, webhook 3")
        again = run_update(config, now=day(2))
        assert again.status == "nothing new", again.error
        assert (len(github.issues), len(smtp.messages), len(hook.texts)) == (2, 2, 2)


def test_first_run_sends_a_capped_digest_and_never_the_rest(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    github, _ = gh
    config = started(tmp_path, arxiv, "[notify]\nmax_per_topic = 5\n" + notify_toml(None))
    body = github.issues[0].body
    assert body.count("\n| **[") == 10
    assert body.count("… and 95 more new papers in the [README]") == 2
    assert f"https://github.com/{REPOSITORY}#readme" in body
    arxiv.add_papers(arrivals(arxiv, 1))
    run_update(config, now=day(1))
    assert len(github.issues) == 2 and github.issues[1].body.count("\n| **[") == 1


def test_a_failed_channel_keeps_its_papers_pending_and_the_others_go_on(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver], store_url: str
) -> None:
    github, _ = gh
    port = free_port()
    config = configure(tmp_path, arxiv, f'[store]\nurl = "{store_url}"\n' + notify_toml(port))
    with SmtpSink(port=port):
        run_update(config, now=day(0))
    new = arrivals(arxiv, 3)
    arxiv.add_papers(new)
    report = run_update(config, now=day(1))  # the SMTP server is down
    assert report.status == "failed"
    assert report.error == f"notify email: 127.0.0.1:{port}: connection refused"
    assert report.written == [config.readme_path]
    assert report.summary() == (  # before: the failure alone, as if nothing had been done
        f"failed: notify email: 127.0.0.1:{port}: connection refused "
        "(1 file written; sent: github 3)"
    )
    assert {p.versioned_id for p in new} <= readme_ids(config.readme_path)
    assert ids_in(github.issues[-1].body) == {p.versioned_id for p in new}
    with open_store(config.db_url) as store:
        last = store.last_runs(1)[0]
        assert (last.status, last.new_papers) == ("failed", 3)
    more = arrivals(arxiv, 1, hours=5)
    arxiv.add_papers(more)
    with SmtpSink(port=port) as smtp:
        report = run_update(config, now=day(2))
        assert report.status == "updated", report.error
        assert len(smtp.messages) == 1
        assert ids_in(parts(smtp.messages[0])[0]) == {p.versioned_id for p in [*new, *more]}
        assert ids_in(github.issues[-1].body) == {more[0].versioned_id}
        run_update(config, now=day(3))
        assert len(smtp.messages) == 1 and len(github.issues) == 3


def test_github_failure_is_retried_by_the_next_run(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    github, _ = gh
    config = started(tmp_path, arxiv, notify_toml(None))
    new = arrivals(arxiv, 2)
    arxiv.add_papers(new)
    github.fail_next(502, message="Server Error")
    report = run_update(config, now=day(1))
    assert report.error == "notify github: GitHub answered HTTP 502: Server Error"
    assert len(github.issues) == 1
    report = run_notify(config, now=day(1))
    assert report.status == "notified"
    assert ids_in(github.issues[-1].body) == {p.versioned_id for p in new}
    assert run_notify(config).notified[0].papers == 0


def test_a_lost_store_does_not_resend_what_the_readme_lists(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    """GitHub's cache can miss: the README in the repository says what readers saw."""
    github, _ = gh
    config = started(tmp_path, arxiv, notify_toml(None))
    shutil.rmtree(tmp_path / ".dailypapers")
    new = arrivals(arxiv, 2)
    revised = revision(arxiv, "2505.07818")
    arxiv.add_papers([*new, revised])
    report = run_update(config, now=day(1))
    assert report.status == "updated"
    issue = github.issues[-1]
    assert ids_in(issue.body) == {p.versioned_id for p in [*new, revised]}
    assert "(revised, v2)" in issue.body


def test_a_channel_added_later_gets_only_what_is_new_from_then_on(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    github, _ = gh
    config = started(tmp_path, arxiv, "")
    arxiv.add_papers(arrivals(arxiv, 2))
    run_update(config, now=day(1))
    config = configure(tmp_path, arxiv, notify_toml(None))
    run_update(config, now=day(2))
    assert github.issues == []
    new = arrivals(arxiv, 1, hours=9)
    arxiv.add_papers(new)
    run_update(config, now=day(5))  # Monday: after Sunday's announcement
    assert [ids_in(i.body) for i in github.issues] == [{new[0].versioned_id}]


def test_notify_sends_the_latest_batch_to_a_new_channel(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    github, _ = gh
    config = started(tmp_path, arxiv, "")
    new = arrivals(arxiv, 2)
    arxiv.add_papers(new)
    run_update(config, now=day(1))
    config = configure(tmp_path, arxiv, notify_toml(None))
    preview = run_notify(config, dry_run=True)
    assert preview.notified[0].papers == 2 and github.requests == []
    assert "title: Latest 2 Papers - " in preview.notified[0].preview
    run_notify(config)
    assert [ids_in(i.body) for i in github.issues] == [{p.versioned_id for p in new}]


def test_missing_token_fails_the_run_but_keeps_the_outputs(
    tmp_path: Path, arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configure(tmp_path, arxiv, notify_toml(None))
    report = run_update(config, now=day(0))
    assert report.error == (
        "notify github: $GITHUB_TOKEN is not set (the workflow passes secrets.GITHUB_TOKEN)"
    )
    assert config.readme_path.exists()


def test_a_pasted_token_with_a_line_break_works_and_a_foreign_one_is_a_problem(
    tmp_path: Path,
    arxiv: FakeArxiv,
    gh: tuple[FakeGitHub, WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: the line break leaked the token into the failure line (an HTTP library's
    "Illegal header value b'Bearer ...\\n'"), and a non-ASCII token was a traceback."""
    from helpers_notify import TOKEN

    github, hook = gh
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN + "\n")
    config = configure(tmp_path, arxiv, notify_toml(None, webhook=True))
    report = run_update(config, now=day(0))
    assert report.error is None and len(github.issues) == 1
    monkeypatch.setenv("GITHUB_TOKEN", "tök-" + TOKEN)
    arxiv.add_papers(arrivals(arxiv, 1))
    report = run_update(config, now=day(1))
    assert report.error == (
        "notify github: $GITHUB_TOKEN holds characters no token has "
        "(spaces, line breaks, non-ASCII)"
    )
    assert len(github.issues) == 1 and len(hook.texts) == 2  # the webhook still sent


def test_a_channels_unexpected_error_is_its_one_line_and_the_others_send(
    tmp_path: Path,
    arxiv: FakeArxiv,
    gh: tuple[FakeGitHub, WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dailypapers.notify.webhook import WebhookChannel

    def broken(self: WebhookChannel, digest: object) -> str:
        raise UnicodeEncodeError("latin-1", "ö", 0, 1, "ordinal not in range")

    monkeypatch.setattr(WebhookChannel, "send", broken)
    github, _ = gh
    config = configure(tmp_path, arxiv, notify_toml(None, webhook=True))
    report = run_update(config, now=day(0))
    assert report.error == (
        "notify webhook: UnicodeEncodeError: 'latin-1' codec can't encode character "
        "'\\xf6' in position 0: ordinal not in range"
    )
    assert len(github.issues) == 1 and config.readme_path.exists()


def test_a_servers_long_markup_answer_is_one_short_plain_line_in_the_job_summary(
    tmp_path: Path,
    arxiv: FakeArxiv,
    gh: tuple[FakeGitHub, WebhookReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GitHub's message went into the summary page as it came: any length, its lines and
    its markup live (a heading, a link, an image)."""
    github, _ = gh
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    hostile = "nope\n# Owned\n[click](https://evil.example) <img src=x> `code` " + "x" * 5000
    github.fail_next(403, message=hostile)
    config = configure(tmp_path, arxiv, notify_toml(None))
    report = run_update(config, now=day(0))
    from dailypapers.github_actions import report_to_actions

    report_to_actions(report)
    failed = [line for line in summary.read_text().splitlines() if "github: failed" in line]
    assert len(failed) == 1 and len(failed[0]) < 600
    assert "<img" not in failed[0] and "`" not in failed[0]
    assert not re.search(r"(?<!\\)\]\(", failed[0])  # no link can form
    assert "\\[click\\]" in failed[0] and "&lt;img" in failed[0]


def test_a_refused_recipient_fails_the_run_and_the_others_get_it_once(
    tmp_path: Path, arxiv: FakeArxiv
) -> None:
    """Before: "sent" and exit 0 (the refusal only in the receipt). Now a failure line
    names who was refused, and the digest is recorded as sent: the others never get it
    twice."""
    with SmtpSink(refuse=frozenset({"bob@example.org"})) as smtp:
        config = configure(tmp_path, arxiv, notify_toml(smtp.port, github=False))
        report = run_update(config, now=day(0))
        assert report.error == (
            f"notify email: 127.0.0.1:{smtp.port}: refused bob@example.org "
            "(SMTP 550 5.1.1 no such user here); the other recipients have it"
        )
        assert smtp.envelopes[0][1] == ["alice@example.org"]
        again = run_notify(config)
    assert again.error is None and len(smtp.messages) == 1  # nothing owed any more


def test_a_secret_escaped_for_the_job_summary_is_still_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Escaping first made ``bot@example.org`` ``bot<!-- -->@example.org``, which the
    page's own mask no longer found."""
    from dailypapers.github_actions import report_to_actions
    from dailypapers.pipeline import RunReport
    from dailypapers.run import RunStatus

    monkeypatch.setenv("DAILYPAPERS_SMTP_USER", "bot@example.org")
    summary = tmp_path / "summary.md"
    report = RunReport(topics=1)
    report.status = RunStatus.FAILED
    report.error = "notify email: login refused for bot@example.org"
    report_to_actions(report, {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text(encoding="utf-8")
    assert "bot" not in text and "***" in text


def test_a_hostile_paper_stored_before_fields_were_bounded_does_not_flood_a_digest(
    tmp_path: Path, arxiv: FakeArxiv
) -> None:
    """A paper with a 4 MB comment, in the store from before fields were bounded where
    read: the e-mail carries its bounded form (2,000 characters), not 4 MB."""
    with SmtpSink() as smtp:
        config = started(tmp_path, arxiv, notify_toml(smtp.port, github=False))
        (new,) = arrivals(arxiv, 1)
        arxiv.add_papers([new])
        with open_store(config.db_url) as store:  # stored as the old code stored it: whole
            huge = new.with_changes(comment="c" * 4_000_000)
            store.write(lambda conn: store.save_papers(conn, [huge], day(1)))
        run_update(config, now=day(1))
    assert len(smtp.messages) == 2
    assert len(smtp.messages[1].as_bytes()) < 200_000


def test_topics_dropped_from_the_config_are_not_announced(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver]
) -> None:
    github, _ = gh
    config = started(tmp_path, arxiv, notify_toml(None))
    arxiv.add_papers(arrivals(arxiv, 1))
    github.fail_next(500)
    run_update(config, now=day(1))
    text = (tmp_path / "papers.toml").read_text(encoding="utf-8")
    (tmp_path / "papers.toml").write_text(
        text.replace('[[topics]]\nname = "Reward Model"\n\n', ""), encoding="utf-8"
    )
    report = run_notify(load_config(tmp_path / "papers.toml"))
    assert report.notified[0].papers == 0 and len(github.issues) == 1


def test_migration_2_upgrades_a_version_1_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from dailypapers import schema as store_module

    url = f"sqlite:///{tmp_path / 'papers.db'}"
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:1])
        patch.setattr(store_module, "SCHEMA_VERSION", 1)
        with open_store(url) as old:
            assert old.schema_version() == 1
    with open_store(url) as store:
        assert store.schema_version() == store_module.SCHEMA_VERSION
        assert store.migrate() == []
        names = set(sa.inspect(store.engine).get_table_names())
    assert {"notify_outbox", "notify_channels", "notify_deliveries"} <= names


def shared_projects(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> Callable[[str, datetime], str]:
    """Two projects on one store, "Reward Model" and "Reasoning", each with a ``webhook``
    channel; returns ``update(topic, when)`` -> ``"status: error"`` of that project's run."""
    arxiv_table = topics_toml(arxiv).split("[arxiv]", 1)[1]
    paths = {}
    for name, topic in (("a", "Reward Model"), ("b", "Reasoning")):
        paths[topic] = tmp_path / name / "papers.toml"
        paths[topic].parent.mkdir()
        text = (
            f'[[topics]]\nname = "{topic}"\n\n[arxiv]{arxiv_table}\n[store]\nurl = "{store_url}"\n'
        )
        paths[topic].write_text(text + notify_toml(None, github=False, webhook=True), "utf-8")

    def update(topic: str, when: datetime) -> str:
        report = run_update(load_config(paths[topic]), now=when)
        return f"{report.status}: {report.error}"

    assert update("Reward Model", day(0)) == update("Reasoning", day(0)) == "updated: None"
    return update


def newer(arxiv: FakeArxiv, count: int, title: str) -> list[Paper]:
    """``count`` papers titled ``title`` N about multi-step reasoning, newer than any served."""
    return reasoning_papers(arxiv, count, title, first=95000)


def test_a_config_sharing_the_store_never_settles_another_configs_pending_papers(
    tmp_path: Path,
    arxiv: FakeArxiv,
    gh: tuple[FakeGitHub, WebhookReceiver],
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The papers one project could not send stay pending for it, whatever the other's
    runs settle."""
    _, hook = gh
    update = shared_projects(tmp_path, arxiv, store_url)
    fresh = newer(arxiv, 2, "Reasoning about Task")
    arxiv.add_papers(fresh)
    hook.fail_next(503)
    assert update("Reasoning", day(1)) == "failed: notify webhook: the webhook answered HTTP 503"
    update("Reward Model", day(2))  # nothing of its own to send: settles what it sent
    assert update("Reasoning", day(2)).endswith(": None")
    assert ids_in(hook.texts[-1]) == {p.versioned_id for p in fresh}


def test_a_paper_both_projects_list_is_sent_by_each(
    tmp_path: Path, arxiv: FakeArxiv, gh: tuple[FakeGitHub, WebhookReceiver], store_url: str
) -> None:
    """A paper in both projects' topics: the first project's delivery is not the second's."""
    _, hook = gh
    update = shared_projects(tmp_path, arxiv, store_url)
    both = newer(arxiv, 1, "Reasoning with a Reward Model, Task")
    arxiv.add_papers(both)
    sent = len(hook.texts)
    assert update("Reward Model", day(1)) == "updated: None"
    assert update("Reasoning", day(1)) == "updated: None"
    expected = {both[0].versioned_id}
    assert [ids_in(text) for text in hook.texts[sent:]] == [expected, expected]


@pytest.mark.parametrize(
    ("folder", "readme", "link"),
    [
        ("", "README.md", "https://github.com/lab/papers#readme"),
        ("", "PAPERS.md", "https://github.com/lab/papers/blob/HEAD/PAPERS.md"),
        (
            "arxiv watch",
            "README.md",
            "https://github.com/lab/papers/blob/HEAD/arxiv%20watch/README.md",
        ),
    ],
)
def test_the_digest_links_the_file_that_holds_the_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, readme: str, link: str
) -> None:
    # Before: always the repository's front page, which with [readme] path =
    # "PAPERS.md" (the README's advice for keeping a README of one's own) shows
    # the user's README, holding no paper.
    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/papers")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path.parent))  # a checkout's path: below it
    (tmp_path / ".git").mkdir()
    project = tmp_path / folder
    project.mkdir(exist_ok=True)
    text = f'[[topics]]\nname = "A"\n\n[readme]\npath = "{readme}"\n'
    (project / "papers.toml").write_text(text, encoding="utf-8")
    assert readme_link(load_config(project / "papers.toml")) == link


def test_the_job_summary_counts_papers_in_words() -> None:
    from dailypapers.github_actions import summary_markdown
    from dailypapers.notify.channel import Outcome
    from dailypapers.pipeline import RunReport
    from dailypapers.run import RunStatus

    report = RunReport(status=RunStatus.UPDATED)
    report.notified = [Outcome("github", 1, receipt="#12"), Outcome("webhook", 3)]
    lines = summary_markdown(report).splitlines()
    assert "- github: sent 1 paper #12" in lines and "- webhook: sent 3 papers" in lines
