"""The README in the reference format, and a reader for it.

The layout is the reference's (the DailyArXiv README, see docs/design.md),
byte for byte (its copy: ``offline/data/reference-README.md``): the header
lines, ``Last update:``, one ``##`` section per topic, a 4-column table with
``<details>`` folds. What the reference lacked is escaping: a paper's own
text can never break a row, a fold or a link here.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dailypapers.models import (
    InvalidArxivId,
    Paper,
    one_line,
    split_id,
)

INTRO = (
    "The project automatically fetches the latest papers from arXiv based on keywords.\n\n"
    "The subheadings in the README file represent the search keywords.\n\n"
    "Only the most recent articles for each keyword are retained, "
    "up to a maximum of {max_papers} papers.\n\n"
)
WATCH = "You can click the 'Watch' button to receive daily email notifications.\n\n"
FOR_YOU = "For you"  # the heading of the ranked table ([readme] for_you)
TOC_OVER = 5  # a README with more topics than this gets a table of contents
TABLE_HEADER = "| **Title** | **Date** | **Abstract** | **Comment** |\n| --- | --- | --- | --- |"
DATE_LINE = re.compile(r"^Last update: \d{4}-\d{2}-\d{2}$", re.MULTILINE)
COMMENT_FOLD_OVER = 20
COMMENT_SUMMARY_CHARS = 5
DEFAULT_LINK_BASE = "https://arxiv.org/abs/"

# Schemes GitHub's autolinker links without brackets besides http(s), and the
# e-mail addresses it turns into mailto: links (an empty HTML comment before
# the @ splits the text node the autolinker reads: nothing visible changes).
# Each pattern starts with its literal character (":", "@") so the scan looks for
# that character alone: "\b(ftp|mailto|xmpp):" tried the word boundary at every
# position (80 us an abstract). The scheme's colon is the one character replaced.
_AUTOLINK_SCHEME = re.compile(r"(?i):(?:(?<=\bftp:)|(?<=\bmailto:)|(?<=\bxmpp:))")
_EMAIL_AT = re.compile(r"@(?<=[\w.+-]@)(?=[\w-]+\.)")
_ENTITY = re.compile(r"&(?=#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
# A backslash would escape the markup we put after the text (`\</p>`, `\]`)
# or our own escapes (`\\|`): write it as an entity there instead.
_BACKSLASH_BEFORE_MARKUP = re.compile(r"\\(?=$|[|<>\[\]&])")


@dataclass(frozen=True)
class Section:
    """One topic's heading and its papers, newest first."""

    name: str
    papers: Sequence[Paper]


def collapse(text: str | None) -> str:
    """One line: newlines and runs of whitespace become one space (as the reference)."""
    return one_line(text)


def escape_cell(text: str, *, brackets: bool = False, backticks: bool = False) -> str:
    """Make collapsed text safe inside a table cell and inline HTML.

    HTML-special characters become entities (so ``</p></details>`` or
    ``<script>`` in an abstract stay text), ``|`` is escaped for GFM tables,
    and a backslash that would swallow the next piece of markup is written as
    an entity. ``brackets`` escapes ``[`` and ``]`` (no link or image can
    form); ``backticks`` writes backticks as entities (no code span can
    open). ``ftp:``, ``mailto:`` and ``xmpp:`` are not autolinked. LaTeX,
    Markdown emphasis, bare https URLs and Unicode pass through.
    """
    if "&" in text:  # each pattern only where its character is (10,000 rows a README)
        text = _ENTITY.sub("&amp;", text)
    if backticks:
        text = text.replace("`", "&#96;")
    if ":" in text:
        text = _AUTOLINK_SCHEME.sub("&#58;", text)
    if "\\" in text:
        text = _BACKSLASH_BEFORE_MARKUP.sub("&#92;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    if "@" in text:
        text = _EMAIL_AT.sub("<!-- -->@", text)
    if brackets:
        text = text.replace("[", "\\[").replace("]", "\\]")
    return text


def title_cell(paper: Paper, link_base: str = DEFAULT_LINK_BASE) -> str:
    title = escape_cell(collapse(paper.title), brackets=True)
    return f"**[{title}]({link_base}{paper.versioned_id})**"


def heading(name: str) -> str:
    """A topic name as a ``## `` heading's text, escaped like a cell."""
    return escape_cell(collapse(name), brackets=True)


def abstract_cell(paper: Paper, tldr: bool = False) -> str:
    """The abstract folded behind "Show" (or behind the TL;DR, with ``[readme] tldr``)."""
    abstract = escape_cell(collapse(paper.abstract), brackets=True)
    summary = "Show"
    if tldr and paper.tldr:
        summary = escape_cell(collapse(paper.tldr), brackets=True, backticks=True)
    return f"<details><summary>{summary}</summary><p>{abstract}</p></details>"


def comment_cell(paper: Paper) -> str:
    """The reference's rule: comments over 20 characters fold behind their first 5."""
    comment = collapse(paper.comment)
    if len(comment) <= COMMENT_FOLD_OVER:
        return escape_cell(comment, brackets=True)
    # A backtick in the summary would open a code span swallowing `</summary><p>`.
    summary = escape_cell(comment[:COMMENT_SUMMARY_CHARS], brackets=True, backticks=True)
    body = escape_cell(comment, brackets=True)
    return f"<details><summary>{summary}...</summary><p>{body}</p></details>"


def table_row(paper: Paper, link_base: str = DEFAULT_LINK_BASE, tldr: bool = False) -> str:
    cells = [
        title_cell(paper, link_base),
        paper.updated.date().isoformat(),
        abstract_cell(paper, tldr),
        comment_cell(paper),
    ]
    return "| " + " | ".join(cells) + " |"


def render_section(section: Section, link_base: str = DEFAULT_LINK_BASE, tldr: bool = False) -> str:
    return "".join(section_parts(section, link_base, tldr))


def section_parts(
    section: Section, link_base: str = DEFAULT_LINK_BASE, tldr: bool = False
) -> Iterator[str]:
    """A topic's section a row at a time: never the whole table as one string (and its copies)."""
    yield f"## {heading(section.name)}\n{TABLE_HEADER}"
    for paper in section.papers:
        yield "\n" + table_row(paper, link_base, tldr)
    yield "\n\n"


def render_readme(
    title: str,
    sections: Iterable[Section],
    *,
    updated_on: date,
    max_papers: int = 100,
    link_base: str = DEFAULT_LINK_BASE,
    watch: bool = True,
    toc: bool = False,
    tldr: bool = False,
    for_you: Sequence[Paper] | None = None,
    names: Sequence[str] | None = None,
) -> str:
    """The whole README: :func:`readme_parts` joined."""
    return "".join(
        readme_parts(
            title,
            sections,
            updated_on=updated_on,
            max_papers=max_papers,
            link_base=link_base,
            watch=watch,
            toc=toc,
            tldr=tldr,
            for_you=for_you,
            names=names,
        )
    )


def readme_parts(
    title: str,
    sections: Iterable[Section],
    *,
    updated_on: date,
    max_papers: int = 100,
    link_base: str = DEFAULT_LINK_BASE,
    watch: bool = True,
    toc: bool = False,
    tldr: bool = False,
    for_you: Sequence[Paper] | None = None,
    names: Sequence[str] | None = None,
) -> Iterator[str]:
    """The README a part at a time (its header, then each topic's section), lazily.

    The defaults write it exactly as the reference does.

    ``watch`` keeps the reference's "Watch" sentence (true only when watchers
    get something: the GitHub-issue channel); ``toc`` adds a list of links to
    the topics after the date line; ``tldr`` puts TL;DRs in the abstract
    folds' summaries; ``for_you`` adds a "For you" table above the topics.
    ``names`` are the sections' names when ``sections`` is read lazily (one
    topic's papers at a time): the table of contents needs them first.
    """
    items: Iterable[Section] = sections  # rendered one at a time: a lazy iterable keeps one
    if for_you is not None:
        items = itertools.chain([Section(FOR_YOU, for_you)], items)
    header = f"# {title}\n" + INTRO.format(max_papers=max_papers) + (WATCH if watch else "")
    header += f"Last update: {updated_on.isoformat()}\n\n"
    if toc:
        if names is None:
            items = list(items)
            names = [s.name for s in items]
        elif for_you is not None:
            names = [FOR_YOU, *names]
        header += table_of_contents(names, title)
    yield header
    for section in items:
        yield from section_parts(section, link_base, tldr)


def table_of_contents(names: Sequence[str], title: str = "") -> str:
    """``- [Name](#anchor)`` per topic, with GitHub's heading anchors (counted after the
    ``# title``'s: a topic named like the title is its ``-1``)."""
    anchors = github_anchors([title, *names])[1:]
    lines = [
        f"- [{escape_cell(collapse(name), brackets=True)}](#{anchor})"
        for name, anchor in zip(names, anchors, strict=True)
    ]
    return "\n".join(lines) + "\n\n"


def _slug_keeps(char: str) -> bool:
    """Whether GitHub's heading ids keep ``char`` (github-slugger: letters, marks,
    decimal and letter numbers, connector punctuation, space and ``-``). Python's
    ``\\w`` dropped the marks: a Hindi or Thai topic's link, or one after an emoji
    with U+FE0F, pointed nowhere."""
    kind = unicodedata.category(char)
    return char in " -" or kind[0] in "LM" or kind in ("Nd", "Nl", "Pc")


def github_anchors(headings: Sequence[str]) -> list[str]:
    """The ids GitHub gives ``## heading``: lowercased, punctuation dropped, spaces to ``-``.

    Repeats get ``-1``, ``-2``... as on GitHub.
    """
    seen: dict[str, int] = {}
    found = []
    for heading in headings:
        lowered = collapse(heading).lower()
        base = "".join(c for c in lowered if _slug_keeps(c)).replace(" ", "-")
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.append(base if count == 0 else f"{base}-{count}")
    return found


def same_but_date(old: str, new: str) -> bool:
    """True when two READMEs differ at most in their ``Last update:`` line."""
    return DATE_LINE.sub("", old) == DATE_LINE.sub("", new)


def is_date_line(line: str) -> bool:
    """Whether one line of a README (with or without its ``\\n``) is its ``Last update:`` line.

    :func:`same_but_date` line by line (for ``files.write_lines_if_changed``).
    """
    return line.startswith("Last update: ") and bool(
        DATE_LINE.fullmatch(line, 0, len(line) - line.endswith("\n"))
    )


_LINK = re.compile(r"\]\((\S+?)\)")


# How far into an existing README its ``Last update:`` line is looked for (the
# header's: after the title and the intro, within the first kilobytes).
OWNED_HEAD = 1 << 16


def replaceable(path: Path) -> bool:
    """Whether the README at ``path`` may be replaced: missing, blank, or one with a
    ``Last update:`` line in its head (this tool's, or the reference tool's, whose
    format this is). Any other file is the user's own (a project's README, a
    repository's generated one) and is never overwritten. A file that cannot be
    read is left to the write, which names its error.
    """
    try:
        if not path.is_file():  # missing, or a folder or pipe: the write says what is wrong
            return True
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(OWNED_HEAD)
    except OSError:
        return True
    return not head.strip() or any(is_date_line(line) for line in head.splitlines())


def readme_listing(path: Path) -> dict[str, int]:
    """``{paper id: highest version}`` linked from an existing README (empty if none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    listed: dict[str, int] = {}
    for url in _LINK.findall(text):
        try:
            paper_id, version = split_id(url)
        except InvalidArxivId:
            continue
        listed[paper_id] = max(listed.get(paper_id, 0), version or 1)
    return listed
