"""A throwaway PostgreSQL cluster on a loopback port, for tests and benchmarks.

Uses the server binaries of the machine (Debian's ``postgresql`` package puts
them in ``/usr/lib/postgresql/<version>/bin``). As root, the cluster runs as
the ``postgres`` user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/bin")


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, if installed."""
    if explicit := os.environ.get("DAILYPAPERS_PG_BINDIR"):
        return Path(explicit)
    candidates = sorted(glob.glob(_SEARCH[0]), reverse=True) + list(_SEARCH[1:])
    for candidate in candidates:
        if (Path(candidate) / "postgres").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryPostgres:
    """``with TemporaryPostgres() as pg: pg.url`` — a fresh cluster, removed afterwards."""

    def __init__(self, bindir: Path | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bindir = found
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dailypapers-pg-"))
        self.data = self.root / "data"
        self._as_postgres = os.geteuid() == 0
        self._databases = 0

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def start(self) -> TemporaryPostgres:
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.root / "log"),
            "start",
        )
        return self

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import sqlalchemy as sa

        self._databases += 1
        name = f"test_{self._databases}"
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.database_url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
