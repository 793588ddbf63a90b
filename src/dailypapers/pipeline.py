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
from datetime import date, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from dailypapers.config import Config
from dailypapers.publish.files import write_if_changed
from dailypapers.render.markdown import Section, render_readme, same_but_date
from dailypapers.sources import (
    FetchContext,
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

    def summary(self) -> str:
        """One line, e.g. ``updated: 2 topics, 12 new papers, 3 requests, 9.1 s``."""
        if self.status == "failed":
            return f"failed: {self.error}"
        counts = (
            f"{self.topics} topic{'s' if self.topics != 1 else ''}, "
            f"{self.saved.new} new paper{'s' if self.saved.new != 1 else ''}"
        )
        if self.saved.revised:
            counts += f", {self.saved.revised} revised"
        return f"{self.status}: {counts}, {self.requests} requests, {self.seconds:.1f} s"


def save_all(store: Store, fetched: list[TopicFetch], now: datetime) -> SaveResult:
    """Store a run's papers and topic links in one transaction."""
    total = SaveResult()
    with store.transaction() as conn:
        everything = [paper for item in fetched for paper in item.papers]
        total = store.save_papers(conn, everything, now)
        for item in fetched:
            topic_id = store.topic_id(conn, item.plan.topic.name, item.plan.query_string)
            linked = store.link(conn, topic_id, (p.id for p in item.papers), now)
            total = total + SaveResult(linked=linked)
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
    today: date | None = None,
    raise_errors: bool = False,
) -> RunReport:
    """The daily job (``update``), or its halves (``fetch``, ``render``).

    Failures are recorded in the report (and the ``runs`` table); with
    ``raise_errors`` the exception is raised after it is recorded.
    """
    command = "update" if fetch and render else ("fetch" if fetch else "render")
    with project_lock(config, lock_timeout), open_store(config.db_url) as store:
        run_id = store.start_run(command)
        report = RunReport(topics=len(config.settings.topics))
        started = time.monotonic()
        try:
            if fetch:
                _fetch_and_save(config, store, source_factory, report, progress)
            if render:
                report.written = render_outputs(config, store, force=force, today=today)
        except (SourceError, StoreError, OSError) as exc:
            report.status, report.error = "failed", _one_line(exc)
            failure: BaseException | None = exc
        else:
            failure = None
            report.status = "updated" if report.saved.new or report.saved.revised else "nothing new"
        report.seconds = time.monotonic() - started
        store.finish_run(
            run_id,
            report.status,
            requests=report.requests,
            bytes=report.bytes,
            new_papers=report.saved.new,
            revised_papers=report.saved.revised,
            error=report.error,
        )
    if failure is not None and raise_errors:
        raise failure
    return report


def _fetch_and_save(
    config: Config,
    store: Store,
    source_factory: SourceFactory,
    report: RunReport,
    progress: Progress | None,
) -> None:
    settings = config.settings
    context = FetchContext(store, settings.max_papers, settings.archives, progress)
    source = source_factory(config)
    try:
        fetched = source.fetch(plan_topics(config), context)
    finally:
        source.close()
        report.requests, report.bytes = context.stats.requests, context.stats.bytes
    report.saved = save_all(store, fetched, utcnow())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
