"""Reading the outputs' sections takes one store connection, not one inside another."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from dailypapers.config import load_config
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.pipeline import new_on_site, run_update, sections
from dailypapers.store import Store, open_store

DAY1 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeArxiv]:
    with FakeArxiv(demo_corpus()) as fake:
        yield fake


class Checkouts:
    """How many pool connections were taken, and the most held at once."""

    def __init__(self, store: Store) -> None:
        self.total = self.held = self.most = 0
        event.listen(store.engine, "checkout", self._out)
        event.listen(store.engine, "checkin", self._in)

    def _out(self, *args: Any) -> None:
        self.total += 1
        self.held += 1
        self.most = max(self.most, self.held)

    def _in(self, *args: Any) -> None:
        self.held -= 1


def test_sections_and_new_badges_read_through_one_connection(
    tmp_path: Path, server: FakeArxiv
) -> None:
    (tmp_path / "papers.toml").write_text(
        'outputs = ["readme", "site"]\n[[topics]]\nname = "Reward Model"\n\n'
        '[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\ndelay = 0\nbackoff = 0\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path / "papers.toml")
    run_update(config, now=DAY1)
    with open_store(config.db_url) as store:
        checkouts = Checkouts(store)
        listed = sections(config, store)
        assert [len(s.papers) for s in listed] == [100, 100]
        assert (checkouts.total, checkouts.most) == (1, 1)
        new_on_site(config, store, listed)
        assert (checkouts.total, checkouts.most) == (2, 1)
