"""What ships: ``pip install .`` in a clean venv (no test extras), then every module imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

# Imports every shipped module; prints what it imported, or the first failure.
IMPORT_ALL = """
import importlib, pkgutil, sys
import dailypapers
names = [m.name for m in pkgutil.walk_packages(dailypapers.__path__, "dailypapers.")]
for name in names:
    if not name.endswith(".__main__"):
        importlib.import_module(name)
from importlib.metadata import version
assert version("dailypapers") == dailypapers.__version__
from dailypapers.offline.corpus import demo_corpus
assert len(demo_corpus()) > 100
for extra in ("pytest", "aiosmtpd", "hypothesis", "support"):
    assert importlib.util.find_spec(extra) is None, extra
print(len(names), "modules")
"""


@pytest.mark.slow
def test_a_clean_install_imports_every_shipped_module(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    done = subprocess.run(
        [str(python), "-c", IMPORT_ALL],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[0]) > 40
    installed = subprocess.run(
        [str(python), "-c", "import dailypapers, pathlib; print(dailypapers.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    package = Path(installed.stdout.strip()).parent
    assert not (package / "testing").exists()
    assert sys.prefix not in str(package)
