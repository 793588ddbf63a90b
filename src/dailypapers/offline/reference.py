"""Read the reference README (the output of the system we replace) back into papers.

Used by the golden test (render what we read, get the reference back byte for
byte) and by the offline demo corpus, so that a demo run reproduces the
reference's rows.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources

from dailypapers.models import Author, Paper, split_id

_ROW = re.compile(
    r"^\| \*\*\[(?P<title>.*)\]\((?P<link>[^)\s]+)\)\*\* \| (?P<date>\d{4}-\d{2}-\d{2}) \| "
    r"<details><summary>Show</summary><p>(?P<abstract>.*)</p></details> \| "
    r"(?P<comment>.*) \|$"
)
_FOLDED = re.compile(r"^<details><summary>.{1,5}\.\.\.</summary><p>(?P<text>.*)</p></details>$")
_SECTION = re.compile(r"^## (?P<name>.+)$")
_DATE = re.compile(r"^Last update: (?P<date>\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class ReferenceRow:
    """What one README row says about a paper."""

    id: str
    version: int
    link: str
    title: str
    updated_on: date
    abstract: str
    comment: str


@dataclass(frozen=True)
class ReferenceReadme:
    """A README in the reference format, read back."""

    title: str
    updated_on: date
    sections: list[tuple[str, list[ReferenceRow]]]


def reference_text() -> str:
    """The bundled reference README."""
    return (resources.files("dailypapers.offline") / "data" / "reference-README.md").read_text(
        encoding="utf-8"
    )


def read_readme(text: str) -> ReferenceReadme:
    """Parse a README in the reference format (ours or the reference's)."""
    lines = text.splitlines()
    title = lines[0].removeprefix("# ")
    updated_on = next(date.fromisoformat(m["date"]) for line in lines if (m := _DATE.match(line)))
    sections: list[tuple[str, list[ReferenceRow]]] = []
    for line in lines:
        if section := _SECTION.match(line):
            sections.append((section["name"], []))
        elif (row := _ROW.match(line)) and sections:
            sections[-1][1].append(_row(row))
    return ReferenceReadme(title, updated_on, sections)


def _row(match: re.Match[str]) -> ReferenceRow:
    paper_id, version = split_id(match["link"])
    comment = match["comment"]
    if folded := _FOLDED.match(comment):
        comment = folded["text"]
    return ReferenceRow(
        id=paper_id,
        version=version or 1,
        link=match["link"],
        title=_unescape(match["title"]),
        updated_on=date.fromisoformat(match["date"]),
        abstract=_unescape(match["abstract"]),
        comment=_unescape(comment),
    )


def _unescape(cell: str) -> str:
    cell = re.sub(r"\\([|\[\]])", r"\1", cell)
    return html.unescape(cell)


def reference_papers(readme: ReferenceReadme | None = None) -> dict[str, list[Paper]]:
    """Papers per section, in the reference's row order.

    The README keeps only title, link, date, abstract and comment; the rest is
    invented deterministically: times of day keep each date's rows in the
    reference's order, authors and categories are placeholders (every paper
    gets ``cs.LG`` so that the reference's cs/stat filter keeps it), and a
    revision (v2+) is dated four days after its first version.
    """
    readme = readme or read_readme(reference_text())
    stamps = _timestamps(readme)
    return {name: [_paper(row, stamps[row.id]) for row in rows] for name, rows in readme.sections}


def _timestamps(readme: ReferenceReadme) -> dict[str, datetime]:
    stamps: dict[str, datetime] = {}
    per_day: dict[date, int] = {}
    for _, rows in readme.sections:
        for row in rows:
            if row.id not in stamps:
                rank = per_day.get(row.updated_on, 0)
                per_day[row.updated_on] = rank + 1
                moment = datetime.combine(row.updated_on, time(20, 0), UTC)
                stamps[row.id] = moment - timedelta(minutes=7 * rank)
    return stamps


def _paper(row: ReferenceRow, updated: datetime) -> Paper:
    published = updated - timedelta(days=4 * (row.version - 1))
    number = int(row.id.replace(".", "")[-4:])
    return Paper(
        id=row.id,
        version=row.version,
        title=row.title,
        abstract=row.abstract,
        authors=(Author(f"Author {number % 97}"), Author(f"Coauthor {number % 89}")),
        categories=("cs.LG", "cs.AI") if number % 2 else ("cs.LG",),
        primary="cs.LG",
        published=published,
        updated=updated,
        comment=row.comment or None,
    )
