"""Measured processes read compiled bytecode, as an installed package's modules do.

``pip install`` compiles a package's modules at install time, and an
editable install's are cached on first import, so a user's ``dailypapers``
never compiles its own source. A machine (or CI) that sets
``PYTHONDONTWRITEBYTECODE`` would make every measured process compile the
package's ~70 modules from source again (about 0.07 s of CPU an update on
this machine). :func:`installed_env` compiles the given trees once (into
their ``__pycache__`` folders, which git ignores) and returns the
environment without that variable. (Not ``PYTHONPYCACHEPREFIX``: with it
Python reads bytecode only from the prefix, so the first measured process
would compile the standard library and every dependency.) Scripts run as
``__main__`` (``bench/measured.py``, the reference's script) are compiled
in every process either way, as the reference's own script is.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import dailypapers


def package_dir() -> Path:
    """The ``dailypapers`` package the measured processes import."""
    return Path(dailypapers.__file__).resolve().parent


def installed_env(env: Mapping[str, str], *trees: Path) -> dict[str, str]:
    """``env`` that lets Python read (and write) bytecode; ``trees`` are compiled first."""
    result = dict(env)
    result.pop("PYTHONDONTWRITEBYTECODE", None)
    result.pop("PYTHONPYCACHEPREFIX", None)
    for tree in trees or (package_dir(),):
        command = [sys.executable, "-m", "compileall", "-q", str(tree)]
        subprocess.run(command, env=result, check=True, capture_output=True)
    return result
