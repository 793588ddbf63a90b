"""The ``telegram`` channel: a Telegram bot's ``sendMessage``, in Telegram's HTML.

The bot token comes from ``$DAILYPAPERS_TELEGRAM_TOKEN`` (it sits in the
request path, so it is masked in every message), the chat from
``[notify.telegram] chat_id``. Telegram takes at most 4096 characters a
message (counted in UTF-16 units), and only ``<``, ``>``, ``&`` and ``"``
are special in its HTML, all escaped here.
"""

from __future__ import annotations

import html
import os
from typing import Any

import httpx

from dailypapers.config import TelegramSettings
from dailypapers.masking import short
from dailypapers.notify.channel import NotifyError, destination_key
from dailypapers.notify.chat import encode, post_json
from dailypapers.render.digest import Digest, Entry, fit, render_chat

TOKEN_ENV = "DAILYPAPERS_TELEGRAM_TOKEN"
API_ENV = "DAILYPAPERS_TELEGRAM_API_URL"
DEFAULT_API = "https://api.telegram.org"


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _entry(digest: Digest, entry: Entry) -> str:
    url = f"{digest.link_base}{entry.paper.versioned_id}"
    mark = f" ({_e(entry.mark)})" if entry.revision else ""
    tldr = f"\n  <i>TL;DR: {_e(entry.tldr)}</i>" if entry.tldr else ""
    return f'• <a href="{_e(url)}">{_e(entry.title)}</a>{mark}{tldr}'


def render_html(digest: Digest) -> str:
    """The message in Telegram's HTML: bold heading and topics, one linked title a line."""
    count = f"{digest.new} new paper{'s' if digest.new != 1 else ''}"
    lines = [f"<b>{_e(digest.heading)}</b>: {count} ({digest.long_date})"]
    for topic in digest.topics:
        lines += ["", f"<b>{_e(topic.name)}</b>"]
        lines += [_entry(digest, entry) for entry in topic.entries]
        if topic.more:
            tail = f': <a href="{_e(digest.link)}">all papers</a>' if digest.link else ""
            lines.append(f"… and {topic.more} more{tail}")
    return "\n".join(lines)


def message(digest: Digest, chat_id: int | str, max_chars: int) -> dict[str, Any]:
    """The ``sendMessage`` body: HTML when it fits, else plain text cut to fit."""

    fitting = fit(digest, lambda candidate: units(render_html(candidate)), max_chars)
    body: dict[str, Any] = {"chat_id": chat_id, "link_preview_options": {"is_disabled": True}}
    if fitting is not None:
        return {**body, "text": render_html(fitting), "parse_mode": "HTML"}
    text = render_chat(digest, max_chars // 2)  # a character is at most 2 UTF-16 units
    return {**body, "text": text}


class TelegramChannel:
    """Sends the digest to one Telegram chat through a bot."""

    name = "telegram"

    def __init__(self, settings: TelegramSettings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self.max_per_topic = settings.max_per_topic
        self._transport = transport

    def describe(self) -> str:
        return f"Telegram chat {self.settings.chat_id} via the bot in ${TOKEN_ENV}"

    def destination(self) -> str:
        return destination_key(self.name, str(self.settings.chat_id).strip())

    def problem(self) -> str | None:
        if not os.environ.get(TOKEN_ENV):
            return f"${TOKEN_ENV} is not set"
        if not _api().startswith(("https://", "http://")):
            return f"${API_ENV} is not an http(s) URL"
        return None

    def preview(self, digest: Digest) -> str:
        return str(message(digest, self.settings.chat_id, self.settings.max_chars)["text"])

    def send(self, digest: Digest) -> str:
        body = message(digest, self.settings.chat_id, self.settings.max_chars)
        url = f"{_api()}/bot{os.environ[TOKEN_ENV]}/sendMessage"
        response, answer = post_json(
            url,
            encode(body),
            platform="Telegram",
            timeout=self.settings.timeout,
            transport=self._transport,
        )
        ok = isinstance(answer, dict) and answer.get("ok") is True
        if not response.is_success or not ok:
            detail = answer.get("description") if isinstance(answer, dict) else None
            if not detail and response.is_success:  # a proxy's page, a cut answer
                detail = 'without the Bot API\'s answer ("ok": true)'
            raise NotifyError(
                f"Telegram refused the message: HTTP {response.status_code}"
                + (f": {short(detail)}" if detail else "")
            )
        result = answer.get("result") if isinstance(answer, dict) else None
        number = result.get("message_id") if isinstance(result, dict) else None
        return f"message {number}" if number is not None else f"HTTP {response.status_code}"


def _api() -> str:
    return os.environ.get(API_ENV, "").rstrip("/") or DEFAULT_API
