"""The arXiv client's TLS: certificates loaded only once an https:// URL is asked, always verified.

Real sockets on loopback: a plain HTTP server and an HTTPS one whose
certificate comes from a test CA (trustme) that no default store trusts.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from dailypapers.arxiv import client as client_module
from dailypapers.arxiv.client import ArxivClient
from dailypapers.arxiv.errors import ArxivError
from support.clock import FakeClock

BODY = b"<feed/>"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a refused handshake is what some tests expect


def _serve(tls: ssl.SSLContext | None) -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/feed"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def https_url(ca: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    yield from _serve(context)


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    yield from _serve(None)


@pytest.fixture(autouse=True)
def default_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx's default store (certifi) unless a test points ``SSL_CERT_FILE`` at the test CA."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every certificate file or folder any TLS context loads from now on."""
    calls: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def record(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        calls.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", record)
    return calls


def _client(api_url: str) -> ArxivClient:
    return ArxivClient(api_url, clock=FakeClock(), delay=0.0, max_attempts=1, backoff=0.0)


def _assert_unverified(client: ArxivClient, url: str) -> None:
    """``url`` fails with a certificate verification error somewhere in the chain."""
    with pytest.raises(ArxivError) as caught:
        client.fetch_document(url, bytes)
    causes: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None and len(causes) < 10:
        causes.append(error)
        error = error.__cause__ or error.__context__
    assert any("CERTIFICATE_VERIFY_FAILED" in str(cause) for cause in causes), causes


def test_an_http_only_client_loads_no_certificates(http_url: str, loaded: list[object]) -> None:
    """Fails on the old code: ``httpx.Client()`` loaded certifi's bundle for http:// too."""
    with _client(http_url) as client:
        assert client.fetch_document(http_url, bytes) == BODY
    assert loaded == []


def test_an_https_api_url_is_verified(
    https_url: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _client(https_url) as client:
        _assert_unverified(client, https_url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # httpx's default trust, as a user sets it
    with _client(https_url) as client:
        assert client.fetch_document(https_url, bytes) == BODY


def test_an_https_url_after_http_ones_is_verified(
    http_url: str, https_url: str, ca_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The announcement feed over https:// from a client built for an http:// mirror."""
    with _client(http_url) as client:
        assert client.fetch_document(http_url, bytes) == BODY
        _assert_unverified(client, https_url)
        assert client.fetch_document(http_url, bytes) == BODY  # still served after the switch
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    with _client(http_url) as client:
        assert client.fetch_document(http_url, bytes) == BODY
        assert client.fetch_document(https_url, bytes) == BODY
        assert client.stats.requests == 2


def test_the_context_without_certificates_refuses_every_server(https_url: str) -> None:
    import httpx

    context = client_module._no_certificates()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    with (
        httpx.Client(verify=context) as http,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY"),
    ):
        http.get(https_url)


def test_a_failed_switch_leaves_the_http_client_usable(
    http_url: str, https_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fails on the old code: a bad SSL_CERT_FILE closed the http:// client for good."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with _client(http_url) as client:
        with pytest.raises(OSError):
            client.fetch_document(https_url, bytes)
        assert client.fetch_document(http_url, bytes) == BODY
