"""The daily job: fetch every topic, store what is new, render and publish.

Order of truth: all fetching happens first and writes nothing; then one
database transaction stores the run's papers; only after it commits are the
outputs rendered from the store and written atomically. A run that cannot
fetch therefore changes neither the store nor any published file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from filelock import FileLock, Timeout

from dailypapers import announcement, fetchstate
from dailypapers.config import Config
from dailypapers.publish.files import write_if_changed
from dailypapers.render.markdown import Section, render_readme, same_but_date
from dailypapers.sources import (
    FetchContext,
    NothingAnnounced,
    Progress,
    Source,
    SourceError,
    TopicFetch,
    open_source,
    plan_topics,
)
from dailypapers.store import SaveResult, Store, StoreError, open_store, utcnow

SourceFactory = Callable[[Config], Source]


class RunFailed(Exception):
    """A run could not complete; the message is one line."""


class Busy(RunFailed):
    """Another run holds the lock on this project's state."""


UPDATED = "updated"
NOTHING_NEW = "nothing new"
NO_ANNOUNCEMENT = "no announcement"
FAILED = "failed"
RENDERED = "rendered"
OK_STATUSES = (UPDATED, NOTHING_NEW, NO_ANNOUNCEMENT, RENDERED)


@dataclass
class RunReport:
    """How a run went: what the summary line and the ``runs`` row say."""

    status: str = "running"
    topics: int = 0
    saved: SaveResult = field(default_factory=SaveResult)
    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0
    written: list[Path] = field(default_factory=list)
    error: str | None = None

    @property
    def new_papers(self) -> int:
        return self.saved.new + self.saved.revised

    def headline(self) -> str:
        """What happened, in the words a user trusts.

        ``updated (N new)``, ``nothing new for these topics``, ``no
        announcement today`` (arXiv's calendar), ``rendered`` or ``failed: why``.
        """
        if self.status == FAILED:
            return f"failed: {self.error}"
        if self.status == UPDATED:
            revised = f", {self.saved.revised} revised" if self.saved.revised else ""
            return f"updated ({self.saved.new} new{revised})"
        if self.status == NOTHING_NEW:
            return "nothing new for these topics"
        if self.status == NO_ANNOUNCEMENT:
            return "no announcement today"
        return self.status

    def summary(self) -> str:
        """One line: the headline, then topics, requests, seconds and files written."""
        if self.status == FAILED:
            return self.headline()
        topics = f"{self.topics} topic{'s' if self.topics != 1 else ''}"
        files = f", {len(self.written)} file{'s' if len(self.written) != 1 else ''} written"
        return (
            f"{self.headline()}: {topics}, {self.requests} requests, "
            f"{self.seconds:.1f} s{files if self.written else ''}"
        )


class Outcome(Protocol):
    """What a run's ``runs`` row records (``RunReport``, ``BackfillReport``)."""

    status: str
    requests: int
    bytes: int
    saved: SaveResult
    error: str | None


def record_run(store: Store, run_id: int, report: Outcome) -> None:
    """Write how a run ended into its ``runs`` row."""
    store.finish_run(
        run_id,
        report.status,
        requests=report.requests,
        bytes=report.bytes,
        new_papers=report.saved.new,
        revised_papers=report.saved.revised,
        error=report.error,
    )


def save_all(
    store: Store,
    fetched: list[TopicFetch],
    now: datetime,
    context: FetchContext | None = None,
    source: str | None = None,
) -> SaveResult:
    """Store a run's papers and topic links in one transaction.

    With ``source``, the topics are recorded as fetched by it, with the
    context's markers and pending ids, in the same transaction.
    """
    total = SaveResult()
    with store.transaction() as conn:
        everything = [paper for item in fetched for paper in item.papers]
        total = store.save_papers(conn, everything, now)
        topic_ids = []
        for item in fetched:
            topic_id = store.topic_id(conn, item.plan.topic.name, item.plan.query_string)
            linked = store.link(conn, topic_id, (p.id for p in item.papers), now)
            total = total + SaveResult(linked=linked)
            topic_ids.append(topic_id)
        if source is not None:
            fetchstate.record(conn, store, topic_ids, source, context, now)
    return total


def sections(config: Config, store: Store) -> list[Section]:
    """Each topic's newest ``max_papers`` papers from the store, in config order."""
    result = []
    for plan in plan_topics(config):
        topic_id = store.find_topic(plan.topic.name, plan.query_string)
        papers = (
            [] if topic_id is None else store.topic_papers(topic_id, config.settings.max_papers)
        )
        result.append(Section(plan.topic.name, papers))
    return result


def render_outputs(
    config: Config, store: Store, *, force: bool = False, today: date | None = None
) -> list[Path]:
    """Render the configured outputs from the store; returns the files written.

    A file whose content is unchanged (apart from the README's date line) is
    left alone unless ``force``.
    """
    settings = config.settings
    written = []
    if "readme" in settings.outputs:
        today = today or datetime.now(config.zone).date()
        text = render_readme(
            settings.title,
            sections(config, store),
            updated_on=today,
            max_papers=settings.max_papers,
            link_base=settings.readme.link_base,
        )
        if write_if_changed(config.readme_path, text, same=same_but_date, force=force):
            written.append(config.readme_path)
    return written


@contextmanager
def project_lock(config: Config, timeout: float) -> Iterator[None]:
    """Hold the project's run lock, so two runs never interleave their writes."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(config.state_dir / "run.lock"), timeout=timeout)
    try:
        with lock:
            yield
    except Timeout:
        raise Busy(
            f"another dailypapers run holds {config.state_dir / 'run.lock'} "
            f"(waited {timeout:g} s); try again later"
        ) from None


def run_update(
    config: Config,
    *,
    fetch: bool = True,
    render: bool = True,
    force: bool = False,
    source_factory: SourceFactory = open_source,
    progress: Progress | None = None,
    lock_timeout: float = 60.0,
    now: datetime | None = None,
    raise_errors: bool = False,
) -> RunReport:
    """The daily job (``update``), or its halves (``fetch``, ``render``).

    Failures are recorded in the report (and the ``runs`` table); with
    ``raise_errors`` the exception is raised after it is recorded.
    """
    command = "update" if fetch and render else ("fetch" if fetch else "render")
    now = now or utcnow()
    with project_lock(config, lock_timeout), open_store(config.db_url) as store:
        run_id = store.start_run(command, now)
        report = RunReport(topics=len(config.settings.topics))
        started = time.monotonic()
        try:
            announced = True
            if fetch:
                announced = _fetch_and_save(
                    config, store, source_factory, report, progress, now, force
                )
            if render:
                today = now.astimezone(config.zone).date()
                report.written = render_outputs(config, store, force=force, today=today)
        except (SourceError, StoreError, OSError) as exc:
            report.status, report.error = FAILED, _one_line(exc)
            failure: BaseException | None = exc
        else:
            failure = None
            report.status = _status(config, report, now, fetched=fetch)
            if not announced:
                report.status = NO_ANNOUNCEMENT
        report.seconds = time.monotonic() - started
        record_run(store, run_id, report)
    if failure is not None and raise_errors:
        raise failure
    return report


def _fetch_and_save(
    config: Config,
    store: Store,
    source_factory: SourceFactory,
    report: RunReport,
    progress: Progress | None,
    now: datetime,
    force: bool = False,
) -> bool:
    """Fetch and store; False when arXiv announced nothing since the last run."""
    settings = config.settings
    plans = plan_topics(config)
    decision = announcement.decide(config, store, plans, now, force=force)
    if decision is announcement.Decision.SKIP:
        if progress:
            progress("arXiv has announced nothing since the last run (its calendar)")
        return False
    context = FetchContext(
        store,
        settings.max_papers,
        settings.archives,
        progress,
        now=now,
        probe=decision is announcement.Decision.PROBE,
    )
    source = source_factory(config)
    try:
        fetched = source.fetch(plans, context)
    except NothingAnnounced:
        return False
    finally:
        source.close()
        report.requests, report.bytes = context.stats.requests, context.stats.bytes
    report.saved = save_all(store, fetched, now, context, source.name)
    return True


def _status(config: Config, report: RunReport, now: datetime, *, fetched: bool) -> str:
    if not fetched:
        return RENDERED
    if report.new_papers:
        return UPDATED
    # Weekends and arXiv's holidays: nothing new is expected, and is no failure.
    if not config.calendar.announced_since(now - timedelta(hours=24), now):
        return NO_ANNOUNCEMENT
    return NOTHING_NEW


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
