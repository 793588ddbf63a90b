"""The ``webhook`` channel: a JSON POST with a ``text`` field to ``$DAILYPAPERS_WEBHOOK_URL``.

Slack and Mattermost incoming webhooks read ``text``; Discord reads
``content`` (both are sent), or takes the same payload at its Slack-compatible
URL (``.../slack``). The URL is a secret: it is never printed or logged.
"""

from __future__ import annotations

import os

import httpx

from dailypapers import __version__
from dailypapers.bounded import (
    NOTIFY_MAX_BYTES,
    Bounds,
    LimitExceeded,
    bounded_request,
    status_before,
)
from dailypapers.config import WebhookSettings
from dailypapers.masking import mask
from dailypapers.notify.channel import NotifyError, destination_key
from dailypapers.notify.chat import url_problem
from dailypapers.render.digest import Digest, chat_inert, render_chat, slack_escape

URL_ENV = "DAILYPAPERS_WEBHOOK_URL"


def chat_payload(digest: Digest, max_chars: int) -> dict[str, object]:
    """Slack/Mattermost read ``text`` (escaped their way), Discord ``content`` (pinging nobody)."""
    return {
        "text": render_chat(digest, max_chars, escape=lambda t: slack_escape(chat_inert(t))),
        "content": render_chat(digest, max_chars, escape=chat_inert),
        "allowed_mentions": {"parse": []},
    }


class WebhookChannel:
    """Posts a short plain-text digest (at most ``max_chars`` characters)."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self.max_per_topic = settings.max_per_topic
        self._transport = transport

    def describe(self) -> str:
        return f"POST to ${URL_ENV} (at most {self.settings.max_chars} characters)"

    def destination(self) -> str:
        return destination_key(self.name, os.environ.get(URL_ENV, "").strip())

    def problem(self) -> str | None:
        return url_problem(URL_ENV)

    def preview(self, digest: Digest) -> str:
        return render_chat(digest, self.settings.max_chars)

    def send(self, digest: Digest) -> str:
        timeout = httpx.Timeout(self.settings.timeout, connect=min(self.settings.timeout, 10.0))
        headers = {"User-Agent": f"dailypapers/{__version__}"}
        try:
            with httpx.Client(
                timeout=timeout, headers=headers, transport=self._transport
            ) as client:
                response = bounded_request(
                    client,
                    "POST",
                    os.environ[URL_ENV],
                    json=chat_payload(digest, self.settings.max_chars),
                    bounds=Bounds(NOTIFY_MAX_BYTES, self.settings.timeout),
                )
        except (LimitExceeded, httpx.HTTPError) as exc:
            status = status_before(exc)
            if status is not None and 200 <= status < 300:  # posted: only the answer went wrong
                return f"HTTP {status} (answer cut short: {type(exc).__name__})"
            if isinstance(exc, LimitExceeded):
                raise NotifyError(f"the webhook: {exc}") from None
            # httpx's messages can quote the URL, which is the secret.
            raise NotifyError(
                mask(f"cannot reach the webhook: {type(exc).__name__}: {exc}")
            ) from None
        if not response.is_success:
            raise NotifyError(f"the webhook answered HTTP {response.status_code}")
        return f"HTTP {response.status_code}"
