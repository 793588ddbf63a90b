"""Files ``dailypapers init`` writes into a user's directory or repository."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from dailypapers.publish.files import write_atomic

CONFIG_TEMPLATE = """\
# dailypapers configuration. Reference: https://github.com/dailypapers/dailypapers#configuration
#
# Every day `dailypapers update` fetches the newest arXiv papers for each topic
# below, stores them in .dailypapers/papers.db and rewrites README.md with one
# table per topic (newest first).

title = "Daily Papers"        # the README's heading
max_papers = 100              # rows per topic, newest first (1-2000)
timezone = "UTC"              # the zone of the "Last update" date, e.g. "Asia/Shanghai"
archives = ["cs", "stat"]     # keep papers with a category in these arXiv archives; [] keeps all
outputs = ["readme"]          # what to write: "readme", "json", "feeds", "site"

# A topic without `query` searches its name as a phrase, like the reference:
# several words in the title OR abstract, one word in the title AND abstract.
[[topics]]
name = "Reward Model"

[[topics]]
name = "Reasoning"

# A topic can use arXiv's full query syntax and narrow further:
# [[topics]]
# name = "LLM Agents"
# query = 'abs:"language model" AND (abs:agent OR ti:agent)'
# categories = ["cs.CL", "cs.AI"]   # only papers in one of these categories
# exclude = ["survey"]              # drop papers with this phrase in title or abstract

[arxiv]
# api_url = "https://export.arxiv.org/api/query"   # env DAILYPAPERS_ARXIV_URL
# delay = 3.0          # seconds between requests, never below 3 against arXiv
#                      # (env DAILYPAPERS_ARXIV_DELAY)
# page_size = 100      # results per request (1-2000)
# contact = "you@example.org"   # sent in the User-Agent so arXiv can reach you

[store]
# url = "sqlite:///.dailypapers/papers.db"   # or postgresql+psycopg://...; env DAILYPAPERS_DB

[readme]
# path = "README.md"
# link_base = "https://arxiv.org/abs/"

# With "json", "feeds" or "site" in outputs (paths relative to this file):
# [json]
# path = "papers.json"
# [feeds]
# dir = "feeds"                 # <topic>.xml and all.xml (Atom)
# base_url = "https://you.github.io/papers/feeds/"   # where they are published
# [site]
# dir = "site"                  # open site/index.html, or: dailypapers serve

# Notifications of new papers (README "Notifications"). Secrets never go in
# this file: they are read from environment variables (repository secrets).
# [notify]
# max_per_topic = 15                 # papers listed per topic in each notification
# [notify.github]                    # one issue per run; GITHUB_TOKEN from the workflow
# labels = ["daily-papers"]
# [notify.email]                     # login: DAILYPAPERS_SMTP_USER / DAILYPAPERS_SMTP_PASSWORD
# smtp_host = "smtp.example.org"
# smtp_port = 587
# security = "starttls"              # "starttls" | "ssl" | "none"
# sender = "papers@example.org"
# recipients = ["me@example.org"]
# [notify.webhook]                   # Slack/Mattermost/Discord; URL: DAILYPAPERS_WEBHOOK_URL
"""


def write_config(path: Path) -> None:
    """Write the commented starter ``papers.toml``."""
    write_atomic(path, CONFIG_TEMPLATE)


def in_the_way(path: Path) -> str | None:
    """Why ``path`` cannot be written (a folder there, a file where a folder must be,
    a folder that cannot be written in), as the end of one line; ``None`` when it can.

    Checked for every file ``init`` writes before it writes any of them.
    """
    if path.is_dir():  # --force would not help
        return f"{path} is a folder; move it away, or write elsewhere"
    if kind := _special(path):  # --force must not replace /dev/full
        return f"{path} is {kind}, not a file; move it away, or write elsewhere"
    for folder in path.parents:
        if folder.is_dir():
            if os.access(folder, os.W_OK | os.X_OK):
                return None
            return f"cannot write in {folder} (read-only, or not this user's)"
        if folder.exists() or folder.is_symlink():
            return f"{folder} is a file, not a folder; move it away, or write elsewhere"
    return None


class Undo:
    """Put back the files written so far when a later one fails (``init`` writes all or none)."""

    def __init__(self) -> None:
        self._old: list[tuple[Path, bytes | None]] = []

    def write(self, path: Path, write: Callable[[Path], None]) -> None:
        """Run ``write(path)``, remembering what ``path`` held (``None``: nothing)."""
        old = path.read_bytes() if path.is_file() else None  # never read a FIFO (it blocks)
        write(path)
        self._old.append((path, old))

    def undo(self) -> None:
        """Restore every written file (remove the new ones), last first."""
        for path, old in reversed(self._old):
            with contextlib.suppress(OSError):
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    write_atomic(path, old)
        self._old.clear()


_SPECIAL = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _special(path: Path) -> str | None:
    """What ``path`` is when it is no regular file, folder or nothing (``None`` otherwise)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((kind for test, kind in _SPECIAL if test(mode)), None)
