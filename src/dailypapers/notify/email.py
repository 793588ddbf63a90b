"""The ``email`` channel: one multipart digest (plain text + HTML) over SMTP.

STARTTLS (port 587), implicit TLS (``ssl``, port 465) or none (a local relay);
login only when ``DAILYPAPERS_SMTP_USER`` is set, with
``DAILYPAPERS_SMTP_PASSWORD``. Certificates are verified.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, cast

from dailypapers.bounded import Watchdog
from dailypapers.config import EmailSettings
from dailypapers.masking import mask
from dailypapers.notify.channel import NotifyError, PartlySent, destination_key
from dailypapers.render.digest import Digest, render_html, render_text, subject
from dailypapers.store import utcnow

USER_ENV = "DAILYPAPERS_SMTP_USER"
PASSWORD_ENV = "DAILYPAPERS_SMTP_PASSWORD"


class EmailChannel:
    """Sends the digest to ``recipients`` through ``smtp_host``."""

    name = "email"

    def __init__(
        self, settings: EmailSettings, heading: str, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.heading = heading
        self.max_per_topic = settings.max_per_topic
        self._tls = tls

    def describe(self) -> str:
        s = self.settings
        return f"to {', '.join(s.recipients)} via {s.smtp_host}:{s.smtp_port} ({s.security})"

    def destination(self) -> str:
        return destination_key(
            self.name, *sorted({r.strip().lower() for r in self.settings.recipients})
        )

    def problem(self) -> str | None:
        if os.environ.get(USER_ENV) and not os.environ.get(PASSWORD_ENV):
            return f"${USER_ENV} is set but ${PASSWORD_ENV} is not"
        return None

    def message(self, digest: Digest) -> EmailMessage:
        """The multipart/alternative message: text first, HTML preferred by mail readers."""
        message = EmailMessage()
        # "=?utf-8?b?...?=" in a title would be decoded by mail readers: shown as written
        message["Subject"] = subject(digest).replace("=?", "=\u200d?")
        message["From"] = self.settings.sender
        message["To"] = ", ".join(self.settings.recipients)
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid(domain=Address(addr_spec=self.settings.sender).domain)
        message.set_content(render_text(digest))
        message.add_alternative(render_html(digest), subtype="html")
        return message

    def preview(self, digest: Digest) -> str:
        return f"subject: {subject(digest)}\nto: {', '.join(self.settings.recipients)}\n\n" + (
            render_text(digest)
        )

    def send(self, digest: Digest) -> str:
        """Send within ``timeout`` seconds in all (a dripping server is cut off)."""
        message = self.message(digest)
        with Watchdog(self.settings.timeout) as dog:
            try:
                smtp = self._connect(dog)
                try:
                    self._login(smtp)
                    refused = smtp.send_message(message)
                except BaseException:
                    smtp.close()
                    raise
            except (smtplib.SMTPException, OSError) as exc:
                reason = f"no answer within {self.settings.timeout:g} s" if dog.expired else ""
                raise NotifyError(mask(f"{self._where()}: {reason or _describe(exc)}")) from None
            _goodbye(smtp)  # accepted (250): a failed goodbye is no failed delivery
        if refused:  # the others have it: sent, and a failure line naming who has not
            who = "; ".join(
                f"{address} ({_describe(smtplib.SMTPResponseException(*answer))})"
                for address, answer in sorted(refused.items())
            )
            raise PartlySent(
                mask(f"{self._where()}: refused {who}; the other recipients have it"),
                receipt=str(message["Message-ID"]),
            )
        return str(message["Message-ID"])

    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _context(self) -> ssl.SSLContext:
        return self._tls or ssl.create_default_context()

    def _connect(self, dog: Watchdog) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            secure = _WatchedSMTPSSL(dog, timeout=s.timeout, context=self._context())
            secure.connect(s.smtp_host, s.smtp_port)
            return secure
        smtp = _WatchedSMTP(dog, timeout=s.timeout)
        try:
            smtp.connect(s.smtp_host, s.smtp_port)
            if s.security == "starttls":
                smtp.starttls(context=self._context())
                dog.watch(smtp.sock)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        user = os.environ.get(USER_ENV)
        if user:
            smtp.login(user, os.environ.get(PASSWORD_ENV, ""))


class _Watched:
    """Mixin for SMTP classes: a :class:`Watchdog` may shut the socket (greeting included)."""

    def __init__(self, dog: Watchdog, **kwargs: Any) -> None:
        self._dog = dog
        super().__init__(**kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        self._host = host  # what SMTP(host) sets: TLS checks the certificate against it
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self._dog.watch(sock)
        return cast(socket.socket, sock)


class _WatchedSMTP(_Watched, smtplib.SMTP):
    """Plain or STARTTLS SMTP under a watchdog."""


class _WatchedSMTPSSL(_Watched, smtplib.SMTP_SSL):
    """Implicit-TLS SMTP under a watchdog."""


def _goodbye(smtp: smtplib.SMTP) -> None:
    """QUIT after the server accepted the message; its answer no longer matters.

    ``with smtplib.SMTP()`` raises when QUIT is not answered 221 (a server
    answering "421 closing"), which made an accepted digest count as failed
    and sent it again with the next run.
    """
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def _describe(exc: BaseException) -> str:
    """A one-line reason; SMTP replies carry their code and the server's text."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"SMTP {exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"all recipients refused ({', '.join(sorted(exc.recipients))})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}" if str(exc) else type(exc).__name__
