"""Notification digests: the new papers of a run, per topic, as e-mail, issue or chat text.

A :class:`Digest` holds what a channel owes its readers; the renderers here
turn it into a multipart e-mail (text + HTML), a GitHub issue in the
reference's style (``Latest 15 Papers - August 21, 2026``, a table per topic
without the abstract column) and a short chat message. Cells reuse the
README's escaping (:mod:`dailypapers.render.markdown`), so a paper's own text
cannot break an issue table either.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

from dailypapers.links import Labels, find_venue, labels
from dailypapers.models import Paper, counted
from dailypapers.render.markdown import (
    DEFAULT_LINK_BASE,
    collapse,
    comment_cell,
    escape_cell,
    heading,
    title_cell,
)

_MENTION = re.compile(r"@(?=[A-Za-z0-9_])")
GITHUB_BODY_LIMIT = 65_536  # GitHub refuses longer issue bodies (HTTP 422)
AUTHORS_SHOWN = 3


@functools.cache
def _env() -> jinja2.Environment:
    """The digests' templates (jinja2 is loaded when a digest is first rendered)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("dailypapers.render", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Entry:
    """One new paper in a digest; ``revision`` when an earlier version was announced."""

    paper: Paper
    revision: bool = False

    @property
    def title(self) -> str:
        return collapse(self.paper.title)

    @property
    def authors(self) -> str:
        names = [collapse(name) for name in self.paper.author_names]
        shown = ", ".join(names[:AUTHORS_SHOWN])
        return f"{shown}, et al." if len(names) > AUTHORS_SHOWN else shown

    @property
    def date(self) -> str:
        return self.paper.updated.date().isoformat()

    @property
    def comment(self) -> str:
        return collapse(self.paper.comment)

    @property
    def tldr(self) -> str:
        """The paper's TL;DR (``[summaries]``), one line; empty when there is none."""
        return collapse(self.paper.tldr)

    @property
    def labels(self) -> Labels:
        """Code/project links and venue found in the paper's text (:mod:`dailypapers.links`)."""
        return labels(self.paper)

    @property
    def venue(self) -> str | None:
        """The venue label, unless the comment shown beside it already names it."""
        if find_venue(self.paper.with_changes(journal_ref=None)) is not None:
            return None
        return self.labels.venue

    @property
    def mark(self) -> str:
        """``revised, v2`` for a revision of an announced paper, else empty."""
        return f"revised, v{self.paper.version}" if self.revision else ""


@dataclass(frozen=True)
class TopicDigest:
    """A topic's new papers, newest first; ``more`` counts those left out for size."""

    name: str
    entries: tuple[Entry, ...]
    more: int = 0
    dropped: frozenset[str] = frozenset()  # ids of the papers counted in ``more``

    def capped(self, limit: int) -> TopicDigest:
        kept = self.entries[:limit]
        gone = frozenset(e.paper.id for e in self.entries[limit:])
        return replace(
            self,
            entries=kept,
            more=self.more + len(self.entries) - len(kept),
            dropped=self.dropped | gone,
        )


@dataclass(frozen=True)
class Digest:
    """What one channel announces: new papers per topic (topics without any are omitted)."""

    heading: str
    day: date
    topics: tuple[TopicDigest, ...]
    link: str | None = None
    link_base: str = DEFAULT_LINK_BASE
    new_papers: int | None = None  # distinct new papers before capping (None: those shown)

    @property
    def shown(self) -> int:
        """Distinct papers listed (a paper in two topics counts once)."""
        return len({e.paper.id for t in self.topics for e in t.entries})

    @property
    def new(self) -> int:
        """Distinct new papers, listed or left out for size (what a headline counts)."""
        return self.total if self.new_papers is None else self.new_papers

    @property
    def total(self) -> int:
        """Distinct new papers, listed or counted as left out: the number a subject gives."""
        ids = {e.paper.id for t in self.topics for e in t.entries}
        for topic in self.topics:
            ids |= topic.dropped
        uncounted = sum(max(0, t.more - len(t.dropped)) for t in self.topics)
        return len(ids) + uncounted

    @property
    def long_date(self) -> str:
        """``August 21, 2026``, as the reference's issue titles."""
        return f"{self.day:%B} {self.day.day}, {self.day.year}"

    def capped(self, limit: int) -> Digest:
        """At most ``limit`` papers per topic; the rest are counted as left out."""
        return replace(
            self, topics=tuple(t.capped(limit) for t in self.topics), new_papers=self.new
        )

    def without_entries(self) -> Digest:
        return self.capped(0)


def _plural(count: int, word: str = "paper") -> str:
    return counted(count, word)


def _render(name: str, digest: Digest, **extra: Any) -> str:
    return _env().get_template(name).render(d=digest, plural=_plural, **extra)


def subject(digest: Digest) -> str:
    """The e-mail subject: ``Daily Papers: 12 new papers (August 21, 2026)``."""
    return f"{collapse(digest.heading)}: {_plural(digest.new, 'new paper')} ({digest.long_date})"


def render_text(digest: Digest) -> str:
    """The plain-text part of the e-mail digest."""
    return _render("digest.txt", digest)


def render_html(digest: Digest) -> str:
    """The HTML part of the e-mail digest (every paper text escaped by Jinja)."""
    return _render("digest.html", digest)


def issue_title(digest: Digest) -> str:
    """``Latest 15 Papers - August 21, 2026``, as the reference titled its issues."""
    papers = "Paper" if digest.shown == 1 else "Papers"
    return f"Latest {digest.shown} {papers} - {digest.long_date}"


def no_mentions(text: str) -> str:
    """``@name`` with a zero-width joiner after the ``@``: GitHub notifies nobody; and
    the references GitHub would link and announce in the other issue's timeline
    (``#12``, ``owner/repo#12``, ``GH-12``, an issue's or pull request's URL)
    broken the same way: a paper's comment posts nothing into other projects."""
    text = _MENTION.sub("@\u200d", text)
    text = _ISSUE_NUMBER.sub("#\u200d", text)
    text = _GH_NUMBER.sub(lambda m: f"{m[0]}\u200d", text)
    return _ISSUE_URL.sub(lambda m: f"{m[1]}\u200d{m[2]}", text)


_ISSUE_NUMBER = re.compile(r"(?<!&)#(?=\d)")  # not "&#96;", an entity the escaping wrote
_GH_NUMBER = re.compile(r"\bGH-(?=\d)", re.IGNORECASE)
_ISSUE_URL = re.compile(r"(github\.com/[\w.-]+/[\w.-]+/)((?:issues|pull|discussions)/\d)", re.I)


def chat_inert(text: str) -> str:
    """Markdown a chat renders from a paper's text, made plain: a masked link that
    shows arXiv and points elsewhere (``[..](..)``), an image (``![..](..)``,
    fetched from its author's server), a code fence that swallows the lines after
    it. A zero-width joiner between the characters: they read the same."""
    return text.replace("](", "]\u200d(").replace("![", "!\u200d[").replace("```", "`\u200d``")


def _issue_row(entry: Entry, link_base: str) -> str:
    title = title_cell(entry.paper, link_base)
    if entry.revision:
        title += f" *({entry.mark})*"
    if entry.tldr:
        title += f"<br>TL;DR: {escape_cell(entry.tldr, brackets=True, backticks=True)}"
    return no_mentions(f"| {title} | {entry.date} | {comment_cell(entry.paper)} |")


def _issue_heading(name: str) -> str:
    return no_mentions(heading(name))


def slack_escape(text: str) -> str:
    """Slack's (and Mattermost's) escaping: ``<!channel>``, ``<@U1>`` and ``<url|label>`` stay text.

    ``&``, ``<`` and ``>`` become entities, and ``@`` is followed by a zero-width
    joiner so that Mattermost's ``@channel`` and ``@user`` notify nobody.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u200d", text)


def render_issue(digest: Digest, limit: int = GITHUB_BODY_LIMIT) -> tuple[str, str]:
    """The issue's title and Markdown body, within ``limit`` characters.

    Too long a body loses rows from the end of each topic (counted as left
    out, with a link to the README) until it fits; it never fails.
    """

    def body(candidate: Digest) -> str:
        return _render("issue.md", candidate, row=_issue_row, heading=_issue_heading)

    fitting = _fitting(digest, body, limit)
    if fitting is not None:
        return issue_title(fitting), body(fitting)
    return issue_title(digest), _cut(body(digest.without_entries()), limit, digest.link)


def render_chat(
    digest: Digest, limit: int, escape: Callable[[str], str] = lambda text: text
) -> str:
    """A short plain-text message for chat webhooks, within ``limit`` characters.

    ``escape`` (e.g. :func:`slack_escape`) is applied to the whole message
    before it is measured.
    """

    def text(candidate: Digest) -> str:
        return escape(_render("chat.txt", candidate).strip())

    fitting = _fitting(digest, text, limit)
    if fitting is not None:
        return text(fitting)
    return _cut(text(digest.without_entries()), limit, digest.link)


def _fitting(digest: Digest, render: Callable[[Digest], str], limit: int) -> Digest | None:
    return fit(digest, lambda candidate: len(render(candidate)), limit)


def fit(digest: Digest, measure: Callable[[Digest], int], limit: int) -> Digest | None:
    """The digest with the most papers per topic (at least one) measuring at most ``limit``.

    Found by bisection, since the size only grows with the papers kept.
    ``measure`` is the platform's own rule (characters, bytes, UTF-16 units).
    """
    if measure(digest) <= limit:
        return digest
    low, high = 0, max((len(t.entries) for t in digest.topics), default=1) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if measure(digest.capped(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return digest.capped(low) if low >= 1 else None


def _cut(text: str, limit: int, link: str | None) -> str:
    if len(text) <= limit:
        return text
    tail = f"\n\n… cut to fit; all papers: {link}\n" if link else "\n\n… cut to fit.\n"
    return text[: max(0, limit - len(tail))] + tail
