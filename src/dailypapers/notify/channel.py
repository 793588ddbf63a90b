"""What every notification channel is: the protocol, its error and what it did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dailypapers.render.digest import Digest


class NotifyError(Exception):
    """A channel could not deliver; the message is one line, secrets masked."""


class Channel(Protocol):
    """A way of telling people about new papers."""

    name: str
    max_per_topic: int | None

    def describe(self) -> str:
        """Where it sends, without secrets: ``to a@b.org via smtp.example.org:587``."""
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
