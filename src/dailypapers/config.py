"""Load and validate ``papers.toml`` into typed settings.

Every problem is reported as one :class:`ConfigError` line naming the file,
the line and the key: ``papers.toml:7: topics[1].name: must not be empty``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from dailypapers import config_hints as hints
from dailypapers.arxiv import lint
from dailypapers.arxiv import query as q
from dailypapers.arxiv.calendar import Calendar
from dailypapers.arxiv.taxonomy import ARCHIVES, CATEGORIES, archive_categories
from dailypapers.errors import ConfigError as ConfigError  # re-exported
from dailypapers.names import DB_ENV as DB_ENV  # re-exported
from dailypapers.names import DEFAULT_API_URL as DEFAULT_API_URL  # re-exported
from dailypapers.names import DEFAULT_CONFIG_NAME as DEFAULT_CONFIG_NAME  # re-exported
from dailypapers.names import DEFAULT_FEED_URL
from dailypapers.names import DEFAULT_OAI_URL as DEFAULT_OAI_URL  # re-exported
from dailypapers.names import STATE_DIR_NAME as STATE_DIR_NAME  # re-exported
from dailypapers.names import config_path as config_path  # re-exported

ARXIV_URL_ENV = "DAILYPAPERS_ARXIV_URL"
ARXIV_DELAY_ENV = "DAILYPAPERS_ARXIV_DELAY"
OAI_URL_ENV = "DAILYPAPERS_OAI_URL"
OAI_DELAY_ENV = "DAILYPAPERS_OAI_DELAY"
FEED_URL_ENV = "DAILYPAPERS_FEED_URL"
LLM_URL_ENV = "DAILYPAPERS_LLM_URL"
EMBEDDINGS_URL_ENV = "DAILYPAPERS_EMBEDDINGS_URL"

Output = Literal["readme", "json", "feeds", "site"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Model(BaseModel):
    # strict: TOML has real types, so "50" or true for a number is a mistake, not a value.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class ArxivSettings(_Model):
    """How to talk to arXiv (``[arxiv]``)."""

    api_url: str = DEFAULT_API_URL
    delay: float = Field(3.0, ge=0, le=600)
    page_size: int = Field(100, ge=1, le=2000)
    contact: str | None = None
    timeout: float = Field(60.0, gt=0, le=600)
    max_attempts: int = Field(5, ge=1, le=20)
    max_retry_seconds: float = Field(600.0, ge=0, le=6 * 3600)
    backoff: float = Field(5.0, ge=0, le=600)
    source: Literal["api", "feed", "local"] = "api"
    feed_url: str = DEFAULT_FEED_URL
    lookback_hours: float = Field(24.0, ge=0, le=30 * 24)
    index_lag_hours: float = Field(4.0, ge=0, le=30 * 24)
    max_response_mb: float = Field(64.0, gt=0, le=4096)  # decoded bytes of one response
    request_deadline: float = Field(300.0, gt=0, le=3600)  # seconds for one whole request

    @field_validator("api_url", "feed_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _http(value)

    @field_validator("contact")
    @classmethod
    def _contact_address(cls, value: str | None) -> str | None:
        """Checked here: the User-Agent carries it, and a space or a non-ASCII letter
        failed every request of ``update`` after ``check`` said ok. ``mailto:me@x.org``
        and ``Jane Doe <me@x.org>`` (which earlier versions took) mean the bare address."""
        if not value or not value.strip():
            return None  # "": no contact
        text = value.strip()
        if text[:7].lower() == "mailto:":
            text = text[7:]
        named = re.fullmatch(r"[^<>]*<([^<>]*)>", text)
        if named:
            text = named.group(1)
        try:
            return _address(text)
        except ValueError:
            raise ValueError(
                f"not an e-mail address: {value!r} (write the bare address, "
                'e.g. contact = "you@example.org")'
            ) from None


class OaiSettings(_Model):
    """arXiv's OAI-PMH endpoint for ``dailypapers harvest`` (``[oai]``)."""

    url: str = DEFAULT_OAI_URL
    delay: float = Field(3.0, ge=0, le=600)
    format: Literal["arXivRaw", "arXiv", "oai_dc"] = "arXivRaw"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return ArxivSettings._http_url(value)


class CalendarSettings(_Model):
    """arXiv's announcement calendar (``[calendar]``): holidays beyond the built-in ones."""

    holidays: list[date] = []


class StoreSettings(_Model):
    """Where the history lives (``[store]``): a SQLAlchemy URL of SQLite or PostgreSQL;
    SQLite by default."""

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        """SQLite or PostgreSQL, checked here (one config line, exit 2) rather than when
        the store opens; the scheme in lower case, and ``postgres://`` (a provider's
        ``DATABASE_URL``) read as ``postgresql://``. No message shows the URL: it
        may hold a password."""
        if value is None:
            return None
        found = re.match(r"([A-Za-z][A-Za-z0-9]*)((?:\+[A-Za-z0-9_]+)?)://", value)
        if found is None:
            raise ValueError(f"not a database URL: write {_STORE_FORMS}")
        dialect = found[1].lower()
        if dialect == "postgres":
            dialect = "postgresql"
        if dialect not in ("sqlite", "postgresql"):  # store.SUPPORTED_DIALECTS (its layer)
            raise ValueError(f"unsupported database {found[1]!r}: write {_STORE_FORMS}")
        rest = value[found.end() :]
        if dialect == "sqlite" and (
            rest.split("?")[0] in ("", "/", "/:memory:") or "mode=memory" in rest
        ):  # every run would say "updated" and keep nothing
            raise ValueError(f"an in-memory SQLite database keeps nothing: write {_STORE_FORMS}")
        return f"{dialect}{found[2].lower()}://{rest}"


_STORE_FORMS = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"


class LibrarySettings(_Model):
    """The reader's library (``[library]``): files re-imported when they change."""

    paths: list[str] = []


class ReadmeSettings(_Model):
    """Details of the README output (``[readme]``)."""

    path: str = "README.md"
    link_base: str = "https://arxiv.org/abs/"
    # true: the DailyArXiv README byte for byte (the "Watch" sentence always, no contents)
    exact_reference: bool = False
    toc: bool | None = None  # None: a table of contents when there are more than 5 topics
    tldr: bool = False  # the TL;DR (``[summaries]``) as the abstract fold's summary
    for_you: int = Field(0, ge=0, le=2000)  # a "For you" table of N papers (with a library)

    @field_validator("link_base")
    @classmethod
    def _http_base(cls, value: str) -> str:
        return _link(value)


# Secrets come from the environment only; a key that looks like one in
# papers.toml (which is committed to the repository) is refused.
_SECRET_KEY = re.compile(r"pass|token|secret|api_?key|credential|auth|login|user|^url$|webhook_url")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


class _Channel(_Model):
    """A notification channel: refuses secrets in the config file."""

    max_per_topic: int | None = Field(None, ge=1, le=2000)
    timeout: float = Field(30.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        return _refuse_secrets(
            data,
            "secrets are read from environment variables only (see 'Notifications' in the README)",
        )


class EmailSettings(_Channel):
    """``[notify.email]``: one digest over SMTP; login from the environment."""

    smtp_host: Text
    smtp_port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str
    recipients: list[str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _ssl_port(cls, data: Any) -> Any:
        """``security = "ssl"`` without a port is 465 (implicit TLS to 587 failed)."""
        if isinstance(data, dict) and data.get("security") == "ssl" and "smtp_port" not in data:
            return {**data, "smtp_port": 465}
        return data

    @field_validator("smtp_host")
    @classmethod
    def _host(cls, value: str) -> str:
        """A host name or address (``smtp.x.org:587`` failed the first send, after
        ``check`` said ok: the port is ``smtp_port``)."""
        if value.count(":") == 1:
            raise ValueError("a host name without a port: the port is smtp_port")
        if any(c.isspace() or not c.isprintable() or c in "/@[],;" for c in value):
            raise ValueError(f"not a host name: {value[:60]!r}")
        return value

    @field_validator("sender")
    @classmethod
    def _sender_address(cls, value: str) -> str:
        return _address(value)

    @field_validator("recipients")
    @classmethod
    def _recipient_addresses(cls, value: list[str]) -> list[str]:
        return [_address(item) for item in value]


def _address(value: str) -> str:
    """An address an e-mail header can carry as written (checked here, not by the first
    send: ``a,b@x.org`` would be two addresses, ``ü@x.org`` none)."""
    value = value.strip()
    if not _ADDRESS.match(value) or not value.isascii() or any(c in value for c in ',;:"()[]\\'):
        raise ValueError(f"not an e-mail address: {value!r}")
    from email.headerregistry import Address

    try:
        parsed = Address(addr_spec=value)
    except (ValueError, IndexError):
        raise ValueError(f"not an e-mail address: {value!r}") from None
    if parsed.addr_spec != value:
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


_URL_UNSAFE = re.compile(r"[\s<>\"`\x00-\x1f\x7f-\x9f]")


def _link(value: str) -> str:
    """An http(s) URL that every output can carry: no space, quote, angle bracket,
    backtick or control (a space ended the link in Markdown; a line break began a
    heading of its own in the issue)."""
    if not re.match(r"^https?://[^\s/]+", value) or _URL_UNSAFE.search(value):
        raise ValueError(
            "must be an http(s) URL without spaces, quotes, angle brackets or backticks"
        )
    return value


class GitHubSettings(_Channel):
    """``[notify.github]``: one issue per run with new papers (token from the environment)."""

    labels: list[Text] = ["daily-papers"]


class WebhookSettings(_Channel):
    """``[notify.webhook]``: a JSON ``text`` POST to ``$DAILYPAPERS_WEBHOOK_URL``."""

    max_chars: int = Field(3500, ge=200, le=40000)


class FeishuSettings(_Channel):
    """``[notify.feishu]``: a Feishu/Lark custom bot; URL from ``$DAILYPAPERS_FEISHU_URL``."""

    max_bytes: int = Field(20_000, ge=1_000, le=20_000)  # Feishu refuses bodies over 20 KB


class TelegramSettings(_Channel):
    """``[notify.telegram]``: a Telegram bot; token from ``$DAILYPAPERS_TELEGRAM_TOKEN``."""

    chat_id: int | str  # -1001234567890, or "@channel_name"
    max_chars: int = Field(4096, ge=200, le=4096)  # Telegram's limit for one message

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat(cls, value: Any) -> int | str:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"@[A-Za-z]\w{4,}|-?\d+", value.strip()):
            return value.strip()
        raise ValueError("must be a chat number (-100...) or a public @channel name")


class NotifySettings(_Model):
    """``[notify]``: which channels announce new papers, and how much each lists."""

    max_per_topic: int = Field(15, ge=1, le=2000)
    min_score: float | None = Field(None, ge=0, le=1000)  # with a library: only papers scoring this
    link: str | None = None
    email: EmailSettings | None = None
    github: GitHubSettings | None = None
    webhook: WebhookSettings | None = None
    feishu: FeishuSettings | None = None
    telegram: TelegramSettings | None = None

    @field_validator("link")
    @classmethod
    def _http_link(cls, value: str | None) -> str | None:
        return None if value is None else _link(value)

    @property
    def channels(self) -> dict[str, _Channel]:
        """The configured channels by name, in sending order."""
        found = {
            "github": self.github,
            "email": self.email,
            "webhook": self.webhook,
            "feishu": self.feishu,
            "telegram": self.telegram,
        }
        return {name: channel for name, channel in found.items() if channel is not None}


class JsonSettings(_Model):
    """The ``papers.json`` output (``[json]``)."""

    path: str = "papers.json"


def _http(value: str) -> str:
    if problem := http_url_problem(value):
        raise ValueError(problem)
    return value


def http_url_problem(url: str) -> str | None:
    """Why the HTTP client cannot send to ``url`` (``None``: it can), as the end of a line.

    http(s), a host (a name IDNA can encode), a valid port, UTF-8 text without
    control characters: ``http://[::1``, ``http://x:abc/`` or ``https://a..b/``
    were an "unexpected error" from the client at the first request.
    """
    if not re.match(r"^https?://[^\s/]+", url) or re.search(r"[\x00-\x1f\x7f]", url):
        return "must be an http(s) URL"
    try:
        url.encode("utf-8")
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
        if not host or any(c.isspace() for c in parts.netloc):
            raise ValueError("no host")
        if ":" not in host:  # a name (an IPv6 address has colons)
            host.encode("idna")
    except (ValueError, UnicodeError):
        return "must be an http(s) URL with a valid host and port"
    del port
    return None


def _endpoint(value: str) -> str:
    """An OpenAI-compatible endpoint: an http(s) URL with no user name or password
    in it (they were sent, and printed by ``summarize --dry-run``: the key belongs
    in the environment). A query (Azure's ``?api-version=``) is kept."""
    value = _http(value)
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not carry a user name or password (user:pass@): an API key is read "
            "from the environment only"
        )
    if parts.fragment:
        raise ValueError("must not end in a #fragment")
    return value


class FeedsSettings(_Model):
    """The Atom feeds output (``[feeds]``)."""

    dir: str = "feeds"
    base_url: Annotated[str, AfterValidator(_http)] | None = None


class SiteSettings(_Model):
    """The static site output (``[site]``)."""

    dir: str = "site"


def _refuse_secrets(data: Any, where: str) -> Any:
    """A section's raw table, refused when a key looks like a secret; ``where``
    says where secrets are read from instead."""
    if isinstance(data, dict):
        for key in data:
            if _SECRET_KEY.search(str(key).lower()):
                raise ValueError(f"{key!r} looks like a secret; {where}, never papers.toml")
    return data


class SummariesSettings(_Model):
    """``[summaries]``: a TL;DR per paper from an OpenAI-compatible endpoint.

    The API key is read from ``$DAILYPAPERS_LLM_API_KEY`` only (see
    :mod:`dailypapers.summaries`); a key-like entry here is refused.
    """

    base_url: Annotated[str, AfterValidator(_endpoint)]
    model: Text
    language: Text = "English"
    max_papers: int = Field(50, ge=1, le=5000)
    max_requests: int = Field(100, ge=1, le=20000)
    concurrency: int = Field(4, ge=1, le=32)
    timeout: float = Field(60.0, gt=0, le=900)
    max_failures: int = Field(3, ge=1, le=100)
    prompt: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        return _refuse_secrets(data, "the key is read from $DAILYPAPERS_LLM_API_KEY only")

    @field_validator("language")
    @classmethod
    def _language_line(cls, value: str) -> str:
        if len(value) > 40 or not value.isprintable():
            raise ValueError("must be a short language name, e.g. English or 简体中文")
        return value


class EmbeddingsSettings(_Model):
    """``[embeddings]``: paper vectors from an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Used by the ranking (``method``: ``hybrid`` with the offline default, or
    ``embeddings`` alone); the key is read from ``$DAILYPAPERS_EMBEDDINGS_KEY``
    only (:mod:`dailypapers.rank.embeddings`).
    """

    base_url: Annotated[str, AfterValidator(_endpoint)]
    model: Text
    method: Literal["hybrid", "embeddings"] = "hybrid"
    batch: int = Field(32, ge=1, le=512)  # texts per request
    max_texts: int = Field(2000, ge=1, le=100_000)  # new texts embedded per run at most
    timeout: float = Field(60.0, gt=0, le=900)  # total deadline of a run's requests

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        return _refuse_secrets(data, "the key is read from $DAILYPAPERS_EMBEDDINGS_KEY only")


class Topic(_Model):
    """One ``[[topics]]`` entry: a heading and what to search for."""

    name: Text
    query: Text | None = None
    categories: list[str] = Field(default_factory=list)
    exclude: list[Text] = Field(default_factory=list)
    order: Literal["newest", "relevance"] = "newest"  # "relevance": by score (with a library)
    like: list[Text] | None = None  # topics by example: arXiv ids or "collection:NAME"
    top: int | None = Field(None, ge=1, le=2000)  # a like topic keeps its N best a day
    min_score: float | None = Field(None, ge=0, le=1000)  # ... and/or those scoring this

    @field_validator("like")
    @classmethod
    def _examples(cls, value: list[str] | None) -> list[str] | None:
        from dailypapers.liketopic import example_problem

        found = example_problem(value) if value is not None else None
        if found is not None:
            raise ValueError(found)
        return value

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return _printable_line(value)

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            q.parse(value)
            problems = lint.errors(value)
            if problems:
                raise ValueError(problems[0])
        return value

    @field_validator("exclude")
    @classmethod
    def _excludable(cls, value: list[str]) -> list[str]:
        for text in value:  # each becomes ti:"text" and abs:"text" (search_query)
            if '"' in text:
                raise ValueError(
                    f'{text!r}: write the phrase without quotes (exclude = ["survey"]): '
                    "each is searched as a phrase"
                )
            q.phrase("ti", text)
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown arXiv category {unknown[0]!r}")
        return value

    @model_validator(mode="after")
    def _query_builds(self) -> Topic:
        if self.like is not None:
            return self
        try:
            self.base_query()
        except ValueError as exc:
            raise ValueError(
                f"cannot search for this name ({exc}); give an explicit query"
            ) from None
        return self

    def base_query(self) -> q.Node:
        """The topic's own query; by default the reference's keyword search.

        The reference searched a several-word name in title OR abstract and a
        one-word name in title AND abstract, as a quoted phrase.
        """
        if self.query is not None:
            return q.parse(self.query)
        title, abstract = q.phrase("ti", self.name), q.phrase("abs", self.name)
        if len(self.name.split()) > 1:
            return q.Or(title, abstract)
        return q.And(title, abstract)

    @property
    def keep_top(self) -> int | None:
        """How many papers a like topic keeps a day (10 unless ``top`` or ``min_score``)."""
        return self.top if self.top is not None or self.min_score is not None else 10

    def shown_query(self) -> str:
        """The query as outputs show it: without the archive filter; a like topic's examples."""
        if self.like is not None:
            cats = f" in {' '.join(self.categories)}" if self.categories else ""
            return f"like: {', '.join(self.like)}{cats}"
        return q.to_string(self.search_query([]))

    def search_query(self, archives: list[str]) -> q.Node:
        """The query sent to arXiv: base query, category filters and exclusions.

        A like topic asks for every new paper of its categories (or of the
        archives); :mod:`dailypapers.liketopic` keeps the most similar.
        """
        node = self.base_query()
        if self.like is not None:
            cats = self.categories or [c for a in archives for c in archive_categories(a)]
            node = q.any_of([q.Term("cat", c, False) for c in cats])
        elif archives:
            cats = [c for a in archives for c in archive_categories(a)]
            node = q.all_of([node, q.any_of([q.Term("cat", c, False) for c in cats])])
        if self.categories and self.like is None:
            node = q.all_of([node, q.any_of([q.Term("cat", c, False) for c in self.categories])])
        excluded = [
            q.any_of([q.phrase("ti", text), q.phrase("abs", text)]) for text in self.exclude
        ]
        return q.exclude(node, excluded) if excluded else node


def _printable_line(value: str) -> str:
    """One line of printable text (no control, no bidi override, no line break)."""
    if any(ch in value for ch in "\r\n\t") or not value.isprintable():
        raise ValueError("must be one line of printable text")
    return value


class Settings(_Model):
    """The whole of ``papers.toml``."""

    title: Text = "Daily Papers"
    strict: bool = False
    max_papers: int = Field(100, ge=1, le=2000)
    timezone: str = "UTC"
    archives: list[str] = ["cs", "stat"]
    outputs: list[Output] = ["readme"]
    allow_outside: bool = False  # outputs may resolve outside the project (outpaths.py)
    topics: list[Topic] = Field(min_length=1)
    arxiv: ArxivSettings = ArxivSettings()
    oai: OaiSettings = OaiSettings()
    store: StoreSettings = StoreSettings()
    readme: ReadmeSettings = ReadmeSettings()
    calendar: CalendarSettings = CalendarSettings()
    notify: NotifySettings = NotifySettings()
    json_: JsonSettings = Field(JsonSettings(), alias="json")
    feeds: FeedsSettings = FeedsSettings()
    site: SiteSettings = SiteSettings()
    summaries: SummariesSettings | None = None
    library: LibrarySettings = LibrarySettings()
    embeddings: EmbeddingsSettings | None = None

    @field_validator("title")
    @classmethod
    def _one_line_title(cls, value: str) -> str:
        return _printable_line(value)  # it heads every output and message

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        if value in ("localtime", "posixrules", "Factory"):  # tzdata files, not IANA zones
            raise ValueError(f"{value!r} is not an IANA time zone (write one, as Europe/Berlin)")
        return value

    @field_validator("outputs")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        """Each output once (``["readme", "readme"]`` said "readme.path: is also readme.path")."""
        if twice := next((v for i, v in enumerate(value) if v in value[:i]), None):
            raise ValueError(f"{twice!r} is listed twice")
        return value

    @field_validator("archives")
    @classmethod
    def _known_archives(cls, value: list[str]) -> list[str]:
        unknown = [a for a in value if a not in ARCHIVES]
        if unknown:
            raise ValueError(f"unknown arXiv archive {unknown[0]!r}")
        return value


@dataclass(frozen=True)
class Config:
    """Validated settings plus where they came from."""

    path: Path
    settings: Settings
    warnings: tuple[str, ...] = ()
    digest: str = ""  # sha256 of the bytes loaded (the update stamp's; "": never vouched for)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def state_dir(self) -> Path:
        return self.base_dir / STATE_DIR_NAME

    @property
    def db_url(self) -> str:
        url = self.settings.store.url
        if url and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url.removeprefix("sqlite:///")
            if relative and not relative.startswith(":memory:"):
                return f"sqlite:///{self.base_dir / relative}"
        if url:
            return url
        return f"sqlite:///{self.state_dir / 'papers.db'}"

    @property
    def library_paths(self) -> list[Path]:
        return [self.base_dir / Path(p).expanduser() for p in self.settings.library.paths]

    @property
    def readme_path(self) -> Path:
        return self.base_dir / self.settings.readme.path

    @property
    def json_path(self) -> Path:
        return self.base_dir / self.settings.json_.path

    @property
    def feeds_dir(self) -> Path:
        return self.base_dir / self.settings.feeds.dir

    @property
    def site_dir(self) -> Path:
        return self.base_dir / self.settings.site.dir

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.settings.calendar.holidays)

    @property
    def lookback(self) -> timedelta:
        """How far behind the newest known paper an incremental fetch may read."""
        return timedelta(hours=self.settings.arxiv.lookback_hours)

    @property
    def index_lag(self) -> timedelta:
        """How long after an announcement arXiv's search may still miss some of it."""
        return timedelta(hours=self.settings.arxiv.index_lag_hours)


def load_config(path: str | os.PathLike[str] | None = None, strict: bool = False) -> Config:
    """Read, merge environment overrides into, and validate a config file.

    Likely mistakes that arXiv would accept come back as ``Config.warnings``;
    with ``strict`` (or ``strict = true`` in the file) the first is an error.
    """
    file = config_path(path)
    text = _read_text(file)
    try:
        written = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    data = _apply_env(written)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _describe(exc, file, text, data) from None
    _check_unique_topics(settings, file, text)
    _check_like_scope(settings, file, text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()  # the bytes read (strict UTF-8)
    warnings = _query_warnings(settings, file, text) + _store_warnings(file, text, written)
    config = Config(file, settings, warnings, digest)
    _check_output_dirs(config, text)
    _check_output_paths(config, text)
    if config.warnings and (strict or settings.strict):
        raise ConfigError(f"{config.warnings[0]} (an error with --strict or strict = true)")
    return config


def _check_output_paths(config: Config, text: str) -> None:
    """No output may overwrite the store, the config or another output (issue 11)."""
    from dailypapers.outpaths import Project, output_path_problems

    url = config.db_url
    sqlite_file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    project = Project(
        base=config.base_dir,
        config_file=config.path,
        state=config.state_dir,
        store=Path(sqlite_file) if sqlite_file and ":memory:" not in sqlite_file else None,
        allow_outside=config.settings.allow_outside,
        outputs=list(config.settings.outputs),
        paths={
            "readme": config.readme_path,
            "json": config.json_path,
            "feeds": config.feeds_dir,
            "site": config.site_dir,
        },
    )
    found = [(locate(text, loc), loc, message) for loc, message in output_path_problems(project)]
    # Two outputs at one place: blame the one the file sets (it has a line).
    for line, loc, message in sorted(found, key=lambda item: item[0] is None):
        where = f"{config.path}:{line}" if line else str(config.path)
        raise ConfigError(f"{where}: {'.'.join(loc)}: {message}")


def _where(file: Path, text: str, loc: tuple[Any, ...]) -> str:
    line = locate(text, loc) or hints.header_line(text, loc)
    return f"{file}:{line}" if line else str(file)


def _check_unique_topics(settings: Settings, file: Path, text: str) -> None:
    seen: dict[str, int] = {}
    for index, topic in enumerate(settings.topics):
        key = topic.name.casefold()
        if key in seen:
            where = _where(file, text, ("topics", index, "name"))
            raise ConfigError(
                f"{where}: topics[{index}].name: duplicate topic name {topic.name!r} "
                f"(topics[{seen[key]}] has it); rename one or merge their queries with OR"
            )
        seen[key] = index


def _check_like_scope(settings: Settings, file: Path, text: str) -> None:
    """A topic is keywords (its name), a ``query`` or ``like``; ``top`` needs ``like``."""
    from dailypapers.liketopic import topic_problem

    for index, topic in enumerate(settings.topics):
        found = topic_problem(topic, settings.archives)
        if found is not None:
            key, message = found
            where = _where(file, text, ("topics", index, key))
            raise ConfigError(f"{where}: topics[{index}].{key}: {message} (topic {topic.name!r})")


_PASSWORD = re.compile(r"://[^/@]*:[^/@]+@|[?&]password=", re.IGNORECASE)


def _store_warnings(file: Path, text: str, written: dict[str, Any]) -> tuple[str, ...]:
    """A password written in the config (a file people commit), whether or not
    ``$DAILYPAPERS_DB`` overrides it: ``written`` is the file's own values."""
    store = written.get("store")
    url = store.get("url") if isinstance(store, dict) else None
    if not isinstance(url, str) or not _PASSWORD.search(url):
        return ()
    where = _where(file, text, ("store", "url"))
    return (
        f"{where}: store.url: holds a password, in a file that is usually committed: "
        f"set ${DB_ENV} instead (in GitHub Actions, a repository secret)",
    )


def _query_warnings(settings: Settings, file: Path, text: str) -> tuple[str, ...]:
    found = []
    for index, topic in enumerate(settings.topics):
        if topic.query is None:
            continue
        where = _where(file, text, ("topics", index, "query"))
        for message in lint.warnings(topic.query):
            found.append(f"{where}: topics[{index}].query: {message} (topic {topic.name!r})")
    return tuple(found)


def _check_output_dirs(config: Config, text: str) -> None:
    """The site and feed folders are replaced wholesale: keep them off the project itself."""
    base, state = config.base_dir.resolve(), config.state_dir.resolve()
    dirs = {"site": config.site_dir.resolve(), "feeds": config.feeds_dir.resolve()}
    for key, folder in dirs.items():
        problem = None
        if folder == base or folder in base.parents:
            problem = "must be a folder inside or beside the project, not the project or above it"
        elif folder == state or state in folder.parents or folder in state.parents:
            problem = f"must not overlap the state folder {STATE_DIR_NAME}"
        elif key == "feeds" and (folder == dirs["site"] or dirs["site"] in folder.parents):
            problem = "must not be inside [site] dir (the site carries its own copy of the feeds)"
        elif key == "feeds" and folder in dirs["site"].parents:
            problem = "must not contain [site] dir"
            if locate(text, (key, "dir")) is None:  # blame the key the file sets
                key, problem = "site", "must not be inside [feeds] dir (default: feeds)"
        if problem:
            line = locate(text, (key, "dir"))
            where = f"{config.path}:{line}" if line else str(config.path)
            raise ConfigError(f"{where}: {key}.dir: {problem}")


def _read_text(file: Path) -> str:
    from dailypapers.configfile import read_config_bytes

    try:
        return read_config_bytes(file).decode("utf-8-sig")  # a BOM (Notepad) is no TOML error
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start})") from None


def _env(name: str) -> str | None:
    """A variable's value; an empty one is unset (GitHub Actions passes a secret
    that is not defined as an empty string: it overrode the file's value)."""
    return os.environ.get(name, "").strip() or None


def _apply_env(data: dict[str, Any]) -> dict[str, Any]:
    overrides = {
        ("arxiv", "api_url"): _env(ARXIV_URL_ENV),
        ("arxiv", "feed_url"): _env(FEED_URL_ENV),
        ("arxiv", "delay"): _env_float(ARXIV_DELAY_ENV),
        ("store", "url"): _env(DB_ENV),
        ("oai", "url"): _env(OAI_URL_ENV),
        ("oai", "delay"): _env_float(OAI_DELAY_ENV),
        ("summaries", "base_url"): _env(LLM_URL_ENV) if "summaries" in data else None,
        ("embeddings", "base_url"): _env(EMBEDDINGS_URL_ENV) if "embeddings" in data else None,
    }
    merged = dict(data)
    for (table, key), value in overrides.items():
        section = merged.get(table, {})
        if value is not None and isinstance(section, dict):
            merged[table] = {**section, key: value}
    return merged


def _env_float(name: str) -> float | None:
    raw = _env(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"${name}: not a number: {raw!r}") from None


def _describe(exc: ValidationError, file: Path, text: str, data: dict[str, Any]) -> ConfigError:
    """The first problem, counting the others; every one in ``problems``."""
    errors = exc.errors()
    first = errors[0]
    if first["type"] == "missing":  # `topics` is missing: an unknown key (`keywords`,
        # `[[topic]]`) is what the user wrote instead, and its hint is the fix
        first = next((e for e in errors if e["type"] == "extra_forbidden"), first)
    lines = [_problem(e, file, text, data) for e in [first, *(e for e in errors if e is not first)]]
    more = len(lines) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return ConfigError(lines[0] + suffix, lines)


def _problem(error: Any, file: Path, text: str, data: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = _dotted(loc)
    message = _message(error, loc)
    name = hints.topic_name(data, loc)
    if name is not None and loc[2:] != ("name",):
        message += f" (topic {name!r})"
    if env := _from_env(loc, data):  # the value is the variable's, not the file's
        return f"${env} (overrides {key} of {file}): {message}"
    return f"{_where(file, text, loc)}: {key or 'config'}: {message}"


_ENV_KEYS = {
    ("arxiv", "api_url"): ARXIV_URL_ENV,
    ("arxiv", "feed_url"): FEED_URL_ENV,
    ("arxiv", "delay"): ARXIV_DELAY_ENV,
    ("store", "url"): DB_ENV,
    ("oai", "url"): OAI_URL_ENV,
    ("oai", "delay"): OAI_DELAY_ENV,
    ("summaries", "base_url"): LLM_URL_ENV,
    ("embeddings", "base_url"): EMBEDDINGS_URL_ENV,
}


def _from_env(loc: tuple[Any, ...], data: dict[str, Any]) -> str | None:
    """The environment variable that set the value at ``loc`` (see :func:`_apply_env`)."""
    name = _ENV_KEYS.get(tuple(loc[:2]))
    if name is None or _env(name) is None:
        return None
    return name if loc[0] in ("arxiv", "store", "oai") or loc[0] in data else None


_KINDS = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a quoted string",
    "list_type": "a list, as in [...]",
}


def _message(error: Any, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return hints.unknown_key(Settings, loc, error["input"])
    if kind == "missing" and loc == ("topics",):
        return 'is required: add a [[topics]] table with a name (name = "Reward Model")'
    if kind == "missing":
        return "is required"
    if kind == "list_type" and loc == ("topics",) and isinstance(error["input"], dict):
        return "is one [topics] table: write [[topics]] (two brackets) before each topic"
    if kind == "date_type" and isinstance(error["input"], str):
        written = json.dumps(error["input"][:40])
        return f"must be a TOML date without quotes, as in [2027-01-01], not {written}"
    if kind == "finite_number":
        return f"must be a finite number, not {error['input']}"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, not {_toml_repr(error['input'])}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"the string {json.dumps(value[:40])}" + (
            " (drop the quotes)" if _numeric(value) else ""
        )
    return type(value).__name__


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def locate(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number (1-based) of the key at ``loc`` in TOML ``text``.

    tomllib keeps no positions, so this walks table headers: ``("topics", 1,
    "name")`` is the ``name =`` line after the second ``[[topics]]`` header.
    """
    lines = text.splitlines()
    start, end = 0, _next_header(lines, 0)
    keys = [k for k in loc if isinstance(k, str)]
    index = next((k for k in loc if isinstance(k, int)), None)
    if len(keys) > 1 or index is not None:
        span, depth = _nested_span(lines, keys, index)
        if span is not None:
            start, end = span
            keys = keys[depth:]
    if not keys:
        return start + 1 if start or index is not None else None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(keys[0])}[\"']?\s*=")
    for number in range(start, end):
        if pattern.match(lines[number]):
            return number + 1
    return start + 1 if start else None


def _nested_span(
    lines: list[str], keys: list[str], index: int | None
) -> tuple[tuple[int, int] | None, int]:
    """The deepest ``[a.b]`` table header naming a prefix of ``keys``, and its depth."""
    for depth in range(len(keys), 0, -1):
        span = _table_span(lines, ".".join(keys[:depth]), index)
        if span is not None:
            return span, depth
    return None, 0


def _table_span(lines: list[str], name: str, index: int | None) -> tuple[int, int] | None:
    header = re.compile(rf"^\s*\[\[?\s*{re.escape(name)}\s*\]\]?\s*(#.*)?$")
    found = [n for n, line in enumerate(lines) if header.match(line)]
    pick = index if index is not None else 0
    if pick >= len(found):
        return None
    return found[pick], _next_header(lines, found[pick] + 1)


def _next_header(lines: list[str], begin: int) -> int:
    for number in range(begin, len(lines)):
        if re.match(r"^\s*\[", lines[number]):
            return number
    return len(lines)
