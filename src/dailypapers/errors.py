"""Errors the start-up path raises and reports before the config's models are imported.

:class:`ConfigError` is re-exported by :mod:`dailypapers.config`; it lives
here so the runs' clock (:mod:`dailypapers.clock`) and the calendar skip
(:mod:`dailypapers.quickskip`) can raise and catch it without pydantic.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, as one line: ``file:line: key: message``."""


def unexpected(exc: BaseException) -> str:
    """The one line for an error no command expects (a bug, a closed pipe), exit 1."""
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return f"dailypapers: failed: unexpected error: {detail} (--debug shows the traceback)"
