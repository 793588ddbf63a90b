"""Issue 11 item 11 for OAI-PMH: a record with absurd values (a version or a date no
paper has) is skipped with a warning naming its identifier; the rest of its page is
stored. Through the fake OAI-PMH server over a real socket."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.arxiv import oai
from dailypapers.arxiv.oai import UNREADABLE_PAGE, OaiParseError, parse_page
from dailypapers.config import Config, load_config
from dailypapers.harvest import HarvestRequest, harvest_rows, run_harvest
from dailypapers.models import MAX_NAME, Author, Paper
from dailypapers.offline.fake_oai import FakeOai, list_records_xml
from dailypapers.offline.faults import fault
from dailypapers.store import open_store, papers

WHEN = datetime(2025, 5, 20, 10, 0, tzinfo=UTC)
GOOD, BAD = "2505.20001", "2505.20002"


def paper(paper_id: str) -> Paper:
    return Paper(
        id=paper_id,
        version=1,
        title="Reward Model x",
        abstract="a reward model",
        authors=(Author("A"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=WHEN,
        updated=WHEN,
    )


# (metadata format, text in the bad record, its absurd replacement)
ABSURD = [
    ("arXivRaw", 'version="v1"', 'version="v1180591620717411303424"'),
    ("arXivRaw", "Tue, 20 May 2025 10:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -0500"),
    ("arXivRaw", "Tue, 20 May 2025 10:00:00 GMT", "Mon, 01 Jan 0001 00:00:00 +0100"),
    ("arXivRaw", "Tue, 20 May 2025 10:00:00 GMT", "Tue, 99 Zzz 2025 99:99:99 GMT"),
    ("arXiv", "<created>2025-05-20</created>", "<created>0001-01-01</created>"),
    ("arXiv", "<created>2025-05-20</created>", "<created>9999-12-31</created>"),
    ("arXiv", "<created>2025-05-20</created>", "<created>2025-13-45</created>"),
    ("oai_dc", "<dc:date>2025-05-20</dc:date>", "<dc:date>9999-12-31</dc:date>"),
    ("arXivRaw", "<datestamp>2025-05-20</datestamp>", "<datestamp>9999-12-31</datestamp>"),
    ("arXivRaw", "<datestamp>2025-05-20</datestamp>", "<datestamp>0001-01-01</datestamp>"),
]


def absurd_page(fmt: str, good: str, bad: str) -> str:
    """One page of two records, the second with ``good`` replaced by ``bad``."""
    text = list_records_xml([paper(GOOD), paper(BAD)], fmt, None, {}, "http://x/oai").decode()
    head, marker, tail = text.rpartition("<record>")
    assert good in tail, (good, tail)
    return head + marker + tail.replace(good, bad, 1)


@pytest.fixture
def server() -> Iterator[FakeOai]:
    with FakeOai([paper("2505.10000")], page_size=50) as fake:
        yield fake


def make_config(tmp_path: Path, server: FakeOai) -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "Reward Model"\n\n'
        "[arxiv]\nbackoff = 0\nmax_attempts = 2\n\n"
        f'[oai]\nurl = "{server.url}"\ndelay = 0\n',
        encoding="utf-8",
    )
    return load_config(path)


def stored_ids(config: Config) -> set[str]:
    with open_store(config.db_url) as store, store.engine.connect() as conn:
        return set(conn.scalars(sa.select(papers.c.id)))


@pytest.mark.parametrize(("fmt", "good", "bad"), ABSURD)
def test_an_absurd_record_is_skipped_and_the_rest_of_its_page_stored(
    tmp_path: Path,
    server: FakeOai,
    fmt: str,
    good: str,
    bad: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = make_config(tmp_path, server)
    page = absurd_page(fmt, good, bad)
    server.inject(*[fault("status", code=200, body=page)] * 2)  # a retry gets it again
    report = run_harvest(config, HarvestRequest("cs", fmt))
    assert report.status == "complete", report.error
    assert stored_ids(config) == {GOOD}
    assert (report.records, report.papers, report.skipped) == (2, 1, 1)
    assert f"oai:arXiv.org:{BAD}" in caplog.text and "skipped a bad OAI-PMH record" in caplog.text
    assert report.requests == 1  # a skipped record is not a garbled page: no retry
    [row] = harvest_rows(open_store(config.db_url))
    assert row["cursor"] == 2 and str(row["last_datestamp"]) == "2025-05-20"


def test_the_cli_warns_in_one_line_and_exits_zero(tmp_path: Path, server: FakeOai) -> None:
    make_config(tmp_path, server)
    fmt, good, bad = ABSURD[0]
    page = absurd_page(fmt, good, bad)
    server.inject(*[fault("status", code=200, body=page)] * 2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    result = subprocess.run(
        [sys.executable, "-m", "dailypapers", "harvest", "--set", "cs", "--format", fmt],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if BAD in line]
    assert len(warnings) == 1 and "v1180591620717411303424" in warnings[0]
    assert "1 skipped" in result.stdout


def test_a_record_without_a_title_is_skipped() -> None:
    """Before, it failed the page, which was retried and failed the same way every
    run: the harvest could never pass that record. Now it is skipped like an absurd
    value, and the rest of the page is kept."""
    text = absurd_page("arXivRaw", "<title>Reward Model x</title>", "")
    page = parse_page(text.encode())
    assert [r.identifier for r in page.records] == [f"oai:arXiv.org:{GOOD}"]
    assert page.skipped == ["oai:arXiv.org:2505.20002"]


def test_a_page_of_mostly_unreadable_records_fails() -> None:
    """A page that is not what OAI-PMH promises (say, a changed format) is an error."""
    papers = [paper(f"2505.{30000 + n}") for n in range(UNREADABLE_PAGE)]
    text = list_records_xml(papers, "arXivRaw", None, {}, "http://x/oai").decode()
    broken = re.sub(r"<title>[^<]*</title>", "", text)
    with pytest.raises(
        OaiParseError, match=rf"{UNREADABLE_PAGE} of {UNREADABLE_PAGE} records unreadable"
    ):
        parse_page(broken.encode())


def test_tex_nested_past_the_stack_skips_the_record() -> None:
    """An author name of braces nested a thousand deep raised RecursionError: an
    "unexpected error" that every later harvest met again at the same record."""
    nested = "A. B" + "{" * 1000 + "x" + "}" * 1000
    text = absurd_page("arXivRaw", "<authors>", f"<authors>{nested}, ")
    page = parse_page(text.encode())
    assert len(page.records) == 1 and page.skipped == ["oai:arXiv.org:2505.20002"]


def test_a_long_tex_name_is_cut_before_its_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    """The TeX conversion's time grows with the text (a 10 MB "name": minutes)."""
    converted: list[int] = []

    class Recording:
        def latex_to_text(self, text: str) -> str:
            converted.append(len(text))
            return text

    monkeypatch.setattr(oai, "_LATEX", Recording())
    oai._untex.cache_clear()
    name = "\\'e" * 200_000
    text = absurd_page("arXivRaw", "<authors>", f"<authors>{name}, ")
    page = parse_page(text.encode())
    oai._untex.cache_clear()
    assert converted and max(converted) <= 4 * MAX_NAME
    author = page.records[1].paper.authors[0].name  # type: ignore[union-attr]
    assert len(author) <= MAX_NAME


def test_too_many_elements_between_records_are_refused_as_they_stream() -> None:
    """Bytes were capped, nodes were not: 60 MB of ``<a/>`` siblings parsed to 2 GB."""
    head = b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
    junk = b"<a/>" * 1000
    parser = oai.PageParser()
    parser.feed(head)
    with pytest.raises(OaiParseError, match="elements in one record or between two"):
        for _ in range(oai.MAX_RECORD_ELEMENTS // 1000 + 1):
            parser.feed(junk)


def test_many_records_of_many_authors_are_read() -> None:
    """The cap counts from each record's end: a page of big records is arXiv's own
    (3,000 authors a record, 3 elements each, 40 records: 360,000 elements)."""
    papers = [paper(f"2505.{40000 + n}") for n in range(40)]
    text = list_records_xml(papers, "arXiv", None, {}, "http://x/oai").decode()
    page = parse_page(_with_authors(text, 3000).encode())
    assert len(page.records) == 40 and not page.skipped
    assert len(page.records[0].paper.authors) == 3000  # type: ignore[union-attr]


def _with_authors(text: str, count: int) -> str:
    """Each record's <authors> of the arXiv format holding ``count`` authors."""
    one = "<author><keyname>Author</keyname><forenames>A.</forenames></author>"
    return re.sub(r"<authors>.*?</authors>", f"<authors>{one * count}</authors>", text, flags=re.S)
