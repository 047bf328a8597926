"""PostgreSQL for the tests: the server named by PILOTBENCH_TEST_PG (CI starts one, see
.ci/run), or else a throwaway server of our own when the PostgreSQL binaries are on the machine
(initdb and pg_ctl in a temporary directory, as the postgres user when we are root). Each test
gets a fresh database on it. Without either, the tests that need PostgreSQL are skipped.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest

ENV = "PILOTBENCH_TEST_PG"
_server: dict[str, object] = {}


def _pg_bin() -> str | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


def start_throwaway() -> str:
    """Start a PostgreSQL server in a temporary directory; returns its admin URL. Stopped at exit."""
    pg_bin = _pg_bin()
    if pg_bin is None:
        raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    root = tempfile.mkdtemp(prefix="pilotbench-pg-")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data = os.path.join(root, "data")
    port = _free_port()
    subprocess.run(
        _as_postgres([f"{pg_bin}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-locale", "-E", "UTF8"]),
        check=True, capture_output=True, timeout=60,
    )
    opts = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off -c max_connections=300"
    subprocess.run(
        _as_postgres([f"{pg_bin}/pg_ctl", "-D", data, "-l", os.path.join(root, "log"), "-o", opts, "-w", "start"]),
        check=True, capture_output=True, timeout=60,
    )

    def stop() -> None:
        subprocess.run(_as_postgres([f"{pg_bin}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def admin_url() -> str:
    """The server's URL, or pytest.skip with the reason."""
    if "url" in _server:
        return str(_server["url"])
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[postgres]')")
    url = os.environ.get(ENV, "").strip()
    if not url:
        if _pg_bin() is None:
            pytest.skip(f"no PostgreSQL: set {ENV}=postgresql://... or install the server binaries")
        try:
            url = start_throwaway()
        except (OSError, subprocess.SubprocessError, RuntimeError, KeyError) as e:
            pytest.skip(f"could not start a throwaway PostgreSQL: {e}")
    _server["url"] = url
    return url


def create_database(admin: str) -> str:
    import psycopg

    name = "pb_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}"


def drop_database(admin: str, url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty database on the test server, dropped afterwards."""
    admin = admin_url()
    url = create_database(admin)
    try:
        yield url
    finally:
        drop_database(admin, url)
