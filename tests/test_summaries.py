"""The summariser against the fake OpenAI-compatible server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.config import Config, load_config
from dailypapers.deadline import run_deadline
from dailypapers.models import Author, Paper
from dailypapers.offline.fake_llm import FakeLLM, refused_url
from dailypapers.plan import plan_topics
from dailypapers.schema import paper_summaries
from dailypapers.store import Store, open_store
from dailypapers.summaries import attach, dry_run_lines, key_of, summarise, summarise_for_update
from dailypapers.summarystore import MAX_INVALID
from dailypapers.tldr import Summary, clean, load_prompt, parse_summary

T0 = datetime(2025, 5, 14, 12, 0, tzinfo=UTC)


def paper(n: int, version: int = 1, title: str | None = None) -> Paper:
    when = T0 - timedelta(hours=n)
    return Paper(
        id=f"2505.{n:05d}",
        version=version,
        title=title or f"Paper number {n}",
        abstract=f"We study problem {n} and solve it.",
        authors=(Author("Ada Lovelace"),),
        categories=("cs.CL",),
        primary="cs.CL",
        published=when,
        updated=when + timedelta(minutes=version),
        comment="12 pages" if n % 2 else None,
    )


def make_config(tmp_path: Path, store_url: str, url: str, summaries: str = "") -> Config:
    if "timeout" not in summaries:
        summaries += "\ntimeout = 5"
    text = (
        '[[topics]]\nname = "Alpha"\n\n[[topics]]\nname = "Beta"\n\n'
        f'[store]\nurl = "{store_url}"\n\n'
        f'[summaries]\nbase_url = "{url}"\nmodel = "fake-model"\n{summaries}\n'
    )
    path = tmp_path / "papers.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def seed(
    config: Config, store: Store, topics: Sequence[Sequence[Paper]], now: datetime = T0
) -> None:
    def save(conn: sa.Connection) -> None:
        for plan, found in zip(plan_topics(config), topics, strict=True):
            store.save_papers(conn, list(found), now)
            topic_id = store.topic_id(conn, plan.topic.name, plan.query_string)
            store.link(conn, topic_id, [p.id for p in found], now)

    store.write(save)


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with open_store(store_url) as opened:
        yield opened


def rows(store: Store) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        result = conn.execute(sa.select(paper_summaries).order_by(paper_summaries.c.paper_id))
        return [dict(r._mapping) for r in result]


class Sleeps:
    """An injected sleep: records the waits, never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def test_summaries_are_stored_and_a_second_run_sends_nothing(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url)
    seed(config, store, [[paper(1), paper(2)], [paper(2), paper(3)]])
    report = summarise(config, store)
    assert (report.written, report.pending, report.requests) == (3, 0, 3)
    assert report.tokens_in > 0 and report.tokens_out > 0
    assert "3 written, 0 pending; 3 requests, tokens in" in report.line()
    stored = rows(store)
    assert [r["paper_id"] for r in stored] == ["2505.00001", "2505.00002", "2505.00003"]
    assert all(r["status"] == "ok" and r["model"] == "fake-model" for r in stored)
    assert all(r["language"] == "English" and r["tokens_in"] for r in stored)
    again = summarise(config, store)
    assert (again.written, again.requests, again.pending) == (0, 0, 0)
    assert len(llm.completions) == 3


def test_the_prompt_carries_title_abstract_comment_and_language(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, 'language = "Deutsch"')
    seed(config, store, [[paper(1)], []])
    summarise(config, store)
    system, user = llm.completions[0].json()["messages"]
    assert "Write in Deutsch." in system["content"]
    assert user["content"] == (
        "Title: Paper number 1\nAbstract: We study problem 1 and solve it.\nComment: 12 pages"
    )


def test_a_new_version_or_language_gets_a_new_summary(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url)
    seed(config, store, [[paper(1)], []])
    summarise(config, store)
    seed(config, store, [[paper(1, version=2)], []], now=T0 + timedelta(days=1))
    assert summarise(config, store).written == 1
    assert [r["version"] for r in rows(store)] == [1, 2]
    german = make_config(tmp_path, store_url, llm.url, 'language = "Deutsch"')
    assert summarise(german, store).written == 1
    assert len(llm.completions) == 3


def test_max_papers_leaves_the_rest_pending_oldest_first(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "max_papers = 3\nconcurrency = 1")
    seed(config, store, [[paper(1), paper(2), paper(3)], [paper(4), paper(5)]])
    first = summarise(config, store)
    assert (first.written, first.pending) == (3, 2)
    # The newest of each topic in turn: 1 (Alpha), 4 (Beta), 2 (Alpha).
    assert {r["paper_id"] for r in rows(store)} == {"2505.00001", "2505.00004", "2505.00002"}
    seed(config, store, [[paper(0)], []], now=T0 + timedelta(days=1))
    second = summarise(config, store)
    assert second.written == 3 and second.pending == 0
    titles = [r.json()["messages"][1]["content"].splitlines()[0] for r in llm.completions[3:]]
    # Seen first, then the newest of each topic in turn: 5 is Beta's second, 3 Alpha's third.
    assert titles == ["Title: Paper number 5", "Title: Paper number 3", "Title: Paper number 0"]


def test_for_you_papers_come_first(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "max_papers = 2\nconcurrency = 1")
    seed(config, store, [[paper(1), paper(2), paper(3)], [paper(4)]])
    report = summarise(config, store, for_you=["2505.00004", "2505.99999", "2505.00003"])
    assert report.written == 2
    assert {r["paper_id"] for r in rows(store)} == {"2505.00004", "2505.00003"}
    # A "For you" paper outside every topic's table (but stored) is summarised too.
    store.write(lambda conn: store.save_papers(conn, [paper(50)], T0))
    summarise(config, store, for_you=["2505.00050"])
    assert "2505.00050" in {r["paper_id"] for r in rows(store)}


def test_limit_caps_a_run_below_max_papers(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url)
    seed(config, store, [[paper(1), paper(2), paper(3)], []])
    assert summarise(config, store, limit=1).written == 1
    assert len(llm.completions) == 1


def test_limit_replaces_max_papers_as_its_help_says(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    # Before: --limit 5 with max_papers = 2 summarised 2 ("default: max_papers").
    config = make_config(tmp_path, store_url, llm.url, "max_papers = 2")
    seed(config, store, [[paper(n) for n in range(1, 7)], []])
    assert list(dry_run_lines(config, store, limit=5))[-1].startswith("would summarise 5 of 6")
    assert summarise(config, store, limit=5).written == 5


def test_max_requests_is_a_hard_cap(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "max_requests = 2\nconcurrency = 4")
    seed(config, store, [[paper(n) for n in range(1, 9)], []])
    report = summarise(config, store)
    assert report.requests == 2 and len(llm.completions) == 2
    assert report.written == 2 and report.pending == 6
    assert "max_requests (2) reached" in report.line()


@pytest.mark.parametrize(
    "fault", ["500", "503", "html", "not_json", "empty_choices", "null_content"]
)
def test_endpoint_faults_stop_after_consecutive_failures_and_are_retried_next_run(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM, fault: str
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "max_failures = 2\nconcurrency = 1")
    seed(config, store, [[paper(n) for n in range(1, 6)], []])
    llm.fail(fault, times=None)
    report = summarise(config, store)
    assert len(llm.completions) == 2  # then it stopped asking
    assert (report.written, report.failed, report.pending) == (0, 2, 5)
    assert "stopped: 2 consecutive failures" in report.line()
    assert {r["status"] for r in rows(store)} == {"failed"}
    assert attach(config, store, [paper(1)])[0].tldr is None
    llm.heal()
    assert summarise(config, store).written == 5


def test_a_down_endpoint_is_no_failure(tmp_path: Path, store_url: str, store: Store) -> None:
    config = make_config(tmp_path, store_url, refused_url(), "max_failures = 3")
    seed(config, store, [[paper(n) for n in range(1, 20)], []])
    report = summarise(config, store)
    assert report.written == 0 and report.pending == 19
    # Four workers: the third failure stops them, a worker may have started one more each.
    assert report.requests <= 3 + 4 - 1
    assert "cannot reach the endpoint" in report.line()


def test_a_few_failures_say_why(tmp_path: Path, store_url: str, store: Store) -> None:
    """Fewer failures than stop the run (`summarize --limit 1`): before, the line
    said "1 failed" and nothing of why, even with --debug."""
    config = make_config(tmp_path, store_url, refused_url(), "max_failures = 3")
    seed(config, store, [[paper(1)], []])
    report = summarise(config, store)
    assert report.failed == 1 and report.stopped is None
    assert "1 failed (last: cannot reach the endpoint" in report.line()


def test_a_hanging_endpoint_costs_about_one_timeout(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "timeout = 0.5\nmax_failures = 2")
    seed(config, store, [[paper(n) for n in range(1, 20)], []])
    llm.fail("slow", times=None)
    started = time.monotonic()
    report = summarise(config, store)
    elapsed = time.monotonic() - started
    llm.release()
    assert report.written == 0 and "timeout" in report.line()
    # Four requests in parallel, each cut at its deadline, then no more: the hang
    # costs about one timeout, not one per pending paper (19 x 0.5 s).
    assert report.requests <= 4
    assert elapsed < 19 * 0.5 / 2


def test_429_honours_retry_after_within_a_bounded_allowance(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "concurrency = 1\ntimeout = 10")
    seed(config, store, [[paper(1), paper(2)], []])
    llm.fail("429", retry_after=3)
    llm.fail("429")
    sleeps = Sleeps()
    report = summarise(config, store, sleep=sleeps)
    assert sleeps.waits == [3, 5]  # the header, then the default for a bare 429
    assert report.written == 2 and report.requests == 4
    llm.fail("429", retry_after=60, times=None)  # longer than the timeout: not waited for
    seed(config, store, [[paper(3)], []], now=T0 + timedelta(days=1))
    later = Sleeps()
    assert summarise(config, store, sleep=later).written == 0
    assert later.waits == []


def test_three_429s_at_once_are_retried_not_a_stop(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    # Before: each 429 counted towards max_failures (3) before its retry, so
    # three at once stopped the run: "0 written ... stopped: 3 consecutive failures".
    config = make_config(tmp_path, store_url, llm.url, "concurrency = 4\ntimeout = 30")
    seed(config, store, [[paper(n) for n in range(1, 9)], []])
    for _ in range(3):
        llm.fail("429")
    sleeps = Sleeps()
    report = summarise(config, store, sleep=sleeps)
    assert (report.written, report.failed, report.pending) == (8, 0, 0), report.line()
    assert report.stopped is None and sleeps.waits == [5, 5, 5]
    assert report.requests == 8 + 3


def test_papers_given_up_are_not_counted_pending(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    # Before: the run that gave 2 papers up said "2 pending"; a dry run said 0.
    config = make_config(
        tmp_path, store_url, llm.url, "concurrency = 1\nmax_failures = 10\nmax_papers = 2"
    )
    seed(config, store, [[paper(1), paper(2)], []])
    for _ in range(MAX_INVALID):
        llm.fail("invalid", times=2)
        report = summarise(config, store)
    assert (report.failed, report.given_up, report.pending) == (2, 2, 0)
    assert "0 pending; 2 requests" in report.line()
    assert report.line().endswith(f"; 2 given up after {MAX_INVALID} invalid answers")
    assert list(dry_run_lines(config, store))[-1].startswith("would summarise 0 of 0 pending")


def test_an_unreadable_prompt_file_keeps_the_tldrs_written(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    # Before: a prompt file moved away rendered every output without a TL;DR.
    (tmp_path / "prompt.txt").write_text("Be terse. Write in {language}.", encoding="utf-8")
    config = make_config(tmp_path, store_url, llm.url, 'prompt = "prompt.txt"')
    seed(config, store, [[paper(1), paper(2, version=2)], []])
    summarise(config, store)
    (tmp_path / "prompt.txt").unlink()
    found = attach(config, store, [paper(1), paper(2, version=2)])
    assert [bool(p.tldr) for p in found] == [True, True]
    assert attach(config, store, [paper(2, version=3)])[0].tldr is None  # that version's only
    assert found[0].tldr and "Paper number 1" in found[0].tldr
    other = make_config(tmp_path, store_url, llm.url, 'prompt = "prompt.txt"\nlanguage = "Deutsch"')
    assert attach(other, store, [paper(1)])[0].tldr is None  # another language's are not used
    report = summarise_for_update(config, store)
    assert report is not None and report.skipped
    assert "cannot read" in report.skipped and "written before stay published" in report.skipped


def test_invalid_answers_are_failed_attempts_never_rendered(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "concurrency = 1\nmax_failures = 99")
    seed(config, store, [[paper(1)], []])
    for attempt in range(MAX_INVALID):
        llm.fail("invalid" if attempt % 2 else "bad_schema")
        report = summarise(config, store)
        assert report.failed == 1 and report.tokens_in > 0
    (row,) = rows(store)
    assert row["status"] == "failed" and row["attempts"] == MAX_INVALID and row["tldr"] is None
    assert summarise(config, store).requests == 0  # given up for this version
    assert attach(config, store, [paper(1)])[0].tldr is None


def test_an_oversized_answer_is_a_failure(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url, "concurrency = 1")
    seed(config, store, [[paper(1)], []])
    llm.fail("huge")
    report = summarise(config, store)
    assert report.failed == 1 and "larger than" in rows(store)[0]["error"]  # type: ignore[operator]


def test_attach_reads_the_current_key_only(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url)
    seed(config, store, [[paper(1)], []])
    summarise(config, store)
    (found,) = attach(config, store, [paper(1)])
    assert found.tldr and "Paper number 1" in found.tldr
    assert attach(config, store, [paper(1, version=2)])[0].tldr is None
    other = make_config(tmp_path, store_url, llm.url, 'language = "Français"')
    assert attach(other, store, [paper(1)])[0].tldr is None


def test_a_prompt_file_changes_the_key(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url)
    (tmp_path / "prompt.txt").write_text("Be terse. Write in {language}.", encoding="utf-8")
    custom = make_config(tmp_path, store_url, llm.url, 'prompt = "prompt.txt"')
    settings, custom_settings = config.settings.summaries, custom.settings.summaries
    assert settings and custom_settings
    default_key = key_of(settings, load_prompt(config, settings))
    custom_prompt = load_prompt(custom, custom_settings)
    assert key_of(custom_settings, custom_prompt) != default_key
    assert custom_prompt.system().startswith("Be terse. Write in English.\nAnswer with one JSON")


def test_dry_run_prints_prompts_and_sends_nothing(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM
) -> None:
    config = make_config(tmp_path, store_url, llm.url)
    seed(config, store, [[paper(1), paper(2)], []])
    lines = list(dry_run_lines(config, store, limit=1))
    assert lines[0].startswith("--- 2505.00001v1 (~")
    assert "Title: Paper number 1" in lines[2]
    assert lines[-1].startswith("would summarise 1 of 2 pending papers: ~")
    assert not llm.requests and not rows(store)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        ("[" * 10_000, "not a JSON object"),
        ("[" * 100_000, "answer longer than 20,000 characters"),
        ('{"tldr": "ok"}' + " " * 20_000, "answer longer than 20,000 characters"),
        ("```json\n" + "\n" * 5_000, "not a JSON object"),  # was minutes of backtracking
        ('{"summary": "x"}', "tldr"),
        ('{"tldr": ""}', "empty tldr"),
        ('{"tldr": "' + "word " * 41 + '"}', "longer than 40 words"),
        ('{"tldr": 5}', "tldr"),
    ],
)
def test_parse_summary_refuses(content: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_summary(content)


@pytest.mark.parametrize(
    "content",
    [
        '{"tldr": "A good sentence.", "method": "' + "w " * 81 + '"}',
        '{"tldr": "A good sentence.", "method": 3, "result": ["x"], "motivation": null}',
        '<think>\nThe user wants JSON. {"tldr": "no"}\n</think>\n{"tldr": "A good sentence."}',
        '<think>x</think>```json\n{"tldr": "A good sentence."}\n```',
    ],
)
def test_parse_summary_keeps_a_good_tldr(content: str) -> None:
    # Before: a wrong optional part (never rendered), or a reasoning model's
    # <think> block, made the whole answer invalid: 3 such answers gave the paper up.
    summary = parse_summary(content)
    assert summary.tldr == "A good sentence."
    assert summary.method is None and summary.result is None


def test_parse_summary_accepts_fences_and_ignores_extra_keys() -> None:
    answer = '```json\n{"tldr": "It  works.\\n", "title": "x", "result": null}\n```'
    assert parse_summary(answer) == Summary(tldr="It works.")
    assert parse_summary('```{"tldr": "Bare fence."}```') == Summary(tldr="Bare fence.")
    assert parse_summary(' ```JSON\n{"tldr": "Upper."}\n```\n') == Summary(tldr="Upper.")


def test_clean_removes_tricks() -> None:
    assert clean("a\u202eb\u2066c\x07d\u200b @everyone @Here @eve") == (
        "abcd @\u2060everyone @\u2060Here @eve"
    )
    assert clean("<!channel> <@123> <#C1> a<b") == "<\u2060!channel> <\u2060@123> <\u2060#C1> a<b"


def test_update_step_never_raises(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, store_url, llm.url, 'prompt = "missing.txt"')
    seed(config, store, [[paper(1)], []])
    report = summarise_for_update(config, store)
    assert report is not None and report.skipped
    err = capsys.readouterr().err
    assert err.startswith("summaries: skipped: [summaries] prompt ") and err.count("\n") == 1
    assert "cannot read" in err and not llm.requests
    (tmp_path / "papers.toml").write_text('[[topics]]\nname = "Alpha"\n', encoding="utf-8")
    assert summarise_for_update(load_config(tmp_path / "papers.toml"), store) is None
    assert capsys.readouterr().err == ""  # no [summaries]: not a word


def test_a_run_deadline_leaves_half_of_what_is_left_to_publishing(
    tmp_path: Path, store_url: str, store: Store, llm: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    # The endpoint hangs far longer than the run may last: before, the summaries
    # ran into the run's deadline and the run failed with nothing published.
    config = make_config(tmp_path, store_url, llm.url, "timeout = 30")
    seed(config, store, [[paper(1), paper(2)], []])
    llm.fail("slow", times=None)
    started = time.monotonic()
    try:
        with run_deadline(1.2):
            report = summarise_for_update(config, store)
            elapsed = time.monotonic() - started
    finally:
        llm.release()
    assert report is not None and report.written == 0 and report.pending == 2
    assert 0.5 <= elapsed < 1.1  # half of the 1.2 s left, the rest for the outputs
    assert "stopped: the run's deadline is near" in capsys.readouterr().err


def test_a_lone_surrogate_in_an_answer_is_dropped_not_stored() -> None:
    summary = parse_summary('{"tldr": "Lone \\ud800 surrogate.", "method": "A \\udfff b."}')
    assert summary.tldr == "Lone surrogate." and summary.method == "A b."
    assert summary.tldr.encode("utf-8")


def test_a_key_no_header_can_carry_is_one_line_before_any_request(
    tmp_path: Path,
    store_url: str,
    store: Store,
    llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", "sk-ключ")
    config = make_config(tmp_path, store_url, llm.url)
    seed(config, store, [[paper(1)], []])
    report = summarise_for_update(config, store)
    assert report is not None and report.skipped == (
        "$DAILYPAPERS_LLM_API_KEY holds characters an HTTP header cannot carry "
        "(a key is printable ASCII)"
    )
    assert not llm.requests and capsys.readouterr().err.count("\n") == 1
