"""The ``dailypapers`` command: a thin click layer over the library."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.status import Status

from dailypapers import __version__
from dailypapers.backfill import run_backfill
from dailypapers.config import CONFIG_ENV, Config, ConfigError, config_path, load_config
from dailypapers.pipeline import FAILED, RunFailed, RunReport, SourceFactory, run_update
from dailypapers.scaffold import write_config
from dailypapers.sources import SOURCES, open_source
from dailypapers.store import StoreError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1
EXIT_USAGE = 2


class Failure(click.ClickException):
    """A one-line error with the run-failure exit code."""

    exit_code = EXIT_FAILED

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


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


def wait_option(func: F) -> F:
    return click.option(
        "--wait",
        type=click.FloatRange(min=0),
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
            logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            raise UsageFailure(f"dailypapers: config error: {exc}") from None
        except (RunFailed, StoreError) as exc:
            raise Failure(f"dailypapers: failed: {exc}") from None

    return wrapper  # type: ignore[return-value]


def _load(config_file: Path | None) -> Config:
    return load_config(config_file)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dailypapers")
def cli() -> None:
    """Keep a research group on top of arXiv.

    Name topics in papers.toml; `dailypapers update` fetches the newest papers
    for each, stores them, and writes a README with one table per topic.
    """


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Overwrite an existing papers.toml.")
def init(config_file: Path | None, force: bool) -> None:
    """Write a commented papers.toml with the reference's two topics."""
    path = config_path(config_file)
    if path.exists() and not force:
        raise UsageFailure(f"dailypapers: {path} exists; use --force to overwrite it")
    write_config(path)
    click.echo(f"wrote {path}")
    click.echo("next: edit the topics, then run 'dailypapers update'")


def _run(config_file: Path | None, debug: bool = False, **kwargs: Any) -> RunReport:
    config = _load(config_file)
    console = _stderr()
    with console.status("starting", spinner="dots") as status:
        progress = _progress(console, status)
        report = run_update(config, progress=progress, raise_errors=debug, **kwargs)
    for path in report.written:
        console.print(f"wrote {_relative(path)}")
    return report


def _progress(console: Console, status: Status) -> Callable[[str], None]:
    def progress(message: str) -> None:
        status.update(message)
        if not console.is_terminal:
            console.print(message)

    return progress


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
@debug_option
@handle_errors
def update(
    config_file: Path | None, force: bool, source: str | None, wait: float, debug: bool
) -> None:
    """Fetch new papers for every topic, store them, and write the outputs.

    On days arXiv has not announced (by its calendar, or one small request)
    the run ends early with "no announcement today". When nothing is new,
    outputs are left byte-identical (no empty commits). A run that cannot
    fetch changes no output and exits 1.
    """
    _finish(
        _run(config_file, debug, force=force, lock_timeout=wait, source_factory=_factory(source))
    )


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
    config = _load(config_file)
    if until is not None and since > until:
        raise UsageFailure(
            f"dailypapers: --since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}"
        )
    console = _stderr()
    with console.status("starting", spinner="dots") as status:
        report = run_backfill(
            config,
            since=since.date(),
            until=until.date() if until else None,
            topics=topics,
            progress=_progress(console, status),
            lock_timeout=wait,
        )
    for path in report.written:
        console.print(f"wrote {_relative(path)}")
    if report.status == FAILED:
        raise Failure(f"dailypapers: {report.summary()}")
    click.echo(report.summary())


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Rewrite outputs even when nothing changed.")
@wait_option
@debug_option
@handle_errors
def render(config_file: Path | None, force: bool, wait: float, debug: bool) -> None:
    """Write the outputs from the store, without contacting arXiv."""
    _finish(_run(config_file, debug, fetch=False, force=force, lock_timeout=wait))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dailypapers")


if __name__ == "__main__":
    main()
