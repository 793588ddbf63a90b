"""A day arXiv's calendar skips, decided and recorded without the store's libraries.

``update`` on a day with no announcement since the topics' last fetch
(:mod:`dailypapers.announcement`, ``SKIP``) sends nothing and stores
nothing; what it costs is starting up. This module decides that case with
the standard library's ``sqlite3`` (no SQLAlchemy, HTTP client, templates
or renderers) and records the run as the full path would: a ``runs`` row
``update`` / ``no announcement``, under the project's lock.

It only answers when the answer is certain; anything else returns ``False``
and the ordinary run decides (and reports any problem) as before:

* nothing would make the full run do more than skip: no ``--force``, not the
  local source, no notification channel (a failed one is retried on any
  run), no summaries, no library, not inside GitHub Actions (its step
  outputs are written by the full path);
* the outputs would be rewritten byte-identical: the last complete
  ``update`` left a stamp (:func:`remember`) of the config file, the
  ``DAILYPAPERS_*`` environment and the version it rendered with, they are
  unchanged, every configured output still exists, and no run since then
  was anything but a skipped ``update`` (a ``fetch``, ``backfill`` or a run
  left ``running`` sends it to the full path);
* the store is a SQLite file that is not damaged, and every topic has been
  fetched, late enough after the last announcement to skip.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from dailypapers import __version__
from dailypapers.clock import NOW_ENV
from dailypapers.config import Config
from dailypapers.masking import SECRET_ENV
from dailypapers.plan import TopicPlan, plan_topics
from dailypapers.runlock import project_lock
from dailypapers.sqlite_health import damage

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


def fingerprint(config: Config) -> str:
    """What the outputs were rendered from: config file, environment, version."""
    digest = hashlib.sha256(config.path.read_bytes())
    env = sorted(
        (k, "(secret)" if k in SECRET_ENV else v)  # no secret's value, not even hashed
        for k, v in os.environ.items()
        if k.startswith("DAILYPAPERS_") and k != NOW_ENV
    )
    digest.update(json.dumps([env, __version__]).encode())
    return digest.hexdigest()


def remember(config: Config, run_id: int) -> None:
    """After a complete ``update``: the stamp a later skipped day compares with."""
    path = config.state_dir / STAMP_NAME
    temp = path.with_name(path.name + ".tmp")
    try:  # a stamp left from an older run names an older run: the full path decides
        stamp = {"fingerprint": fingerprint(config), "run": run_id}
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
    database = _database(config)
    if database is None or not _eligible(config, source):
        return None
    started = time.monotonic()
    with project_lock(config, lock_timeout) as lock:
        run = _stamped_run(config)
        if run is None or damage(database) is not None:
            return None
        uri = f"file:{quote(str(database))}?mode=rw"
        with closing(sqlite3.connect(uri, uri=True, timeout=lock_timeout)) as conn:
            if not _quiet_since(conn, run) or not _skips(conn, config, plan_topics(config), now):
                return None
            status = quiet_status(config, now)
            with conn:
                _record(conn, status, now, lock)
    return summary(status, len(config.settings.topics), time.monotonic() - started)


def quiet_status(config: Config, now: datetime) -> str:
    """No new paper: arXiv's calendar says why (weekend, holiday), or this project has it all."""
    if not config.calendar.announced_since(now - timedelta(hours=24), now):
        return NO_ANNOUNCEMENT
    return NOTHING_NEW


def summary(status: str, topics: int, seconds: float) -> str:
    """``RunReport.summary`` of a run that sent nothing and wrote nothing."""
    plural = "s" if topics != 1 else ""
    return f"{HEADLINES[status]}: {topics} topic{plural}, 0 requests, {seconds:.1f} s"


def _database(config: Config) -> Path | None:
    url = config.db_url
    if not url.startswith("sqlite:///") or url.startswith("sqlite:///:memory:") or "?" in url:
        return None
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_file() else None


def _eligible(config: Config, source: str | None) -> bool:
    settings = config.settings
    outputs = {
        "readme": config.readme_path,
        "json": config.json_path,
        "feeds": config.feeds_dir,
        "site": config.site_dir,
    }
    return (
        (source or settings.arxiv.source) != "local"
        and not settings.notify.channels
        and settings.summaries is None
        and not settings.library.paths
        and not any(os.environ.get(name) for name in ACTIONS_ENV)
        and all(outputs[name].exists() for name in settings.outputs)
    )


def _stamped_run(config: Config) -> int | None:
    """The run that left the stamp, when the stamp matches this config."""
    try:
        stamp = json.loads((config.state_dir / STAMP_NAME).read_text(encoding="utf-8"))
        run = stamp["run"]
        matches = stamp["fingerprint"] == fingerprint(config)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return run if matches and isinstance(run, int) else None


def _quiet_since(conn: sqlite3.Connection, run: int) -> bool:
    """Whether no run but skipped ``update`` runs followed ``run``, and none is running."""
    rows = conn.execute(
        "SELECT command, status FROM runs WHERE id > ? OR status = ?", (run, RUNNING)
    ).fetchall()
    return all(command == COMMAND and status in HEADLINES for command, status in rows)


def _skips(
    conn: sqlite3.Connection, config: Config, plans: Sequence[TopicPlan], now: datetime
) -> bool:
    """``announcement.decide`` is ``SKIP``: each topic fetched after the index lag."""
    stamps = []
    for plan in plans:
        row = conn.execute(
            "SELECT s.fetched_at FROM topics t JOIN topic_fetch_state s ON s.topic_id = t.id "
            "WHERE t.name = ? AND t.query = ?",
            (plan.topic.name, plan.query_string),
        ).fetchone()
        if row is None:
            return False
        stamps.append(_read_time(row[0]))
    announced = config.calendar.last_announcement(now)
    return bool(stamps) and min(stamps) >= announced + config.index_lag


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
            str(lock),
        ),
    )
