"""Bulk harvest of arXiv's metadata through OAI-PMH into the store.

``dailypapers harvest --set cs --from 2025-01-01`` asks arXiv's OAI-PMH
endpoint for ``ListRecords`` page by page, following resumption tokens.
Each page is stored in one transaction together with the harvest's state
(the token for the next page, cursor, counts, newest datestamp), so an
interrupted harvest resumes from the last committed page. arXiv's tokens
expire daily: a token rejected as ``badResumptionToken`` restarts the list
from the newest committed datestamp (``from`` is inclusive; re-stored records
are idempotent). Harvested papers are catalogue: no topic links are made;
``update --source local`` matches topics against them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dailypapers import harveststate as state
from dailypapers.arxiv.errors import ArxivError
from dailypapers.arxiv.oai import OaiError, OaiPage
from dailypapers.arxiv.oai_client import OaiClient, list_records_params, resume_params
from dailypapers.arxiv.taxonomy import ARCHIVES, CATEGORIES
from dailypapers.config import Config
from dailypapers.models import counted
from dailypapers.run import RunResult, RunStatus, recorded_run
from dailypapers.sources import Progress
from dailypapers.sources.api import arxiv_bounds, client_settings
from dailypapers.store import Store, utcnow

RUNNING, COMPLETE = state.RUNNING, state.COMPLETE
# arXiv's groups other than physics are named like their single archive.
_GROUPS = {"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"}
_SET_RE = re.compile(r"^[a-z][a-z-]*(?::[a-z][a-z-]*(?::[A-Za-z][A-Za-z-]*)?)?$")

ClientFactory = Callable[[Config], OaiClient]


def normalize_set(text: str) -> str:
    """An OAI-PMH set spec from what a user writes.

    arXiv's sets are ``group:archive:CATEGORY`` (``cs:cs:AI``,
    ``physics:astro-ph:CO``) and it still accepts the old names (``cs``,
    ``physics:hep-th``); both pass unchanged. A category or archive written
    the arXiv way (``cs.AI``, ``hep-th``) is converted. Raises ``ValueError``.
    """
    value = text.strip()
    if value in CATEGORIES and "." in value:
        archive, subject = value.split(".", 1)
        return f"{_group(archive)}:{archive}:{subject}"
    if value in ARCHIVES and value not in _GROUPS and value != "physics":
        return f"physics:{value}"
    if not _SET_RE.match(value):
        raise ValueError(f"not an arXiv set: {text!r} (e.g. cs, cs:cs:AI, cs.AI, math)")
    return value


def _group(archive: str) -> str:
    return archive if archive in _GROUPS else "physics"


# Pages in a row without a record (and with a token): the server's list is not moving.
STALLED_PAGES = 5


class HarvestStalled(ArxivError):
    """The repository's list does not move: its token came back unchanged, or page after
    page held no record. Followed, it would be asked for the same page forever."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"the OAI-PMH list does not move ({why}); stopped: run again later, "
            "or start over with --from DAY"
        )


@dataclass(frozen=True)
class HarvestRequest:
    """What to harvest: a set (``""``: everything), a format and a datestamp window."""

    set_spec: str
    metadata_prefix: str
    start: date | None = None
    until: date | None = None


@dataclass
class HarvestReport(RunResult):
    """How a harvest went; :meth:`summary` is the CLI's line."""

    start: date | None = None
    resumed: bool = False
    restarts: int = 0
    pages: int = 0
    records: int = 0
    papers: int = 0
    deleted: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def stored(self) -> tuple[int, int]:
        return (self.papers, 0)

    def summary(self) -> str:
        """One line: what was harvested, and what it cost."""
        if self.status == RunStatus.FAILED:
            return f"failed: {self.error} (run the same command to resume)"
        how = "resumed and harvested" if self.resumed else "harvested"
        deleted = f", {self.deleted} deleted" if self.deleted else ""
        deleted += f", {self.skipped} skipped" if self.skipped else ""
        return (
            f"{how} {counted(self.records, 'record')} ({self.papers} new or revised{deleted}): "
            f"{counted(self.pages, 'page')}, {counted(self.requests, 'request')}, "
            f"{self.seconds:.1f} s"
        )


def make_oai_client(config: Config) -> OaiClient:
    """The polite OAI-PMH client configured by ``[oai]`` (and ``[arxiv]``'s retry settings)."""
    oai = config.settings.oai
    return OaiClient(
        oai.url, client_settings(config, oai.url, oai.delay), bounds=arxiv_bounds(config)
    )


def run_harvest(
    config: Config,
    request: HarvestRequest,
    *,
    client_factory: ClientFactory = make_oai_client,
    progress: Progress | None = None,
    lock_timeout: float = 60.0,
    raise_errors: bool = False,
) -> HarvestReport:
    """Harvest (or resume harvesting) ``request`` into the configured store."""
    report = HarvestReport()
    with recorded_run(
        config,
        "harvest",
        report,
        lock_timeout=lock_timeout,
        lock_name="harvest.lock",
        raise_errors=raise_errors,
    ) as run:
        client = client_factory(config)
        try:
            _Harvest(run.store, client, config.settings.oai.url, report, progress).run(request)
        finally:
            client.close()
            report.requests, report.bytes = client.stats.requests, client.stats.bytes_received
    return report


class _Harvest:
    """One harvest's loop: fetch a page, store it with the state, follow the token."""

    def __init__(
        self,
        store: Store,
        client: OaiClient,
        url: str,
        report: HarvestReport,
        progress: Progress | None,
    ) -> None:
        self.store, self.client, self.url = store, client, url
        self.report, self.progress = report, progress

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)

    def run(self, request: HarvestRequest) -> None:
        row = self._resumable(request)
        if row is not None:
            self.report.resumed = True
            self.say(f"resuming harvest {row['id']} after {row['cursor']} records")
        else:
            row = self._begin(request)
        self.report.start = row["from_date"]
        harvest_id, token = row["id"], row["token"]
        params: dict[str, str] | None = (
            resume_params(token) if token else self._first(request, row["from_date"])
        )
        idle = 0
        while params is not None:
            try:
                page = self.client.fetch_page(params)
            except OaiError as exc:
                params, token, idle = self._restart(exc, harvest_id, request), None, 0
                continue
            sent, token = token, self._commit(harvest_id, page)
            idle = 0 if page.records or page.skipped else idle + 1
            if token and token == sent:
                raise HarvestStalled(f"the resumption token {token[:40]!r} came back unchanged")
            if token and idle >= STALLED_PAGES:
                raise HarvestStalled(f"{idle} pages in a row without a record")
            params = resume_params(token) if token else None
        self.report.status = RunStatus.COMPLETE

    def _first(self, request: HarvestRequest, start: date | None) -> dict[str, str]:
        return list_records_params(request.metadata_prefix, request.set_spec, start, request.until)

    def _restart(self, error: OaiError, harvest_id: int, request: HarvestRequest) -> dict[str, str]:
        # Tokens expire daily (arXiv's OAI-PMH notes): start the list again
        # from the newest datestamp already stored (bounded, in case the
        # repository keeps rejecting fresh tokens).
        if error.code != "badResumptionToken" or self.report.restarts >= 3:
            raise error
        row = state.harvest(self.store, harvest_id)
        start = row["last_datestamp"] or row["from_date"]
        self.report.restarts += 1
        self.say(f"resumption token rejected; restarting from {start or 'the beginning'}")
        return self._first(request, start)

    def _resumable(self, request: HarvestRequest) -> dict[str, Any] | None:
        return state.resumable(self.store, self._list(request), request.start)

    def _list(self, request: HarvestRequest) -> state.HarvestList:
        return state.HarvestList(self.url, request.set_spec, request.metadata_prefix, request.until)

    def _begin(self, request: HarvestRequest) -> dict[str, Any]:
        start = request.start
        if start is None:
            start = self._last_complete_datestamp(request)
            if start is not None:
                self.say(f"continuing from the last harvest's newest datestamp, {start}")
        return state.begin(self.store, self._list(request), start, utcnow())

    def _last_complete_datestamp(self, request: HarvestRequest) -> date | None:
        return state.last_complete_datestamp(self.store, self._list(request))

    def _commit(self, harvest_id: int, page: OaiPage) -> str | None:
        """Store a page's papers and the harvest's new state in one transaction."""
        papers = [r.paper for r in page.records if r.paper is not None]
        deleted = len(page.records) - len(papers)
        newest = max((r.datestamp for r in page.records), default=None)
        records = len(page.records) + len(page.skipped)  # the cursor counts skipped ones too
        stored = state.commit_page(
            self.store,
            harvest_id,
            papers,
            state.Page(records, deleted, newest, page.token, page.complete_list_size),
            utcnow(),
        )
        report = self.report
        report.pages += 1
        report.records += records
        report.skipped += len(page.skipped)
        report.papers += stored
        report.deleted += deleted
        total = f" of {page.complete_list_size}" if page.complete_list_size else ""
        self.say(f"page {report.pages}: {report.records}{total} records, {report.papers} stored")
        return page.token


def harvest_rows(store: Store) -> list[dict[str, Any]]:
    """Every harvest recorded in the store, newest first (for status displays)."""
    return state.harvest_rows(store)


__all__ = [
    "COMPLETE",
    "RUNNING",
    "HarvestReport",
    "HarvestRequest",
    "harvest_rows",
    "make_oai_client",
    "normalize_set",
    "run_harvest",
]
