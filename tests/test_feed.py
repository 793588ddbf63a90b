"""The announcement feed: parser (on arXiv's real feed), the fake server's feed, the source."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dailypapers.arxiv.calendar import EASTERN, Calendar
from dailypapers.arxiv.errors import AtomParseError
from dailypapers.arxiv.feed import (
    Listing,
    announcement_evening,
    feed_day,
    listing_url,
    parse_listing,
    split_creators,
)
from dailypapers.config import Config, load_config
from dailypapers.fetchstate import scanned_mark
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_arxiv import FakeArxiv
from dailypapers.offline.fake_feed import latest_feed_day
from dailypapers.offline.faults import fault
from dailypapers.pipeline import run_update
from dailypapers.plan import plan_topics
from dailypapers.sources.feed import feedable
from dailypapers.store import Store, open_store

REAL_FEED = (
    Path(__file__).parent / "fixtures" / "feed" / "rss_atom_cs.AI_2025-08-20_new_and_cross.xml"
)
CALENDAR = Calendar()


# --- parser --------------------------------------------------------------------


def test_parses_arxivs_real_feed() -> None:
    listing = parse_listing(REAL_FEED.read_bytes())
    assert listing.day == date(2025, 8, 20)
    assert [e.announce_type for e in listing.entries] == ["cross"] * 5 + ["new"] * 2
    first = listing.entries[0].paper
    assert (first.id, first.version) == ("2508.13426", 1)
    assert first.title.startswith("ALIGN: Word Association Learning")
    assert first.abstract.startswith("As large language models (LLMs)")
    assert "Announce Type" not in first.abstract
    assert first.author_names == ("Chunhua Liu", "Kabir Manandhar Shrestha", "Sukai Huang")
    assert (first.primary, first.categories) == ("cs.CL", ("cs.CL", "cs.AI"))
    assert listing.entries[-1].paper.abstract == (
        "We study reward shaping techniques in cooperative multi-agent settings."
    )
    assert not listing.possibly_truncated


def test_an_empty_feed_has_no_day() -> None:
    empty = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    )
    assert parse_listing(empty).day is None


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<html><title>Down</title></html>", "HTML"),
        (b"<rss/>", "not an Atom feed"),
    ],
)
def test_a_bad_feed_is_one_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(AtomParseError, match=message):
        parse_listing(body)


@pytest.mark.parametrize(
    "old, new, message",
    [
        (rb">cross<", b">sideways<", "unknown announce type 'sideways'"),
        (rb"oai:arXiv.org:2508\.13426v1", b"nonsense", "<id> is not an arXiv id"),
        (rb"<title>ALIGN[^<]*</title>", b"", "has no <title>"),
    ],
)
def test_an_unreadable_entry_is_skipped_and_marks_the_listing_incomplete(
    old: bytes, new: bytes, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, it failed the whole feed (retried as garbled, then the run), topics
    the API reads included; the same entry failed every retry."""
    body, replaced = re.subn(old, new, REAL_FEED.read_bytes(), count=1)
    assert replaced == 1
    listing = parse_listing(body)
    assert len(listing.entries) == 6 and listing.skipped == 1
    assert listing.possibly_truncated  # the API fills what the entry may have held
    assert message in caplog.text and "feed entry 1" in caplog.text


def test_a_listing_with_a_skipped_entry_is_filled_by_the_api(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, evening = warm_up(tmp_path, server)
    evening = next_evening(evening)
    arrivals = [announced_paper(n, evening) for n in range(1, 3)]
    server.add_papers(arrivals)
    server.feed_day = feed_day(evening)
    from dailypapers.sources import feed as feed_source

    def one_skipped(content: bytes) -> Listing:
        return dataclasses.replace(parse_listing(content), skipped=1)

    monkeypatch.setattr(feed_source, "parse_listing", one_skipped)
    report = run_update(config, now=run_at(config, evening))
    assert report.status == "updated", report.error
    assert kinds(server)[:1] == ["feed"] and kinds(server).count("search") == 2
    readme = config.readme_path.read_text(encoding="utf-8")
    assert all(p.versioned_id in readme for p in arrivals)


def test_a_body_of_too_many_tiny_tags_is_refused_before_parsing() -> None:
    """Bytes were capped, nodes were not: 57 MB of ``<a/>`` parsed to 2 GB."""
    from dailypapers.arxiv.atom import MAX_TAGS

    body = b'<feed xmlns="http://www.w3.org/2005/Atom">' + b"<a/>" * MAX_TAGS + b"</feed>"
    with pytest.raises(AtomParseError, match="tags of under 6 bytes"):
        parse_listing(body)


def test_a_page_of_long_author_lists_is_parsed() -> None:
    """A collaboration's thousand authors, 250 papers a page: a million tags of arXiv's
    own, 9 bytes and more each."""
    from dailypapers.arxiv.atom import MAX_TAGS, parse_xml

    author = b"<author><name>Y. Li</name></author>"
    entry = b"<entry><title>t</title>" + author * 1000 + b"</entry>"
    body = b'<feed xmlns="http://www.w3.org/2005/Atom">' + entry * 251 + b"</feed>"
    assert body.count(b"<") > MAX_TAGS
    assert len(parse_xml(body)) == 251


def test_creators_and_urls() -> None:
    assert split_creators("A. One, B. Two and C. Three") == ["A. One", "B. Two", "C. Three"]
    assert split_creators("Ferdinand Anderson") == ["Ferdinand Anderson"]
    assert listing_url("https://rss.arxiv.org/atom/", ["cs", "stat"]) == (
        "https://rss.arxiv.org/atom/cs+stat"
    )
    assert announcement_evening(date(2025, 8, 20)) == date(2025, 8, 19)
    assert feed_day(date(2025, 8, 19)) == date(2025, 8, 20)


def test_feedable_queries_use_only_what_the_feed_carries() -> None:
    from dailypapers.arxiv.query import parse

    assert feedable(parse('ti:"reward model" AND (cat:cs.LG OR au:smith) ANDNOT abs:survey'))
    assert not feedable(parse('co:"ICML" AND ti:x'))
    assert not feedable(parse("all:reward"))
    assert not feedable(parse("ti:x AND submittedDate:[202501010000 TO 202502010000]"))


# --- the fake server's feed ------------------------------------------------------


def next_evening(day: date) -> date:
    day += timedelta(days=1)
    while not CALENDAR.announces_on(day):
        day += timedelta(days=1)
    return day


def announced_paper(number: int, evening: date, **changes: object) -> Paper:
    start, _ = CALENDAR.window(evening)
    when = start + timedelta(hours=1, minutes=number % 600)
    base = Paper(
        id=f"2505.{number:05d}",
        version=1,
        title=f"A Reward Model for Case {number}",
        abstract="We train a reward model.",
        authors=(Author("Ada Lovelace"), Author("Alan Turing")),
        categories=("cs.LG", "stat.ML"),
        primary="cs.LG",
        published=when,
        updated=when,
        comment="9 pages",
    )
    return base.with_changes(**changes)


def test_fake_feed_lists_one_announcement_in_arxivs_shape() -> None:
    evening = date(2025, 5, 14)  # a Wednesday
    new = announced_paper(1, evening)
    cross = announced_paper(2, evening, primary="math.OC", categories=("math.OC", "cs.LG"))
    old = announced_paper(3, evening)
    replaced = old.with_changes(version=2, published=old.published - timedelta(days=30))
    elsewhere = announced_paper(4, evening, primary="q-bio.GN", categories=("q-bio.GN",))
    later = announced_paper(5, next_evening(evening))
    with FakeArxiv([new, cross, replaced, elsewhere, later]) as server:
        server.feed_day = feed_day(evening)
        body = httpx.get(server.feed_url + "cs+stat").content
        server.feed_day = date(2025, 5, 17)  # Saturday: Friday evening announced nothing
        empty = httpx.get(server.feed_url + "cs+stat").content
    listing = parse_listing(body)
    assert listing.day == date(2025, 5, 15)
    kinds = [(e.paper.versioned_id, e.announce_type) for e in listing.entries]
    assert kinds == [
        ("2505.00001v1", "new"),
        ("2505.00002v1", "cross"),
        ("2505.00003v2", "replace"),
    ]
    assert listing.entries[0].paper.author_names == ("Ada Lovelace", "Alan Turing")
    assert parse_listing(empty).entries == ()
    real_tags = {element.tag for element in _entry_children(REAL_FEED.read_bytes())}
    assert {element.tag for element in _entry_children(body)} == real_tags


def _entry_children(body: bytes) -> list[Any]:
    from lxml import etree

    root = etree.fromstring(body)
    return list(root.find("{http://www.w3.org/2005/Atom}entry"))


# --- the feed source, end to end -------------------------------------------------


def make_config(tmp_path: Path, server: FakeArxiv) -> Config:
    path = tmp_path / "papers.toml"
    path.write_text(
        '[[topics]]\nname = "Reward Model"\n\n[[topics]]\nname = "Reasoning"\n\n'
        f'[arxiv]\napi_url = "{server.api_url}"\nfeed_url = "{server.feed_url}"\n'
        'source = "feed"\ndelay = 0\nbackoff = 0\nmax_attempts = 2\n',
        encoding="utf-8",
    )
    return load_config(path)


def run_at(config: Config, evening: date) -> datetime:
    """A run at 01:00 US Eastern after ``evening``'s announcement."""
    return datetime.combine(feed_day(evening), time(1), EASTERN)


def kinds(server: FakeArxiv) -> list[str]:
    found = []
    for request in server.requests:
        if request.path.startswith("/atom/"):
            found.append("feed")
        elif request.params.get("id_list"):
            found.append("id_list")
        else:
            found.append("search")
    return found


def warm_up(tmp_path: Path, server: FakeArxiv) -> tuple[Config, date]:
    config = make_config(tmp_path, server)
    first = latest_feed_day(server.papers, CALENDAR)
    server.feed_day = first
    report = run_update(config, now=run_at(config, announcement_evening(first)))
    assert report.status == "updated", report.error
    assert kinds(server) == ["feed", "search", "search"]  # cold topics: the API
    server.reset_log()
    return config, announcement_evening(first)


def test_an_ordinary_day_is_one_feed_and_one_id_list_request(
    tmp_path: Path, server: FakeArxiv
) -> None:
    config, evening = warm_up(tmp_path, server)
    evening = next_evening(evening)
    arrivals = [announced_paper(n, evening) for n in range(1, 4)]
    noise = announced_paper(9, evening, title="Graph Policies", abstract="Nothing to see.")
    server.add_papers([*arrivals, noise])
    server.feed_day = feed_day(evening)
    report = run_update(config, now=run_at(config, evening))
    assert report.status == "updated", report.error
    assert report.saved.new == 3
    assert kinds(server) == ["feed", "id_list"]
    assert server.requests[1].params["id_list"].split(",") == [p.id for p in arrivals]
    readme = config.readme_path.read_text(encoding="utf-8")
    first_row = readme.split("## Reward Model\n", 1)[1].splitlines()[2]
    # Stored from the API's description: its date and comment, not the feed's.
    newest = max(arrivals, key=lambda p: p.updated)
    assert f"{newest.versioned_id})** | {newest.updated.date()} |" in first_row
    assert "9 pages" in first_row


def test_the_same_listing_again_is_nothing_new(tmp_path: Path, server: FakeArxiv) -> None:
    config, evening = warm_up(tmp_path, server)
    report = run_update(config, now=run_at(config, evening) + timedelta(hours=2), force=True)
    # arXiv announced that evening; this project already has the listing.
    assert report.status == "nothing new"
    assert kinds(server) == ["feed"]


def test_a_missed_listing_is_filled_by_the_api(tmp_path: Path, server: FakeArxiv) -> None:
    config, evening = warm_up(tmp_path, server)
    missed = next_evening(evening)
    today = next_evening(missed)
    on_missed_day = announced_paper(1, missed)
    on_today = announced_paper(2, today)
    server.add_papers([on_missed_day, on_today])
    server.feed_day = feed_day(today)
    report = run_update(config, now=run_at(config, today))
    assert report.saved.new == 2, report.error
    assert kinds(server)[:1] == ["feed"] and kinds(server).count("search") == 2
    readme = config.readme_path.read_text(encoding="utf-8")
    assert on_missed_day.versioned_id in readme and on_today.versioned_id in readme


def test_a_paper_the_api_does_not_know_yet_arrives_the_next_day(
    tmp_path: Path, server: FakeArxiv
) -> None:
    config, evening = warm_up(tmp_path, server)
    evening = next_evening(evening)
    lagging = announced_paper(7, evening)
    server.add_papers([lagging])
    server.unindexed.add(lagging.id)
    server.feed_day = feed_day(evening)
    report = run_update(config, now=run_at(config, evening))
    assert report.saved.new == 0
    assert lagging.id not in config.readme_path.read_text(encoding="utf-8")
    server.unindexed.clear()
    server.reset_log()
    evening = next_evening(evening)
    server.add_papers([announced_paper(8, evening, title="Graphs", abstract="Unrelated.")])
    server.feed_day = feed_day(evening)
    report = run_update(config, now=run_at(config, evening))
    assert report.saved.new == 1, report.error
    assert kinds(server) == ["feed", "id_list"]
    assert lagging.versioned_id in config.readme_path.read_text(encoding="utf-8")
    with open_store(config.db_url) as store:
        from dailypapers.fetchstate import read_pending

        assert read_pending(store) == {}


def test_a_feed_outage_fails_the_run_and_changes_nothing(tmp_path: Path, server: FakeArxiv) -> None:
    config, evening = warm_up(tmp_path, server)
    before = config.readme_path.read_bytes()
    evening = next_evening(evening)
    server.add_papers([announced_paper(1, evening)])
    server.feed_day = feed_day(evening)
    server.inject(fault("status", code=503), fault("status", code=503))
    report = run_update(config, now=run_at(config, evening))
    assert report.status == "failed"
    assert "announcement feed" in (report.error or "") and "503" in (report.error or "")
    assert config.readme_path.read_bytes() == before


def test_cli_source_option_overrides_the_config(
    tmp_path: Path, server: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from dailypapers.cli import cli

    config = make_config(tmp_path, server)
    config.path.write_text(config.path.read_text().replace('source = "feed"', 'source = "api"'))
    result = CliRunner().invoke(cli, ["update", "--source", "feed"])
    assert result.exit_code == 0, result.output
    assert kinds(server)[0] == "feed"
    bad = CliRunner().invoke(cli, ["update", "--source", "carrier-pigeon"])
    assert bad.exit_code == 2


def test_the_apis_scans_keep_their_marks_and_a_feed_day_removes_them(
    tmp_path: Path, server: FakeArxiv
) -> None:
    """A topic's scanned mark describes its last fetch: the API's top, or none for the feed."""
    config, evening = warm_up(tmp_path, server)  # cold topics: read by the API
    with open_store(config.db_url) as store:  # a cold scan reads down from its newest match
        newest = [store.topic_papers(i, 1)[0].updated for i in topic_ids(config, store)]
    assert scanned_marks(config) == newest
    evening = next_evening(evening)
    server.add_papers([announced_paper(1, evening)])
    server.feed_day = feed_day(evening)
    assert run_update(config, now=run_at(config, evening)).saved.new == 1
    assert kinds(server) == ["feed", "id_list"]
    assert scanned_marks(config) == [None, None]  # the next scan takes the store's dates


def test_topics_the_api_reads_for_the_feed_keep_their_totals_and_fetch_times(
    tmp_path: Path, server: FakeArxiv
) -> None:
    """The feed source's API scans are recorded as the API source's: arXiv's total (a
    small topic is warm next time) and the time the scan asked, not the run's start."""
    import sqlalchemy as sa

    from dailypapers.schema import topic_fetch_state

    config, evening = warm_up(tmp_path, server)  # cold topics: read by the API
    started = run_at(config, evening)
    with open_store(config.db_url) as store, store.reading() as conn:
        rows = conn.execute(
            sa.select(topic_fetch_state.c.total_results, topic_fetch_state.c.fetched_at)
        ).all()
    assert len(rows) == 2 and all(total is not None and total > 0 for total, _ in rows)
    assert all(when > started for _, when in rows)  # asked after the run began


def scanned_marks(config: Config) -> list[datetime | None]:
    with open_store(config.db_url) as store, store.reading() as conn:
        return [scanned_mark(conn, i) for i in topic_ids(config, store)]


def topic_ids(config: Config, store: Store) -> list[int]:
    ids = [store.find_topic(p.topic.name, p.query_string) for p in plan_topics(config)]
    assert None not in ids
    return [i for i in ids if i is not None]
