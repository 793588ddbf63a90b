"""Names the command line needs before it imports anything heavy.

The CLI's options name environment variables and choices when the module is
imported (``dailypapers --help`` included), so they live here, in a module
that imports nothing heavy, and the library modules take them from here.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = "DAILYPAPERS_CONFIG"
DB_ENV = "DAILYPAPERS_DB"
DEFAULT_CONFIG_NAME = "papers.toml"
STATE_DIR_NAME = ".dailypapers"  # beside the config: the store, the run lock
MAX_SECONDS = 1e9  # `--wait`, `--deadline`: 31 years; the timer takes no much larger number
SOURCES = ("api", "feed", "local")  # names for `[arxiv] source` and `update --source`
OAI_FORMATS = ("arXivRaw", "arXiv", "oai_dc")  # OAI-PMH metadata formats we read
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_FEED_URL = "https://rss.arxiv.org/atom/"
DEFAULT_OAI_URL = "https://oaipmh.arxiv.org/oai"


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: ``--config``, then ``$DAILYPAPERS_CONFIG``, then ./papers.toml."""
    chosen = explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME
    return Path(chosen).expanduser().absolute()
