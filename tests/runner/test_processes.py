"""Real runner processes against the mock server: hard kill and resume, SIGINT, concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread

from ..factories import FAKE_KEYS, mock_config_file

PLAN_ARGS = ["--prompt-types", "all", "--task-types", "all", "--num-instances", "6", "--difficulty", "easy,hard"]
PLANNED = 3 * 5 * 6 * 2  # prompt types x task types x instances x difficulties


@pytest.fixture
def slow_server():  # type: ignore[no-untyped-def]
    cfg = MockConfig(keys={k: KeyLimits(max_concurrency=3) for k in FAKE_KEYS}, latency=0.03, limits_per_model=True)
    with MockServerThread(cfg) as srv:
        yield srv


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({f"PB_TEST_KEY_{i}": k for i, k in enumerate(FAKE_KEYS)})
    env.pop("MAX_WORKERS", None)
    return env


def _start(tmp_path: Path, config: Path, db: Path, model: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "pilotbench", "run", "--model", model, *PLAN_ARGS, "--db", str(db),
           "--config", str(config), "--checkpoint-interval", "5", "--no-progress", "--progress-interval", "0.5", *extra]
    return subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(db: Path, where: str = "1") -> int:
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(f"SELECT COUNT(*) FROM results WHERE {where}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _wait_for_rows(db: Path, n: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _count(db) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "runner committed nothing in time"
        time.sleep(0.05)


def test_sigkill_then_resume_runs_exactly_the_missing_tests(tmp_path: Path, slow_server) -> None:  # type: ignore[no-untyped-def]
    config = mock_config_file(tmp_path, slow_server.base_url, max_concurrency=3)
    db = tmp_path / "kill.db"
    proc = _start(tmp_path, config, db, "mock/strong")
    _wait_for_rows(db, 20, proc)
    proc.kill()
    proc.wait(timeout=10)
    before = _count(db)
    assert 0 < before < PLANNED
    # the killed run's row still says running; status tells it is dead
    status = subprocess.run([sys.executable, "-m", "pilotbench", "status", "--db", str(db)], capture_output=True, env=_env(),
                            text=True, timeout=60, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "dead" in status.stdout, status.stdout
    assert "running (pid" not in status.stdout
    con = sqlite3.connect(db)
    left = con.execute("SELECT COUNT(*), MAX(owner) FROM claims WHERE test_id NOT IN "
                       "(SELECT test_id FROM results WHERE status = 'done')").fetchone()
    con.close()
    assert left[0] > 0 and left[1].split(":")[-2] == str(proc.pid)  # leases the killed process still holds
    resumed_at = time.monotonic()
    again = _start(tmp_path, config, db, "mock/strong")
    out, err = again.communicate(timeout=120)
    took = time.monotonic() - resumed_at
    assert again.returncode == 0, err
    # The killed process was of this machine: its leases are taken over at once, not waited for
    # until they expire (60 s after their last renewal).
    assert f"leases on tests held by process {proc.pid} of this machine, now gone" in err, err
    assert "being run by another process" not in err, err
    assert took < 30, took
    con = sqlite3.connect(db)
    total, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT test_id) FROM results WHERE status='done'").fetchone()
    runs = con.execute("SELECT run_id, COUNT(*) FROM results GROUP BY run_id ORDER BY MIN(rowid)").fetchall()
    con.close()
    assert total == distinct == PLANNED  # every planned test, each once
    assert len(runs) == 2 and runs[0][1] == before and runs[1][1] == PLANNED - before  # nothing finished was repeated


def test_sigint_exits_130_keeping_what_finished(tmp_path: Path, slow_server) -> None:  # type: ignore[no-untyped-def]
    config = mock_config_file(tmp_path, slow_server.base_url, max_concurrency=3)
    db = tmp_path / "int.db"
    proc = _start(tmp_path, config, db, "mock/strong")
    _wait_for_rows(db, 10, proc)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 10
    kept = _count(db, "status='done'")
    assert 10 <= kept < PLANNED
    assert "resume" in out + err
    assert f"interrupted: {PLANNED - kept} of {PLANNED} tests not run" in out
    assert "Traceback" not in err
    # The next run finishes the rest without repeating anything.
    again = _start(tmp_path, config, db, "mock/strong")
    again.communicate(timeout=120)
    assert _count(db, "status='done'") == PLANNED
    con = sqlite3.connect(db)
    status = con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
    con.close()
    assert [s[0] for s in status] == ["interrupted", "finished"]


def test_two_processes_write_one_database(tmp_path: Path, slow_server) -> None:  # type: ignore[no-untyped-def]
    config = mock_config_file(tmp_path, slow_server.base_url, max_concurrency=3)
    db = tmp_path / "shared.db"
    a = _start(tmp_path, config, db, "mock/strong", "--checkpoint-interval", "1")
    b = _start(tmp_path, config, db, "mock/weak", "--checkpoint-interval", "1")
    for p in (a, b):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    con = sqlite3.connect(db)
    per_model = dict(con.execute("SELECT model, COUNT(DISTINCT test_id) FROM results WHERE status='done' GROUP BY model"))
    dupes = con.execute("SELECT COUNT(*) - COUNT(DISTINCT test_id) FROM results").fetchone()[0]
    con.close()
    assert per_model == {"mock/strong": PLANNED, "mock/weak": PLANNED}
    assert dupes == 0


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path, slow_server) -> None:  # type: ignore[no-untyped-def]
    config = mock_config_file(tmp_path, slow_server.base_url, max_concurrency=3)
    db = tmp_path / "p.db"
    proc = _start(tmp_path, config, db, "mock/weak")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = [line for line in err.splitlines() if line.startswith("progress ")]
    assert lines, err
    assert "\x1b[" not in err  # no terminal control codes in a log
    assert f"/{PLANNED} tests" in lines[-1]
    logs = list((tmp_path / "logs").rglob("mock.log")) if (tmp_path / "logs").exists() else list(db.parent.rglob("mock.log"))
    assert logs and sum(1 for _ in logs[0].open()) >= PLANNED
