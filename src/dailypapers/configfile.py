"""Reading the config file: a regular file of sane size, or one line saying what it is.

A FIFO in the config's place would block a plain read forever, and a
multi-gigabyte file (a log given by mistake) would be read whole into memory
and parsed; both are refused before their content is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dailypapers.errors import ConfigError

MAX_CONFIG_BYTES = 4 * 2**20  # a config with a thousand topics is a few hundred kB
_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def read_config_bytes(file: Path) -> bytes:
    """The config file's bytes; :class:`ConfigError` (one line) for anything else."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file (run 'dailypapers init' to create one)") from None
    except IsADirectoryError:
        raise ConfigError(f"{file}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    except ValueError:  # a NUL byte in the name
        raise ConfigError(f"{file}: not a file name") from None
    mode = os.fstat(fd).st_mode
    kind = "a directory" if stat.S_ISDIR(mode) else next((k for t, k in _KINDS if t(mode)), None)
    if kind is not None:  # before fdopen: it refuses a directory with its own error
        os.close(fd)
        raise ConfigError(f"{file}: is {kind}, not a config file")
    with os.fdopen(fd, "rb") as opened:
        try:
            data = opened.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{file}: larger than {MAX_CONFIG_BYTES // 2**20} MB, not a config file "
            "(a config is a few kB; is --config the right file?)"
        )
    return data
