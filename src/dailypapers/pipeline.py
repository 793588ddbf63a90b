"""The daily job: fetch every topic, store what is new, render and publish.

Order of truth: all fetching happens first and writes nothing (each topic's
papers wait in the run's spool on disk, :mod:`dailypapers.spool`); then one
database transaction stores the run's papers; only after it commits are the
outputs rendered from the store and written atomically. A run that cannot
fetch therefore changes neither the store nor any published file. Last,
``update`` sends the configured notifications (:mod:`dailypapers.notify`);
the papers they announce were queued in the store transaction, so a failing
channel loses nothing.
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from dailypapers import announcement, fetchstate, quickskip
from dailypapers.config import Config
from dailypapers.memory import (
    collected_each,
    kept_out_of_collections,
    paused_collections,
    release_freed,
)
from dailypapers.models import DAMAGE_ERRORS, Paper, counted
from dailypapers.notify import Outcome, Snapshot, deliver, failure_line, readme_listing
from dailypapers.publish import edits
from dailypapers.publish.files import followed, remove_stale_temps, write_lines_if_changed
from dailypapers.publish.outputs import forget_rendered, start_outputs
from dailypapers.publish.tree import Removals
from dailypapers.render.markdown import (
    DATE_LINE,
    TOC_OVER,
    Section,
    is_date_line,
    readme_parts,
    replaceable,
)
from dailypapers.run import Busy as Busy  # re-exported: the CLI's errors
from dailypapers.run import RunFailed as RunFailed
from dailypapers.run import RunResult, RunStatus, project_lock, recorded_run, run_clock
from dailypapers.sources import (
    FetchContext,
    NothingAnnounced,
    Progress,
    Source,
    TopicFetch,
    TopicPlan,
    open_source,
    plan_topics,
)
from dailypapers.spool import Spool, SpooledTopic
from dailypapers.store import SaveResult, Store, StoreError, open_store

if TYPE_CHECKING:
    from dailypapers.rank.foryou import Ranking

SourceFactory = Callable[[Config], Source]


UPDATED = RunStatus.UPDATED
NOTHING_NEW = RunStatus.NOTHING_NEW
NO_ANNOUNCEMENT = RunStatus.NO_ANNOUNCEMENT
FAILED = RunStatus.FAILED
RENDERED = RunStatus.RENDERED
NOTIFIED = RunStatus.NOTIFIED

# A run's papers come back from its spool this many at a time: each batch's
# papers, rows, re-read and index rows are what the save holds at once
# (``Store.save_papers`` itself writes up to ``SAVE_BATCH``, 500, for harvests
# and backfills). 150 lowers a 20-topic cold start's peak by about 2.3 MB
# (against 500) for eight more small batches; 100 saved 0.3 MB more for
# 4% more CPU (docs/benchmarks.md, "issue 12, lean 2").
SPOOL_BATCH = 150


@dataclass
class RunReport(RunResult):
    """How a run went: what the summary line and the ``runs`` row say."""

    topics: int = 0
    saved: SaveResult = field(default_factory=SaveResult)
    written: list[Path] = field(default_factory=list)
    day: date | None = None
    notified: list[Outcome] = field(default_factory=list)

    def stored(self) -> tuple[int, int]:
        return (self.saved.new, self.saved.revised)

    @property
    def new_papers(self) -> int:
        return self.saved.new + self.saved.revised

    @property
    def new_to_topics(self) -> int:
        """The papers a run calls new: new to the store, or, from the local source
        (which brings no paper new to the store), newly matched by a topic."""
        return self.saved.new or self.saved.linked

    def headline(self) -> str:
        """What happened, in the words a user trusts.

        ``updated (N new)``, ``nothing new since the last run`` (arXiv
        announced; this project already has it), ``no announcement today``
        (arXiv's calendar), ``rendered`` or ``failed: why``.
        """
        if self.status == FAILED:
            return f"failed: {self.error}"
        if self.status == UPDATED:
            revised = f", {self.saved.revised} revised" if self.saved.revised else ""
            return f"updated ({self.new_to_topics} new{revised})"
        if self.status == NOTHING_NEW:
            return "nothing new since the last run"
        if self.status == NO_ANNOUNCEMENT:
            return "no announcement today"
        return self.status

    def summary(self) -> str:
        """One line: the headline, then topics, requests, seconds and files written.

        A failed run says what it did before failing (a channel's failure comes
        after the files were written and the other channels sent).
        """
        sent = [f"{o.channel} {o.papers}" for o in self.notified if o.papers and not o.error]
        if self.status == FAILED:
            done = [f"{counted(len(self.written), 'file')} written"] if self.written else []
            done += [f"sent: {', '.join(sent)}"] if sent else []
            return self.headline() + (f" ({'; '.join(done)})" if done else "")
        files = f", {counted(len(self.written), 'file')} written"
        notified = f", sent: {', '.join(sent)}" if sent else ""
        return (
            f"{self.headline()}: {counted(self.topics, 'topic')}, "
            f"{counted(self.requests, 'request')}, "
            f"{self.seconds:.1f} s{files if self.written else ''}{notified}"
        )


def save_all(
    store: Store,
    fetched: Iterable[TopicFetch],
    now: datetime,
    context: FetchContext | None = None,
    source: str | None = None,
    *,
    run_id: int | None = None,
    listed: Mapping[str, int] | None = None,
    extra: Sequence[Paper] = (),
) -> SaveResult:
    """:func:`save_spooled` for fetches in hand (spooled first, then stored the same way)."""
    with Spool() as spool:
        spool.extend(fetched)
        return save_spooled(
            store, spool, now, context, source, run_id=run_id, listed=listed, extra=extra
        )


def save_spooled(
    store: Store,
    spool: Spool,
    now: datetime,
    context: FetchContext | None = None,
    source: str | None = None,
    *,
    run_id: int | None = None,
    listed: Mapping[str, int] | None = None,
    extra: Sequence[Paper] = (),
) -> SaveResult:
    """Store a run's spooled papers and topic links in one transaction (retried if aborted).

    The papers are read back from the spool and written ``SPOOL_BATCH`` at a
    time, all inside the one transaction: a run that fails stores nothing.
    With ``source``, the topics are recorded as fetched by it, with the
    context's markers and pending ids; with ``run_id``, what is new to each
    topic is queued for notification (minus what the old README ``listed``);
    both in the same transaction. ``extra`` papers are stored without a topic
    and not counted (the examples and candidates of topics by example).
    """
    fetched = spool.topics

    def save(conn: Connection) -> SaveResult:
        limit = context.limit if context is not None else None
        snapshot = Snapshot.take(conn, store, fetched, limit) if run_id is not None else None
        known = None if snapshot is None else snapshot.versions
        total = SaveResult()
        # Each batch's and each topic's garbage is collected as it is done with
        # (memory.collected_each: an update pauses the automatic collections).
        for batch in collected_each(spool.batches(SPOOL_BATCH)):
            total = total + store.save_papers(conn, batch, now, known)
        if extra:
            linked_ids = spool.ids()
            store.save_papers(conn, [p for p in extra if p.id not in linked_ids], now)
        topic_ids, totals, times = [], {}, {}
        linked: set[str] = set()
        for index, item in enumerate(collected_each(fetched)):
            topic_id, were = _topic_links(conn, store, item, snapshot, index)
            linked |= store.link(conn, topic_id, (p.id for p in item.papers), now, were)
            topic_ids.append(topic_id)
            totals[topic_id] = item.total
            if item.fetched_at is not None:
                times[topic_id] = item.fetched_at
            if item.evaluated_until is not None:
                store.mark_evaluated(conn, topic_id, item.evaluated_until, now)
            if source is not None:
                fetchstate.mark_scanned(conn, store, topic_id, item.top, now, dated=item.dated)
        if source is not None:
            fetchstate.record(conn, store, topic_ids, source, context, now, totals, times)
        if snapshot is not None and run_id is not None:
            snapshot.queue(conn, fetched, run_id=run_id, now=now, listed=listed or {})
        return total + SaveResult(linked=len(linked))

    return store.write(save)


def _topic_links(
    conn: Connection, store: Store, item: SpooledTopic, snapshot: Snapshot | None, index: int
) -> tuple[int, set[str] | None]:
    """The ``index``-th fetched topic's id and which of its papers it linked already
    (``None``: not known). A snapshot, taken in this transaction, looked both up."""
    if snapshot is None:
        return store.topic_id(conn, item.plan.topic.name, item.plan.query_string), None
    topic_id = snapshot.topic_ids[index]
    return topic_id, snapshot.linked[topic_id]


def sections(
    config: Config, store: Store, ids: Sequence[tuple[str, int | None]] | None = None
) -> list[Section]:
    """Each topic's newest ``max_papers`` papers from the store, in config order.

    One reader for every topic: a paper listed by several topics is one object.
    ``ids``: :func:`topic_ids`, when the caller has read them already.
    """
    from dailypapers.listedquery import PaperReader

    reader = PaperReader()
    limit = config.settings.max_papers
    result = []
    with store.reading() as conn:  # one connection: the topics' ids and their papers
        for name, topic_id in topic_ids(config, store, conn) if ids is None else ids:
            papers = [] if topic_id is None else reader.newest(conn, topic_id, limit)
            result.append(Section(name, papers))
    return result


def iter_sections(config: Config, store: Store) -> Iterator[Section]:
    """:func:`sections`, one topic at a time, for a renderer that renders it before the next.

    Each next topic first clears the renderers' per-paper memos.
    """
    from dailypapers.listedquery import PaperReader

    for name, topic_id in topic_ids(config, store):
        papers = []
        if topic_id is not None:
            with store.reading() as conn:  # a reader per topic: it holds what it read
                papers = PaperReader().newest(conn, topic_id, config.settings.max_papers)
        yield Section(name, papers)
        forget_rendered()  # the renderers' per-paper memos hold the papers: one topic at a time


def topic_ids(
    config: Config, store: Store, conn: Connection | None = None
) -> list[tuple[str, int | None]]:
    """Each configured topic's name and stored id (``None``: never stored), in config order.

    ``conn``: the caller's open connection (none: one is opened for the lookup).
    """
    from dailypapers.plan import stored_topics

    stored = stored_topics(config, store, conn)
    return [(plan.topic.name, topic_id) for plan, topic_id in stored]


def _readme_alone(config: Config, ranking: Ranking | None) -> bool:
    """Whether only the README is rendered, from the topics alone (no TL;DRs, no ranking).

    Then its sections are read one topic at a time: a 100 x 100 README holds
    one topic's papers at once instead of 10,000.
    """
    settings = config.settings
    return settings.outputs == ["readme"] and settings.summaries is None and ranking is None


def render_outputs(
    config: Config,
    store: Store,
    *,
    force: bool = False,
    today: date | None = None,
    ranking: Ranking | None = None,
    rank: bool = True,
) -> list[Path]:
    """Render the configured outputs from the store; returns the files written.

    A file whose content is unchanged (apart from the README's date line) is
    left alone unless ``force``; the feed and site folders count as one path each.
    ``ranking`` is the run's "For you" list; without it (and with ``rank``)
    it is computed here when a library is configured. A stored value another
    tool wrote that breaks a renderer raises
    :class:`~dailypapers.models.StoredValueError` naming the paper and column.
    """
    refuse_foreign_outputs(config)  # whatever the command: the user's own files stay
    try:
        with kept_out_of_collections() as freeze:  # ended once the papers read are dropped
            return _render_outputs(config, store, force, today, ranking, rank, freeze)
    except DAMAGE_ERRORS as exc:  # a value another tool stored: name the paper and column
        from dailypapers.listedquery import first_damaged

        with store.reading() as conn:
            raise (first_damaged(conn, topic_ids(config, store, conn)) or exc) from exc


def _render_outputs(
    config: Config,
    store: Store,
    force: bool,
    today: date | None,
    ranking: Ranking | None,
    rank: bool,
    freeze: Callable[[], None],
) -> list[Path]:
    from dailypapers.rank import foryou

    if ranking is None and rank:
        ranking = foryou.compute(config, store)
    if _readme_alone(config, ranking):
        return _write_readme(config, iter_sections(config, store), None, force=force, today=today)
    ids = topic_ids(config, store)  # read once: the sections and the "new" badges
    listed = sections(config, store, ids)
    if config.settings.summaries is not None:  # the LLM client loads only for them
        from dailypapers.summaries import with_summaries

        listed = with_summaries(config, store, listed)
    if ranking is not None:
        papers = [p for s in listed for p in s.papers]
        ranking = foryou.with_scores_of(ranking, store, papers, config)
    new = new_on_site(config, store, listed, ids)
    removals = Removals()  # the replaced feed and site trees go while the README renders
    freeze()  # the papers just read live until the render ends: no collection walks them
    return _write_all(config, listed, ranking, new, removals, force=force, today=today)


def _write_all(
    config: Config,
    listed: Sequence[Section],
    ranking: Ranking | None,
    new: frozenset[str],
    removals: Removals,
    *,
    force: bool,
    today: date | None,
) -> list[Path]:
    """Write every configured output of ``listed`` (the render beyond reading)."""
    try:
        # The trees render in a child where they can (publish/forked.py) while the
        # README renders here; it is published after them and papers.json, as before.
        started = start_outputs(
            config, listed, force=force, ranking=ranking, new=new, removals=removals
        )
        try:
            readme = []
            if "readme" in config.settings.outputs:
                readme = _write_readme(
                    config, listed, ranking, force=force, today=today, first=started.finish
                )
            others = started.finish()
        except BaseException:  # the README's error, the deadline: the child ends too
            started.cancel()
            raise
        finally:
            started.wait()
    finally:
        removals.wait()
    return readme + others


class EmptyStore(StoreError):
    """``render`` asked of a store without papers, over a published README."""


class ForeignOutput(FileExistsError):
    """An output's place holds a file dailypapers did not write, which it would replace."""


class ForeignReadme(ForeignOutput):
    """The configured README exists and is not one dailypapers (or the reference) wrote."""


def refuse_foreign_outputs(config: Config) -> None:
    """Raise :class:`ForeignOutput` when an output would replace or delete the user's own
    file: a README (:func:`~dailypapers.render.markdown.replaceable`), or a file in the
    feeds or site folder (:mod:`dailypapers.publish.owners`)."""
    outputs = config.settings.outputs
    if "readme" in outputs and not replaceable(config.readme_path):
        raise ForeignReadme(
            f"{config.settings.readme.path} was not written by dailypapers (it has no "
            "'Last update:' line) and was left as it is: move it away, or set [readme] path "
            "to another file"
        )
    if "feeds" not in outputs and "site" not in outputs:
        return
    from dailypapers.publish import owners

    folders = [("feeds", config.feeds_dir, owners.foreign_feed)]
    folders.append(("site", config.site_dir, owners.foreign_site))
    for name, folder, foreign in folders:
        found = foreign(folder) if name in outputs else None
        if found is not None:
            written = getattr(config.settings, name).dir.rstrip("/")
            raise ForeignOutput(
                f"{written}/{found} was not written by dailypapers, and the {name} in "
                f"that folder would replace or delete it: move it away, or set [{name}] dir "
                "to another folder"
            )


def _nothing_published_lost(config: Config, store: Store, *, fetch: bool) -> None:
    """Refuse a run that would replace what it must not: the user's own README, or the
    published tables by a render from a store without papers."""
    refuse_foreign_outputs(config)
    if not fetch:
        refuse_empty_render(config, store)


def refuse_empty_render(config: Config, store: Store) -> None:
    """``render`` from a store that holds no paper (a fresh clone, a lost cache) would
    replace the published README's tables with empty ones: raise instead."""
    readme = config.readme_path
    published = "readme" in config.settings.outputs and readme.is_file() and readme.stat().st_size
    if published and not store.has_papers():
        raise EmptyStore(
            "the store holds no paper yet (a new clone, a lost cache): rendering would empty "
            f"{config.settings.readme.path}'s tables; run 'dailypapers update' first"
        )


def _write_readme(
    config: Config,
    listed: Iterable[Section],
    ranking: Ranking | None,
    *,
    force: bool,
    today: date | None,
    first: Callable[[], object] | None = None,
) -> list[Path]:
    """Render and write the README (``[readme]`` options); returns it if it changed.

    ``first``: called once the README is rendered, before it is published (the
    other outputs' publishing; its error leaves the README as it was).
    """
    settings = config.settings
    remove_stale_temps(config.readme_path)
    today = today or datetime.now(config.zone).date()
    for_you = None
    if ranking is not None:  # the For you table and the order need every section
        every = list(listed)
        for_you = readme_for_you(config, ranking, every)
        listed = by_relevance(config, every, ranking)
    parts = readme_parts(  # rendered as written: the README is never held whole
        settings.title,
        listed,
        updated_on=today,
        max_papers=settings.max_papers,
        link_base=settings.readme.link_base,
        **readme_options(config, len(settings.topics)),
        tldr=settings.readme.tldr,
        for_you=for_you,
        names=[topic.name for topic in settings.topics],
    )
    if first is not None:
        parts = itertools.chain(parts, _calling(first))
    strip = functools.partial(DATE_LINE.sub, "")
    kept = edits.keep_edits(followed(config.readme_path), config.state_dir, strip)
    written = edits.Written(strip)
    changed = write_lines_if_changed(
        config.readme_path, written.parts(parts), ignored=is_date_line, force=force
    )
    written.remember(followed(config.readme_path), config.state_dir)
    if kept is not None and changed:
        print(
            f"warning: {settings.readme.path} had changes dailypapers did not write (edited "
            f"by hand?): rewritten; the edited copy is {os.path.relpath(kept, config.base_dir)}",
            file=sys.stderr,
        )
    return [config.readme_path] if changed else []


def _calling(function: Callable[[], object]) -> Iterator[str]:
    """No parts: calls ``function`` when the parts before it are all written."""
    function()
    yield from ()


def new_on_site(
    config: Config,
    store: Store,
    listed: Sequence[Section],
    ids: Sequence[tuple[str, int | None]] | None = None,
) -> frozenset[str]:
    """The listed papers new since the previous update (the site's "new" badge).

    ``ids``: the :func:`topic_ids` the sections were read with (read here without).
    """
    from dailypapers.newstate import newly_listed

    if "site" not in config.settings.outputs:
        return frozenset()
    with store.reading() as conn:
        pairs = topic_ids(config, store, conn) if ids is None else ids
        found = [topic_id for _, topic_id in pairs]
        paper_ids = [p.id for section in listed for p in section.papers]
        return newly_listed(conn, [i for i in found if i is not None], paper_ids)


def readme_for_you(
    config: Config, ranking: Ranking | None, listed: list[Section]
) -> list[Paper] | None:
    """The README's "For you" table (``[readme] for_you`` papers), or ``None``.

    A paper the topics list is shown as they show it (with its TL;DR).
    """
    wanted = config.settings.readme.for_you
    if ranking is None or not wanted:
        return None
    shown = {p.id: p for section in listed for p in section.papers}
    return [shown.get(pick.paper.id, pick.paper) for pick in ranking.picks[:wanted]]


def by_relevance(config: Config, listed: list[Section], ranking: Ranking | None) -> list[Section]:
    """Topics with ``order = "relevance"`` sorted by score (then newest first)."""
    if ranking is None:
        return listed
    result = []
    for topic, section in zip(config.settings.topics, listed, strict=True):
        if topic.order == "relevance":
            papers = sorted(section.papers, key=lambda p: -(ranking.score(p.id) or 0.0))
            section = Section(section.name, papers)
        result.append(section)
    return result


def readme_options(config: Config, topics: int) -> dict[str, bool]:
    """The README's "Watch" sentence and table of contents, as the config asks."""
    readme = config.settings.readme
    if readme.exact_reference:
        return {"watch": True, "toc": False}
    toc = readme.toc if readme.toc is not None else topics > TOC_OVER
    return {"watch": config.settings.notify.github is not None, "toc": toc}


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
    notify: bool = True,
) -> RunReport:
    """The daily job (``update``), or its halves (``fetch``, ``render``).

    ``update`` then sends the configured notifications (after the store
    commit and the output writes, so a failing channel loses nothing: its
    papers stay pending and the run fails with the channel's reason).
    Failures are recorded in the report (and the ``runs`` table); with
    ``raise_errors`` the exception is raised after it is recorded.
    """
    command = "update" if fetch and render else ("fetch" if fetch else "render")
    started = time.monotonic()  # with ``now``: the run's clock reads on from it
    now = now or run_clock()
    day = now.astimezone(config.zone).date()
    report = RunReport(topics=len(config.settings.topics), day=day)
    with recorded_run(
        config, command, report, lock_timeout=lock_timeout, now=now, raise_errors=raise_errors
    ) as run:
        if render:  # before anything is fetched or stored
            _nothing_published_lost(config, run.store, fetch=fetch)
        announced = True
        if fetch:
            with paused_collections():  # collected after each topic and at the end
                announced = _fetch_and_save(
                    config, run.store, source_factory, report, progress, now, run.id, force, started
                )
                run.store.release_idle()  # the save's SQLite page caches
                release_freed()  # the fetched papers: rendering's peak does not stack on them
        ranking = None
        if fetch and render:
            from dailypapers.rank.foryou import compute

            ranking = compute(config, run.store)
            if config.settings.summaries is not None:  # the LLM client loads only for them
                from dailypapers.summaries import summarise_for_update

                ids = ranking.ids() if ranking is not None else None
                summarise_for_update(config, run.store, progress, for_you=ids)
        if render:
            report.written = render_outputs(
                config, run.store, force=force, today=day, ranking=ranking, rank=not fetch
            )
        if fetch and render and notify:
            report.notified = _notify(config, run.store, run.id, day, progress, ranking)
        report.status = _status(config, report, now, fetched=fetch)
        if not announced:
            report.status = _quiet_status(config, now)
        notify_error = failure_line(report.notified)
        if notify_error:
            report.status, report.error = FAILED, notify_error
    if command == "update" and report.status != FAILED:
        quickskip.remember(config, run.id)  # what a later skipped day compares with
    return report


def run_notify(
    config: Config,
    *,
    dry_run: bool = False,
    lock_timeout: float = 60.0,
    now: datetime | None = None,
    raise_errors: bool = False,
) -> RunReport:
    """Send (or with ``dry_run`` only render) what each channel still owes (``notify``).

    A channel used for the first time is owed the papers of the latest run
    that queued any. Sending is recorded as a ``notify`` run.
    """
    now = now or run_clock()
    day = now.astimezone(config.zone).date()
    report = RunReport(topics=len(config.settings.topics), day=day)
    if dry_run:
        with project_lock(config, lock_timeout), open_store(config.db_url) as store:
            report.notified = deliver(
                config,
                store,
                0,
                day=day,
                registering_run=None,
                dry_run=True,
                ranking=_rank(config, store),
            )
        report.status = RunStatus.DRY_RUN
        return report
    with recorded_run(
        config, "notify", report, lock_timeout=lock_timeout, now=now, raise_errors=raise_errors
    ) as run:
        report.notified = deliver(
            config,
            run.store,
            run.id,
            day=day,
            registering_run=None,
            ranking=_rank(config, run.store),
        )
        error = failure_line(report.notified)
        report.status, report.error = (FAILED, error) if error else (NOTIFIED, None)
    return report


def _rank(config: Config, store: Store) -> Ranking | None:
    """The "For you" ranking for ``notify`` (``None`` without a library or channels)."""
    if not config.settings.notify.channels:
        return None
    from dailypapers.rank.foryou import compute

    return compute(config, store)


def _fetch_and_save(
    config: Config,
    store: Store,
    source_factory: SourceFactory,
    report: RunReport,
    progress: Progress | None,
    now: datetime,
    run_id: int,
    force: bool = False,
    started: float | None = None,
) -> bool:
    """Fetch and store; False when arXiv announced nothing since the last run.

    ``started``: the monotonic time at which ``now`` was read (the run's
    clock reads on from there; ``None``: from here).
    """
    settings = config.settings
    plans = plan_topics(config)
    # The CLI's factory names its source: decide before any HTTP client is built.
    name = _source_name(config, source_factory)
    source = source_factory(config) if name is None else None
    decision = announcement.Decision.FETCH
    if (name or (source.name if source else "")) != "local":  # the store's needs none
        decision = announcement.decide(config, store, plans, now, force=force)
    if decision is announcement.Decision.SKIP:
        if source is not None:
            source.close()
        if progress:
            progress("arXiv has announced nothing since the last run (its calendar)")
        return False
    source = source or source_factory(config)
    # Read before this run rewrites it: what readers have already seen.
    listed = readme_listing(config.readme_path) if "readme" in settings.outputs else {}
    context = FetchContext(
        store,
        settings.max_papers,
        settings.archives,
        progress,
        now=now,
        probe=decision is announcement.Decision.PROBE,
        started=time.monotonic() if started is None else started,
    )
    with Spool(config.state_dir) as spool:  # on disk beside the run's lock (docs/design.md)
        try:
            unlinked = _fetch_into(config, store, source, plans, context, spool)
        except NothingAnnounced:
            return False
        finally:
            source.close()
            report.requests, report.bytes = context.stats.requests, context.stats.bytes
        report.saved = save_spooled(
            store, spool, now, context, source.name, run_id=run_id, listed=listed, extra=unlinked
        )
    return True


def _fetch_into(
    config: Config,
    store: Store,
    source: Source,
    plans: Sequence[TopicPlan],
    context: FetchContext,
    spool: Spool,
) -> list[Paper]:
    """Spool each topic's papers as the source hands them over; returns the papers to
    store without a topic.

    Topics by example (``like``) select from every topic's papers at once: with
    one configured, the run's fetches are gathered before they are spooled.
    """
    handed: Iterable[TopicFetch] = source.fetch(plans, context)
    unlinked: list[Paper] = []
    if any(topic.like is not None for topic in config.settings.topics):
        from dailypapers.rank import like

        handed, unlinked = like.apply(
            config, store, list(handed), source=source.name, progress=context.progress
        )
    spool.extend(collected_each(handed))  # each topic's garbage, once it is spooled
    return unlinked


def _source_name(config: Config, factory: SourceFactory) -> str | None:
    """The source ``open_source`` will build (``update --source`` binds ``name``), unbuilt.

    ``None`` for any other factory: that one is built to learn its name.
    """
    if factory is open_source:
        return config.settings.arxiv.source
    if isinstance(factory, functools.partial) and factory.func is open_source:
        return str(factory.keywords.get("name") or config.settings.arxiv.source)
    return None


def _notify(
    config: Config,
    store: Store,
    run_id: int,
    day: date,
    progress: Progress | None,
    ranking: Ranking | None = None,
) -> list[Outcome]:
    if not config.settings.notify.channels:  # records the topics listed, if ever notified
        return deliver(config, store, run_id, day=day, registering_run=run_id, channels=[])
    if progress:
        progress("sending notifications")
    return deliver(config, store, run_id, day=day, registering_run=run_id, ranking=ranking)


def _status(config: Config, report: RunReport, now: datetime, *, fetched: bool) -> RunStatus:
    if not fetched:
        return RENDERED
    if report.new_papers or report.saved.linked:
        return UPDATED
    return _quiet_status(config, now)


def _quiet_status(config: Config, now: datetime) -> RunStatus:
    """No new paper: arXiv's calendar says why (weekend, holiday), or this project has it all."""
    if not config.calendar.announced_since(now - timedelta(hours=24), now):
        return NO_ANNOUNCEMENT
    return NOTHING_NEW
