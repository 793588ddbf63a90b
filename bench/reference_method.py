"""The reference's method (DailyArXiv), re-implemented for the benchmark.

    python bench/reference_method.py API_URL DATE KEYWORD [KEYWORD ...]

What it does, as the reference's ``main.py`` and ``utils.py`` do (2025):

* if the README's ``Last update:`` is ``DATE`` already, stop;
* back up ``README.md`` and ``.github/ISSUE_TEMPLATE.md``;
* per keyword, in order: one ``urllib`` request for the newest 100 papers
  (``ti:"K" OR abs:"K"``, ``AND`` for a one-word keyword,
  ``sortBy=lastUpdatedDate``), parsed with ``feedparser``, each entry's
  fields whitespace-normalised, entries outside cs/stat dropped; if none is
  left, wait 30 minutes and try again, up to 6 tries; if every try was
  empty, restore the backups and exit with an error (the whole run fails);
  otherwise write the keyword's Markdown table and wait 5 seconds;
* write both files and drop the backups.

Only the standard library and feedparser, like the reference. Waits go
through :func:`time.sleep`, so the benchmark's wrapper counts them instead of
sleeping.
"""

from __future__ import annotations

import shutil
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import feedparser

MAX_RESULTS = 100
TRIES = 6
EMPTY_WAIT = 30 * 60
KEYWORD_WAIT = 5
ISSUE_ROWS = 15
FIELDS = ("cs", "stat")
README = Path("README.md")
ISSUE = Path(".github/ISSUE_TEMPLATE.md")


def squash(text: str) -> str:
    return " ".join(text.replace("\n", " ").split())


def request_papers(api_url: str, keyword: str, link: str) -> list[dict[str, Any]]:
    quoted = f'"{keyword}"'
    url = f"{api_url}?search_query=ti:{quoted}+{link}+abs:{quoted}"
    url += f"&max_results={MAX_RESULTS}&sortBy=lastUpdatedDate"
    url = urllib.parse.quote(url, safe="%/:=&?~#+!$,;'@()*[]")
    with urllib.request.urlopen(url) as response:
        text = response.read().decode("utf-8")
    feed = feedparser.parse(text)
    papers = []
    for entry in feed.entries:
        papers.append(
            {
                "Title": squash(entry.title),
                "Abstract": squash(entry.summary),
                "Authors": [squash(a["name"]) for a in entry.authors],
                "Link": squash(entry.link),
                "Tags": [squash(t["term"]) for t in entry.tags],
                "Comment": squash(entry.get("arxiv_comment", "")),
                "Date": entry.updated,
            }
        )
    return papers


def in_fields(paper: dict[str, Any]) -> bool:
    return any(tag.split(".")[0] in FIELDS for tag in paper["Tags"])


def papers_with_retries(api_url: str, keyword: str, link: str) -> list[dict[str, Any]] | None:
    for _ in range(TRIES):
        papers = [p for p in request_papers(api_url, keyword, link) if in_fields(p)]
        if papers:
            return papers
        print("Unexpected empty list, retrying...")
        time.sleep(EMPTY_WAIT)
    return None


def folded(text: str, limit: int) -> str:
    if len(text) > limit:
        return f"<details><summary>{text[:5]}...</summary><p>{text}</p></details>"
    return text


def table(papers: list[dict[str, Any]], abstract: bool = True) -> str:
    columns = ["Title", "Date"] + (["Abstract"] if abstract else []) + ["Comment"]
    lines = ["| " + " | ".join(f"**{c}**" for c in columns) + " |"]
    lines.append("| " + " | ".join(["---"] * len(columns)) + " |")
    for paper in papers:
        cells = [f"**[{paper['Title']}]({paper['Link']})**", paper["Date"].split("T")[0]]
        if abstract:
            cells.append(f"<details><summary>Show</summary><p>{paper['Abstract']}</p></details>")
        cells.append(folded(paper["Comment"], 20))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def last_update() -> str:
    for line in README.read_text(encoding="utf-8").splitlines():
        if "Last update:" in line:
            return line.split(": ")[1].strip()
    return ""


def main(api_url: str, today: str, keywords: list[str]) -> None:
    if not README.exists():
        ISSUE.parent.mkdir(parents=True, exist_ok=True)
        README.write_text("# Daily Papers\n\nLast update: never\n", encoding="utf-8")
        ISSUE.write_text("", encoding="utf-8")
    if last_update() == today:
        sys.exit("Already updated today!")
    shutil.copy(README, "README.md.bk")
    shutil.copy(ISSUE, ISSUE.with_name("ISSUE_TEMPLATE.md.bk"))
    readme = [f"# Daily Papers\n\nLast update: {today}\n\n"]
    issue = [f"---\ntitle: Latest {ISSUE_ROWS} Papers - {today}\nlabels: documentation\n---\n"]
    for keyword in keywords:
        link = "AND" if len(keyword.split()) == 1 else "OR"
        papers = papers_with_retries(api_url, keyword, link)
        if papers is None:
            shutil.move("README.md.bk", README)
            shutil.move(ISSUE.with_name("ISSUE_TEMPLATE.md.bk"), ISSUE)
            sys.exit("Failed to get papers!")
        readme.append(f"## {keyword}\n{table(papers)}\n\n")
        issue.append(f"## {keyword}\n{table(papers[:ISSUE_ROWS], abstract=False)}\n\n")
        time.sleep(KEYWORD_WAIT)
    README.write_text("".join(readme), encoding="utf-8")
    ISSUE.write_text("".join(issue), encoding="utf-8")
    Path("README.md.bk").unlink()
    ISSUE.with_name("ISSUE_TEMPLATE.md.bk").unlink()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
