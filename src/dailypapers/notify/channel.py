"""What every notification channel is: the protocol, its error and what it did."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dailypapers.render.digest import Digest


class NotifyError(Exception):
    """A channel could not deliver; the message is one line, secrets masked."""


class PartlySent(NotifyError):
    """Delivered, but not to everyone (a refused recipient): recorded as sent, reported
    as a failure, so that nobody who received it gets it again and nobody misses the line."""

    def __init__(self, message: str, receipt: str) -> None:
        super().__init__(message)
        self.receipt = receipt


class Channel(Protocol):
    """A way of telling people about new papers."""

    name: str
    max_per_topic: int | None

    def describe(self) -> str:
        """Where it sends, without secrets: ``to a@b.org via smtp.example.org:587``."""
        ...

    def destination(self) -> str:
        """Who receives, as a stable key (:func:`destination_key`): deliveries are keyed by it."""
        ...

    def problem(self) -> str | None:
        """Why it cannot send right now (a missing environment variable), or None."""
        ...

    def preview(self, digest: Digest) -> str:
        """What :meth:`send` would send, as text."""
        ...

    def send(self, digest: Digest) -> str:
        """Send the digest; returns a receipt (issue URL, message id). Raises NotifyError."""
        ...


@dataclass
class Outcome:
    """What one channel did in a run."""

    channel: str
    papers: int = 0
    target: str = ""
    receipt: str = ""
    error: str | None = None
    preview: str = ""


UNSET = ":unset"  # the end of a destination key whose recipients or URL are not known


def destination_key(kind: str, *parts: str) -> str:
    """``email:3f2a...``: the channel's kind and a short hash of who receives (recipients,
    repository, URL), never the secret itself; ``kind:unset`` while that is unknown."""
    if not any(parts):
        return f"{kind}{UNSET}"
    text = "\n".join(parts).encode("utf-8", "backslashreplace")
    return f"{kind}:{hashlib.sha256(text).hexdigest()[:16]}"
