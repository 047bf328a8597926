"""Two identical resume commands started at once share the pending tests instead of both running
them: every test's calls are made once in all (the mock server counts them), on SQLite and on
PostgreSQL; a lease left by a killed process of this machine is taken over at once by the next run,
one left by a killed process of another machine expires and the next run then takes its tests."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pilotbench.mock_server import MockServerThread

from ..distributed.pgserver import pg_url  # noqa: F401 - a fixture

PLAN = ("-m", "vllm/sim/strong", "-p", "all_with_flawed", "-t", "all")  # 50 tests per instance


def _start(db: str, cwd: Path, server: MockServerThread, n: int, name: str, **env: str) -> subprocess.Popen[str]:
    full = {**os.environ, "VLLM_BASE_URL": f"{server.base_url}/v1", **env}
    full.pop("MAX_WORKERS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pilotbench", "run", *PLAN, "-n", str(n), "--db", db, "--no-progress",
         "--checkpoint-interval", "5", "--max-concurrency", "4"],
        cwd=cwd, env=full, stdout=(cwd / f"{name}.out").open("w"), stderr=(cwd / f"{name}.err").open("w"), text=True,
    )


def _query(db: str, sql: str) -> list[tuple[Any, ...]]:
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            return conn.execute(sql).fetchall()
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _rename_owners(db: str, host: str) -> None:
    """Every lease in a SQLite store, as if its holder ran on `host` (owners are `host:pid:tag`)."""
    con = sqlite3.connect(db)
    try:
        with con:
            con.execute("UPDATE claims SET owner = ? || substr(owner, instr(owner, ':'))", (host,))
    finally:
        con.close()


def _kill_after(db: str, killed: subprocess.Popen[str], rows: int) -> int:
    """SIGKILL `killed` once the store holds `rows` results; how many of its leases are left on
    tests it never finished."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if _query(db, "SELECT COUNT(*) FROM results")[0][0] >= rows:
                break
        except Exception:  # noqa: BLE001 - the store is not made yet (sqlite3 or psycopg says so)
            pass
        assert time.monotonic() < deadline and killed.poll() is None, "the run to kill ended or never committed"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()  # reaped: no process has its pid any more
    left = _query(db, "SELECT COUNT(*) FROM claims WHERE test_id NOT IN (SELECT test_id FROM results WHERE status = 'done')")
    return int(left[0][0])


def _finish(proc: subprocess.Popen[str], cwd: Path, name: str, timeout: float = 120) -> tuple[str, str]:
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return (cwd / f"{name}.out").read_text(), (cwd / f"{name}.err").read_text()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_resumers_started_at_once_make_each_tests_calls_once(backend: str, model_server: MockServerThread,
                                                                 tmp_path: Path, request: pytest.FixtureRequest) -> None:
    db = str(tmp_path / "r.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    first = _start(db, tmp_path, model_server, 1, "first")  # a run that did part of the plan
    out, err = _finish(first, tmp_path, "first")
    assert first.returncode == 0, err
    [(first_run,)] = _query(db, "SELECT DISTINCT run_id FROM results")
    model_server.server.reset_stats()
    a = _start(db, tmp_path, model_server, 4, "a")  # the same resume command, twice, at the same moment
    b = _start(db, tmp_path, model_server, 4, "b")
    (out_a, err_a), (out_b, err_b) = _finish(a, tmp_path, "a"), _finish(b, tmp_path, "b")
    assert (a.returncode, b.returncode) == (0, 0), err_a + err_b
    rows, tests, done = _query(db, "SELECT COUNT(*), COUNT(DISTINCT test_id), SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) FROM results")[0]
    assert (rows, tests, done) == (200, 200, 200)  # the store exact
    [(calls_stored, runs)] = _query(
        db, f"SELECT SUM(model_calls), COUNT(DISTINCT run_id) FROM results WHERE run_id != '{first_run}'")
    assert runs == 2  # both took a share of the 150 pending tests
    # every request the server had was a call of a stored test: none was paid for twice
    assert model_server.server.stats.requests == calls_stored
    completed = []
    for out in (out_a, out_b):  # each counts the tests the other did as already done
        m = re.search(r"planned 200, already done (\d+), completed (\d+), infrastructure errors 0,", out)
        assert m, out
        assert int(m.group(1)) + int(m.group(2)) == 200
        completed.append(int(m.group(2)))
    assert sum(completed) == 150 and min(completed) > 0
    assert _query(db, "SELECT COUNT(*) FROM claims") == [(0,)]  # every lease given up


def test_a_lease_left_by_a_killed_process_expires_and_the_next_run_takes_its_tests(model_server: MockServerThread,
                                                                                  tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    # leases of 10 s: longer than the rest of the plan takes the next run, so it meets them live
    killed = _start(db, tmp_path, model_server, 4, "killed", PILOTBENCH_CLAIM_TTL="10")
    deadline = time.monotonic() + 60
    while True:
        try:
            if _query(db, "SELECT COUNT(*) FROM results")[0][0] >= 20:
                break
        except sqlite3.Error:
            pass
        assert time.monotonic() < deadline and killed.poll() is None, "the run to kill ended or never committed"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    killed_at = time.monotonic()
    left = _query(db, "SELECT COUNT(*) FROM claims WHERE test_id NOT IN (SELECT test_id FROM results WHERE status = 'done')")
    assert left[0][0] > 0  # leases the dead process holds on tests it never finished
    # as if it had run on another machine: there is no asking whether its process is gone
    _rename_owners(db, "another-host")
    resumed = _start(db, tmp_path, model_server, 4, "resumed")
    out, err = _finish(resumed, tmp_path, "resumed")
    assert resumed.returncode == 0, err
    assert "being run by another process" in err  # it waited for those leases instead of taking them at once
    assert time.monotonic() - killed_at >= 7.0  # ... until they expired (10 s after the last renewal)
    rows, tests, done = _query(db, "SELECT COUNT(*), COUNT(DISTINCT test_id), SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) FROM results")[0]
    assert (rows, tests, done) == (200, 200, 200)
    assert _query(db, "SELECT COUNT(*) FROM claims") == [(0,)]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_lease_left_by_a_killed_process_of_this_machine_is_taken_over_at_once(
        backend: str, model_server: MockServerThread, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    db = str(tmp_path / "r.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    killed = _start(db, tmp_path, model_server, 4, "killed")  # leases of 60 s, renewed every 20 s
    assert _kill_after(db, killed, 20) > 0  # leases the dead process holds on tests it never finished
    started = time.monotonic()
    resumed = _start(db, tmp_path, model_server, 4, "resumed")
    out, err = _finish(resumed, tmp_path, "resumed")
    took = time.monotonic() - started
    assert resumed.returncode == 0, err
    assert f"held by process {killed.pid} of this machine, now gone (killed?), are taken over at once" in err, err
    assert "being run by another process" not in err  # nothing was waited for
    assert took < 30, took  # far from the 60 s the leases had to run
    rows, tests, done = _query(db, "SELECT COUNT(*), COUNT(DISTINCT test_id), SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) FROM results")[0]
    assert (rows, tests, done) == (200, 200, 200)
    assert _query(db, "SELECT COUNT(*) FROM claims") == [(0,)]
