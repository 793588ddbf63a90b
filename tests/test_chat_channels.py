"""Native chat channels: Feishu/Lark and Telegram, against fake endpoints over real sockets."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dailypapers.config import FeishuSettings, TelegramSettings, load_config
from dailypapers.models import Author, Paper
from dailypapers.notify import NotifyError, mask
from dailypapers.notify.feishu import FeishuChannel, sign
from dailypapers.notify.telegram import TelegramChannel, units
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.recording import Answer, RecordingServer, Request
from dailypapers.pipeline import run_update
from dailypapers.render.digest import Digest, Entry, TopicDigest
from helpers_notify import ids_in, topics_toml

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
SECRET = "feishu-signing-secret"
FEISHU_LIMIT = 20_000
TELEGRAM_LIMIT = 4096
HOSTILE = Paper(
    id="2505.00001",
    version=2,
    title='<at user_id="all">everyone</at> & <b>bold</b> "quoted" 🚀 ' + "long " * 20,
    abstract="x",
    authors=(Author("Ann"),),
    categories=("cs.CL",),
    primary="cs.CL",
    published=datetime(2025, 5, 1, tzinfo=UTC),
    updated=datetime(2025, 5, 12, tzinfo=UTC),
)


def big_digest(topics: int = 3, papers: int = 200) -> Digest:
    sections = []
    for t in range(topics):
        entries = tuple(
            Entry(HOSTILE.with_changes(id=f"2505.{t}{n:04d}"), revision=n == 0)
            for n in range(papers)
        )
        sections.append(TopicDigest(f"Topic {t} <i>", entries))
    return Digest("Daily <Papers>", date(2026, 8, 1), tuple(sections), link="https://x.org/#readme")


def feishu_endpoint(request: Request) -> Answer:
    """Feishu's rules: 20 KB at most, refusals are HTTP 200 with a code, signatures checked."""
    if len(request.body) > FEISHU_LIMIT:
        return Answer(200, {"code": 9499, "msg": "request body too large", "data": {}})
    body = request.json()
    if "sign" in body and body["sign"] != sign(SECRET, int(body["timestamp"])):
        return Answer(
            200,
            {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour from current time",
            },
        )
    if body.get("msg_type") not in ("post", "text"):
        return Answer(200, {"code": 9499, "msg": "Bad Request"})
    return Answer(200, {"code": 0, "msg": "success", "data": {}})


def telegram_endpoint(request: Request) -> Answer:
    """The Bot API's rules: the token in the path, 4096 UTF-16 units of parsed text."""
    if request.path != f"/bot{TOKEN}/sendMessage":
        return Answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    body = request.json()
    text = body["text"]
    if body.get("parse_mode") == "HTML":
        if re.search(r"<(?!/?(b|a|i)\b)", text):
            return Answer(
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: can't parse entities",
                },
            )
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
    if units(text) > TELEGRAM_LIMIT:
        return Answer(
            400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        )
    return Answer(200, {"ok": True, "result": {"message_id": 42, "chat": {"id": body["chat_id"]}}})


@pytest.fixture
def feishu(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingServer]:
    with RecordingServer(feishu_endpoint) as server:
        monkeypatch.setenv(
            "DAILYPAPERS_FEISHU_URL", f"{server.url}/open-apis/bot/v2/hook/abcd-1234"
        )
        yield server


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingServer]:
    with RecordingServer(telegram_endpoint) as server:
        monkeypatch.setenv("DAILYPAPERS_TELEGRAM_TOKEN", TOKEN)
        monkeypatch.setenv("DAILYPAPERS_TELEGRAM_API_URL", server.url)
        yield server


def feishu_channel() -> FeishuChannel:
    return FeishuChannel(FeishuSettings.model_validate({}))


def telegram_channel(chat: int | str = -1001234567890) -> TelegramChannel:
    return TelegramChannel(TelegramSettings.model_validate({"chat_id": chat}))


def post_text(body: dict[str, object]) -> str:
    content = body["content"]
    assert isinstance(content, dict)
    return json.dumps(content, ensure_ascii=False)


def test_feishu_sends_a_native_post_within_20_kb(feishu: RecordingServer) -> None:
    digest = big_digest()
    assert feishu_channel().send(digest) == "HTTP 200"
    (request,) = feishu.requests
    assert request.path == "/open-apis/bot/v2/hook/abcd-1234"
    assert len(request.body) <= FEISHU_LIMIT
    body = request.json()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "Daily <Papers>"
    assert post["content"][0] == [{"tag": "text", "text": "600 new papers (August 1, 2026)"}]
    links = [e for line in post["content"] for e in line if e["tag"] == "a"]
    assert links[0]["href"] == "https://arxiv.org/abs/2505.00000v2"
    assert links[0]["text"].startswith('<at user_id="all">')  # shown as text, never parsed
    assert any(e["text"].startswith("… and ") for line in post["content"] for e in line)


def test_feishu_signs_when_a_secret_is_set(
    feishu: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILYPAPERS_FEISHU_SECRET", SECRET)
    feishu_channel().send(big_digest(1, 3))
    body = feishu.requests[-1].json()
    assert body["sign"] == sign(SECRET, int(body["timestamp"]))
    monkeypatch.setenv("DAILYPAPERS_FEISHU_SECRET", "wrong-secret")
    with pytest.raises(NotifyError) as caught:
        feishu_channel().send(big_digest(1, 3))
    assert str(caught.value).startswith("Feishu refused the message: code 19021: sign match fail")
    assert "wrong-secret" not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(200, raw=b"<html><body>Welcome to the hotel Wi-Fi</body></html>"),
        Answer(200, {"msg": "ok"}),  # JSON, but not Feishu's: no code
    ],
)
def test_feishu_counts_only_its_own_code_0_as_sent(
    answer: Answer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2xx page that is not Feishu's answer (a proxy, a captive portal) is no delivery:
    before, it marked the papers sent though nothing was posted."""
    with RecordingServer(lambda request: answer) as server:
        monkeypatch.setenv("DAILYPAPERS_FEISHU_URL", f"{server.url}/open-apis/bot/v2/hook/x")
        with pytest.raises(
            NotifyError, match=r"^Feishu refused the message: HTTP 200 without Feishu's answer$"
        ):
            feishu_channel().send(big_digest(1, 3))


def test_feishu_with_too_many_topics_falls_back_to_short_text(feishu: RecordingServer) -> None:
    feishu_channel().send(big_digest(topics=400, papers=2))
    (request,) = feishu.requests
    assert len(request.body) <= FEISHU_LIMIT
    assert request.json()["msg_type"] == "text"


def test_telegram_sends_html_within_4096_units(telegram: RecordingServer) -> None:
    assert telegram_channel().send(big_digest()) == "message 42"
    (request,) = telegram.requests
    body = request.json()
    assert body["chat_id"] == -1001234567890 and body["parse_mode"] == "HTML"
    assert units(body["text"]) <= TELEGRAM_LIMIT
    assert body["text"].startswith("<b>Daily &lt;Papers&gt;</b>: 600 new papers")
    assert "&lt;at user_id=&quot;all&quot;&gt;" in body["text"]
    assert body["link_preview_options"] == {"is_disabled": True}


def test_telegram_with_too_many_topics_falls_back_to_plain_text(telegram: RecordingServer) -> None:
    telegram_channel("@lab_papers").send(big_digest(topics=400, papers=2))
    body = telegram.requests[-1].json()
    assert "parse_mode" not in body and units(body["text"]) <= TELEGRAM_LIMIT
    assert body["chat_id"] == "@lab_papers"


def test_telegram_errors_are_one_line_with_the_token_masked(
    telegram: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILYPAPERS_TELEGRAM_TOKEN", TOKEN + "x")  # unknown bot: 401
    with pytest.raises(NotifyError) as caught:
        telegram_channel().send(big_digest(1, 2))
    assert str(caught.value) == "Telegram refused the message: HTTP 401: Unauthorized"
    assert mask(f"https://api.telegram.org/bot{TOKEN}x/sendMessage").count("***") == 1
    monkeypatch.setenv("DAILYPAPERS_TELEGRAM_API_URL", "http://127.0.0.1:9")
    with pytest.raises(NotifyError) as unreachable:
        telegram_channel().send(big_digest(1, 2))
    assert TOKEN not in str(unreachable.value)


def test_missing_variables_are_named() -> None:
    assert feishu_channel().problem() == "$DAILYPAPERS_FEISHU_URL is not set"
    assert telegram_channel().problem() == "$DAILYPAPERS_TELEGRAM_TOKEN is not set"


@pytest.mark.parametrize("chat", ['"lab"', '"@ab"', "true", '""'])
def test_bad_chat_ids_are_config_errors(tmp_path: Path, chat: str) -> None:
    path = tmp_path / "papers.toml"
    path.write_text(f'[[topics]]\nname = "X"\n[notify.telegram]\nchat_id = {chat}\n')
    with pytest.raises(Exception) as caught:
        load_config(path)
    assert ":4: notify.telegram.chat_id: " in str(caught.value)


def test_both_channels_receive_a_run_s_new_papers(
    tmp_path: Path, feishu: RecordingServer, telegram: RecordingServer
) -> None:
    with FakeArxiv(demo_corpus()) as arxiv:
        path = tmp_path / "papers.toml"
        extra = '\n[notify.feishu]\n\n[notify.telegram]\nchat_id = "@lab_papers"\n'
        path.write_text(topics_toml(arxiv) + extra, encoding="utf-8")
        report = run_update(load_config(path), now=datetime(2025, 5, 14, 12, tzinfo=UTC))
    assert report.status == "updated", report.error
    sent = {outcome.channel: outcome.papers for outcome in report.notified}
    assert set(sent) == {"feishu", "telegram"} and all(n > 0 for n in sent.values())
    feishu_ids = ids_in(feishu.requests[-1].body.decode("utf-8"))
    telegram_ids = ids_in(telegram.requests[-1].json()["text"])
    assert feishu_ids and telegram_ids
    assert len(feishu.requests[-1].body) <= FEISHU_LIMIT
    assert units(telegram.requests[-1].json()["text"]) <= TELEGRAM_LIMIT


def test_a_webhook_url_with_bytes_that_are_not_utf8_is_one_problem_and_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A shell's non-UTF-8 byte in the URL (Python holds it as a surrogate): the
    channel says so, the key and the mask cope (they raised UnicodeEncodeError)."""
    from dailypapers.config import WebhookSettings
    from dailypapers.notify.webhook import WebhookChannel

    monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", "http://127.0.0.1:9/hook\udcff\udcfe")
    channel = WebhookChannel(WebhookSettings())
    assert channel.problem() == "$DAILYPAPERS_WEBHOOK_URL holds bytes that are not UTF-8"
    assert channel.destination().startswith("webhook:")
    assert mask("POST http://127.0.0.1:9/hook%FF%FE failed") == "POST *** failed"


def test_a_short_error_is_masked_before_it_is_cut_or_folded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cut first, a secret across the limit lost its end and was no longer found; folded
    first, a password with two spaces inside was no longer the password."""
    from dailypapers.masking import short

    monkeypatch.setenv("DAILYPAPERS_TELEGRAM_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    monkeypatch.setenv("DAILYPAPERS_SMTP_PASSWORD", "correct  horse battery")
    across = "x" * 180 + " https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    assert "AAHdq" not in short(across, 200)
    assert "horse" not in short("login failed for 'correct  horse battery'")


def test_both_native_channels_carry_the_tldr(
    telegram: RecordingServer, feishu: RecordingServer
) -> None:
    paper = HOSTILE.with_changes(tldr="Cats <are> & liquid.")
    digest = Digest("Daily", date(2026, 8, 1), (TopicDigest("T", (Entry(paper),)),))
    telegram_channel().send(digest)
    text = telegram.requests[-1].json()["text"]
    assert "\n  <i>TL;DR: Cats &lt;are&gt; &amp; liquid.</i>" in text
    feishu_channel().send(digest)
    assert "TL;DR: Cats <are> & liquid." in post_text(feishu.requests[-1].json())


@pytest.mark.parametrize(
    ("secret", "logged"),
    [
        (
            "http://LOCALHOST:2580/hooks/SECRETHOOKupper",
            "http://localhost:2580/hooks/SECRETHOOKupper",
        ),
        ("http://127.0.0.1:80/hooks/SECRETHOOKport80", "http://127.0.0.1/hooks/SECRETHOOKport80"),
        ("https://hooks.slack.com:443/services/T0/B0/SECRET9", "/services/T0/B0/SECRET9"),
    ],
)
def test_a_secret_url_is_masked_as_httpx_logs_it(
    monkeypatch: pytest.MonkeyPatch, secret: str, logged: str
) -> None:
    # Before: `--debug` printed httpx's normalised URL (lower-case host, no default port).
    monkeypatch.setenv("DAILYPAPERS_WEBHOOK_URL", secret)
    assert mask(f'HTTP Request: POST {logged} "HTTP/1.1 200 OK"') == (
        'HTTP Request: POST *** "HTTP/1.1 200 OK"'
    )


def test_a_telegram_2xx_without_its_answer_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with RecordingServer(lambda request: Answer(200, {"result": {}})) as server:
        monkeypatch.setenv("DAILYPAPERS_TELEGRAM_TOKEN", TOKEN)
        monkeypatch.setenv("DAILYPAPERS_TELEGRAM_API_URL", server.url)
        with pytest.raises(NotifyError) as caught:
            telegram_channel().send(big_digest(1, 2))
    assert str(caught.value) == (  # before: "...: HTTP 200", which reads like a success
        'Telegram refused the message: HTTP 200: without the Bot API\'s answer ("ok": true)'
    )
