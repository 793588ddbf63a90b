"""The ``dailypapers`` command: a thin click layer over the library."""

from __future__ import annotations

import functools
import json
import logging
import webbrowser
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dailypapers import __version__
from dailypapers.config import CONFIG_ENV, Config, ConfigError, config_path, load_config
from dailypapers.pipeline import FAILED, RunFailed, RunReport, run_update
from dailypapers.scaffold import write_config
from dailypapers.search import Hit, SearchError, plain_lines, search, short_authors
from dailypapers.serve import make_server, server_url
from dailypapers.store import StoreError, open_store

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

        def progress(message: str) -> None:
            status.update(message)
            if not console.is_terminal:
                console.print(message)

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


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Rewrite outputs even when nothing changed.")
@wait_option
@debug_option
@handle_errors
def update(config_file: Path | None, force: bool, wait: float, debug: bool) -> None:
    """Fetch new papers for every topic, store them, and write the outputs.

    When nothing is new, outputs are left byte-identical (no empty commits).
    A run that cannot fetch changes no output and exits 1.
    """
    _finish(_run(config_file, debug, force=force, lock_timeout=wait))


@cli.command()
@config_option
@wait_option
@debug_option
@handle_errors
def fetch(config_file: Path | None, wait: float, debug: bool) -> None:
    """Fetch new papers for every topic into the store; write no outputs."""
    _finish(_run(config_file, debug, render=False, lock_timeout=wait))


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Rewrite outputs even when nothing changed.")
@wait_option
@debug_option
@handle_errors
def render(config_file: Path | None, force: bool, wait: float, debug: bool) -> None:
    """Write the outputs from the store, without contacting arXiv."""
    _finish(_run(config_file, debug, fetch=False, force=force, lock_timeout=wait))


@cli.command("search")
@config_option
@click.argument("query")
@click.option("--topic", help="Only papers of this topic (by name, any case).")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only papers whose current version is from this day (YYYY-MM-DD) or later.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Most results."
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON array.")
@debug_option
@handle_errors
def search_command(
    config_file: Path | None,
    query: str,
    topic: str | None,
    since: datetime | None,
    limit: int,
    as_json: bool,
    debug: bool,
) -> None:
    """Search the stored papers, best match first (no network).

    QUERY is words (`reward model`) or arXiv's query syntax
    (`ti:"reward model" AND cat:cs.CL`), matched with arXiv's stemming.
    """
    config = _load(config_file)
    with open_store(config.db_url) as store:
        try:
            hits = search(store, query, topic=topic, since=since and since.date(), limit=limit)
        except SearchError as exc:
            raise UsageFailure(f"dailypapers: {exc}") from None
    _print_hits(hits, as_json)


def _print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([hit.to_dict() for hit in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no stored paper matches", err=True)
        return
    console = Console(highlight=False)
    if not console.is_terminal:
        click.echo("\n".join(plain_lines(hits)))
        return
    table = Table("date", "arXiv", "title", "authors", "topics", show_lines=False)
    for hit in hits:
        paper = hit.paper
        table.add_row(
            paper.updated.date().isoformat(),
            paper.versioned_id,
            Text(" ".join(paper.title.split())),
            Text(short_authors(paper)),
            Text(", ".join(hit.topics)),
        )
    console.print(table)


@cli.command()
@config_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free."
)
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a web browser.")
@debug_option
@handle_errors
def serve(config_file: Path | None, port: int, bind: str, open_browser: bool, debug: bool) -> None:
    """Serve the site folder on localhost for a quick look (Ctrl-C stops).

    Needs "site" in `outputs` and a `dailypapers update` or `render` first.
    """
    config = _load(config_file)
    folder = config.site_dir
    if not (folder / "index.html").is_file():
        raise UsageFailure(
            f'dailypapers: no site in {_relative(folder)}: add "site" to outputs in '
            f"{config.path.name}, then run 'dailypapers render'"
        )
    try:
        server = make_server(folder, bind, port)
    except OSError as exc:
        raise Failure(f"dailypapers: cannot listen on {bind}:{port}: {exc.strerror}") from None
    url = server_url(server)
    click.echo(f"serving {_relative(folder)} at {url} (Ctrl-C stops)")
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dailypapers")


if __name__ == "__main__":
    main()
