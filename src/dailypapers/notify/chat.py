"""What the native chat channels (Feishu/Lark, Telegram) share: one masked JSON POST.

Each platform gets its own payload and size rule; the URL (Feishu) or the
bot token in the URL (Telegram) is a secret, so no error message quotes it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from dailypapers import __version__
from dailypapers.bounded import NOTIFY_MAX_BYTES, Bounds, LimitExceeded, bounded_request
from dailypapers.config import http_url_problem
from dailypapers.masking import mask
from dailypapers.notify.channel import NotifyError


def encode(payload: Any) -> bytes:
    """The exact bytes sent (compact UTF-8 JSON), so size limits are checked on them."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post_json(
    url: str,
    body: bytes,
    *,
    platform: str,
    timeout: float,
    transport: httpx.BaseTransport | None = None,
) -> tuple[httpx.Response, Any]:
    """POST ``body``; the response and its JSON (None when it is not JSON).

    The whole exchange has ``timeout`` seconds in all and the answer is
    capped in size, like every other channel's.
    """
    limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
    headers = {
        "User-Agent": f"dailypapers/{__version__}",
        "Content-Type": "application/json; charset=utf-8",
    }
    try:
        with httpx.Client(timeout=limits, headers=headers, transport=transport) as client:
            response = bounded_request(
                client, "POST", url, content=body, bounds=Bounds(NOTIFY_MAX_BYTES, timeout)
            )
    except LimitExceeded as exc:
        raise NotifyError(mask(f"{platform}: {exc}")) from None
    except httpx.HTTPError as exc:
        raise NotifyError(mask(f"cannot reach {platform}: {type(exc).__name__}: {exc}")) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    return response, answer


def url_problem(env: str) -> str | None:
    """Why the URL in the environment variable ``env`` cannot be used, or ``None``."""
    url = os.environ.get(env, "")
    if not url:
        return f"${env} is not set"
    if not url.startswith(("https://", "http://")):
        return f"${env} is not an http(s) URL"
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8 (the shell's, not a URL's)
        return f"${env} holds bytes that are not UTF-8"
    if problem := http_url_problem(url):  # the client would raise, not answer
        return f"${env} {problem.replace('must be', 'is not')}"
    return None
