"""Where ``dailypapers search`` finds the store, without validating the whole config.

Validating a config builds its pydantic models: about 170 ms of a ``search``
process that otherwise takes about 60 ms to search 100,000 papers (issue 12:
``search`` as a whole process <= 300 ms). The search needs one thing from the
config: the store. When the file leaves the store at its default (no
``[store]`` table, no ``DAILYPAPERS_DB``), that is the project's
``.dailypapers/papers.db``, found as :func:`dailypapers.config.load_config`
finds the file; in every other case (a ``[store]`` table, the variable, a
file that does not read or parse) the command loads the config as before,
and reports its errors as before.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from dailypapers.configfile import read_config_bytes
from dailypapers.errors import ConfigError
from dailypapers.names import CONFIG_ENV, DB_ENV, DEFAULT_CONFIG_NAME, STATE_DIR_NAME


def default_store_url(explicit: Path | None) -> str | None:
    """The store URL of the config when it is the default one, else ``None`` (load it)."""
    if os.environ.get(DB_ENV, "").strip():
        return None
    chosen = explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME
    path = Path(chosen).expanduser().absolute()
    try:  # the config loader's reader: a pipe or /dev/zero is refused, not read
        data = tomllib.loads(read_config_bytes(path).decode("utf-8-sig"))
    except (ConfigError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # the command loads the config, and reports it as every command does
    if data.get("store", {}) != {}:  # init's papers.toml has an empty [store]: the default
        return None
    return f"sqlite:///{path.parent / STATE_DIR_NAME / 'papers.db'}"
