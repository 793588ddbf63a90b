"""A harvest whose OAI-PMH list does not move stops with one line instead of looping.

Before, a server that answered every page with the resumption token it was
sent (or with empty pages, each with a new token) was asked again at once,
forever: about 28,800 requests a day at arXiv's 3 s delay.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import cast

import pytest

from dailypapers.arxiv.oai import OaiPage, OaiRecord
from dailypapers.arxiv.oai_client import OaiClient
from dailypapers.config import Config, load_config
from dailypapers.harvest import STALLED_PAGES, HarvestReport, HarvestRequest, run_harvest
from dailypapers.offline.corpus import demo_corpus

PAPER = demo_corpus()[0]
RECORD = OaiRecord(f"oai:arXiv.org:{PAPER.id}", date(2025, 5, 1), PAPER)
REQUEST = HarvestRequest(set_spec="cs", metadata_prefix="arXivRaw")
DELETED = OaiRecord("oai:arXiv.org:2501.00001", date(2025, 5, 1), None)


class Stats:
    requests = 0
    bytes_received = 0


class Scripted:
    """An OAI client answering ``pages`` in turn; a harvest that asks for more loops."""

    def __init__(self, pages: Iterator[OaiPage]) -> None:
        self.pages, self.stats = pages, Stats()
        self.sent: list[str | None] = []

    def fetch_page(self, params: dict[str, str]) -> OaiPage:
        self.sent.append(params.get("resumptionToken"))
        self.stats.requests += 1
        if self.stats.requests > 50:
            raise RuntimeError("the harvest kept asking: it loops")
        return next(self.pages)

    def close(self) -> None:
        pass


def config(tmp_path: Path) -> Config:
    path = tmp_path / "papers.toml"
    path.write_text('[[topics]]\nname = "Reward Model"\n', encoding="utf-8")
    return load_config(path)


def harvested(tmp_path: Path, client: Scripted) -> HarvestReport:
    return run_harvest(config(tmp_path), REQUEST, client_factory=lambda c: cast(OaiClient, client))


def harvest(tmp_path: Path, client: Scripted) -> str | None:
    report = harvested(tmp_path, client)
    assert report.status == "failed"
    return report.error


def forever(page: OaiPage) -> Iterator[OaiPage]:
    while True:
        yield page


def test_a_token_that_comes_back_unchanged_stops_the_harvest(tmp_path: Path) -> None:
    client = Scripted(forever(OaiPage(token="same", records=[RECORD])))
    error = harvest(tmp_path, client)
    assert error and "token 'same' came back unchanged" in error and "\n" not in error
    assert client.sent == [None, "same"]  # the first page, then the token once


def test_empty_pages_in_a_row_stop_the_harvest(tmp_path: Path) -> None:
    fresh = (OaiPage(token=f"t{n}") for n in range(10**6))
    client = Scripted(fresh)
    error = harvest(tmp_path, client)
    assert error and f"{STALLED_PAGES} pages in a row without a record" in error
    assert client.stats.requests == STALLED_PAGES


def test_pages_of_deleted_records_move_the_list(tmp_path: Path) -> None:
    pages = [OaiPage(token=f"t{n}", records=[DELETED]) for n in range(2 * STALLED_PAGES)]
    client = Scripted(iter([*pages, OaiPage(token=None, records=[RECORD])]))
    report = harvested(tmp_path, client)
    assert report.status == "complete", report.error
    assert report.deleted == 2 * STALLED_PAGES and report.papers == 1


@pytest.mark.parametrize("empty", [1, STALLED_PAGES - 1])
def test_a_few_empty_pages_are_followed(tmp_path: Path, empty: int) -> None:
    pages = [OaiPage(token=f"t{n}") for n in range(empty)]
    client = Scripted(iter([*pages, OaiPage(token=None, records=[RECORD])]))
    report = harvested(tmp_path, client)
    assert report.status == "complete", report.error
