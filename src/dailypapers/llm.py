"""A client of any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama...).

One call, :meth:`ChatClient.complete`, is one HTTP request with a real total
deadline (``asyncio.timeout`` around connect, send and the whole body), a
capped body size, and every failure turned into one :class:`LLMError` line
with secrets masked. It never retries by itself: the caller counts requests
against its hard cap and decides what to do with a 429's ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
import os
import zlib
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from dailypapers import __version__
from dailypapers.masking import mask, short
from dailypapers.models import HIDDEN

MAX_BODY_BYTES = 256 * 1024  # a summary is a few hundred bytes; anything far larger is wrong
MAX_TOKENS = 400
USER_AGENT = f"dailypapers/{__version__} (summaries)"


def endpoint(base_url: str, path: str) -> str:
    """``{base_url}/{path}``, the path joined before any query the base URL carries
    (``https://x/v1?api-version=1`` + ``chat/completions``: the query is kept, not
    glued onto: ``/v1?api-version=1/chat/completions`` was a 404)."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + path, fragment=""))


class LLMError(Exception):
    """One failed request, as one secret-free line.

    ``rate_limited`` marks a 429, with the server's ``retry_after`` seconds
    when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        rate_limited: bool = False,
        retry_after: float | None = None,
        timed_out: bool = False,
    ) -> None:
        # The server's words reach a terminal and the runs table: secrets masked
        # before anything is cut (a key cut short is no longer found whole), no
        # escape sequences or hidden characters, one line.
        super().__init__(short(HIDDEN.sub("", mask(message)), 300))
        self.rate_limited, self.retry_after = rate_limited, retry_after
        self.timed_out = timed_out


@dataclass(frozen=True)
class Completion:
    """The assistant message's content and the endpoint's ``usage`` token counts."""

    content: str
    tokens_in: int = 0
    tokens_out: int = 0


class ChatClient:
    """``POST {base_url}/chat/completions`` with a total deadline per request."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None,
        timeout: float,
        concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = endpoint(base_url, "chat/completions")
        self.model, self.timeout = model, timeout
        headers = {"User-Agent": USER_AGENT}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.AsyncClient(
            headers=headers, timeout=timeout, limits=limits, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """The request body for ``messages`` (JSON mode, low temperature, bounded output)."""
        return {
            "model": self.model,
            "messages": messages,
            "temperature": 0.2,
            "max_tokens": MAX_TOKENS,
            "response_format": {"type": "json_object"},
        }

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        """One completion; raises :class:`LLMError` for every kind of failure."""
        try:
            async with asyncio.timeout(self.timeout):
                status, headers, raw = await self._post(self.body(messages))
        except TimeoutError:
            message = f"no answer within {self.timeout:g} s (timeout)"
            raise LLMError(message, timed_out=True) from None
        except httpx.HTTPError as exc:
            raise LLMError(f"cannot reach the endpoint: {describe(exc)}") from None
        return parse_completion(status, headers, raw)

    async def _post(self, body: dict[str, Any]) -> tuple[int, httpx.Headers, bytes]:
        return await post_capped(self._http, self.url, body, MAX_BODY_BYTES)


async def post_capped(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], max_bytes: int
) -> tuple[int, httpx.Headers, bytes]:
    """POST ``body`` as JSON; the answer's status, headers and at most ``max_bytes`` of body.

    No compression is asked for, and the cap counts the bytes as sent and
    then as inflated: a server that gzips anyway cannot make a megabyte on
    the wire into a gigabyte in memory (httpx would inflate each chunk whole).
    """
    async with http.stream("POST", url, json=body, headers=_IDENTITY) as response:
        if response.is_stream_consumed:  # read by its transport (httpx.MockTransport)
            if len(response.content) > max_bytes:
                raise LLMError(f"answer larger than {max_bytes // 1024} kB")
            return response.status_code, response.headers, response.content
        chunks, size = [], 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > max_bytes:
                raise LLMError(f"answer larger than {max_bytes // 1024} kB")
            chunks.append(chunk)
        encoding = response.headers.get("content-encoding", "")
        try:
            raw = _inflated(b"".join(chunks), encoding, max_bytes)
        except LLMError:
            if response.status_code < 400:
                raise
            raw = b""  # an error's status (a 429's Retry-After) says more than its body
        return response.status_code, response.headers, raw


_IDENTITY = {"Accept-Encoding": "identity"}
_ZLIB_ANY = 32 + zlib.MAX_WBITS  # a gzip or a zlib header, whichever it is


def _inflated(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    """``raw`` decoded from its ``Content-Encoding`` (gzip or deflate), within ``max_bytes``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise LLMError(f"answer in an encoding not asked for ({short(encoding, 40)})")
    try:
        data = zlib.decompressobj(_ZLIB_ANY).decompress(raw, max_bytes + 1)
    except zlib.error:
        try:  # "deflate" as some servers send it: raw, without zlib's header
            data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, max_bytes + 1)
        except zlib.error:
            raise LLMError(f"answer's {encoding} body is damaged") from None
    if len(data) > max_bytes:
        raise LLMError(f"answer larger than {max_bytes // 1024} kB")
    return data


def answer_json(status: int, headers: httpx.Headers, raw: bytes) -> Any:
    """The decoded JSON of a 2xx answer; :class:`LLMError` for an HTTP error or non-JSON."""
    if status == 429:
        retry = retry_after(headers.get("retry-after"))
        raise LLMError("rate limited (HTTP 429)", rate_limited=True, retry_after=retry)
    if status >= 400:
        raise LLMError(f"HTTP {status}{_error_detail(raw)}")
    if not 200 <= status < 300:  # a redirect (never followed: the key stays here), a 1xx
        raise LLMError(f"HTTP {status}: not an answer")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: hostile nesting
        kind = headers.get("content-type", "unknown type").split(";")[0]
        raise LLMError(f"answer is not JSON ({kind}, HTTP {status})") from None


def parse_completion(status: int, headers: httpx.Headers, raw: bytes) -> Completion:
    """The content and usage of a chat-completions answer, or :class:`LLMError`."""
    data = answer_json(status, headers, raw)
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise LLMError("answer has no choices")
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise LLMError("answer has no content")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return Completion(content, _count(usage, "prompt_tokens"), _count(usage, "completion_tokens"))


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name)
    return value if isinstance(value, int) and 0 <= value < 10**9 else 0


def _error_detail(raw: bytes) -> str:
    try:
        message = json.loads(raw.decode("utf-8"))["error"]["message"]
    except (ValueError, RecursionError, KeyError, TypeError):
        return ""
    return f": {short(message, 120)}" if message else ""  # masked, then cut


def bearer_key(env: str, error: type[Exception] = ValueError) -> str | None:
    """The API key in ``$env`` (``None`` when unset or blank), surrounding spaces and
    a pasted newline dropped.

    Raises ``error`` (one line, the key not shown) when an HTTP header cannot
    carry it: only printable ASCII can be sent.
    """
    key = os.environ.get(env, "").strip()
    if key and not (key.isascii() and key.isprintable()):
        raise error(
            f"${env} holds characters an HTTP header cannot carry (a key is printable ASCII)"
        )
    return key or None


def describe(exc: httpx.HTTPError) -> str:
    """An httpx error as one short line (its type and words)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
