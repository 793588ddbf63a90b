"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests.

``with SmtpSink() as smtp:`` listens on ``smtp.port``; ``smtp.messages`` are
the received messages, parsed. ``tls`` enables STARTTLS (or, with
``implicit_tls``, TLS from the first byte, as on port 465); ``login``
requires that user name and password. Needs the ``test`` extra (aiosmtpd).
"""

from __future__ import annotations

import socket
import ssl
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dailypapers.offline.recording import Serving


def free_port() -> int:
    """A loopback port nobody listens on (also useful as a server that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.sink.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.sink.lock:
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.sink.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpSink(Serving):
    """An SMTP server that accepts and keeps every message."""

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        login: tuple[str, str] | None = None,
        port: int | None = None,
        refuse: frozenset[str] = frozenset(),
    ) -> None:
        self.port = port or free_port()
        self.refuse = refuse  # recipients answered "550 no such user"
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self._login = login
        kwargs: dict[str, Any] = {}
        if tls is not None and implicit_tls:
            kwargs["ssl_context"] = tls
        elif tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if login is not None:
            # With implicit TLS aiosmtpd cannot tell the session is encrypted.
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=not implicit_tls,
            )
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self._login == (
            data.login.decode(),
            data.password.decode(),
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)

    def start(self) -> Self:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
