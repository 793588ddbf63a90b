"""A day arXiv's calendar skips, decided and recorded without the store's libraries.

``update`` on a day with no announcement since the topics' last fetch
(:mod:`dailypapers.announcement`, ``SKIP``) sends nothing and stores
nothing; what it costs is starting up. This module decides that case with
the standard library's ``sqlite3`` (no SQLAlchemy, HTTP client, templates
or renderers) and records the run as the full path would: a ``runs`` row
``update`` / ``no announcement``, under the project's lock.

It only answers when the answer is certain; anything else returns ``None``
and the ordinary run decides (and reports any problem) as before:

* nothing would make the full run do more than skip: no ``--force``, not the
  local source, no notification channel (a failed one is retried on any
  run), no summaries, no library, not inside GitHub Actions (its step
  outputs are written by the full path);
* the outputs would be rewritten byte-identical: the last complete
  ``update`` left a stamp (:func:`remember`) of the config file, the
  ``DAILYPAPERS_*`` environment and the versions it rendered with, they are
  unchanged, every configured output is as that run left it (size and
  mtime of each file, :func:`output_state`), and no run since then
  was anything but a skipped ``update`` (a ``fetch``, ``backfill`` or a run
  left ``running`` sends it to the full path);
* the store is a SQLite file that is not damaged, and every topic has been
  fetched, late enough after the last announcement to skip.

The stamp also keeps what the skip needs of the config it was written from
(:class:`Facts`: the store, the outputs, the topics' queries, the calendar),
so :func:`quick_skip` decides from the stamp alone, without click or the
config's pydantic models (:mod:`dailypapers.entry` asks it first): the same
fingerprint means this exact config, environment and version, which the
full run validated. A config with warnings, paths that resolve elsewhere
now (a moved symlink), or a stamp that does not check take the full path.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import sqlite3
import stat
import sys
import time
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dailypapers import __version__
from dailypapers.arxiv.calendar import Calendar
from dailypapers.clock import NOW_ENV, run_clock
from dailypapers.errors import ConfigError
from dailypapers.masking import SECRET_ENV
from dailypapers.names import STATE_DIR_NAME, config_path
from dailypapers.runlock import state_lock
from dailypapers.sqlite_health import damage, file_uri, path_text, sqlite_path

if TYPE_CHECKING:
    from dailypapers.config import Config

STAMP_NAME = "update.stamp"
COMMAND = "update"
# schema.RunStatus's values (that module loads SQLAlchemy; a test checks they match)
NO_ANNOUNCEMENT, NOTHING_NEW, RUNNING = "no announcement", "nothing new", "running"
HEADLINES = {
    NO_ANNOUNCEMENT: "no announcement today",
    NOTHING_NEW: "nothing new since the last run",
}
ACTIONS_ENV = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
PROGRESS = "arXiv has announced nothing since the last run (its calendar)"
FOLDERS = frozenset({"feeds", "site"})  # outputs that are folders; the others are files
# What the skip reads at most; a larger config or stamp is left to the full path.
CONFIG_LIMIT = 4 * 1024 * 1024
STAMP_LIMIT = 16 * 1024 * 1024
MAX_FILES = 20_000  # files of an output folder the stamp keeps the size and mtime of


@dataclass(frozen=True)
class Facts:
    """What the skip needs of a validated config (kept in the stamp as JSON)."""

    config: str  # the config file
    store: str | None  # the SQLite file, or None for another database
    source: str  # [arxiv] source
    quiet: bool  # no notification channel, summaries or library
    warnings: bool  # loading the config printed warnings (the quick path would not)
    topics: list[list[str]]  # [name, the query sent to arXiv] per topic
    outputs: dict[str, str]  # enabled output -> its path
    resolved: dict[str, list[str]]  # the paths the config's checks resolve: [path, resolved]
    holidays: list[str]  # [calendar] holidays, ISO dates
    index_lag_hours: float

    @classmethod
    def of(cls, config: Config, *, resolve: bool = True) -> Facts:
        """The facts of ``config``; without ``resolve``, no ``resolved`` paths (only the
        stamp needs them: :func:`remember` writes them, :func:`quick_skip` compares)."""
        from dailypapers.plan import plan_topics

        settings = config.settings
        outputs = {
            "readme": config.readme_path,
            "json": config.json_path,
            "feeds": config.feeds_dir,
            "site": config.site_dir,
        }
        store = sqlite_path(config.db_url)
        checked = {"base": config.base_dir, "state": config.state_dir, "config": config.path}
        checked |= outputs | ({"store": store} if store is not None else {})
        return cls(
            config=str(config.path),
            store=str(store) if store is not None and "?" not in config.db_url else None,
            source=settings.arxiv.source,
            quiet=not settings.notify.channels
            and settings.summaries is None
            and not settings.library.paths,
            warnings=bool(config.warnings),
            topics=[[plan.topic.name, plan.query_string] for plan in plan_topics(config)],
            outputs={name: str(outputs[name]) for name in settings.outputs},
            resolved={key: [str(path), str(path.resolve())] for key, path in checked.items()}
            if resolve
            else {},
            holidays=[day.isoformat() for day in settings.calendar.holidays],
            index_lag_hours=settings.arxiv.index_lag_hours,
        )

    @classmethod
    def load(cls, data: Any) -> Facts | None:
        """The facts a stamp carries, or ``None`` when they are not what :meth:`of` writes."""
        try:
            facts = cls(**data)
            pairs = [*facts.topics, *facts.resolved.values()]
            texts = [facts.config, facts.source, *facts.outputs.items(), *pairs]
            sound = all(isinstance(t, str) for t in _flat(texts) + facts.holidays)
            sound &= all(len(pair) == 2 for pair in pairs) and _number(facts.index_lag_hours)
            sound &= facts.store is None or isinstance(facts.store, str)
            facts.calendar.last_announcement(datetime.now(UTC))  # the holidays are dates
        except (TypeError, ValueError, AttributeError):
            return None
        return facts if sound and facts.quiet is True and facts.warnings is False else None

    @property
    def calendar(self) -> Calendar:
        return Calendar(date.fromisoformat(day) for day in self.holidays)


def _flat(values: list[Any]) -> list[Any]:
    """Strings as they are; pairs and lists one level down."""
    return [v for value in values for v in ([value] if isinstance(value, str) else value)]


# A stamp or stored value the skip cannot read (a damaged time, an absurd
# number): nothing is written before these can raise, and the full run decides.
_DOUBTS = (ValueError, TypeError, OverflowError, RuntimeError)  # RuntimeError: pathlib's
# symlink loops and unknown users (``~nobody/papers.toml``) on Python 3.11


def _number(value: object) -> bool:
    """A finite number of sane size (a stamp's JSON may say NaN, Infinity or 1e300)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < 1e6
    )


def fingerprint(config_digest: str) -> str:
    """What the outputs were rendered from: the config bytes (digest), environment, versions.

    ``config_digest`` is :func:`content_digest` of the bytes the config was
    loaded from (``Config.digest``), never of the file as it is later: a file
    edited during a run must not be vouched for by that run's stamp.
    """
    digest = hashlib.sha256(config_digest.encode())
    env = sorted(
        (k, "(secret)" if k in SECRET_ENV else v)  # no secret's value, not even hashed
        for k, v in os.environ.items()
        if k.startswith("DAILYPAPERS_") and k != NOW_ENV
    )
    digest.update(json.dumps([env, __version__, sys.version]).encode())
    return digest.hexdigest()


def content_digest(data: bytes) -> str:
    """The digest ``load_config`` keeps of a config file's bytes (``Config.digest``)."""
    return hashlib.sha256(data).hexdigest()


def read_small(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes, or ``None`` for anything else (a FIFO, a device, over ``limit``).

    Opened without blocking (a FIFO in its place must not hang the skip) and
    read no further than ``limit``: whatever is not a small file is left to
    the full path.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = file.read(limit + 1)
    return data if len(data) <= limit else None


def remember(config: Config, run_id: int) -> None:
    """After a complete ``update``: the stamp a later skipped day compares with."""
    if not config.digest:  # a Config not loaded from bytes: nothing to vouch for
        return
    path = config.state_dir / STAMP_NAME
    temp = path.with_name(path.name + ".tmp")
    try:  # a stamp left from an older run names an older run: the full path decides
        facts = asdict(Facts.of(config))
        mark = fingerprint(config.digest)  # the bytes this run loaded, not the file now
        outputs = output_state(facts["outputs"])
        stamp = {"fingerprint": mark, "run": run_id, "facts": facts, "outputs": outputs}
        stamp["check"] = _check(stamp)
        temp.write_text(json.dumps(stamp), encoding="utf-8")
        temp.replace(path)
    except OSError:
        pass  # no stamp: the next skipped day takes the full path


def skipped(
    config: Config, now: datetime, *, source: str | None, lock_timeout: float
) -> str | None:
    """Record this ``update`` as skipped by the calendar when that is certain (see above).

    Returns the run's summary line (as ``RunReport.summary`` words it), or
    ``None``: then nothing was written and the full run decides.
    """
    if not config.digest:  # a Config not loaded from bytes: the full run decides
        return None
    try:
        facts = Facts.of(config, resolve=False)  # not compared with the stamp's here
        mark = fingerprint(config.digest)
        return _skip(facts, mark, now, source=source, lock_timeout=lock_timeout)
    except _DOUBTS:  # e.g. a damaged time in the store: the full run reads and reports it
        return None


def quick_skip(explicit: str | None, *, source: str | None, lock_timeout: float) -> str | None:
    """:func:`skipped` for ``update --config explicit`` from the stamp alone (no config models).

    ``None`` when the stamp does not vouch for the config as it is now (see
    above) or anything is in doubt: the full run then loads the config and
    decides, and reports any problem, as ever. Raises only ``RunFailed``
    (the project's lock), as the full run would.
    """
    try:
        config_file = config_path(explicit)  # the working folder may be gone
        content = read_small(config_file, CONFIG_LIMIT)
        if content is None:
            return None
        mark = fingerprint(content_digest(content))
        stamp = _stamp(config_file, mark)
        facts = Facts.load(stamp.get("facts")) if stamp else None
        if facts is None or not _resolves_as_checked(facts, config_file):
            return None
        now = run_clock()
        return _skip(facts, mark, now, source=source, lock_timeout=lock_timeout, stamped=True)
    except (ConfigError, OSError, sqlite3.Error, *_DOUBTS):  # the clock, the stamp, the store
        return None


def quiet_status(calendar: Calendar, now: datetime) -> str:
    """No new paper: arXiv's calendar says why (weekend, holiday), or this project has it all."""
    if not calendar.announced_since(now - timedelta(hours=24), now):
        return NO_ANNOUNCEMENT
    return NOTHING_NEW


def summary(status: str, topics: int, seconds: float) -> str:
    """``RunReport.summary`` of a run that sent nothing and wrote nothing."""
    plural = "s" if topics != 1 else ""
    return f"{HEADLINES[status]}: {topics} topic{plural}, 0 requests, {seconds:.1f} s"


def _skip(
    facts: Facts,
    mark: str,
    now: datetime,
    *,
    source: str | None,
    lock_timeout: float,
    stamped: bool = False,
) -> str | None:
    """The skip for ``facts`` of the config whose :func:`fingerprint` is ``mark``.

    ``stamped``: the facts come from the stamp, which must still say so.
    """
    if facts.store is None or not Path(facts.store).is_file() or not _eligible(facts, source):
        return None
    database, config_file = Path(facts.store), Path(facts.config)
    started = time.monotonic()
    with state_lock(config_file.parent / STATE_DIR_NAME, lock_timeout) as lock:
        stamp = _stamp(config_file, mark)
        if stamp is None or (stamped and stamp.get("facts") != asdict(facts)):
            return None
        recorded = stamp.get("outputs")
        if not isinstance(recorded, dict) or None in recorded.values():
            return None
        if recorded != output_state(facts.outputs):  # an output changed since: re-render
            return None
        if damage(database) is not None:
            return None
        uri = file_uri(database, "rw")
        with closing(sqlite3.connect(uri, uri=True, timeout=lock_timeout)) as conn:
            if not _quiet_since(conn, stamp["run"]) or not _skips(conn, facts, now):
                return None
            if _has_library(conn):  # `library import` records no run: ranks anew, re-renders
                return None
            status = quiet_status(facts.calendar, now)
            with conn:
                _record(conn, status, now, lock)
    return summary(status, len(facts.topics), time.monotonic() - started)


def _eligible(facts: Facts, source: str | None) -> bool:
    return (
        (source or facts.source) != "local"
        and facts.quiet
        and not any(os.environ.get(name) for name in ACTIONS_ENV)
        and all(_present(name, Path(path)) for name, path in facts.outputs.items())
    )


def _present(output: str, path: Path) -> bool:
    """The output as a complete run leaves it: a folder for feeds and site, else a file."""
    return path.is_dir() if output in FOLDERS else path.is_file()


def _resolves_as_checked(facts: Facts, config_file: Path) -> bool:
    """The config's path checks (outputs, store, state) would see what they saw then."""
    return facts.config == str(config_file) and all(
        str(Path(path).resolve()) == resolved for path, resolved in facts.resolved.values()
    )


def _check(stamp: dict[str, Any]) -> str:
    """A digest of a stamp's content: a damaged or hand-edited stamp takes the full path."""
    text = json.dumps({k: v for k, v in stamp.items() if k != "check"}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def output_state(outputs: dict[str, str]) -> dict[str, Any]:
    """Each output as a run left it: a file's size and mtime; a folder's, of every file in it.

    A skipped day leaves the outputs alone, so they must still be what the
    last complete run wrote: an output edited, restored from an older commit
    or missing a file (a feed deleted) is rewritten by the full run. ``None``
    for a folder of more than :data:`MAX_FILES` files: not vouched for.
    """
    return {name: _state(Path(path)) for name, path in sorted(outputs.items())}


def _state(path: Path) -> list[Any] | None:
    try:
        info = path.stat()
        if not stat.S_ISDIR(info.st_mode):
            return [info.st_size, info.st_mtime_ns]
        files: list[Any] = []
        _folder_state(str(path), "", files)
    except (OSError, RecursionError, _TooMany):  # changing while read, too deep or large
        return None
    return files


class _TooMany(Exception):
    """An output folder of more than :data:`MAX_FILES` files."""


def _folder_state(folder: str, prefix: str, files: list[Any]) -> None:
    """``[relative path, size, mtime]`` of each file under ``folder``, sorted; no link followed."""
    with os.scandir(folder) as entries:
        ordered = sorted(entries, key=lambda entry: entry.name)
    for entry in ordered:
        if entry.is_dir(follow_symlinks=False):
            _folder_state(entry.path, f"{prefix}{entry.name}/", files)
            continue
        each = entry.stat(follow_symlinks=False)
        files.append([prefix + entry.name, each.st_size, each.st_mtime_ns])
        if len(files) > MAX_FILES:
            raise _TooMany


def _stamp(config_file: Path, expected: str) -> dict[str, Any] | None:
    """The stamp, when its fingerprint is ``expected`` (this config, environment) and it checks."""
    try:
        text = read_small(config_file.parent / STATE_DIR_NAME / STAMP_NAME, STAMP_LIMIT)
        if text is None:
            return None
        stamp = json.loads(text)
        mark, run = stamp["fingerprint"], stamp["run"]
        sound = stamp["check"] == _check(stamp)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):  # deep nesting too
        return None
    if not sound or not isinstance(run, int) or mark != expected:
        return None
    return stamp  # type: ignore[no-any-return]


def _has_library(conn: sqlite3.Connection) -> bool:
    """``schema.has_library``: a stored library (``library import``) ranks the outputs."""
    return conn.execute("SELECT id FROM library_items LIMIT 1").fetchone() is not None


def _quiet_since(conn: sqlite3.Connection, run: int) -> bool:
    """Whether no run but skipped ``update`` runs followed ``run``, and none is running."""
    rows = conn.execute(
        "SELECT command, status FROM runs WHERE id > ? OR status = ?", (run, RUNNING)
    ).fetchall()
    return all(command == COMMAND and status in HEADLINES for command, status in rows)


def _skips(conn: sqlite3.Connection, facts: Facts, now: datetime) -> bool:
    """``announcement.decide`` is ``SKIP``: each topic fetched after the index lag."""
    stamps = []
    for name, query in facts.topics:
        row = conn.execute(
            "SELECT s.fetched_at FROM topics t JOIN topic_fetch_state s ON s.topic_id = t.id "
            "WHERE t.name = ? AND t.query = ?",
            (name, query),
        ).fetchone()
        if row is None:
            return False
        stamps.append(_read_time(row[0]))
    announced = facts.calendar.last_announcement(now)
    return bool(stamps) and min(stamps) >= announced + timedelta(hours=facts.index_lag_hours)


def _read_time(value: str) -> datetime:
    """A time as SQLAlchemy stores it in SQLite (naive UTC text)."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _write_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _record(conn: sqlite3.Connection, status: str, now: datetime, lock: Path) -> None:
    """The ``runs`` row the full path writes for a skipped day (0 requests, 0 papers)."""
    conn.execute(
        "INSERT INTO runs (command, started_at, finished_at, status, requests, bytes, "
        "new_papers, revised_papers, error, host, pid, lock) "
        "VALUES (?, ?, ?, ?, 0, 0, 0, 0, NULL, ?, ?, ?)",
        (
            COMMAND,
            _write_time(now),
            _write_time(datetime.now(UTC)),
            status,
            socket.gethostname(),
            os.getpid(),
            path_text(lock),
        ),
    )
