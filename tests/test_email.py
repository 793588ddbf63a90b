"""The e-mail channel end to end: aiosmtpd on loopback, STARTTLS, implicit TLS and login."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import date

import pytest
import trustme

from dailypapers.config import EmailSettings
from dailypapers.notify import NotifyError
from dailypapers.notify.email import EmailChannel
from dailypapers.offline.corpus import demo_corpus
from dailypapers.render.digest import Digest, Entry, TopicDigest
from helpers_notify import parts
from support.smtp import SmtpSink, free_port


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def login(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    monkeypatch.setenv("DAILYPAPERS_SMTP_USER", "papers-bot")
    monkeypatch.setenv("DAILYPAPERS_SMTP_PASSWORD", "s3cret-Passw0rd")
    yield ("papers-bot", "s3cret-Passw0rd")


DIGEST = Digest(
    "Daily Papers",
    date(2026, 8, 21),
    (TopicDigest("Reward Model", tuple(Entry(p) for p in demo_corpus()[:3])),),
)


def settings(port: int, security: str) -> EmailSettings:
    return EmailSettings.model_validate(
        {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "security": security,
            "sender": "papers@example.org",
            "recipients": ["alice@example.org"],
            "timeout": 5,
        }
    )


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_login_delivers_a_multipart_digest(
    security: str,
    server_tls: ssl.SSLContext,
    client_tls: ssl.SSLContext,
    login: tuple[str, str],
) -> None:
    with SmtpSink(tls=server_tls, implicit_tls=security == "ssl", login=login) as smtp:
        channel = EmailChannel(settings(smtp.port, security), "Daily Papers", tls=client_tls)
        receipt = channel.send(DIGEST)
    assert smtp.logins == ["papers-bot"]
    assert smtp.envelopes == [("papers@example.org", ["alice@example.org"])]
    message = smtp.messages[0]
    assert message["Subject"] == "Daily Papers: 3 new papers (August 21, 2026)"
    assert message["Message-ID"] == receipt
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    for entry in DIGEST.topics[0].entries:
        assert entry.paper.versioned_id in text and entry.paper.versioned_id in html
    assert html.lstrip().startswith("<!DOCTYPE html>")


def test_an_untrusted_certificate_is_refused(server_tls: ssl.SSLContext) -> None:
    with SmtpSink(tls=server_tls) as smtp:
        channel = EmailChannel(settings(smtp.port, "starttls"), "Daily Papers")
        with pytest.raises(NotifyError, match="CERTIFICATE_VERIFY_FAILED"):
            channel.send(DIGEST)
    assert smtp.messages == []


def test_a_wrong_password_is_one_line_without_the_password(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext, login: tuple[str, str]
) -> None:
    with SmtpSink(tls=server_tls, login=("papers-bot", "another")) as smtp:
        channel = EmailChannel(settings(smtp.port, "starttls"), "Daily Papers", tls=client_tls)
        with pytest.raises(NotifyError) as info:
            channel.send(DIGEST)
    message = str(info.value)
    assert message.startswith(f"127.0.0.1:{smtp.port}: SMTP 535 ")
    assert login[1] not in message and "\n" not in message


def test_a_server_that_is_down_is_connection_refused() -> None:
    port = free_port()
    with pytest.raises(NotifyError, match=f"^127.0.0.1:{port}: connection refused$"):
        EmailChannel(settings(port, "none"), "Daily Papers").send(DIGEST)


def test_user_without_password_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_SMTP_USER", "someone")
    channel = EmailChannel(settings(25, "none"), "Daily Papers")
    assert (
        channel.problem() == "$DAILYPAPERS_SMTP_USER is set but $DAILYPAPERS_SMTP_PASSWORD is not"
    )


def _raw_smtp(quit_reply: str, accepted: list[bytes]) -> socket.socket:
    """A one-connection SMTP server that accepts the message, then answers QUIT so."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rwb") as stream:

            def say(line: str) -> None:
                stream.write(line.encode() + b"\r\n")
                stream.flush()

            say("220 fake ESMTP")
            body: list[bytes] | None = None
            for line in stream:
                if body is not None:
                    if line == b".\r\n":
                        accepted.append(b"".join(body))
                        body = None
                        say("250 2.0.0 queued as X")
                    else:
                        body.append(line)
                elif line[:4].upper() == b"DATA":
                    body = []
                    say("354 go ahead")
                elif line[:4].upper() == b"QUIT":
                    say(quit_reply)
                    return
                else:
                    say("250 ok")

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_message_accepted_then_a_failed_goodbye_counts_as_sent() -> None:
    """Accepted (250), then "421" to QUIT: sent. Before, it was a failure, so every next
    run sent the same digest again."""
    accepted: list[bytes] = []
    with _raw_smtp("421 4.4.2 closing, bye", accepted) as listener:
        port = listener.getsockname()[1]
        receipt = EmailChannel(settings(port, "none"), "Daily Papers").send(DIGEST)
    assert len(accepted) == 1 and receipt.startswith("<")


def test_an_encoded_word_in_the_title_is_shown_as_written() -> None:
    # Before: "=?utf-8?b?PHNjcmlwdD4=?=" went out raw, and mail readers showed "<script>".
    digest = Digest("Daily =?utf-8?b?PHNjcmlwdD4=?= Papers", date(2026, 8, 21), ())
    raw = EmailChannel(settings(25, "none"), digest.heading).message(digest).as_bytes()
    from email import message_from_bytes, policy

    shown = str(message_from_bytes(raw, policy=policy.default)["Subject"])
    assert "<script>" not in shown and shown.startswith("Daily =\u200d?utf-8?b?PHNjcmlwdD4=")
