"""Shared fixtures: an isolated environment for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DAILYPAPERS_* or GITHUB_* variable of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith(("DAILYPAPERS_", "GITHUB_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
