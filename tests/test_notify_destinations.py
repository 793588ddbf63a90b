"""Deliveries keyed by destination, and topics or destinations that come back.

Two configs listing one topic, each with its own recipients, each send it; a
destination new to the store, or a topic listed again, starts from now; a
store of a version before 13 keeps what its channels owed and sent. SQLite
and PostgreSQL (``store_url``), over real sockets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.config import load_config
from dailypapers.models import Paper
from dailypapers.notify.channel import destination_key
from dailypapers.notify.email import EmailChannel
from dailypapers.notify.webhook import WebhookChannel
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_github import FakeGitHub
from dailypapers.pipeline import run_notify, run_update
from dailypapers.store import open_store
from helpers_notify import (
    arrivals,
    day,
    github_env,
    ids_in,
    notify_toml,
    parts,
    reasoning_papers,
    servers,
    topics_toml,
)
from support.smtp import SmtpSink, free_port

Update = Callable[..., str]


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with servers() as (fake, _):
        github_env(monkeypatch, fake)
        yield fake


def email_toml(port: int, *recipients: str) -> str:
    return (
        f'\n[notify.email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsecurity = "none"\n'
        f'sender = "papers@example.org"\nrecipients = {list(recipients)!r}\ntimeout = 5\n'
    ).replace("'", '"')


def projects(tmp_path: Path, arxiv: FakeArxiv, store_url: str) -> Callable[[str, str], Update]:
    """``project(name, topics)`` makes a project on the shared store and returns
    ``update(notify, when, topics=None)``: write its config with those ``[notify.*]``
    tables (and other topics), run it, ``"status: error"``."""
    arxiv_table = topics_toml(arxiv).split("[arxiv]", 1)[1]

    def project(name: str, topics: str) -> Update:
        path = tmp_path / name / "papers.toml"
        path.parent.mkdir()
        tail = f"\n[arxiv]{arxiv_table}\n[store]\nurl = {store_url!r}\n".replace("'", '"')

        def update(notify: str, when: datetime, listed: str | None = None) -> str:
            path.write_text((listed or topics) + tail + notify, encoding="utf-8")
            report = run_update(load_config(path), now=when)
            return f"{report.status}: {report.error}"

        return update

    return project


def reasoning(arxiv: FakeArxiv, count: int, hours: int = 0) -> list[Paper]:
    """``count`` papers only the "Reasoning" topic lists, newer than any served."""
    title = f"Reasoning, Step by Step {hours}"
    return reasoning_papers(arxiv, count, title, first=96000 + hours * 10, hours=hours)


def starts_from_now(
    update: Update, notify: str, sink: SmtpSink, arxiv: FakeArxiv, days: tuple[int, int]
) -> None:
    """A destination new to the project (``notify``, received by ``sink``): nothing
    queued before is sent; the next new paper is."""
    assert update(notify, day(days[0])) == "nothing new: None"
    assert sink.messages == []
    fresh = reasoning(arxiv, 1, hours=9)
    arxiv.add_papers(fresh)
    assert update(notify, day(days[1])) == "updated: None"
    assert [ids_in(parts(m)[0]) for m in sink.messages] == [{fresh[0].versioned_id}]


REASONING = '[[topics]]\nname = "Reasoning"\n'


def test_two_configs_listing_one_topic_each_email_their_own_recipients(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    """The same topic (name and query) in two projects, two mailing lists: both get it."""
    project = projects(tmp_path, arxiv, store_url)
    lab, group = project("lab", REASONING), project("group", REASONING)
    with SmtpSink() as first, SmtpSink() as second:
        to_lab = email_toml(first.port, "lab@example.org")
        to_group = email_toml(second.port, "group@example.org")
        assert lab(to_lab, day(0)) == "updated: None"
        assert group(to_group, day(0)) == "nothing new: None"
        fresh = reasoning(arxiv, 2)
        arxiv.add_papers(fresh)
        before = len(first.messages), len(second.messages)
        assert lab(to_lab, day(1)) == "updated: None"
        assert group(to_group, day(1)) == "nothing new: None"  # the lab stored them
        assert (len(first.messages), len(second.messages)) == (before[0] + 1, before[1] + 1)
        expected = {p.versioned_id for p in fresh}
        assert ids_in(parts(first.messages[-1])[0]) == expected
        assert ids_in(parts(second.messages[-1])[0]) == expected
        assert lab(to_lab, day(2)) == group(to_group, day(2)) == "nothing new: None"
        assert (len(first.messages), len(second.messages)) == (before[0] + 1, before[1] + 1)


def test_a_destination_new_to_the_store_starts_from_now(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    """Another project's e-mail is no reason to receive this project's history."""
    project = projects(tmp_path, arxiv, store_url)
    lab, group = project("lab", REASONING), project("group", REASONING)
    with SmtpSink() as first, SmtpSink() as second:
        to_lab = email_toml(first.port, "lab@example.org")
        assert lab(to_lab, day(0)) == "updated: None"
        assert group("", day(0)) == "nothing new: None"
        waiting = reasoning(arxiv, 2)
        arxiv.add_papers(waiting)
        assert group("", day(1)) == "updated: None"  # queued by it, no channel yet
        starts_from_now(group, email_toml(second.port, "group@example.org"), second, arxiv, (2, 5))


def test_a_topic_listed_again_starts_fresh(
    tmp_path: Path, arxiv: FakeArxiv, github: FakeGitHub, store_url: str
) -> None:
    """A topic dropped while its papers were pending brings no stale papers when it
    returns (a query edited and edited back is the same case: the topic id returns);
    the other topics' pending papers stay pending."""
    config = tmp_path / "papers.toml"
    head = topics_toml(arxiv) + f'[store]\nurl = "{store_url}"\n' + notify_toml(None)
    config.write_text(head, encoding="utf-8")
    run_update(load_config(config), now=day(0))
    stale, waiting = arrivals(arxiv, 2), reasoning(arxiv, 1, hours=3)
    arxiv.add_papers([*stale, waiting[0]])
    github.fail_next(500)
    assert run_update(load_config(config), now=day(1)).status == "failed"
    dropped = head.replace('[[topics]]\nname = "Reward Model"\n\n', "")
    config.write_text(dropped, encoding="utf-8")
    assert run_update(load_config(config), now=day(2)).error is None
    assert ids_in(github.issues[-1].body) == {waiting[0].versioned_id}
    config.write_text(head, encoding="utf-8")
    fresh = arrivals(arxiv, 1, hours=9)
    arxiv.add_papers(fresh)
    assert run_update(load_config(config), now=day(5)).error is None
    assert ids_in(github.issues[-1].body) == {fresh[0].versioned_id}
    assert run_notify(load_config(config)).notified[0].papers == 0


def test_a_store_before_version_13_keeps_what_its_channels_owed_and_sent(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    """Kind-keyed records are adopted: the pending papers are sent, the sent ones never."""
    port = free_port()
    config_path = tmp_path / "papers.toml"
    text = topics_toml(arxiv) + f'[store]\nurl = "{store_url}"\n' + email_toml(port, "a@b.org")
    config_path.write_text(text, encoding="utf-8")
    config = load_config(config_path)
    with SmtpSink(port=port) as smtp:
        run_update(config, now=day(0))
        assert len(smtp.messages) == 1
    pending = arrivals(arxiv, 2)
    arxiv.add_papers(pending)
    assert run_update(config, now=day(1)).status == "failed"  # the SMTP server is down
    as_before_13(config.db_url, "email")
    with SmtpSink(port=port) as smtp:
        assert run_update(config, now=day(2)).error is None
        assert [ids_in(parts(m)[0]) for m in smtp.messages] == [{p.versioned_id for p in pending}]
        assert run_notify(config).notified[0].papers == 0


def as_before_13(url: str, kind: str) -> None:
    """Rewrite the store as version 12 left it: deliveries and registration by kind."""
    with open_store(url) as store, store.transaction() as conn:
        first = conn.scalar(sa.text("SELECT min(id) FROM runs"))
        conn.execute(
            sa.text("UPDATE notify_deliveries SET channel = :kind WHERE channel LIKE :like"),
            {"kind": kind, "like": f"{kind}:%"},
        )
        conn.execute(
            sa.text(
                "INSERT INTO notify_channels (channel, since_run, registered_at) "
                "VALUES (:kind, :since, :now)"
            ),
            {"kind": kind, "since": first, "now": datetime.now(UTC).replace(tzinfo=None)},
        )
        conn.execute(sa.text("DROP TABLE notify_listings"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 13"))


def test_destinations_are_who_receives_never_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dailypapers.config import EmailSettings, WebhookSettings

    def email(*recipients: str) -> str:
        settings = EmailSettings(
            smtp_host="smtp.example.org", sender="p@example.org", recipients=list(recipients)
        )
        return EmailChannel(settings, "Papers").destination()

    assert email("a@x.org", "B@x.org") == email("b@x.org", " a@x.org")
    assert email("a@x.org") != email("b@x.org")
    assert email("a@x.org").startswith("email:") and len(email("a@x.org")) == 22
    url = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
    monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", url)
    hook = WebhookChannel(WebhookSettings()).destination()
    assert hook.startswith("webhook:") and "secret" not in hook and "hooks" not in hook
    monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", url + "2")
    assert WebhookChannel(WebhookSettings()).destination() != hook
    assert destination_key("webhook", "") == "webhook:unset"


def test_a_destination_added_back_starts_from_now(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    """Recipients dropped for a while (here every channel) and added back get nothing of
    what arrived meanwhile."""
    project = projects(tmp_path, arxiv, store_url)
    lab = project("lab", REASONING)
    with SmtpSink() as smtp:
        to_lab = email_toml(smtp.port, "lab@example.org")
        assert lab(to_lab, day(0)) == "updated: None"
        arxiv.add_papers(reasoning(arxiv, 2))
        assert lab("", day(1)) == "updated: None"
        fresh = reasoning(arxiv, 1, hours=9)
        arxiv.add_papers(fresh)
        assert lab(to_lab, day(5)) == "updated: None"
        assert len(smtp.messages) == 2
        assert ids_in(parts(smtp.messages[-1])[0]) == {fresh[0].versioned_id}


def test_a_topic_another_config_kept_returns_fresh_and_leaves_the_other_alone(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    """The group drops "Reasoning" while the lab keeps it (and fails to send): the group
    gets none of the meantime's papers when it lists the topic again, the lab still
    gets its pending ones."""
    project = projects(tmp_path, arxiv, store_url)
    reward = '[[topics]]\nname = "Reward Model"\n'
    lab, group = project("lab", REASONING), project("group", REASONING + "\n" + reward)
    port = free_port()
    with SmtpSink() as second:
        to_lab, to_group = email_toml(port, "lab@x.org"), email_toml(second.port, "g@x.org")
        with SmtpSink(port=port):
            assert lab(to_lab, day(0)) == "updated: None"
        assert group(to_group, day(0)) == "updated: None"
        meantime = reasoning(arxiv, 2)
        arxiv.add_papers(meantime)
        assert lab(to_lab, day(1)).startswith("failed: notify email")  # SMTP down
        assert group(to_group, day(1), reward).endswith(": None")  # without "Reasoning"
        fresh = reasoning(arxiv, 1, hours=9)
        arxiv.add_papers(fresh)
        sent = len(second.messages)
        assert group(to_group, day(5)) == "updated: None"
        assert [ids_in(parts(m)[0]) for m in second.messages[sent:]] == [{fresh[0].versioned_id}]
        with SmtpSink(port=port) as first:
            assert lab(to_lab, day(5)) == "nothing new: None"
            expected = {p.versioned_id for p in [*meantime, *fresh]}
            assert [ids_in(parts(m)[0]) for m in first.messages] == [expected]


def test_a_run_without_the_webhook_variable_loses_nothing_of_its_destination(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry from a shell without ``DAILYPAPERS_WEBHOOK_URL`` (``webhook:unset``) does
    not break the real destination's streak: its unsent papers go out once it is back."""
    config_path = tmp_path / "papers.toml"
    config_path.write_text(
        topics_toml(arxiv) + f'[store]\nurl = "{store_url}"\n' + notify_toml(None, False, True),
        encoding="utf-8",
    )
    with servers() as (_, hook):
        monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", f"{hook.url}/hooks/T000/B000/secret")
        run_update(load_config(config_path), now=day(0))
        pending = arrivals(arxiv, 2)
        arxiv.add_papers(pending)
        hook.fail_next(500)
        assert run_update(load_config(config_path), now=day(1)).status == "failed"
        monkeypatch.delenv("DAILYPAPERS_WEBHOOK_URL")
        assert run_notify(load_config(config_path)).status == "failed"
        monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", f"{hook.url}/hooks/T000/B000/secret")
        sent = len(hook.texts)
        assert run_update(load_config(config_path), now=day(2)).error is None
        assert [ids_in(text) for text in hook.texts[sent:]] == [{p.versioned_id for p in pending}]


def test_new_recipients_send_what_the_old_ones_had_not_yet_received(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    """Recipients changed after a failed send: the new destination continues the old
    one's streak (its pending papers are sent, its sent ones are not sent again)."""
    project = projects(tmp_path, arxiv, store_url)
    lab = project("lab", REASONING)
    port = free_port()
    with SmtpSink(port=port):
        assert lab(email_toml(port, "old@x.org"), day(0)) == "updated: None"
    pending = reasoning(arxiv, 2)
    arxiv.add_papers(pending)
    assert lab(email_toml(port, "old@x.org"), day(1)).startswith("failed: notify email")
    with SmtpSink(port=port) as smtp:
        assert lab(email_toml(port, "old@x.org", "new@x.org"), day(2)) == "nothing new: None"
        assert [ids_in(parts(m)[0]) for m in smtp.messages] == [{p.versioned_id for p in pending}]
        assert lab(email_toml(port, "new@x.org"), day(5)) == "nothing new: None"
        assert len(smtp.messages) == 1


def test_a_project_that_ran_without_channels_after_the_upgrade_gets_no_backlog(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str
) -> None:
    """On a store from before 13, only a project's first step after the upgrade adopts
    its kind's old records: one that ran without e-mail since starts from now."""
    project = projects(tmp_path, arxiv, store_url)
    lab, group = project("lab", REASONING), project("group", REASONING)
    with SmtpSink() as first, SmtpSink() as second:
        assert lab(email_toml(first.port, "lab@x.org"), day(0)) == "updated: None"
        assert group("", day(0)) == "nothing new: None"
        as_before_13(store_url, "email")
        assert group("", day(1)) == "nothing new: None"  # after the upgrade, no channel
        arxiv.add_papers(reasoning(arxiv, 2))
        assert group("", day(2)) == "updated: None"
        starts_from_now(group, email_toml(second.port, "g@x.org"), second, arxiv, (5, 6))


def test_a_topic_whose_first_run_died_before_notifying_is_still_sent(
    tmp_path: Path, arxiv: FakeArxiv, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A topic added in a run killed after storing its papers (here: writing the
    outputs failed): the next run's digest carries them, as an existing topic's."""
    import dailypapers.pipeline as pipeline

    project = projects(tmp_path, arxiv, store_url)
    lab = project("lab", REASONING)
    with SmtpSink() as smtp:
        to_lab = email_toml(smtp.port, "lab@x.org")
        assert lab(to_lab, day(0)) == "updated: None"
        reward = '[[topics]]\nname = "Reward Model"\n'
        arxiv.add_papers(added := arrivals(arxiv, 1))

        def broken(*args: object, **kwargs: object) -> object:
            raise OSError(28, "No space left on device")

        render = pipeline.render_outputs
        monkeypatch.setattr(pipeline, "render_outputs", broken)
        assert lab(to_lab, day(1), REASONING + reward).startswith("failed")
        monkeypatch.setattr(pipeline, "render_outputs", render)
        sent = len(smtp.messages)
        assert lab(to_lab, day(2), REASONING + reward).endswith(": None")
        assert [added[0].versioned_id in ids_in(parts(m)[0]) for m in smtp.messages[sent:]] == [
            True
        ]
