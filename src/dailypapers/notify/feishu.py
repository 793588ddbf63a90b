"""The ``feishu`` channel: a Feishu (Lark) custom bot, as a native rich-text ``post``.

The bot's webhook URL comes from ``$DAILYPAPERS_FEISHU_URL``
(``https://open.feishu.cn/open-apis/bot/v2/hook/...``, or
``open.larksuite.com`` for Lark); with "signature verification" on, its
secret from ``$DAILYPAPERS_FEISHU_SECRET``. Feishu refuses a request body
over 20 KB and answers refusals with HTTP 200 and a non-zero ``code``, so
both are checked. Paper text goes into ``text`` and ``a`` elements, which
Feishu shows as written (no markup, no @-mentions).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from typing import Any

import httpx

from dailypapers.config import FeishuSettings
from dailypapers.masking import short
from dailypapers.notify.channel import NotifyError, destination_key
from dailypapers.notify.chat import encode, post_json, url_problem
from dailypapers.render.digest import Digest, Entry, fit, render_chat

URL_ENV = "DAILYPAPERS_FEISHU_URL"
SECRET_ENV = "DAILYPAPERS_FEISHU_SECRET"
SIGNATURE_ROOM = 200  # bytes kept free for "timestamp" and "sign"

Line = list[dict[str, str]]


def _text(text: str) -> dict[str, str]:
    return {"tag": "text", "text": text}


def _link(text: str, href: str) -> dict[str, str]:
    return {"tag": "a", "text": text, "href": href}


def _entry_line(digest: Digest, entry: Entry) -> Line:
    line = [_text("• "), _link(entry.title, f"{digest.link_base}{entry.paper.versioned_id}")]
    if entry.revision:
        line.append(_text(f" ({entry.mark})"))
    if entry.tldr:
        line.append(_text(f"\n  TL;DR: {entry.tldr}"))
    return line


def post_payload(digest: Digest) -> dict[str, Any]:
    """The ``post`` message: a heading line, then per topic its name and one line per paper."""
    count = f"{digest.new} new paper{'s' if digest.new != 1 else ''}"
    lines: list[Line] = [[_text(f"{count} ({digest.long_date})")]]
    for topic in digest.topics:
        lines.append([_text(f"【{topic.name}】")])
        lines += [_entry_line(digest, entry) for entry in topic.entries]
        if topic.more:
            more = [_text(f"… and {topic.more} more")]
            lines.append(
                more + ([_text(": "), _link("all papers", digest.link)] if digest.link else [])
            )
    if digest.link:
        lines.append([_link("All papers", digest.link)])
    # A post needs one language block; clients show it whatever their language.
    post = {"zh_cn": {"title": digest.heading, "content": lines}}
    return {"msg_type": "post", "content": {"post": post}}


def payload(digest: Digest, max_bytes: int) -> dict[str, Any]:
    """The richest message that fits in ``max_bytes``: a post, else a short text."""
    budget = max_bytes - SIGNATURE_ROOM

    fitting = fit(digest, lambda candidate: len(encode(post_payload(candidate))), budget)
    if fitting is not None:
        return post_payload(fitting)
    text = render_chat(digest, budget // 4)  # UTF-8: at most 4 bytes a character
    return {"msg_type": "text", "content": {"text": text}}


def sign(secret: str, timestamp: int) -> str:
    """Feishu's signature: base64 of HMAC-SHA256 keyed by ``"{timestamp}\\n{secret}"``."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuChannel:
    """Posts the digest to a Feishu/Lark group through its custom bot."""

    name = "feishu"

    def __init__(self, settings: FeishuSettings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self.max_per_topic = settings.max_per_topic
        self._transport = transport

    def describe(self) -> str:
        return f"Feishu/Lark bot at ${URL_ENV} (at most {self.settings.max_bytes} bytes)"

    def destination(self) -> str:
        return destination_key(self.name, os.environ.get(URL_ENV, "").strip())

    def problem(self) -> str | None:
        return url_problem(URL_ENV)

    def preview(self, digest: Digest) -> str:
        return encode(payload(digest, self.settings.max_bytes)).decode("utf-8")

    def send(self, digest: Digest) -> str:
        message = payload(digest, self.settings.max_bytes)
        secret = os.environ.get(SECRET_ENV, "")
        if secret:
            stamp = int(time.time())
            message = {"timestamp": str(stamp), "sign": sign(secret, stamp), **message}
        response, answer = post_json(
            os.environ[URL_ENV],
            encode(message),
            platform="Feishu",
            timeout=self.settings.timeout,
            transport=self._transport,
        )
        code = _code(answer)
        if not response.is_success or code != 0:
            # Feishu answers every message with a JSON code (0: sent); an answer without
            # one (a proxy's or captive portal's page, a cut answer) is no delivery.
            detail = _message(answer) or f"HTTP {response.status_code} without Feishu's answer"
            raise NotifyError(f"Feishu refused the message: {short(detail)}")
        return f"HTTP {response.status_code}"


def _code(answer: Any) -> Any:
    if not isinstance(answer, dict):
        return None
    return answer.get("code", answer.get("StatusCode"))


def _message(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    code = _code(answer)
    if code is None:  # not Feishu's answer: its text says nothing of the message
        return ""
    text = answer.get("msg") or answer.get("StatusMessage") or ""
    return f"code {code}: {text}" if code != 0 else str(text)
