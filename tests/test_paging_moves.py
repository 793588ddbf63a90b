"""Results that move up between the pages of one scan: nothing is skipped at the boundary.

Paging by ``start`` assumes the results only ever grow at the top. When a
paper above the page boundary leaves them (its revision no longer matches)
or papers updated in the same second come back in another order, every later
entry moves up, and the entry that was at ``start`` would never be returned.
Each later page therefore asks again for the last entries of the page before
(``page_overlap``), and steps back when none of them is one already seen.
The fake server's ``moved_up`` fault starts a page that many entries later.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dailypapers.arxiv.client import MAX_STEP_BACKS, ArxivClient
from dailypapers.arxiv.errors import ArxivUnavailable, ResultsKeptMoving
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.faults import fault

NOW = datetime(2025, 3, 3, 12, tzinfo=UTC)
QUERY = 'ti:"reward model"'


def paper(number: int) -> Paper:
    when = NOW - timedelta(minutes=number)
    return Paper(
        id=f"2503.{number:05d}",
        version=1,
        title="A reward model study",
        abstract="We study reward models.",
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=when,
        updated=when,
    )


PAPERS = [paper(n) for n in range(30)]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(PAPERS) as fake:
        yield fake


def scan(server: FakeArxiv, overlap: int | None = None, *moves: int) -> list[str]:
    """Every id a scan of 10 a page returns, with the n-th later page moved up by ``moves[n]``."""
    server.clear_faults()
    server.reset_log()
    for count in moves:  # each later page (start > 0) takes the next fault in turn
        server.inject(fault("moved_up", count=count, when=lambda p: int(p.get("start", 0)) > 0))
    options = {} if overlap is None else {"page_overlap": overlap}
    with ArxivClient(
        server.api_url,
        delay=0,
        backoff=0,
        page_size=10,
        transport=httpx.HTTPTransport(),
        **options,  # type: ignore[arg-type]
    ) as client:
        try:
            return [p.id for page in client.iter_pages(QUERY) for p in page.papers]
        finally:
            server.clear_faults()


def test_without_an_overlap_a_move_up_skips_a_paper(server: FakeArxiv) -> None:
    """What the fault does, and what the old paging lost: the entry at the boundary."""
    found = scan(server, 0, 1)
    assert len(found) == 29 and PAPERS[10].id not in found


@pytest.mark.parametrize("moves", [(), (1,), (1, 1), (2,), (5,), (3, 2)])
def test_a_move_up_skips_nothing(server: FakeArxiv, moves: tuple[int, ...]) -> None:
    found = scan(server, None, *moves)
    assert sorted(found) == sorted(p.id for p in PAPERS)
    assert len(found) == len(set(found))


def test_a_move_within_the_overlap_costs_no_request(server: FakeArxiv) -> None:
    scan(server, None, 1)
    starts = [int(r.params["start"]) for r in server.requests]
    # 2 entries again on each later page (here 9 and 10: one had moved up), no step back
    assert starts == [0, 8, 17, 25]


def test_a_larger_move_steps_back_once(server: FakeArxiv) -> None:
    scan(server, None, 5)
    starts = [int(r.params["start"]) for r in server.requests]
    assert starts == [0, 8, 0, 8, 16, 24]  # moved: asked again from a page earlier


def test_results_that_keep_moving_fail_the_scan(server: FakeArxiv) -> None:
    with pytest.raises(ResultsKeptMoving) as raised:
        scan(server, None, *[5] * (MAX_STEP_BACKS + 2))
    assert isinstance(raised.value, ArxivUnavailable)  # the run fails, stores nothing
    assert "kept moving while paging" in str(raised.value)
