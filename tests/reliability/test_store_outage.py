"""A PostgreSQL store that goes away mid-run, through a TCP proxy on 127.0.0.1 that the test cuts
(every connection dropped, new ones refused) and restores: the run keeps its results and commits
them when the store is back (exit 0); SIGTERM during the outage exits 130 within seconds with
what it held in a rescue file beside the run's logs, and the next run imports it and finishes
the plan, the store exact. The `pilotbench run` process is real; the model is the mock server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.mock_server import MockServerThread

from ..distributed.pgserver import pg_url  # noqa: F401 - a fixture


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops every connection and stops listening
    (connections are refused, as by a stopped server), `restore()` listens on the same port again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, set()
        if listener is not None:
            listener.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def proxied(pg_url: str) -> Iterator[tuple[str, str, TcpProxy]]:  # noqa: F811
    """(the database's own URL, the same database through a proxy, the proxy)."""
    m = re.match(r"(postgresql://[^@]+@)([^:/]+):(\d+)(/.*)$", pg_url)
    assert m, pg_url
    proxy = TcpProxy((m.group(2), int(m.group(3))))
    try:
        yield pg_url, f"{m.group(1)}127.0.0.1:{proxy.port}{m.group(4)}", proxy
    finally:
        proxy.cut()


PLAN = ("-m", "vllm/sim/strong", "-p", "all_with_flawed", "-t", "all", "-n", "6")  # 300 tests
PLANNED = 300


def _start(db: str, cwd: Path, server: MockServerThread, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "VLLM_BASE_URL": f"{server.base_url}/v1", "PYTHONUNBUFFERED": "1"}
    env.pop("MAX_WORKERS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pilotbench", "run", *PLAN, "--db", db, "--no-progress", "--checkpoint-interval", "10",
         "--max-concurrency", "4", "--progress-interval", "1"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True,
    )


def _count(url: str) -> tuple[int, int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT test_id), COUNT(*) FILTER (WHERE status = 'done') FROM results"
        ).fetchone()


def _wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _committed(url: str) -> int:
    try:
        return _count(url)[0]
    except Exception:  # noqa: BLE001 - the tables may not exist yet
        return 0


def _outage(proxied, model_server, tmp_path: Path, outage: float, sigterm_after: float | None):  # type: ignore[no-untyped-def]
    direct, through, proxy = proxied
    log = tmp_path / "stderr.txt"
    proc = _start(through, tmp_path, model_server, log)
    try:
        _wait_for(lambda: _committed(direct) >= 30, 60, "the first commits")
        assert proc.poll() is None, "the run ended before the outage; make it longer"
        proxy.cut()
        cut_at = time.monotonic()
        _wait_for(lambda: "store unreachable" in log.read_text(), 30, "the run to say the store is unreachable")
        if sigterm_after is not None:
            time.sleep(max(0.0, cut_at + sigterm_after - time.monotonic()))
            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            out, _ = proc.communicate(timeout=60)
            return proc.returncode, out, log.read_text(), time.monotonic() - sent
        time.sleep(max(0.0, cut_at + outage - time.monotonic()))
        assert proc.poll() is None, "the run must wait for the store, not end"
        proxy.restore()
        out, _ = proc.communicate(timeout=120)
        return proc.returncode, out, log.read_text(), None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _assert_exact(direct: str) -> None:
    rows, tests, done = _count(direct)
    assert (rows, tests, done) == (PLANNED, PLANNED, PLANNED)  # every test once, done, nothing twice


@pytest.mark.parametrize("outage", [pytest.param(3.0, id="3s"), pytest.param(30.0, id="30s", marks=pytest.mark.slow)])
def test_a_store_outage_mid_run_is_waited_out_and_every_result_committed(proxied, model_server, tmp_path: Path, outage: float) -> None:  # type: ignore[no-untyped-def]
    code, out, err, _ = _outage(proxied, model_server, tmp_path, outage, None)
    assert code == 0, err[-3000:]
    assert "completed 300" in out and "NOT STORED" not in out and "Traceback" not in err
    assert re.search(r"store unreachable \(PostgreSQL at .*\): keeping \d+ results, retrying with backoff", err)
    assert re.search(r"store back after \d+s: held results committed", err)
    _assert_exact(proxied[0])
    assert not list(tmp_path.rglob("rescue-*.jsonl"))
    logs = "".join(p.read_text() for p in tmp_path.rglob("*.log"))
    assert "store unreachable" in logs and "store back after" in logs  # in the provider's log too


@pytest.mark.parametrize("outage", [pytest.param(2.0, id="short"), pytest.param(150.0, id="5min", marks=pytest.mark.slow)])
def test_sigterm_during_a_store_outage_rescues_beside_the_logs_and_resume_is_exact(proxied, model_server, tmp_path: Path, outage: float) -> None:  # type: ignore[no-untyped-def]
    direct, through, proxy = proxied
    code, out, err, took = _outage(proxied, model_server, tmp_path, outage, sigterm_after=outage)
    assert code == 130, err[-3000:]
    assert took < 15, f"SIGTERM during the outage took {took:.1f} s to exit"
    assert "Traceback" not in err
    m = re.search(r"NOT STORED: (\d+) results the store could not take were saved to (\S+);", out)
    assert m, out
    rescued, shown = int(m.group(1)), m.group(2)
    path = tmp_path / shown  # as the logs' directory is shown: relative to where the run was started
    assert rescued > 0 and path.is_file()
    logs = tmp_path / "pilotbench-results" / "logs"
    assert path.parent.parent == logs and list(path.parent.glob("*.log"))  # beside the run's logs, not in /tmp
    attempts = {json.loads(line)["attempt_id"] for line in path.read_text().splitlines()}
    assert len(attempts) == rescued
    before = _count(direct)[0]
    assert before + rescued <= PLANNED
    proxy.restore()  # the store is back: the same command again
    again = _start(through, tmp_path, model_server, tmp_path / "stderr2.txt")
    out2, _ = again.communicate(timeout=180)
    err2 = (tmp_path / "stderr2.txt").read_text()
    assert again.returncode == 0, err2[-3000:]
    assert f"imported {rescued} results from {shown}, saved by an earlier run" in err2
    assert f"already done {before + rescued}," in out2  # imported before planning: not run again
    assert not path.exists()
    _assert_exact(direct)
    import psycopg

    with psycopg.connect(direct) as conn:  # the stopped run, which could not say so itself, is marked ended
        assert {r[0] for r in conn.execute("SELECT status FROM runs")} == {"interrupted", "finished"}
        stored = {r[0] for r in conn.execute("SELECT attempt_id FROM results")}
    assert attempts <= stored
