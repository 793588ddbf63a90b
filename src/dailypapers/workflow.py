"""The GitHub Actions workflow ``dailypapers init --github`` writes into a repository.

It runs ``dailypapers update`` every weekday shortly after arXiv's
announcement, keeps the store in the Actions cache, commits the changed
outputs (never an empty commit), and keeps its own schedule alive.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from dailypapers import __version__
from dailypapers.publish.files import write_atomic
from dailypapers.sqlite_health import sqlite_path

WORKFLOW_PATH = Path(".github") / "workflows" / "daily-papers.yml"
# The exact version that wrote the workflow: a new release never changes a
# repository's daily run behind its back (`dailypapers workflow --force` upgrades).
DEFAULT_INSTALL = f"dailypapers=={__version__}"
POSTGRES_INSTALL = f"dailypapers[postgres]=={__version__}"  # with a PostgreSQL store
POSTGRES_DRIVER = "psycopg[binary]>=3.1"  # the [postgres] extra's, after a spec of one's own
UPGRADE_HINT = (
    "the workflow installs {install}; to upgrade it later: "
    "pip install -U dailypapers && dailypapers workflow --force"
)


def upgrade_hint(install: str) -> str:
    """What ``init --github`` says of the workflow's install line (a spec of one's own
    is kept by naming it again: the plain upgrade would write the release's)."""
    if install == DEFAULT_INSTALL:
        return UPGRADE_HINT.format(install=install)
    return (
        f"the workflow installs {install}; to change it later: "
        "dailypapers workflow --force --install SPEC"
    )


def installed_from() -> str | None:
    """Where this dailypapers was installed from when not from an index (PEP 610's
    ``direct_url.json``): ``git+URL@COMMIT`` for a VCS install, the folder's or
    archive's URL otherwise; ``None`` for a release (or when the record is unreadable)."""
    import json
    from importlib import metadata

    try:
        text = metadata.distribution("dailypapers").read_text("direct_url.json")
        record = json.loads(text) if text else None
    except (metadata.PackageNotFoundError, ValueError, OSError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("url"), str):
        return None
    url: str = record["url"]
    vcs = record.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("commit_id"), str):
        return f"{vcs.get('vcs', 'git')}+{url}@{vcs['commit_id']}"
    return url


def install_note(install: str) -> str | None:
    """A note when the workflow would install the release this version names, but this
    dailypapers came from elsewhere (a clone, a fork): that release may not be on PyPI
    (every run of the workflow would fail at its install step), or not be this code."""
    if install not in (DEFAULT_INSTALL, POSTGRES_INSTALL):
        return None
    source = installed_from()
    if source is None:
        return None
    if source.startswith(("git+", "hg+", "svn+", "bzr+")):
        suggestion = f"'dailypapers @ {source}'"
    else:
        suggestion = "'dailypapers @ git+https://github.com/OWNER/dailypapers@REF'"
    return (
        f"note: this dailypapers was installed from {source}, not from PyPI; the workflow "
        f"installs {DEFAULT_INSTALL} from PyPI: if that is not there, or not this code, "
        f"write it with --install {suggestion}"
    )


_TEMPLATE = """\
# Daily papers: fetch new arXiv papers, rewrite the outputs, notify, commit.
# Written by `dailypapers init --github` (`dailypapers workflow --force` rewrites it).
# How it works: https://github.com/dailypapers/dailypapers#run-it-every-day-on-github
name: Daily papers

on:
  schedule:
    # arXiv announces new papers Sunday to Thursday at 20:00 US Eastern: 00:00 UTC
    # in summer (EDT), 01:00 UTC in winter (EST), i.e. Monday to Friday in UTC, and
    # nothing on Friday or Saturday evenings. Its search API can lag behind the
    # announcement (index_lag_hours, 4 by default), and GitHub delays scheduled
    # runs that start on the hour, so this runs at 06:17 UTC, Monday to Friday:
    # five to six hours after the announcement in either season. A run past the
    # index lag reads only papers newer than the ones it has (no lookback).
    - cron: "17 6 * * 1-5"
  workflow_dispatch:

permissions:
  contents: write  # commit the changed outputs
@ISSUES@  actions: write   # keep-alive: re-enable this workflow (see the last step)

concurrency:
  group: daily-papers
  cancel-in-progress: false

jobs:
  update:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v7

      - uses: actions/setup-python@v7
        with:
          python-version: "3.12"
          cache: pip
          cache-dependency-path: .github/workflows/daily-papers.yml

      - name: Install dailypapers
        run: python -m pip install @INSTALL@

      # The store (.dailypapers/) lives in the Actions cache. Cache entries cannot
      # be overwritten, so each run saves under its own key and the next restores
      # the newest by prefix. A miss only costs a cold fetch: the README in the
      # repository tells dailypapers which papers readers have already seen.
      - name: Restore the paper store
        uses: actions/cache/restore@v6
        with:
          path: @CACHE@
          key: dailypapers-store-${{ github.run_id }}-${{ github.run_attempt }}
          restore-keys: |
            dailypapers-store-

      - name: Fetch new papers, write the outputs, send notifications
        id: update
        run: dailypapers update
        env:
@TOKEN@@DB@          DAILYPAPERS_SMTP_USER: ${{ secrets.DAILYPAPERS_SMTP_USER }}
          DAILYPAPERS_SMTP_PASSWORD: ${{ secrets.DAILYPAPERS_SMTP_PASSWORD }}
          DAILYPAPERS_WEBHOOK_URL: ${{ secrets.DAILYPAPERS_WEBHOOK_URL }}
          DAILYPAPERS_FEISHU_URL: ${{ secrets.DAILYPAPERS_FEISHU_URL }}
          DAILYPAPERS_FEISHU_SECRET: ${{ secrets.DAILYPAPERS_FEISHU_SECRET }}
          DAILYPAPERS_TELEGRAM_TOKEN: ${{ secrets.DAILYPAPERS_TELEGRAM_TOKEN }}
          DAILYPAPERS_LLM_API_KEY: ${{ secrets.DAILYPAPERS_LLM_API_KEY }}  # [summaries]
          DAILYPAPERS_EMBEDDINGS_KEY: ${{ secrets.DAILYPAPERS_EMBEDDINGS_KEY }}  # [embeddings]

      # Also after a failed update: a notification that failed leaves its papers
      # pending in the store, and the outputs written before it must be kept.
      - name: Save the paper store
        if: ${{ !cancelled() }}
        uses: actions/cache/save@v6
        with:
          path: @CACHE@
          key: dailypapers-store-${{ github.run_id }}-${{ github.run_attempt }}

      - name: Commit and push the changed outputs
        if: ${{ !cancelled() }}
        env:
          MESSAGE: ${{ steps.update.outputs.commit-message }}
          GIT_AUTHOR_NAME: github-actions[bot]
          GIT_AUTHOR_EMAIL: 41898282+github-actions[bot]@users.noreply.github.com
          GIT_COMMITTER_NAME: github-actions[bot]
          GIT_COMMITTER_EMAIL: 41898282+github-actions[bot]@users.noreply.github.com
        run: |
          git add --all -- . ':(exclude).dailypapers'@EXCLUDE@ ':(exclude,glob)**/.*.tmp'
          if git diff --cached --quiet; then
            echo "Nothing changed: no commit."
            exit 0
          fi
          git commit --quiet -m "${MESSAGE:-Daily papers update}"
          git push || { git pull --rebase && git push; }

      # GitHub disables scheduled workflows after 60 days without repository
      # activity. Re-enabling this workflow through the REST API on every run
      # resets that clock, without commits.
      - name: Keep the schedule alive
        if: ${{ !cancelled() }}
        continue-on-error: true
        env:
          GH_TOKEN: ${{ github.token }}
          WORKFLOW: daily-papers.yml
        run: gh api --method PUT "repos/${GITHUB_REPOSITORY}/actions/workflows/${WORKFLOW}/enable"
"""

# One requirement without spaces: name[extras] and a version, or a URL.
_REQUIREMENT = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?((==|>=|<=|~=|!=|<|>)[A-Za-z0-9.*+!_-]+)?"
    r"|(git\+)?https?://\S+"
)
# A store path the YAML block and the shell's single quotes take as written: no quote,
# no control character, no leading dash or space.
_PLAIN_PATH = re.compile(r"[^'\x00-\x1f\x7f\s-][^'\x00-\x1f\x7f]*")
_ISSUES = "  issues: write    # [notify.github]: open the daily issue\n"
_TOKEN = "          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}  # [notify.github]\n"
_DB = "          DAILYPAPERS_DB: ${{ secrets.DAILYPAPERS_DB }}  # the shared store's URL\n"


def render_workflow(
    *, issues: bool, install: str = DEFAULT_INSTALL, store: str | None = None, shared: bool = False
) -> str:
    """The workflow's YAML; ``issues`` grants ``issues: write`` for ``[notify.github]``.

    ``store``: a SQLite store's path in the repository when it is not under
    ``.dailypapers`` (``[store] url = "sqlite:///data/papers.db"``): cached
    with the state folder and never committed (with its ``-wal``/``-shm``).
    ``shared``: the store is PostgreSQL: the driver is installed with the release
    (``dailypapers[postgres]``) and the URL comes from the ``DAILYPAPERS_DB``
    secret (an undefined secret is an empty variable: the config's url then).
    """
    check_install(install)
    install = with_driver(install) if shared else install
    cache, exclude = ".dailypapers", ""
    if store is not None:
        if not cacheable(store):
            raise ValueError(f"the store's path {store!r} cannot be cached as written")
        cache = f"|\n            .dailypapers\n            {store}*"
        exclude = f" ':(exclude,glob){store}*'"
    return (
        _TEMPLATE.replace("@ISSUES@", _ISSUES if issues else "")
        .replace("@TOKEN@", _TOKEN if issues else "")
        .replace("@DB@", _DB if shared else "")
        .replace("@CACHE@", cache)
        .replace("@EXCLUDE@", exclude)
        .replace("@INSTALL@", _pip_arguments(install))
    )


def with_driver(install: str) -> str:
    """``install`` with PostgreSQL's driver: the release's ``[postgres]`` extra, or a
    spec of one's own followed by the driver's requirement (unless it names one)."""
    if install == DEFAULT_INSTALL:
        return POSTGRES_INSTALL
    if "[postgres]" in install or "psycopg" in install:
        return install
    return f"{install} {POSTGRES_DRIVER}"


def check_install(install: str) -> None:
    """Raise ``ValueError`` when ``install`` cannot be the workflow's pip arguments."""
    # Any control (a carriage return ends a YAML line as a newline does: a step of
    # its own; an ESC makes the file unreadable YAML), any line or paragraph break.
    if not install.strip() or not install.isprintable():
        raise ValueError("the install spec must be one non-empty line of printable text")


def cacheable(store: str) -> bool:
    """Whether the workflow can name ``store`` (a path in the repository) as written."""
    return bool(_PLAIN_PATH.fullmatch(store)) and not store.endswith((" ", "\t"))


def _pip_arguments(install: str) -> str:
    """``install`` as pip's arguments: several plain requirements (``dailypapers==1.0
    psycopg[binary]``) one each; anything else one argument, as a requirement with
    spaces is (``dailypapers @ git+https://...``, ``dailypapers >= 1.2; python_version
    >= '3.11'``, a path with a space)."""
    parts = install.split()
    if len(parts) > 1 and all(_REQUIREMENT.fullmatch(part) for part in parts):
        return " ".join(shlex.quote(part) for part in parts)
    return shlex.quote(install.strip())


def write_workflow(path: Path, *, issues: bool, install: str = DEFAULT_INSTALL) -> None:
    """Write the workflow file (atomically; the caller decides about overwriting)."""
    write_atomic(path, render_workflow(issues=issues, install=install))


def store_in_repository(db_url: str, root: Path) -> str | None:
    """A SQLite store's path relative to ``root`` when it lies there outside the state
    folder (the workflow caches it and never commits it); ``None`` for the default
    store, another database, or a file outside ``root`` (:func:`store_outside`)."""
    path = sqlite_path(db_url)
    if path is None:
        return None
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    if relative.parts[:1] == (".dailypapers",):
        return None
    return relative.as_posix()


def store_outside(db_url: str, root: Path) -> Path | None:
    """A SQLite store's file when it lies outside ``root``: no Actions run has it."""
    path = sqlite_path(db_url)
    if path is None or path.resolve().is_relative_to(root.resolve()):
        return None
    return path


def repository_root(folder: Path) -> Path | None:
    """The root of the git repository ``folder`` is in (the nearest ``.git``), or None."""
    here = folder.resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return None
