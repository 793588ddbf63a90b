"""Issue 11, resource limits: every response is capped in size and bounded in total time.

Real sockets throughout: the fake arXiv, OAI-PMH, GitHub and webhook servers
send gzip bombs, huge bodies and bodies (or SMTP greetings) that drip one
piece at a time, each piece well within the per-read timeout.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import (
    EmailSettings,
    FeishuSettings,
    GitHubSettings,
    TelegramSettings,
    WebhookSettings,
    load_config,
)
from dailypapers.harvest import HarvestRequest, run_harvest
from dailypapers.notify import NotifyError
from dailypapers.notify.email import EmailChannel
from dailypapers.notify.feishu import FeishuChannel
from dailypapers.notify.github import GitHubChannel
from dailypapers.notify.telegram import TelegramChannel
from dailypapers.notify.webhook import WebhookChannel
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_github import FakeGitHub
from dailypapers.offline.fake_oai import FakeOai
from dailypapers.offline.faults import fault, gzip_bomb
from dailypapers.offline.recording import Answer
from dailypapers.pipeline import run_update
from dailypapers.render.digest import Digest, Entry, TopicDigest
from support.webhook import WebhookReceiver

LIMITS = "timeout = 5\nmax_response_mb = 1\nrequest_deadline = 1.5\n"
BOMB = gzip_bomb(32)  # 32 KB on the wire, 32 MB inflated


@pytest.fixture(scope="module")
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as server:
        yield server


def project(folder: Path, arxiv: FakeArxiv, source: str = "api") -> Path:
    path = folder / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "Reward Model"\n'
        f'[arxiv]\napi_url = "{arxiv.api_url}"\nfeed_url = "{arxiv.feed_url}"\n'
        f'source = "{source}"\ndelay = 0\nbackoff = 0\nmax_attempts = 3\n{LIMITS}'
        f'[oai]\nurl = "{arxiv.base_url}/oai"\ndelay = 0\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("injected", "message"),
    [
        (fault("bomb", megabytes=32), "response larger than 1 MB; aborted"),
        (fault("huge", megabytes=8), "response larger than 1 MB; aborted"),
        (fault("drip", chunks=400, pause=0.05), "no complete response within 1.5 s; aborted"),
    ],
)
@pytest.mark.parametrize("source", ["api", "feed"])
def test_arxiv_responses_are_capped_and_not_retried(
    tmp_path: Path, arxiv: FakeArxiv, injected: object, message: str, source: str
) -> None:
    config = load_config(project(tmp_path, arxiv, source))
    arxiv.clear_faults()
    arxiv.reset_log()
    gzip_bomb(32)  # made before the request: the server answers at once
    arxiv.inject(injected)  # type: ignore[arg-type]
    try:
        report = run_update(config, force=True)
    finally:
        arxiv.clear_faults()
    assert report.status == "failed" and message in str(report.error)
    assert len(arxiv.requests) == 1  # a protocol error: never asked again
    assert "\n" not in str(report.error)


@pytest.fixture(scope="module")
def oai() -> Iterator[FakeOai]:
    with FakeOai(demo_corpus()) as server:
        yield server


@pytest.mark.parametrize(
    ("injected", "message"),
    [
        (fault("bomb", megabytes=32), "larger than 1 MB"),
        (fault("drip", chunks=400, pause=0.05), "within 1.5 s"),
    ],
)
def test_oai_pages_are_capped(tmp_path: Path, oai: FakeOai, injected: object, message: str) -> None:
    (tmp_path / "papers.toml").write_text(
        f'[[topics]]\nname = "A"\n[arxiv]\nbackoff = 0\n{LIMITS}'
        f'[oai]\nurl = "{oai.url}"\ndelay = 0\n',
        encoding="utf-8",
    )
    gzip_bomb(32)
    oai.inject(injected)  # type: ignore[arg-type]
    report = run_harvest(
        load_config(tmp_path / "papers.toml"),
        HarvestRequest("cs", "arXivRaw", date(2025, 1, 1), date(2025, 12, 31)),
    )
    assert report.status == "failed" and message in str(report.error)


DIGEST = Digest(
    "Daily Papers",
    date(2026, 8, 21),
    (TopicDigest("Reward Model", tuple(Entry(p) for p in demo_corpus()[:2])),),
)
SLOW = Answer(200, raw=b" " * 400, chunks=400, pause=0.05)  # 20 s, 0.05 s per piece


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(500, raw=BOMB, headers={"Content-Encoding": "gzip"}), "larger than 1 MB"),
        (Answer(500, raw=b" " * 400, chunks=400, pause=0.05), "within 1.5 s"),
        # Posted (2xx): only the answer's body went wrong, so the message counts as sent
        # (before, the next run posted it again).
        (Answer(200, raw=BOMB, headers={"Content-Encoding": "gzip"}), None),
        (SLOW, None),
    ],
)
def test_the_webhook_answer_is_bounded(
    monkeypatch: pytest.MonkeyPatch, answer: Answer, message: str | None
) -> None:
    with WebhookReceiver() as hook:
        monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", f"{hook.url}/hook")
        hook.answer_next(answer)
        channel = WebhookChannel(WebhookSettings(timeout=1.5))
        started = time.monotonic()
        if message is None:
            assert channel.send(DIGEST).startswith("HTTP 200 (answer cut short: ")
        else:
            with pytest.raises(NotifyError, match=message):
                channel.send(DIGEST)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(502, raw=BOMB, headers={"Content-Encoding": "gzip"}), "larger than 1 MB"),
        (Answer(502, raw=b" " * 400, chunks=400, pause=0.05), "within 1.5 s"),
        # Created (201), its answer cut short: the issue exists, so it is not opened again.
        (Answer(201, raw=BOMB, headers={"Content-Encoding": "gzip"}), None),
        (Answer(201, raw=b" " * 400, chunks=400, pause=0.05), None),
    ],
)
def test_the_github_answer_is_bounded(
    monkeypatch: pytest.MonkeyPatch, answer: Answer, message: str | None
) -> None:
    with FakeGitHub(token="t0k", repository="lab/p") as github:
        monkeypatch.setenv("GITHUB_TOKEN", "t0k")
        monkeypatch.setenv("GITHUB_REPOSITORY", "lab/p")
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        github.answer_next(answer)
        channel = GitHubChannel(GitHubSettings(timeout=1.5))
        started = time.monotonic()
        if message is None:
            assert channel.send(DIGEST).startswith("issue created (GitHub's answer cut short: ")
        else:
            with pytest.raises(NotifyError, match=message):
                channel.send(DIGEST)
    assert time.monotonic() - started < 10


def test_a_201_whose_body_does_not_decode_counts_as_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A "gzip" body that is not gzip: httpx's DecodingError is no transport error, so the
    status was lost and the next run opened the issue again."""
    import httpx

    monkeypatch.setenv("GITHUB_TOKEN", "t0k")
    monkeypatch.setenv("GITHUB_REPOSITORY", "lab/p")
    broken = httpx.MockTransport(
        lambda request: httpx.Response(
            201, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )
    )
    receipt = GitHubChannel(GitHubSettings(timeout=1.5), transport=broken).send(DIGEST)
    assert receipt == "issue created (GitHub's answer cut short: DecodingError)"


@pytest.fixture
def dripping_smtp() -> Iterator[int]:
    """A server whose SMTP greeting arrives one byte every 0.05 s, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            while not stop.is_set():
                try:
                    conn.sendall(b"2")
                except OSError:
                    return
                time.sleep(0.05)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_a_dripping_smtp_greeting_gives_up_at_the_channel_timeout(dripping_smtp: int) -> None:
    settings = EmailSettings.model_validate(
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": dripping_smtp,
            "security": "none",
            "sender": "papers@example.org",
            "recipients": ["alice@example.org"],
            "timeout": 1.5,
        }
    )
    with pytest.raises(NotifyError, match=r"127\.0\.0\.1:\d+: no answer within 1\.5 s"):
        EmailChannel(settings, "Daily Papers").send(DIGEST)


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        *(
            (command, "--wait", value)
            for command in ("update", "fetch", "render", "notify")
            for value in ("nan", "inf", "2e9")
        ),
        *(("update", "--deadline", value) for value in ("nan", "inf", "1e300")),
    ],
)
def test_seconds_that_are_no_number_are_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, option: str, value: str
) -> None:
    """click's FloatRange lets ``nan`` through: a held lock was waited for forever, and the
    deadline's timer failed with an "unexpected" ValueError (``inf``: OverflowError)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, [command, option, value])
    assert result.exit_code == 2, result.output
    assert f"'{value}' is not a number of seconds up to 1e+09" in result.stderr
    assert not (tmp_path / ".dailypapers").exists()  # refused before anything is touched


def test_update_deadline_ends_a_run_that_drips(tmp_path: Path, arxiv: FakeArxiv) -> None:
    """Each piece within the read timeout and the request deadline: the run deadline ends it."""
    (tmp_path / "papers.toml").write_text(
        '[[topics]]\nname = "Reward Model"\n'
        f'[arxiv]\napi_url = "{arxiv.api_url}"\ndelay = 0\nbackoff = 0\ntimeout = 0.5\n',
        encoding="utf-8",
    )
    arxiv.clear_faults()
    arxiv.inject(fault("drip", chunks=400, pause=0.05))
    try:
        result = CliRunner().invoke(cli, ["update", "--deadline", "1.5"])
    finally:
        arxiv.clear_faults()
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].endswith("run deadline of 1.5 s passed; stopped")
    assert "Traceback" not in result.stderr and not (tmp_path / "README.md").exists()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(200, raw=BOMB, headers={"Content-Encoding": "gzip"}), "larger than 1 MB"),
        (SLOW, "within 1.5 s"),
    ],
)
@pytest.mark.parametrize("platform", ["feishu", "telegram"])
def test_the_native_chat_answers_are_bounded(
    monkeypatch: pytest.MonkeyPatch, answer: Answer, message: str, platform: str
) -> None:
    """Feishu/Lark and Telegram get the same size cap and total deadline as the webhook."""
    with WebhookReceiver() as hook:
        monkeypatch.setenv("DAILYPAPERS_FEISHU_URL", f"{hook.url}/hook")
        monkeypatch.setenv("DAILYPAPERS_TELEGRAM_API_URL", hook.url)
        monkeypatch.setenv("DAILYPAPERS_TELEGRAM_TOKEN", "123:secret")
        hook.answer_next(answer)
        channel: FeishuChannel | TelegramChannel = (
            FeishuChannel(FeishuSettings(timeout=1.5))
            if platform == "feishu"
            else TelegramChannel(TelegramSettings(chat_id=-1, timeout=1.5))
        )
        with pytest.raises(NotifyError, match=message):
            channel.send(DIGEST)
