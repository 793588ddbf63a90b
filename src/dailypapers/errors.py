"""Errors the start-up path raises before the config's models are imported.

:class:`ConfigError` is re-exported by :mod:`dailypapers.config`; it lives
here so the runs' clock (:mod:`dailypapers.clock`) and the calendar skip
(:mod:`dailypapers.quickskip`) can raise and catch it without pydantic.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, as one line: ``file:line: key: message``."""
