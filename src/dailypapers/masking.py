"""Secrets never printed, logged or stored: masking, and the log filter that applies it.

:func:`install_log_filter` puts :class:`RedactSecrets` on the loggers that
could print a secret (httpx logs every request's URL at INFO, and a webhook
URL is a secret); the CLI installs it once at start-up.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import quote, urlsplit

# Environment variables that hold secrets: never printed, logged or stored.
SECRET_ENV = (
    "GITHUB_TOKEN",
    "DAILYPAPERS_SMTP_USER",
    "DAILYPAPERS_SMTP_PASSWORD",
    "DAILYPAPERS_WEBHOOK_URL",
    "DAILYPAPERS_FEISHU_URL",
    "DAILYPAPERS_FEISHU_SECRET",
    "DAILYPAPERS_TELEGRAM_TOKEN",
    "DAILYPAPERS_LLM_API_KEY",
    "DAILYPAPERS_EMBEDDINGS_KEY",
)


def mask(text: str) -> str:
    """``text`` with the value of every secret environment variable replaced by ``***``."""
    for name in SECRET_ENV:
        for form in _forms(os.environ.get(name, "")):
            text = text.replace(form, "***")
    return text


def _forms(value: str) -> list[str]:
    """How a secret may appear in a message: as it is, URL-quoted, or escaped by ``repr``
    (an HTTP library's "Illegal header value b'Bearer ...\\n'"), and a URL as an HTTP
    library logs it; longest first."""
    forms: set[str] = set()
    for each in {value, value.strip()}:
        if len(each) < 4:
            continue
        raw = each.encode("utf-8", "surrogateescape")  # a non-UTF-8 byte as it was
        escaped = each.encode("unicode_escape", "backslashreplace").decode("ascii")
        forms |= {each, quote(raw, safe=""), quote(raw, safe="/:"), escaped, repr(raw)[2:-1]}
        forms |= _url_forms(each)
    return sorted(forms, key=len, reverse=True)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _url_forms(value: str) -> set[str]:
    """A secret URL as httpx logs it (host in lower case, the default port dropped),
    and its path with the query: the part of a webhook URL that is the secret."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return set()
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return set()
    user = parts.netloc.rpartition("@")[0]
    host = parts.hostname + (f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else "")
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    netloc = f"{user}@{host}" if user else host
    forms = {f"{parts.scheme.lower()}://{netloc}{tail}"}
    if len(tail) >= 12:  # "/hooks/T0/B0/XXXX": shown alone, by a log of the path
        forms.add(tail)
    return forms


def short(text: object, limit: int = 200) -> str:
    """An error message (a server's, a library's): one line and bounded, secrets masked.

    Masked first: a secret cut at the limit, or with its inner spaces folded,
    would no longer be found whole.
    """
    flat = " ".join(mask(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class RedactSecrets(logging.Filter):
    """Masks secrets in log records (httpx logs every request's URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


LOGGERS = ("httpx", "httpcore", "dailypapers")


def install_log_filter() -> None:
    """Mask secrets in every record of the loggers that could print one (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
