"""A run's fetched papers, on disk until the run's one transaction stores them.

A source hands over each topic's papers as soon as it has fetched them
(:meth:`Spool.add`): they are pickled to an anonymous temporary file, and
only a small key per paper (id, version, last update, where its record
lies) stays in memory, so a 100-topic run holds one topic's papers at a
time instead of all of them. The run's transaction then reads them back in
bounded batches, in id order, each paper once at the newest version any
topic brought (:meth:`Spool.batches`).

Nothing reaches the store before that transaction, so a run that fails
half-way (an HTTP fault, Ctrl-C, a crash) still stores nothing, and no
database lock is held while the network is read. The file has no name on
Linux (``O_TMPFILE``) and is deleted on close elsewhere, so a failed or
killed run leaves no spool behind. ``update`` puts it in the project's
state folder (on disk, where the run's lock is; not a ``/tmp`` that may be
RAM), and any failure to write or read it (a full disk) is a
:class:`SpoolError` naming the spool and its folder. Pickle is safe here:
the file is this process's own, opened ``0600`` and never read by anything
else.
"""

from __future__ import annotations

import dataclasses
import operator
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from dailypapers.models import Author, Paper
from dailypapers.plan import TopicPlan
from dailypapers.sources.base import TopicFetch

_FIELDS = tuple(f.name for f in dataclasses.fields(Paper))
_AUTHORS = _FIELDS.index("authors")
_values = operator.attrgetter(*_FIELDS)


def _record(paper: Paper) -> bytes:
    """A paper's spool record: its fields as a pickled tuple, authors as plain pairs.

    Pickling the dataclasses themselves costs a ``dataclasses.fields`` call
    a paper and one an author (their ``__getstate__``); this is about half
    the time, for the same paper back (:func:`_paper`).
    """
    values = list(_values(paper))
    values[_AUTHORS] = tuple((a.name, a.affiliations) for a in paper.authors)
    return pickle.dumps(tuple(values), protocol=pickle.HIGHEST_PROTOCOL)


def _paper(record: bytes) -> Paper:
    values = pickle.loads(record)
    if not isinstance(values, tuple) or len(values) != len(_FIELDS):
        raise TypeError("not a spooled paper")
    fields = list(values)
    fields[_AUTHORS] = tuple(Author(name, affiliations) for name, affiliations in values[_AUTHORS])
    return Paper(*fields)


class SpoolError(OSError):
    """The spool could not be written or read (one line: the spool, its folder, why)."""


@dataclass(frozen=True, slots=True)
class Spooled:
    """One spooled paper: what the transaction needs without reading its record."""

    id: str
    version: int
    updated: datetime
    offset: int
    size: int

    def newer_than(self, other: Spooled) -> bool:
        """The order of :meth:`dailypapers.models.Paper.is_newer_than`."""
        return (self.version, self.updated) > (other.version, other.updated)


@dataclass
class SpooledTopic:
    """One topic's fetch as spooled: its plan and the keys of its papers (not the papers)."""

    plan: TopicPlan
    papers: list[Spooled] = field(default_factory=list)
    evaluated_until: datetime | None = None
    total: int | None = None
    top: datetime | None = None
    dated: bool = False
    fetched_at: datetime | None = None


class Spool:
    """The papers a run has fetched so far, one topic at a time, in a temporary file."""

    def __init__(self, directory: str | Path | None = None) -> None:
        """A spool in ``directory`` (``None``: the system's temporary folder)."""
        self.directory = Path(directory if directory is not None else tempfile.gettempdir())
        self._end = 0
        self.topics: list[SpooledTopic] = []
        with self._faults("create"):
            # Open for the spool's life (closed by close()); no name on Linux.
            self._file: IO[bytes] = tempfile.TemporaryFile(dir=self.directory)  # noqa: SIM115

    @contextmanager
    def _faults(self, doing: str) -> Iterator[None]:
        """An ``OSError`` while ``doing`` becomes a :class:`SpoolError` naming the folder."""
        try:
            yield
        except SpoolError:
            raise
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
            raise SpoolError(
                f"cannot {doing} the run's spool of fetched papers in {self.directory}: {why}"
            ) from exc

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Delete the file (it has no name: closing it frees the disk space)."""
        self._file.close()

    def add(self, fetched: TopicFetch) -> None:
        """Write one topic's papers to the file; keep their keys."""
        keys = []
        with self._faults("write"):
            self._file.seek(self._end)  # after the end, even once records were read back
            for paper in fetched.papers:
                record = _record(paper)
                self._file.write(record)
                keys.append(Spooled(paper.id, paper.version, paper.updated, self._end, len(record)))
                self._end += len(record)
        self.topics.append(
            SpooledTopic(
                fetched.plan,
                keys,
                fetched.evaluated_until,
                fetched.total,
                fetched.top,
                fetched.dated,
                fetched.fetched_at,
            )
        )

    def extend(self, fetched: Iterable[TopicFetch]) -> None:
        """:meth:`add` each topic in turn."""
        for item in fetched:
            self.add(item)
            del item  # not held while the source fetches the next topic

    def ids(self) -> set[str]:
        """Every spooled paper's id."""
        return {key.id for topic in self.topics for key in topic.papers}

    def batches(self, size: int) -> Iterator[list[Paper]]:
        """Every spooled paper once, at its newest version, in id order, ``size`` at a time.

        Each id is in exactly one batch, so what a batch counts as new or
        revised is what the whole run brought. Can be read again (a
        transaction the database aborted is retried).
        """
        newest: dict[str, Spooled] = {}
        for topic in self.topics:
            for key in topic.papers:
                if key.id not in newest or key.newer_than(newest[key.id]):
                    newest[key.id] = key
        with self._faults("write"):
            self._file.flush()  # a full disk may only show here (buffered writes)
        ids = sorted(newest)
        for start in range(0, len(ids), size):
            yield [self._read(newest[paper_id]) for paper_id in ids[start : start + size]]

    def _read(self, key: Spooled) -> Paper:
        with self._faults("read"):
            self._file.seek(key.offset)
            data = self._file.read(key.size)
        try:
            return _paper(data)
        except TypeError:
            raise TypeError(f"spooled record of {key.id} is not a paper") from None
