"""Load: 10,000 tests, 500 in flight, against a mock server with faults switched on.

    .venv/bin/python -m pytest -m slow tests/reliability/test_load.py -s

Every test must be accounted for in the store (done or an infrastructure error, none lost, none
twice), and the runner's memory must stay flat: its resident size is sampled from
/proc/self/status while it runs, and the peak of the second half may not be much above the peak
of the first. The mock server runs in its own process, so the figures are the runner's alone.
PB_LOAD_CLIENT=lean runs the same load over the lean HTTP client instead of the OpenAI SDK.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.config import load_config
from pilotbench.runner.scheduler import RunOptions

from .helpers import key_env, make_plan, run_bounded, write_config

TESTS = 10_000
IN_FLIGHT = 500
KEYS = tuple(f"fake-secret-key-LOAD{i:04d}" for i in range(5))
PER_KEY = IN_FLIGHT // len(KEYS)

SERVER = """
import sys
from pilotbench.mock_server import config_from_options, serve
keys = sys.argv[2].split(",")
config = config_from_options(keys, max_concurrency=int(sys.argv[3]), latency=0.01, latency_jitter=0.005,
                             fault_rate=0.05, seed=5, storm_retry_after=0.2)
serve(config, "127.0.0.1", int(sys.argv[1]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.fixture
def server_process() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), ",".join(KEYS), str(PER_KEY)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "mock server did not start"
                time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.slow
def test_10k_tests_500_in_flight_with_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_process: str) -> None:
    client = os.environ.get("PB_LOAD_CLIENT", "sdk")
    refs = key_env(monkeypatch, KEYS)
    # Under this load a call's wall time is mostly queueing in the client; no hangs are injected,
    # so the timeout only has to be well above that.
    cfg = write_config(tmp_path / "c.toml", server_process, refs, max_concurrency=PER_KEY, request_timeout=60,
                       provider_extra=f'client = "{client}"')
    plan = make_plan(load_config(cfg), "mock/strong", prompt_types="all_with_flawed", difficulties="all",
                     tool_success_rates="all", num_instances=10)
    assert len(plan) == TESTS
    db = tmp_path / "load.db"

    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic(), _rss_kb()))
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    options = RunOptions(checkpoint_interval=200, handle_signals=False, live=False, progress_interval=3600,
                         max_in_flight=IN_FLIGHT)
    started = time.monotonic()
    sampler.start()
    try:
        result = run_bounded(plan, cfg, db, timeout=3600, options=options, keep_records=False)
    finally:
        stop.set()
        sampler.join()
    elapsed = time.monotonic() - started

    # Every test accounted for: one row each (no lost results, none done twice), done or error.
    con = sqlite3.connect(db)
    try:
        rows, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT test_id) FROM results").fetchone()
        by_status = dict(con.execute("SELECT status, COUNT(*) FROM results GROUP BY status").fetchall())
        calls, retries, limited = con.execute("SELECT SUM(model_calls), SUM(retries), SUM(rate_limited) FROM results").fetchone()
    finally:
        con.close()
    planned = {s.id for s in plan.expand()}
    con = sqlite3.connect(db)
    try:
        stored = {r[0] for r in con.execute("SELECT test_id FROM results")}
    finally:
        con.close()
    assert stored == planned
    assert rows == distinct == TESTS
    assert set(by_status) <= {"done", "error"}
    assert result.summary.completed == by_status.get("done", 0) and result.summary.errors == by_status.get("error", 0)
    assert by_status.get("done", 0) >= 0.99 * TESTS, by_status
    assert retries > 0 and limited > 0  # the faults were there, and were retried

    # Memory flat: the second half's peak is not much above the first half's.
    assert len(samples) >= 8
    middle = (samples[0][0] + samples[-1][0]) / 2
    first = max(kb for t, kb in samples if t <= middle)
    second = max(kb for t, kb in samples if t > middle)
    print(
        f"\nload ({client}): {TESTS} tests, {IN_FLIGHT} in flight, {elapsed:.0f}s ({TESTS / elapsed:.0f} tests/s, "
        f"{calls} model calls, {retries} retries, {limited} rate-limited); done {by_status.get('done', 0)}, "
        f"errors {by_status.get('error', 0)}; peak RSS first half {first / 1024:.0f} MiB, second half {second / 1024:.0f} MiB"
    )
    assert second <= first * 1.10 + 16 * 1024, (first, second)
