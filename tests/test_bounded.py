"""``bounded_request``: what it hands back, and that a finished response is freed at once."""

from __future__ import annotations

import gc
import gzip
import weakref
from collections.abc import Iterator

import httpx
import pytest

from dailypapers.bounded import Bounds, bounded_request

BODY = b"<feed>" + b"x" * 50_000 + b"</feed>"


def _client() -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        packed = gzip.compress(BODY)
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=packed)

    return httpx.Client(transport=httpx.MockTransport(answer))


@pytest.fixture
def no_collection() -> Iterator[None]:
    """Only reference counts free objects (the collector may run late in a real fetch)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_the_response_is_read_whole_and_closed() -> None:
    with _client() as client:
        response = bounded_request(client, "GET", "http://fake.test/", bounds=Bounds())
        assert response.content == BODY
        assert response.read() == BODY and response.is_closed


def test_a_response_let_go_is_freed_without_a_collection(no_collection: None) -> None:
    """Fails on the old code: httpx's response and its stream kept each other (and the
    body) alive until the next garbage collection."""
    with _client() as client:
        response = bounded_request(client, "GET", "http://fake.test/", bounds=Bounds())
        gone = weakref.ref(response)
        del response
        assert gone() is None
