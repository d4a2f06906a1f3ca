"""Start a throwaway PostgreSQL server on loopback, for tests and benchmarks.

Uses Debian's ``postgresql`` package binaries; as root the server runs as the
``postgres`` user (PostgreSQL refuses to run as root). Never skips: a missing
installation is a clear error that says which package to install.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: install the Debian package `postgresql` "
        "(./scripts/setup does)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    _run_as: list[str]
    _bin: Path

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``voicebot`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/voicebot"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database, empty or a copy of ``template`` (which nobody may be connected to)."""
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _ctl(self, *args: str) -> None:
        # The server's output goes to its log (-l): a server holding our pipe would hang us.
        subprocess.run(
            [*self._run_as, str(self._bin / "pg_ctl"), "-D", str(self.data_dir), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def go_down(self) -> None:
        """Stop the server but keep its data: an outage (``pg_ctl stop -m fast``)."""
        self._ctl("-m", "fast", "-w", "stop")

    def come_back(self) -> None:
        """Start it again on the same port with the same data, after ``go_down``."""
        root = self.data_dir.parent
        options = _options(self.port, root)
        self._ctl("-o", options, "-l", str(root / "server.log"), "-w", "-t", "60", "start")

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is dropped, the data stays."""
        root = self.data_dir.parent
        options = _options(self.port, root)
        self._ctl(
            "-m", "fast", "-o", options, "-l", str(root / "server.log"), "-w", "-t", "60", "restart"
        )

    def stop(self) -> None:
        subprocess.run(
            [
                *self._run_as,
                str(self._bin / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _options(port: int, root: Path) -> str:
    return (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )


def start_postgres() -> PostgresServer:
    """initdb into a temp dir, start on a free loopback port, create database ``voicebot``."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="voicebot-pg-"))
    data = root / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = _options(port, root)
    subprocess.run(
        [
            *run_as,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    server = PostgresServer(data, port, run_as, bin_dir)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.create_database("voicebot")
            return server
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.2)
