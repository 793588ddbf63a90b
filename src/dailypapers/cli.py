"""The ``dailypapers`` command: a thin click layer over the library."""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.exceptions import NoArgsIsHelpError

from dailypapers import __version__
from dailypapers.errors import (
    EXIT_CLOSED_OUTPUT,
    closed_output,
    full_disk,
    lost_connection,
    silence_closed_output,
    unexpected,
)
from dailypapers.models import counted, cut, strip_controls
from dailypapers.names import CONFIG_ENV, MAX_SECONDS, OAI_FORMATS, SOURCES
from dailypapers.publish.files import write_atomic
from dailypapers.workflow import DEFAULT_INSTALL, WORKFLOW_PATH, upgrade_hint

# Each command imports what it uses in its body: `dailypapers --help` and a
# skipped run must not pay for SQLAlchemy, httpx, pydantic, jinja2 or rich.
if TYPE_CHECKING:
    from rich.console import Console

    from dailypapers.config import Config
    from dailypapers.notify import Outcome
    from dailypapers.pipeline import RunReport, SourceFactory
    from dailypapers.scaffold import Undo
    from dailypapers.search import Hit

FAILED = "failed"  # pipeline.FAILED, without importing the pipeline
F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1
EXIT_USAGE = 2
MAX_SEARCH_LIMIT = 10_000
ARXIV_START_YEAR = 1991
LAST_YEAR = 9900  # models.MAX_YEAR: date arithmetic overflows near year 9999


class Failure(click.ClickException):
    """A one-line error with the run-failure exit code."""

    exit_code = EXIT_FAILED

    def show(self, file: Any = None) -> None:
        # One line, as it reads: a path or a value the user gave may carry a line break,
        # a bidi override (U+202E shows the rest reversed) or a terminal escape.
        click.echo(" ".join(strip_controls(self.message).split()), err=True)


class UsageFailure(Failure):
    exit_code = EXIT_USAGE


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=CONFIG_ENV,
        help=f"Config file (default: ./papers.toml; env {CONFIG_ENV}).",
    )(func)


class Seconds(click.FloatRange):
    """A number of seconds in a range, and finite: ``FloatRange`` lets ``nan`` through (no
    comparison is true of it), and ``inf`` or ``1e300`` overflowed the deadline's timer."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds) or seconds > MAX_SECONDS:
            self.fail(f"{value!r} is not a number of seconds up to {MAX_SECONDS:.0e}.", param, ctx)
        return seconds


def wait_option(func: F) -> F:
    return click.option(
        "--wait",
        type=Seconds(min=0),
        default=60.0,
        show_default=True,
        help="Seconds to wait for another run on the same project to finish.",
    )(func)


def debug_option(func: F) -> F:
    return click.option(
        "--debug", is_flag=True, help="Show tracebacks and HTTP details on errors."
    )(func)


def handle_errors(func: F) -> F:
    """Turn library errors into one-line messages and exit codes (2: usage, 1: failed)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("debug"):
            import logging

            logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if closed_output(exc):
                raise  # `| head`: Group.invoke ends quietly
            if line := full_disk(exc) or lost_connection(exc):  # or stdout into /dev/full
                raise Failure(f"dailypapers: failed: {line}") from None
            if _raised(exc, "dailypapers.config", "ConfigError"):
                raise UsageFailure(f"dailypapers: config error: {exc}") from None
            if line := _failed_run(exc):
                raise Failure(f"dailypapers: failed: {line}") from None
            if isinstance(exc, click.ClickException | click.exceptions.Exit | click.Abort):
                raise  # already one line and an exit code
            if line := unusable_path(exc):  # a path given that no system call takes
                raise UsageFailure(f"dailypapers: {line}") from None
            # Anything else (a bug, or a stored value the code cannot read): still one
            # line, naming the error; --debug shows where it came from.
            raise Failure(unexpected(exc)) from None

    return wrapper  # type: ignore[return-value]


def _failed_run(exc: Exception) -> str | None:
    """The line of a run that failed for a reason the library names (``None``: another)."""
    if (
        _raised(exc, "dailypapers.runlock", "RunFailed")
        or _raised(exc, "dailypapers.store", "StoreError")
        or _raised(exc, "dailypapers.models", "StoredValueError")
    ):
        return str(exc)
    if _raised(exc, "sqlalchemy.exc", "DBAPIError"):  # a read: a connection lost midway
        from dailypapers.store import database_error

        return database_error(exc)  # type: ignore[arg-type]
    return None


def unusable_path(exc: BaseException) -> str | None:
    """One line for a path the user gave that no file can have: a name too long, a
    symbolic link that points at itself (``None``: another error)."""
    if isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop from "):
        return f"{cut(str(exc), 200)}: a symbolic link that leads back to itself"
    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
        name = cut(str(exc.filename), 80) if exc.filename is not None else "a path"
        return f"{name}: {exc.strerror}"
    return None


def _raised(exc: Exception, module: str, name: str) -> bool:
    """``isinstance(exc, module.name)``; a module never imported raised nothing."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))


def _load(config_file: Path | None, strict: bool = False) -> Config:
    from dailypapers.config import load_config

    config = load_config(config_file, strict=strict)
    for warning in config.warnings:
        click.echo(f"dailypapers: warning: {warning}", err=True)
    return config


def _config_path(config_file: Path | None) -> Path:
    from dailypapers.config import config_path

    return config_path(config_file)


class PlainStderr:
    """What the commands use of rich's stderr console, for a pipe: plain lines, no rich loaded."""

    is_terminal = False

    def print(self, message: str) -> None:
        click.echo(message, err=True)

    @contextmanager
    def status(self, message: str, spinner: str = "") -> Iterator[PlainStderr]:
        yield self  # no spinner off a terminal: each progress message is a line

    def update(self, message: str) -> None:
        pass


def _stderr() -> Console | PlainStderr:
    if not _may_be_terminal(sys.stderr):  # cron, CI, a log file, closed: rich is not needed
        return PlainStderr()
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _config_first(exc: click.UsageError, group: click.Group) -> bool:
    """Whether ``exc`` is ``--config`` given before the command (the group has none)."""
    return (
        isinstance(exc, click.NoSuchOption)
        and exc.option_name == "--config"
        and exc.ctx is not None
        and exc.ctx.command is group
    )


class Group(click.Group):
    """A click group whose usage errors are one line: ``dailypapers update: no such option...``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except NoArgsIsHelpError as exc:  # bare `dailypapers`: help is the answer, not an error
            click.echo(exc.ctx.get_help() if exc.ctx else self.get_help(click.Context(self)))
            sys.exit(0)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx else "dailypapers"
            message = exc.format_message().rstrip(".")
            hint = f"try '{command} --help'"
            if _config_first(exc, self):  # `dailypapers --config X update`
                hint = "it goes after the command: 'dailypapers update --config FILE'"
            click.echo(f"{command}: {message} ({hint})", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("dailypapers: aborted", err=True)
            sys.exit(EXIT_FAILED)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a reader that closed our stdout (``| head``) ends it quietly.

        Exit 141, as a shell reports ``yes | head``: what was done (a run's
        writes, its ``runs`` row) is kept; only the rest of the printing is lost.
        """
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            if not closed_output(exc):
                if line := lost_connection(exc):
                    raise Failure(f"dailypapers: failed: {line}") from None
                raise
            silence_closed_output()
            sys.exit(EXIT_CLOSED_OUTPUT)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dailypapers")
def cli() -> None:
    """Keep a research group on top of arXiv.

    Name topics in papers.toml; `dailypapers update` fetches the newest papers
    for each, stores them, and writes a README with one table per topic (the
    DailyArXiv README format).
    """
    from dailypapers.masking import install_log_filter

    install_log_filter()  # no secret in any log line, whatever the command


def install_option(func: F) -> F:
    return click.option(
        "--install",
        default=DEFAULT_INSTALL,
        show_default=True,
        metavar="SPEC",
        help="What the workflow installs with pip (a version, a git URL, a path).",
    )(func)


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.option(
    "--github", is_flag=True, help="Also write .github/workflows/daily-papers.yml (daily run)."
)
@install_option
@handle_errors
def init(config_file: Path | None, force: bool, github: bool, install: str) -> None:
    """Write a commented papers.toml with two example topics.

    With --github, also write a GitHub Actions workflow that runs `dailypapers
    update` every weekday and commits the changed outputs. Existing files are
    kept (not an error) unless --force.
    """
    from dailypapers.scaffold import Undo, write_config

    if install != DEFAULT_INSTALL and not github:  # it would be ignored
        raise UsageFailure("dailypapers: --install is what the workflow installs: add --github")
    path = _config_path(config_file)
    files: list[tuple[Path, Callable[[Path], None]]] = [(path, write_config)]
    if github:
        # The workflow as it will be: for the config that will be there then (a new one
        # has no [notify.github]); rendered now, so a bad --install writes nothing.
        kept = path.exists() and not force
        text = _kept_config_workflow(path, install) if kept else _workflow_text(False, install)
        files.append((path.parent / WORKFLOW_PATH, lambda p: write_atomic(p, text)))
    for target, _ in files:  # every check before any write: all or nothing
        _check_writable(target, force)
    undo = Undo()
    try:
        written = [_write_unless_exists(target, force, write, undo) for target, write in files]
    except Failure:
        undo.undo()
        raise
    if github and written[-1]:
        click.echo(upgrade_hint(install))
        _note_install(install)
        _warn_below_the_repository(path.parent)
    if not any(written):
        click.echo("nothing written; 'dailypapers init --force' overwrites the kept files")
        return
    click.echo("next: edit the topics, then run 'dailypapers update'")
    if written[0]:  # the new config's README path (a kept config may name another)
        _warn_of_own_readme(path.parent / "README.md")


def _warn_below_the_repository(folder: Path) -> None:
    """GitHub runs only the workflows at its repository's root: say so when the workflow
    was written in a folder below one (the workflow runs the project at the root)."""
    from dailypapers.workflow import repository_root

    root = repository_root(folder)
    if root is not None and root != folder.resolve():
        click.echo(
            f"note: {folder} is below the repository's root {root}: GitHub runs only "
            f"workflows in {root / WORKFLOW_PATH}, and runs them at the root; keep "
            "papers.toml and .github/ at the root",
            err=True,
        )


def _warn_of_own_readme(readme: Path) -> None:
    """A README already there that dailypapers would not replace: say so before ``update``
    stops on it (the default ``[readme] path``, beside the config just written)."""
    from dailypapers.render.markdown import replaceable

    if not replaceable(readme):
        click.echo(
            f"note: {readme.name} here was not written by dailypapers and is never replaced; "
            "'update' stops until it is moved away or [readme] path names another file",
            err=True,
        )


def _workflow_text(
    issues: bool, install: str, store: str | None = None, shared: bool = False
) -> str:
    from dailypapers.workflow import render_workflow

    _check_install(install)  # the store's path is checked before (cacheable)
    return render_workflow(issues=issues, install=install, store=store, shared=shared)


def _check_install(install: str) -> None:
    from dailypapers.workflow import check_install

    try:
        check_install(install)
    except ValueError as exc:
        raise UsageFailure(f"dailypapers: --install: {exc}") from None


def _config_workflow(path: Path, install: str) -> str:
    """The workflow for the config at ``path``: its ``[notify.github]`` (``issues:
    write``) and its store (cached, never committed). A config error raises."""
    from dailypapers.sqlite_health import sqlite_path
    from dailypapers.workflow import cacheable, store_in_repository, store_outside

    config = _load(path)
    root = path.parent
    outside = store_outside(config.db_url, root)
    if outside is not None:
        click.echo(
            f"note: the store {outside} is outside this folder: no Actions run has it, "
            "so each starts cold; keep it inside ([store] url) to have it cached",
            err=True,
        )
    store = store_in_repository(config.db_url, root)
    if store is not None and not cacheable(store):
        click.echo(
            f"note: the store's path {store!r} cannot be written into the workflow as it "
            "is (a quote or a control character): it is not cached, so each run starts cold",
            err=True,
        )
        store = None
    shared = sqlite_path(config.db_url) is None  # PostgreSQL
    if shared:
        click.echo(
            "note: the store is PostgreSQL: the workflow installs its driver (psycopg) and "
            "reads the store's URL from the repository secret DAILYPAPERS_DB (add it; keep "
            "the password out of papers.toml)",
            err=True,
        )
    return _workflow_text(config.settings.notify.github is not None, install, store, shared)


def _kept_config_workflow(path: Path, install: str) -> str:
    """``init --github`` beside a kept config: its workflow, or the plain one (with a
    note) while the config does not load."""
    from dailypapers.config import ConfigError

    try:
        return _config_workflow(path, install)
    except ConfigError as exc:
        click.echo(
            f"note: {exc}; the workflow is written as for a new config: run "
            "'dailypapers workflow --force' once it loads",
            err=True,
        )
        return _workflow_text(False, install)


def _check_writable(path: Path, force: bool) -> None:
    """Fail with one line when ``path`` cannot be written (not when it is kept as it is)."""
    from dailypapers.scaffold import in_the_way

    if path.exists() and not path.is_dir() and not force:
        return  # kept: nothing will be written there
    if (problem := in_the_way(path)) is not None:
        raise Failure(f"dailypapers: {problem}")


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Overwrite an existing workflow file.")
@install_option
@handle_errors
def workflow(config_file: Path | None, force: bool, install: str) -> None:
    """Write .github/workflows/daily-papers.yml for the current papers.toml.

    Grants `issues: write` only when [notify.github] is configured; run again
    with --force after turning it on or off.
    """
    path = _config_path(config_file)
    target = path.parent / WORKFLOW_PATH
    _check_install(install)  # a bad --install is said first
    if not (path.exists() or path.is_symlink()):  # a workflow whose every run would fail
        raise UsageFailure(
            f"dailypapers: no config at {path}: run 'dailypapers init --github' "
            "(it writes both), or name one with --config"
        )
    text = _config_workflow(path, install)  # a config error is its line (exit 2)
    _check_writable(target, force)
    if target.exists() and not target.is_dir() and not force:  # one line, not "kept" too
        raise UsageFailure(f"dailypapers: {target} exists; use --force to overwrite it")
    if _write_unless_exists(target, force, lambda p: write_atomic(p, text)):
        _note_install(install)
    _warn_below_the_repository(path.parent)


def _note_install(install: str) -> None:
    from dailypapers.workflow import install_note

    if note := install_note(install):
        click.echo(note, err=True)


def _write_unless_exists(
    path: Path, force: bool, write: Callable[[Path], None], undo: Undo | None = None
) -> int:
    if path.is_dir():  # --force would not help: say what is in the way
        raise Failure(f"dailypapers: {path} is a folder; move it away, or write elsewhere")
    if path.exists() and not force:
        click.echo(f"kept {_relative(path)} (exists; --force overwrites it)", err=True)
        return 0
    try:
        if undo is None:
            write(path)
        else:
            undo.write(path, write)
    except OSError as exc:
        raise Failure(f"dailypapers: cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {_relative(path)}")
    return 1


@contextmanager
def _progress(console: Console | PlainStderr) -> Iterator[Callable[[str], None]]:
    """Progress on stderr: a spinner line on a terminal, plain lines otherwise."""
    with console.status("starting", spinner="dots") as status:
        closed = False

        def progress(message: str) -> None:
            nonlocal closed
            if closed:
                return
            try:
                status.update(message)
                if not console.is_terminal:
                    console.print(message)
            except BrokenPipeError as exc:  # `2>&1 | head`: the run goes on, unprinted
                if not closed_output(exc):
                    raise
                closed = True

        yield progress


def _run(
    config_file: Path | None, debug: bool = False, config: Config | None = None, **kwargs: Any
) -> RunReport:
    from dailypapers.pipeline import run_update

    config = config or _load(config_file)
    console = _stderr()
    with _progress(console) as progress:
        report = run_update(config, progress=progress, raise_errors=debug, **kwargs)
    for path in report.written:
        console.print(f"wrote {_relative(path)}{'/' if path.is_dir() else ''}")
    return report


def _finish(report: RunReport) -> None:
    if report.status == FAILED:
        raise Failure(f"dailypapers: {report.summary()}")
    click.echo(report.summary())


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def source_option(func: F) -> F:
    return click.option(
        "--source",
        type=click.Choice(SOURCES),
        default=None,
        help="Where papers come from (default: [arxiv] source in papers.toml).",
    )(func)


def _factory(source: str | None) -> SourceFactory:
    from dailypapers.sources import open_source

    return functools.partial(open_source, name=source)


@cli.command()
@config_option
@click.option(
    "--force",
    is_flag=True,
    help="Fetch even when arXiv has not announced, and rewrite outputs even when unchanged.",
)
@source_option
@wait_option
@click.option(
    "--deadline",
    type=Seconds(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Give up (exit 1, nothing half-written) when the whole run takes longer.",
)
@debug_option
@handle_errors
def update(
    config_file: Path | None,
    force: bool,
    source: str | None,
    wait: float,
    deadline: float | None,
    debug: bool,
) -> None:
    """Fetch new papers for every topic, store them, and write the outputs.

    On days arXiv has not announced (by its calendar, or one small request)
    the run ends early with "no announcement today". When nothing is new,
    outputs are left byte-identical (no empty commits). A run that cannot
    fetch changes no output and exits 1.
    """
    from dailypapers.memory import no_full_collections

    with no_full_collections():  # the modules it loads live until it ends
        config = _load(config_file)
        if not force and deadline is None and (line := _calendar_skip(config, source, wait)):
            click.echo(line)
            return
        from dailypapers.deadline import RunDeadlineExceeded, run_deadline

        try:
            with run_deadline(deadline):
                report = _run(
                    config_file,
                    debug,
                    config,
                    force=force,
                    lock_timeout=wait,
                    source_factory=_factory(source),
                )
        except RunDeadlineExceeded as exc:  # passed outside the run's own error handling
            raise Failure(f"dailypapers: failed: {exc}") from None
        from dailypapers.github_actions import report_to_actions

        report_to_actions(report)
        _finish(report)


def _calendar_skip(config: Config, source: str | None, wait: float) -> str | None:
    """A day arXiv's calendar skips, decided without the store's libraries (or ``None``)."""
    from dailypapers.clock import run_clock
    from dailypapers.quickskip import PROGRESS, skipped

    line = skipped(config, run_clock(), source=source, lock_timeout=wait)
    if line is not None:
        click.echo(PROGRESS, err=True)
    return line


@cli.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@wait_option
@debug_option
@handle_errors
def notify(config_file: Path | None, dry_run: bool, wait: float, debug: bool) -> None:
    """Send each notification channel the new papers it has not delivered yet.

    `dailypapers update` does this by itself after every run; use this to
    retry, or with --dry-run to see what each channel would send.
    """
    from dailypapers.notify import open_channels
    from dailypapers.pipeline import run_notify

    config = _load(config_file)
    if not open_channels(config):
        raise UsageFailure(
            "dailypapers: no notification channel configured "
            "(add [notify.email], [notify.github], [notify.webhook], [notify.feishu] or "
            "[notify.telegram] to papers.toml)"
        )
    report = run_notify(config, dry_run=dry_run, lock_timeout=wait, raise_errors=debug)
    for outcome in report.notified:
        click.echo(_outcome_line(outcome, dry_run))
        if dry_run and outcome.preview:
            click.echo(outcome.preview.rstrip("\n") + "\n")
    if report.status == FAILED:
        raise Failure(f"dailypapers: failed: {report.error}")


def _outcome_line(outcome: Outcome, dry_run: bool) -> str:
    if outcome.error and not dry_run:
        return f"{outcome.channel}: failed: {outcome.error}"
    if not outcome.papers:
        return f"{outcome.channel}: nothing new to send"
    count = f"{outcome.papers} paper{'s' if outcome.papers != 1 else ''}"
    if dry_run:
        problem = f" (would fail: {outcome.error})" if outcome.error else ""
        return f"{outcome.channel}: would send {count}, {outcome.target}{problem}"
    return f"{outcome.channel}: sent {count} {outcome.receipt}".rstrip()


@cli.command()
@config_option
@source_option
@wait_option
@debug_option
@handle_errors
def fetch(config_file: Path | None, source: str | None, wait: float, debug: bool) -> None:
    """Fetch new papers for every topic into the store; write no outputs."""
    _finish(
        _run(config_file, debug, render=False, lock_timeout=wait, source_factory=_factory(source))
    )


@cli.command()
@config_option
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First submission day to fill (YYYY-MM-DD, GMT).",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Last submission day to fill (default: today).",
)
@click.option(
    "--topic",
    "topics",
    multiple=True,
    metavar="NAME",
    help="Only this topic (repeatable; default: every topic).",
)
@wait_option
@debug_option
@handle_errors
def backfill(
    config_file: Path | None,
    since: datetime,
    until: datetime | None,
    topics: tuple[str, ...],
    wait: float,
    debug: bool,
) -> None:
    """Fill a date range of papers (by first submission) for some or all topics.

    Asks arXiv for each topic's papers submitted in 7-day windows, newest
    first, as politely as update; finished windows are remembered, so an
    interrupted backfill resumes where it stopped. Then rewrites the outputs.
    """
    from dailypapers.backfill import run_backfill

    config = _load(config_file)
    _check_backfill_dates(since, until)
    console = _stderr()
    with _progress(console) as progress:
        report = run_backfill(
            config,
            since=since.date(),
            until=until.date() if until else None,
            topics=topics,
            progress=progress,
            lock_timeout=wait,
            raise_errors=debug,
        )
    for path in report.written:
        console.print(f"wrote {_relative(path)}")
    if report.status == FAILED:
        raise Failure(f"dailypapers: {report.summary()}")
    click.echo(report.summary())


def _check_backfill_dates(since: datetime, until: datetime | None) -> None:
    """Dates arXiv can have papers for: from 1991 (its start) to today."""
    today = datetime.now(UTC).date()
    for name, value in (("--since", since), ("--until", until)):
        if value is not None and value.year < ARXIV_START_YEAR:
            day = value.date().isoformat()  # 0001-01-01, not 1-01-01
            raise UsageFailure(f"dailypapers: {name} {day} is before arXiv began (1991)")
    if since.date() > today:
        raise UsageFailure(f"dailypapers: --since {since:%Y-%m-%d} is in the future")
    if until is not None and until.date() > today + timedelta(days=1):  # a typo: 9999
        raise UsageFailure(
            f"dailypapers: --until {until:%Y-%m-%d} is in the future (leave it out: today)"
        )
    if until is not None and since > until:
        raise UsageFailure(
            f"dailypapers: --since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}"
        )


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Rewrite outputs even when nothing changed.")
@wait_option
@debug_option
@handle_errors
def render(config_file: Path | None, force: bool, wait: float, debug: bool) -> None:
    """Write the outputs from the store, without contacting arXiv."""
    _finish(_run(config_file, debug, fetch=False, force=force, lock_timeout=wait))


@cli.command()
@config_option
@click.option(
    "--dry-run", is_flag=True, help="Print the prompts and estimated tokens; send nothing."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Summarise at most N papers (default: [summaries] max_papers).",
)
@wait_option
@debug_option
@handle_errors
def summarize(
    config_file: Path | None, dry_run: bool, limit: int | None, wait: float, debug: bool
) -> None:
    """Write TL;DRs for pending papers with the [summaries] endpoint, then re-render.

    Pending papers are the listed ones without a summary of their current
    version (the "For you" ones first, then the oldest pending; among papers
    seen together, the newest of each topic in turn). The key is
    read from $DAILYPAPERS_LLM_API_KEY. Prints how many were written, how many
    are still pending and the tokens in/out the endpoint reported; exits 1
    when the endpoint answered nothing usable.
    """
    from dailypapers import summaries
    from dailypapers.store import open_store
    from dailypapers.summarize import run_summarize
    from dailypapers.tldr import SummaryError

    config = _load(config_file)
    if config.settings.summaries is None:
        raise UsageFailure(
            f"dailypapers summarize: no [summaries] section in {_relative(config.path)} "
            "(see docs/summaries.md)"
        )
    try:
        if dry_run:
            with open_store(config.db_url) as store:
                for line in summaries.dry_run_lines(config, store, limit=limit):
                    click.echo(line)
            return
        result = run_summarize(config, limit=limit, lock_timeout=wait, raise_errors=debug)
    except SummaryError as exc:
        raise UsageFailure(f"dailypapers summarize: {exc}") from None
    for path in result.written:
        click.echo(f"wrote {_relative(path)}{'/' if path.is_dir() else ''}", err=True)
    if result.status == FAILED:
        line = result.summary.line() if result.summary.requests else str(result.error)
        raise Failure(f"dailypapers: {line}")
    click.echo(result.summary.line())


@cli.command("search")
@config_option
@click.argument("words", metavar="QUERY...", nargs=-1, required=True)
@click.option("--topic", help="Only papers of this topic (by name, any case).")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only papers whose current version is from this day (YYYY-MM-DD) or later.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=MAX_SEARCH_LIMIT),
    default=20,
    show_default=True,
    help="Most results.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON array.")
@debug_option
@handle_errors
def search_command(
    config_file: Path | None,
    words: tuple[str, ...],
    topic: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
    debug: bool,
) -> None:
    """Search the stored papers, best match first (no network).

    QUERY is words (`reward model`, quoted or not) or arXiv's query syntax
    (`'ti:"reward model" AND cat:cs.CL'`, quoted for the shell), matched with
    arXiv's stemming.
    Text with `:`, quotes or brackets that is not valid syntax is an error
    (exit 2). A query starting with `-` goes after `--`:
    `dailypapers search -- -reward`.
    """
    from dailypapers.search import SearchError, search_url
    from dailypapers.searchconfig import default_store_url
    from dailypapers.sqlite_health import sqlite_path

    query = " ".join(words)  # `search reward model`: one query, as the shell split it
    url = default_store_url(config_file) or ""  # without validating the config (start-up)
    path = sqlite_path(url)
    if path is None or not path.exists():
        url = _load(config_file).db_url
        path = sqlite_path(url)
        if path is not None and not path.exists():
            raise Failure(f"dailypapers: no store yet at {path}; run 'dailypapers update' first")
    try:
        hits = search_url(url, query, topic=topic, since=since and since.date(), limit=limit)
    except SearchError as exc:
        raise UsageFailure(f"dailypapers: {exc}") from None
    if not hits and path is not None:
        _refuse_damaged(path)  # "no match" must not hide a store it could not read
    _print_hits(hits, as_json)


def _refuse_damaged(path: Path) -> None:
    """Fail with the store's one damage line when the SQLite file fails its check."""
    from dailypapers.sqlite_health import damage, damage_message

    problem = damage(path)
    if problem is not None:
        raise Failure(f"dailypapers: failed: {damage_message(path, problem)}")


def _may_be_terminal(stream: Any = "stdout") -> bool:
    """Whether rich could take ``stream`` (default stdout) for a terminal (a TTY, or forced).

    A stream Python found closed at start (``>&-``) is ``None``: no terminal.
    """
    stream = sys.stdout if stream == "stdout" else stream
    if stream is None:
        return False
    forced = os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1"
    return bool(forced) or stream.isatty()


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    from dailypapers.search import plain_lines, short_authors

    if as_json:
        click.echo(json.dumps([hit.to_dict() for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no stored paper matches", err=True)
        return
    if not _may_be_terminal():  # a pipe, or closed: plain lines, without loading rich
        click.echo("\n".join(plain_lines(hits)))
        return
    from rich.console import Console

    from dailypapers.models import one_line

    console = Console(highlight=False)
    if not console.is_terminal:
        click.echo("\n".join(plain_lines(hits)))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table("date", "arXiv", "title", "authors", "topics", show_lines=False)
    for hit in hits:
        paper = hit.paper
        table.add_row(
            paper.updated.date().isoformat(),
            paper.versioned_id,
            Text(one_line(paper.title)),
            Text(short_authors(paper)),
            Text(one_line(", ".join(hit.topics))),
        )
    console.print(table)


@cli.command()
@config_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free."
)
@click.option("--bind", default="127.0.0.1", show_default=True, help="IPv4 address to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a web browser.")
@debug_option
@handle_errors
def serve(config_file: Path | None, port: int, bind: str, open_browser: bool, debug: bool) -> None:
    """Serve the site folder on localhost for a quick look (Ctrl-C stops).

    Needs "site" in `outputs` and a `dailypapers update` or `render` first.
    """
    from dailypapers.serve import make_server, server_url

    if not bind.strip():  # an empty "$ADDR": every interface, which nobody asked for
        raise UsageFailure(
            "dailypapers: --bind is empty: give an address (127.0.0.1 for this machine, "
            "0.0.0.0 for every interface)"
        )
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}", bind):
        raise UsageFailure(f"dailypapers: --bind {bind[:80]!r}: not an IPv4 address or host name")
    config = _load(config_file)
    folder = config.site_dir
    if not (folder / "index.html").is_file():
        raise UsageFailure(
            f"dailypapers: no site yet in {_relative(folder)}/ (no index.html): "
            f"add \"site\" to outputs in {config.path.name}, then run 'dailypapers render'"
        )
    try:
        server = make_server(folder, bind, port)
    except OSError as exc:
        raise Failure(f"dailypapers: cannot listen on {bind}:{port}: {exc.strerror}") from None
    url = server_url(server)
    click.echo(f"serving {_relative(folder)} at {url} (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()


@cli.command()
@config_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 2).")
@click.option("--count", is_flag=True, help="Ask arXiv how many papers each topic matched.")
@click.option("--store", "from_store", is_flag=True, help="Count the stored papers instead.")
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    help="With --count: the 7 days up to this day (default: now).",
)
@debug_option
@handle_errors
def check(
    config_file: Path | None,
    strict: bool,
    count: bool,
    from_store: bool,
    until: datetime | None,
    debug: bool,
) -> None:
    """Check papers.toml and print each topic's effective arXiv query.

    Errors exit 2; likely mistakes are warnings (errors with --strict).
    --count shows how many papers each topic matched in the last 7 days, from
    the configured arXiv API (or the store with --store), so an empty or a
    flooded topic shows before the first run.
    """
    from dailypapers import checkup
    from dailypapers.errors import ConfigError

    if until is not None and not (count or from_store):  # it would be ignored
        raise UsageFailure("dailypapers: --until counts up to a day: add --count or --store")
    try:
        config = _load(config_file, strict=strict)
    except ConfigError as exc:  # every problem, one line each: not one fix per run
        *lines, last = exc.problems
        for line in lines:  # each as Failure.show prints the last: one line, no controls
            UsageFailure(f"dailypapers: config error: {line}").show()
        raise UsageFailure(f"dailypapers: config error: {last}") from None
    _check_prompt(config)
    _check_library(config)
    if until is not None and not ARXIV_START_YEAR <= until.year <= LAST_YEAR:
        raise UsageFailure(f"dailypapers: --until {until.date()} is not between 1991 and 9900")
    end = until.replace(tzinfo=UTC) + timedelta(days=1) if until else datetime.now(UTC)
    if not (count or from_store):
        checks = checkup.check_topics(config)
    elif from_store:
        checks = checkup.count_in_store(config, end)
    else:
        checks = _count_on_arxiv(config, end)
    _print_checks(config, checks)


def _check_prompt(config: Config) -> None:
    """A ``[summaries] prompt`` file that cannot be read is an error here: a run would
    go on without TL;DRs (summaries never fail a run), every day."""
    settings = config.settings.summaries
    if settings is None or settings.prompt is None:
        return
    from dailypapers.tldr import SummaryError, load_prompt

    try:
        load_prompt(config, settings)
    except SummaryError as exc:
        raise UsageFailure(f"dailypapers: config error: {exc}") from None


def _check_library(config: Config) -> None:
    """A ``[library] paths`` file that is not there is a warning here: a run ranks
    without it (with the library as last imported, or none), every day."""
    for path in config.library_paths:
        try:
            readable = path.is_file() and os.access(path, os.R_OK)
        except (OSError, ValueError):  # a name too long, a NUL byte
            readable = False
        if not readable:
            click.echo(
                f"dailypapers: warning: [library] paths: {path}: not a readable file"
                " (update ranks without it)",
                err=True,
            )


def _count_on_arxiv(config: Config, end: datetime) -> list[Any]:
    from dailypapers import checkup

    try:
        return checkup.count_on_arxiv(config, end)
    except checkup.CountFailed as exc:
        raise Failure(f"dailypapers: failed: cannot count on arXiv: {exc}") from None


def _print_checks(config: Config, checks: list[Any]) -> None:
    max_papers = config.settings.max_papers
    for check in checks:
        click.echo(check.name)
        click.echo(f"  query: {check.query}")
        if not check.filtered:
            archives = ", ".join(config.settings.archives)
            click.echo(f"  archive filter ({archives}): implied by the query, not sent")
        if check.count is not None:
            click.echo(f"  last 7 days: {counted(check.count, 'paper')}")
        for note in check.notes(max_papers, 7):
            click.echo(f"  note: {note}")
    problems = len(config.warnings)
    verdict = counted(problems, "warning") if problems else "ok"
    click.echo(f"{_relative(config.path)}: {counted(len(checks), 'topic')}, {verdict}")


@cli.command()
@config_option
@click.option("--repair", is_flag=True, help="Apply the safe repairs it finds.")
@debug_option
@handle_errors
def doctor(config_file: Path | None, repair: bool, debug: bool) -> None:
    """Check the store (schema, integrity, foreign keys, unfinished runs).

    Says how to repair each problem; exits 1 when one remains. Never creates
    or modifies anything without --repair.
    """
    from dailypapers import doctor as doctor_module
    from dailypapers.store import open_store, sqlite_path

    config = _load(config_file)
    path = sqlite_path(config.db_url)
    if path is not None and not path.exists():
        raise Failure(f"dailypapers: no store yet at {path}; run 'dailypapers update' first")
    with open_store(config.db_url, migrate=False, check=True) as store:
        if repair:
            for line in doctor_module.repair(store, lambda text: click.echo(text, err=True)):
                click.echo(f"repaired: {line}")
        findings = doctor_module.diagnose(store)
    for finding in findings:
        mark = "ok  " if finding.ok else "FAIL"
        hint = f" -> {finding.repair}" if finding.repair and not finding.ok else ""
        click.echo(f"{mark} {finding.check}: {finding.detail}{hint}")
    if not all(finding.ok for finding in findings):
        raise Failure("dailypapers: doctor found problems (see above)")


def _set_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    from dailypapers.harvest import normalize_set

    try:
        return normalize_set(value) if value else ""
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@config_option
@click.option(
    "--set",
    "set_spec",
    metavar="SET",
    callback=_set_option,
    help="arXiv set: cs, cs:cs:AI (or cs.AI), math, physics:hep-th... Default: everything.",
)
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Records changed on or after this day (default: where the last harvest "
    "of this set ended; else the beginning).",
)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Records changed up to this day.")
@click.option(
    "--format",
    "metadata_prefix",
    type=click.Choice(OAI_FORMATS),
    default=None,
    help="Metadata format (default: [oai] format, arXivRaw: exact versions and dates).",
)
@wait_option
@debug_option
@handle_errors
def harvest(
    config_file: Path | None,
    set_spec: str,
    start: datetime | None,
    until: datetime | None,
    metadata_prefix: str | None,
    wait: float,
    debug: bool,
) -> None:
    """Harvest arXiv's metadata in bulk (OAI-PMH) into the store.

    Pages are stored as they arrive; an interrupted harvest resumes where it
    stopped when run again with the same arguments. Harvested papers feed
    `dailypapers update --source local`.
    """
    from dailypapers.harvest import HarvestRequest, run_harvest

    config = _load(config_file)
    request = HarvestRequest(
        set_spec,
        metadata_prefix or config.settings.oai.format,
        start.date() if start else None,
        until.date() if until else None,
    )
    if request.start and request.until and request.start > request.until:
        raise UsageFailure("dailypapers: --from is after --until")
    with _progress(_stderr()) as progress:
        report = run_harvest(
            config, request, progress=progress, lock_timeout=wait, raise_errors=debug
        )
    if report.status == FAILED:
        raise Failure(f"dailypapers: {report.summary()}")
    click.echo(report.summary())


def _open_existing(config: Config) -> Any:
    from dailypapers.store import open_store, sqlite_path

    path = sqlite_path(config.db_url)
    if path is not None and not path.exists():
        raise Failure(f"dailypapers: no store yet at {path}; run 'dailypapers update' first")
    return open_store(config.db_url)


@cli.group()
def library() -> None:
    """The reader's library: what "For you" ranking compares new papers with."""


@library.command("import")
@config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@debug_option
@handle_errors
def library_import(config_file: Path | None, files: tuple[Path, ...], debug: bool) -> None:
    """Import library FILES (.bib, .ris, CSL .json, zotero.sqlite, arXiv id lists).

    All files are read before anything is stored: one bad file imports nothing.
    """
    from dailypapers.rank import commands
    from dailypapers.store import open_store

    with open_store(_load(config_file).db_url) as store:
        try:
            lines = commands.import_library(store, list(files))
        except commands.LibraryError as exc:
            raise Failure(f"dailypapers: {exc}") from None
    click.echo("\n".join(lines))


@library.command("remove")
@config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@debug_option
@handle_errors
def library_remove(config_file: Path | None, files: tuple[Path, ...], debug: bool) -> None:
    """Remove imported library FILES and their items (the files on disk are not touched).

    FILES as imported (or as 'library stats' lists them; they need not exist any
    more). A file not in the library removes nothing; one in [library] paths is
    refused (each update imports it again: remove it from the config).
    """
    from dailypapers.rank import commands

    config = _load(config_file)
    with _open_existing(config) as store:
        try:
            lines = commands.remove_library(store, list(files), config.library_paths)
        except commands.LibraryError as exc:
            raise Failure(f"dailypapers: {exc}") from None
    click.echo("\n".join(lines))


@library.command("list")
@config_option
@debug_option
@handle_errors
def library_list(config_file: Path | None, debug: bool) -> None:
    """List the library, newest added first."""
    from dailypapers.rank import commands

    with _open_existing(_load(config_file)) as store:
        click.echo("\n".join(commands.list_lines(store)))


@library.command("stats")
@config_option
@debug_option
@handle_errors
def library_stats(config_file: Path | None, debug: bool) -> None:
    """How many items each file holds and how many matched stored papers."""
    from dailypapers.rank import commands

    with _open_existing(_load(config_file)) as store:
        click.echo("\n".join(commands.stats_lines(store)))


@cli.command("rank")
@config_option
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Papers whose current version is from this day or later (default: the newest day).",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the ranking as JSON.")
@click.option("--explain", is_flag=True, help="Say which library items and terms drove each score.")
@debug_option
@handle_errors
def rank_command(
    config_file: Path | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
    explain: bool,
    debug: bool,
) -> None:
    """Rank stored papers for the reader, by similarity to the library.

    Offline, unless [embeddings] is configured: then the endpoint reranks
    (and the offline ranking is used when it fails).
    """
    from dailypapers.rank import commands

    config = _load(config_file)
    with _open_existing(config) as store:
        since_utc = since.replace(tzinfo=UTC) if since else None
        try:
            scored = commands.ranked(store, config, since=since_utc, limit=limit)
        except commands.LibraryError as exc:  # a library file of the config's
            raise Failure(f"dailypapers: {exc}") from None
    click.echo(commands.render(scored, as_json=as_json, explain=explain))


@cli.command("similar")
@config_option
@click.argument("arxiv_id")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@debug_option
@handle_errors
def similar_command(
    config_file: Path | None, arxiv_id: str, limit: int, as_json: bool, debug: bool
) -> None:
    """Stored papers most similar to ARXIV_ID (a stored paper)."""
    from dailypapers.models import split_id
    from dailypapers.rank import commands

    try:
        split_id(arxiv_id)
    except ValueError:  # InvalidArxivId, a version of thousands of digits
        raise UsageFailure(f"dailypapers: not an arXiv identifier: {cut(arxiv_id, 80)!r}") from None

    with _open_existing(_load(config_file)) as store:
        try:
            scored = commands.similar_to(store, arxiv_id, limit=limit)
        except commands.LibraryError as exc:
            raise Failure(f"dailypapers: {exc}") from None
    click.echo(commands.render(scored, as_json=as_json, explain=True))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dailypapers")


if __name__ == "__main__":
    main()
