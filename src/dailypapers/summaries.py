"""TL;DR summaries (``[summaries]``): which papers, the run, the outputs' TL;DRs.

What the model is asked and what is accepted is :mod:`dailypapers.tldr`;
an answer that is not accepted is a failed attempt, stored as such and never
rendered. Summaries are stored per
(paper, version, model, prompt hash, language) (:mod:`dailypapers.summarystore`),
so a second run with nothing new sends no request.

A run never blocks on the endpoint: every failure leaves the paper pending
for the next run, ``max_failures`` consecutive failures stop asking for this
run, ``max_requests`` is a hard cap, each request has a total deadline, and
the time spent waiting for ``Retry-After`` is bounded by one ``timeout``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from dailypapers import summarystore
from dailypapers.config import Config, SummariesSettings
from dailypapers.deadline import RunDeadlineExceeded, remaining
from dailypapers.llm import ChatClient, LLMError, bearer_key
from dailypapers.masking import mask, short
from dailypapers.models import Paper
from dailypapers.plan import stored_topics
from dailypapers.render.markdown import Section
from dailypapers.store import Store, stored_papers, utcnow
from dailypapers.summarystore import MAX_INVALID, Key, Outcome
from dailypapers.tldr import (
    Prompt,
    PromptError,
    SummaryError,
    estimate_tokens,
    load_prompt,
    parse_summary,
)

API_KEY_ENV = "DAILYPAPERS_LLM_API_KEY"
RATE_LIMIT_RETRIES = 2
DEFAULT_RETRY_AFTER = 5.0
WRITE_BATCH = 16  # outcomes per transaction: a commit costs ~10 ms on SQLite, blocking the loop
_NEVER = datetime.max


Sleep = Callable[[float], Awaitable[None]]
Emit = Callable[[str], None]


def key_of(settings: SummariesSettings, prompt: Prompt) -> Key:
    return Key(settings.model, prompt.hash, settings.language)


# -- which papers ---------------------------------------------------------------


def listed_papers(config: Config, store: Store) -> list[list[Paper]]:
    """Each topic's listed papers (newest first), as the outputs show them."""
    limit = config.settings.max_papers
    return [
        [] if topic_id is None else store.topic_papers(topic_id, limit)
        for _, topic_id in stored_topics(config, store)
    ]


def select(
    config: Config,
    store: Store,
    key: Key,
    *,
    for_you: Sequence[str] | None = None,
    limit: int | None = None,
) -> tuple[list[Paper], int]:
    """The papers to summarise this run, in order, and how many are pending in all.

    Pending: listed papers (and stored ``for_you`` ones) whose current
    version has no summary under ``key``. Order: the ``for_you`` ids first
    (ranked, when a library is configured); then the oldest pending first (by
    when the store first saw them), and among papers seen together the newest
    of each topic in turn.
    """
    settings = config.settings.summaries
    assert settings is not None
    topics = listed_papers(config, store)
    position: dict[str, tuple[int, int]] = {}
    chosen: dict[str, Paper] = {}
    for topic_index, papers in enumerate(topics):
        for rank, paper in enumerate(papers):
            position.setdefault(paper.id, (rank, topic_index))
            chosen.setdefault(paper.id, paper)
    with store.reading() as conn:
        for paper in stored_papers(conn, [i for i in for_you or () if i not in chosen]):
            position[paper.id], chosen[paper.id] = (0, 0), paper
        done = summarystore.settled(conn, key, {p.id: p.version for p in chosen.values()})
        pending = [p for p in chosen.values() if p.id not in done]
        seen = summarystore.first_seen(conn, [p.id for p in pending])
    ranked = {pid: n for n, pid in enumerate(for_you or ())}
    far = len(ranked)
    pending.sort(
        key=lambda p: (ranked.get(p.id, far), seen.get(p.id, _NEVER), position[p.id], p.id)
    )
    cap = limit if limit is not None else settings.max_papers  # --limit replaces max_papers
    return pending[:cap], len(pending)


# -- the run --------------------------------------------------------------------


@dataclass
class SummaryReport:
    """What a summarising run did; :meth:`line` is what ``update`` prints."""

    written: int = 0
    failed: int = 0
    given_up: int = 0  # papers whose last invalid answer was the last they are asked for
    pending: int = 0
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    stopped: str | None = None
    skipped: str | None = None
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        """``summaries: 12 written, 38 pending; 12 requests, tokens in 4,812 / out 1,020``."""
        if self.skipped:
            return f"summaries: skipped: {self.skipped}"
        text = (
            f"summaries: {self.written} written, {self.pending} pending; "
            f"{self.requests} request{'s' if self.requests != 1 else ''}, "
            f"tokens in {self.tokens_in:,} / out {self.tokens_out:,}"
        )
        if self.failed:
            text += f"; {self.failed} failed"
            if self.errors and not self.stopped:  # why (a stop says it below)
                text += f" (last: {short(self.errors[-1])})"
        if self.given_up:
            text += f"; {self.given_up} given up after {MAX_INVALID} invalid answers"
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


@dataclass
class _Budget:
    """Shared by the workers of one run: request cap, failure streak, waiting allowance."""

    max_requests: int
    max_failures: int
    wait_allowance: float
    requests: int = 0
    streak: int = 0
    stopped: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def take(self) -> bool:
        if self.stopped is not None:
            return False
        if self.requests >= self.max_requests:
            self.stopped = f"max_requests ({self.max_requests}) reached"
            return False
        self.requests += 1
        return True

    def failed(self, reason: str, *, timed_out: bool = False) -> None:
        self.streak += 1
        if self.stopped is not None:
            return
        if timed_out:  # a slow endpoint: waiting for more would delay the run by another timeout
            self.stopped = reason
        elif self.streak >= self.max_failures:
            self.stopped = f"{self.streak} consecutive failures (last: {reason})"
        if self.stopped is not None:
            for task in self.tasks:
                if task is not asyncio.current_task():
                    task.cancel()  # requests in flight are dropped: those papers stay pending

    def succeeded(self) -> None:
        self.streak = 0


def api_key() -> str | None:
    """``$DAILYPAPERS_LLM_API_KEY`` (never read from papers.toml, never stored).

    Raises :class:`SummaryError` when no HTTP header can carry it.
    """
    return bearer_key(API_KEY_ENV, SummaryError)


def summarise(
    config: Config,
    store: Store,
    *,
    for_you: Sequence[str] | None = None,
    limit: int | None = None,
    sleep: Sleep | None = None,
    client: ChatClient | None = None,
    within: float | None = None,
) -> SummaryReport:
    """Summarise the selected papers and store every attempt; never raises for the endpoint.

    ``within``: seconds the whole step may take (then the requests in flight
    are dropped, those papers stay pending, what was answered is kept).
    """
    settings = config.settings.summaries
    if settings is None:
        return SummaryReport(skipped="no [summaries] section in the config")
    started = time.monotonic()
    prompt = load_prompt(config, settings)
    secret = api_key()  # a key no header can carry: one line before anything is asked
    key = key_of(settings, prompt)
    papers, pending = select(config, store, key, for_you=for_you, limit=limit)
    report = SummaryReport(pending=pending)
    if papers:
        asyncio.run(
            _summarise_all(
                papers,
                settings,
                prompt,
                key,
                store,
                report,
                sleep or asyncio.sleep,
                client,
                secret,
                within,
            )
        )
    report.pending = pending - report.written - report.given_up
    report.seconds = time.monotonic() - started
    return report


async def _summarise_all(
    papers: list[Paper],
    settings: SummariesSettings,
    prompt: Prompt,
    key: Key,
    store: Store,
    report: SummaryReport,
    sleep: Sleep,
    client: ChatClient | None,
    secret: str | None,
    within: float | None = None,
) -> None:
    own = client is None
    chat = client or ChatClient(
        settings.base_url,
        settings.model,
        api_key=secret,
        timeout=settings.timeout,
        concurrency=settings.concurrency,
    )
    budget = _Budget(settings.max_requests, settings.max_failures, settings.timeout)
    queue = iter(papers)
    worker = _Worker(chat, prompt, key, store, report, budget, sleep)
    try:
        budget.tasks = [asyncio.create_task(worker.run(queue)) for _ in range(settings.concurrency)]
        try:
            async with asyncio.timeout(within):
                results = await asyncio.gather(*budget.tasks, return_exceptions=True)
        except TimeoutError:
            budget.stopped = f"the run's deadline is near (after {within:.0f} s)"
            results = []
        for result in results:
            if isinstance(result, Exception):
                raise result
    finally:
        worker.flush()
        if own:
            await chat.aclose()
    report.requests, report.stopped = budget.requests, budget.stopped


@dataclass
class _Worker:
    chat: ChatClient
    prompt: Prompt
    key: Key
    store: Store
    report: SummaryReport
    budget: _Budget
    sleep: Sleep
    unsaved: list[Outcome] = field(default_factory=list)

    async def run(self, queue: Iterator[Paper]) -> None:
        for paper in queue:
            if self.budget.stopped is not None:
                return
            outcome = await self._attempt(paper)
            if outcome is None:
                return
            self._store(outcome)

    async def _attempt(self, paper: Paper) -> Outcome | None:
        messages = self.prompt.messages(paper)
        for retry in range(RATE_LIMIT_RETRIES + 1):
            if not self.budget.take():
                return None
            try:
                completion = await self.chat.complete(messages)
            except LLMError as exc:
                wait = self._wait_for(exc, retry)
                if wait is None:  # a 429 retried is no failure (three stopped every run)
                    self.budget.failed(str(exc), timed_out=exc.timed_out)
                    return Outcome(paper.id, paper.version, ok=False, error=str(exc))
                await self.sleep(wait)
                continue
            return self._judge(
                paper, completion.content, completion.tokens_in, completion.tokens_out
            )
        return None

    def _wait_for(self, exc: LLMError, retry: int) -> float | None:
        """Seconds to wait before retrying a 429, or None to give up (bounded allowance)."""
        if not exc.rate_limited or retry >= RATE_LIMIT_RETRIES or self.budget.stopped:
            return None
        wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
        if wait > self.budget.wait_allowance:
            return None
        self.budget.wait_allowance -= wait
        return wait

    def _judge(self, paper: Paper, content: str, tokens_in: int, tokens_out: int) -> Outcome:
        self.report.tokens_in += tokens_in
        self.report.tokens_out += tokens_out
        try:
            summary = parse_summary(content)
        except ValueError as exc:
            self.budget.failed(str(exc))
            return Outcome(
                paper.id,
                paper.version,
                ok=False,
                invalid=True,
                error=mask(str(exc))[:300],
                tokens_in=tokens_in,
                tokens_out=tokens_out,
            )
        self.budget.succeeded()
        return Outcome(
            paper.id,
            paper.version,
            ok=True,
            tldr=summary.tldr,
            motivation=summary.motivation,
            method=summary.method,
            result=summary.result,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )

    def _store(self, outcome: Outcome) -> None:
        self.unsaved.append(outcome)
        if len(self.unsaved) >= WRITE_BATCH:
            self.flush()
        if outcome.ok:
            self.report.written += 1
        else:
            self.report.failed += 1
            self.report.errors.append(outcome.error or "failed")

    def flush(self) -> None:
        """Store the outcomes not yet stored, in one transaction (no await: never cancelled)."""
        batch, self.unsaved = self.unsaved, []
        if batch:
            now = utcnow()

            def save(conn: Connection) -> int:
                return sum(summarystore.record(conn, self.key, o, now) for o in batch)

            self.report.given_up += self.store.write(save)


# -- rendering and the update hook ------------------------------------------------


def attach(config: Config, store: Store, papers: Sequence[Paper]) -> list[Paper]:
    """``papers`` with their stored TL;DR (``Paper.tldr``); unchanged without ``[summaries]``."""
    settings = config.settings.summaries
    if settings is None or not papers:
        return list(papers)
    try:
        key = key_of(settings, load_prompt(config, settings))
    except SummaryError:  # rendering never fails for a summary, nor drops the published
        key = Key(settings.model, summarystore.ANY_PROMPT, settings.language)
    found = summarystore.tldrs_for_rendering(store, key, {p.id: p.version for p in papers})
    return [p.with_changes(tldr=found[p.id]) if p.id in found else p for p in papers]


def with_summaries(config: Config, store: Store, sections: list[Section]) -> list[Section]:
    """The README's sections with each paper's TL;DR attached (as is without ``[summaries]``)."""
    if config.settings.summaries is None:
        return sections
    # Attached once per paper, so a paper listed by two topics is one object
    # (the renderers' per-paper memos recognise it).
    unique = {p.id: p for s in sections for p in s.papers}
    found = {p.id: p for p in attach(config, store, list(unique.values()))}
    return [Section(s.name, [found[p.id] for p in s.papers]) for s in sections]


def summarise_for_update(
    config: Config,
    store: Store,
    progress: Emit | None = None,
    *,
    for_you: Sequence[str] | None = None,
) -> SummaryReport | None:
    """``update``'s step after storing: summarise, print one line; never fails the run."""
    if config.settings.summaries is None:
        return None
    if progress:
        progress("summarising new papers")
    left = remaining()  # with a run deadline: half of what is left, the rest to publish
    try:
        report = summarise(config, store, for_you=for_you, within=left / 2 if left else None)
    except RunDeadlineExceeded:  # the run's own deadline: the run stops, not the summaries
        raise
    except Exception as exc:  # a summary must never fail the run that stored the papers
        reason = short(exc, 300) or type(exc).__name__
        if isinstance(exc, PromptError):  # attach() renders the TL;DRs last written
            reason += " (the TL;DRs written before stay published)"
        report = SummaryReport(skipped=reason)
    print(report.line(), file=sys.stderr)
    return report


def dry_run_lines(config: Config, store: Store, *, limit: int | None = None) -> Iterator[str]:
    """What ``summarize --dry-run`` prints: each prompt, its estimated tokens, the total."""
    settings = config.settings.summaries
    assert settings is not None
    prompt = load_prompt(config, settings)
    papers, pending = select(config, store, key_of(settings, prompt), limit=limit)
    total = 0
    for paper in papers:
        messages = prompt.messages(paper)
        tokens = sum(estimate_tokens(m["content"]) for m in messages)
        total += tokens
        yield f"--- {paper.versioned_id} (~{tokens} tokens in)"
        for message in messages:
            yield f"[{message['role']}]\n{message['content']}"
    yield (
        f"would summarise {len(papers)} of {pending} pending paper"
        f"{'s' if pending != 1 else ''}: ~{total:,} tokens in, "
        f"at most ~{len(papers) * 400:,} out ({settings.model} at {settings.base_url})"
    )
