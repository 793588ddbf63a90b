"""Issue 11 item 11 for OAI-PMH, a row of docs/reliability.md (imported by
bench/reliability_hardening.py): records with absurd values served by the fake
OAI-PMH server over a socket, harvested by the real command line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from dailypapers.models import Author, Paper
from dailypapers.offline.fake_oai import FakeOai, list_records_xml
from dailypapers.offline.faults import fault

WHEN = datetime(2025, 5, 20, 10, 0, tzinfo=UTC)
CASES = [  # (format, text in the second record, its absurd replacement)
    ("arXivRaw", 'version="v1"', 'version="v1180591620717411303424"'),
    ("arXivRaw", "Tue, 20 May 2025 10:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -0500"),
    ("arXivRaw", "Tue, 20 May 2025 10:00:00 GMT", "Mon, 01 Jan 0001 00:00:00 +0100"),
    ("arXiv", "<created>2025-05-20</created>", "<created>0001-01-01</created>"),
    ("oai_dc", "<dc:date>2025-05-20</dc:date>", "<dc:date>9999-12-31</dc:date>"),
    ("arXivRaw", "<datestamp>2025-05-20</datestamp>", "<datestamp>9999-12-31</datestamp>"),
]

Row = tuple[str, str, int, str]


def _paper(number: int) -> Paper:
    return Paper(
        id=f"2505.{number:05d}",
        version=1,
        title="A reward model study",
        abstract="We study a reward model.",
        authors=(Author("A"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
    )


def _page(fmt: str, good: str, bad: str) -> str:
    text = list_records_xml([_paper(20001), _paper(20002)], fmt, None, {}, "http://x/oai")
    head, marker, tail = text.decode().rpartition("<record>")
    return head + marker + tail.replace(good, bad, 1)


def _harvest(server: FakeOai, fmt: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    with tempfile.TemporaryDirectory() as name:
        project = Path(name)
        (project / "papers.toml").write_text(
            '[[topics]]\nname = "Reward Model"\n[arxiv]\nbackoff = 0\nmax_attempts = 2\n'
            f'[oai]\nurl = "{server.url}"\ndelay = 0\n',
            encoding="utf-8",
        )
        clean = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
        done = subprocess.run(
            [sys.executable, "-m", "dailypapers", "harvest", "--set", "cs", "--format", fmt],
            cwd=project,
            env=clean,
            text=True,
            capture_output=True,
            timeout=300,
            check=False,
        )
        with sqlite3.connect(project / ".dailypapers" / "papers.db") as conn:
            ids = {r[0] for r in conn.execute("SELECT id FROM papers")}
    return done, ids


def oai_absurd_row() -> Row:
    good = 0
    with FakeOai([_paper(10000)], page_size=50) as server:
        for fmt, old, new in CASES:
            page = _page(fmt, old, new)
            server.inject(*[fault("status", code=200, body=page)] * 2)  # a retry gets it too
            done, ids = _harvest(server, fmt)
            server.clear_faults()
            warned = [line for line in done.stderr.splitlines() if "2505.20002" in line]
            good += (
                done.returncode == 0
                and "Traceback" not in done.stderr
                and len(warned) == 1
                and ids == {"2505.20001"}  # the good record of the same page, only
            )
    return (
        "tracebacks",
        "an OAI-PMH record (`harvest`) with version v1180591620717411303424, a version date "
        "in year 9999 or 0001, `<created>0001-01-01`, `<dc:date>9999-12-31`, "
        "datestamp 9999-12-31",
        len(CASES),
        f"{good}/{len(CASES)}: the record is skipped with a one-line warning naming its "
        "identifier, the rest of the page stored, exit 0",
    )
