"""The Ray executor against the mock server, results in PostgreSQL: a two-node cluster with
per-key limits, a node lost mid-run, two runs sharing one store, and the CLI end to end.

Every Ray process tree runs in a subprocess of its own session with a hard timeout (killed as a
group, so a stuck cluster fails the test instead of hanging the suite), HOME in a temporary
directory (Ray writes an auth token there), and everything on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread

from ..factories import FAKE_KEYS, mock_config_file
from .pgserver import pg_url  # noqa: F401 - a fixture

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")

REPO = Path(__file__).resolve().parents[2]
LIMIT = 3  # per key and model, on the server and in the config


@pytest.fixture
def server() -> Iterator[MockServerThread]:
    cfg = MockConfig(keys={k: KeyLimits(max_concurrency=LIMIT) for k in FAKE_KEYS}, latency=0.03, limits_per_model=True)
    with MockServerThread(cfg) as srv:
        yield srv


@pytest.fixture
def home() -> Iterator[Path]:
    # Short: Ray's socket paths live under its session directory and must stay under 108 bytes.
    with tempfile.TemporaryDirectory(prefix="pbray-") as d:
        yield Path(d)


def _config(tmp_path: Path, server: MockServerThread) -> Path:
    """The shared mock config, with a request timeout that a loaded CI machine cannot hit."""
    return mock_config_file(tmp_path, server.base_url, max_concurrency=LIMIT, request_timeout=60)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_") and k != "MAX_WORKERS"}
    env.update({f"PB_TEST_KEY_{i}": k for i, k in enumerate(FAKE_KEYS)})
    env.update(HOME=str(home), PILOTBENCH_RAY_LOOPBACK="1", PYTHONPATH=str(REPO))
    return env


def _hard(cmd: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run cmd in a new session; on timeout kill the whole process group (Ray included) and fail."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"timed out after {timeout}s: {' '.join(cmd[:6])}\n--- stderr ---\n{err[-4000:]}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything the run left behind in its group
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _start(cmd: list[str], *, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _finish(proc: subprocess.Popen[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"timed out after {timeout}s\n--- stderr ---\n{err[-4000:]}")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _scenario(tmp_path: Path, home: Path, db: str, config: Path, *extra: str, timeout: float = 100) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "result.json"
    done = _hard([sys.executable, "-m", "tests.distributed.scenarios", "--db", db, "--config", str(config),
                  "--out", str(out), *extra], env=_env(home), cwd=REPO, timeout=timeout)
    assert done.returncode == 0 and out.exists(), done.stderr[-4000:]
    return json.loads(out.read_text())


def _store_counts(db: str) -> tuple[int, int, int, int]:
    """done rows, distinct done tests, keys used, error rows."""
    from pilotbench.store import open_store

    with open_store(db, create=False) as store:
        ((done, distinct, keys),) = store.query(
            "SELECT COUNT(*), COUNT(DISTINCT test_id), COUNT(DISTINCT key_label) FROM results WHERE status = 'done'"
        )
        return int(done), int(distinct), int(keys), store.count("status = 'error'")


def _never_over_limit(server: MockServerThread) -> None:
    stats = server.stats
    assert stats.rate_limited_concurrency == 0, stats.to_dict()
    assert stats.max_in_flight_by_lane and max(stats.max_in_flight_by_lane.values()) <= LIMIT, stats.to_dict()


PLANNED = 3 * 5 * 4  # prompt types x task types x instances (scenario defaults)


def test_two_node_cluster_runs_the_plan_within_each_keys_limit(tmp_path: Path, home: Path, server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path, server)
    result = _scenario(tmp_path, home, pg_url, config)
    assert result["summary"]["completed"] == PLANNED and result["summary"]["errors"] == 0, result
    assert sorted(result["owners"]) == ["mock#0", "mock#1", "mock#2"]  # one owner per key
    done, distinct, keys, errors = _store_counts(pg_url)
    assert done == distinct == PLANNED and errors == 0
    assert keys == 3
    _never_over_limit(server)


def test_node_loss_mid_run_then_every_test_exactly_once(tmp_path: Path, home: Path, server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path, server)
    result = _scenario(tmp_path, home, pg_url, config, "-n", "8", "--remove-after", "25")
    planned = 3 * 5 * 8
    removal = result["removal"]
    assert removal.get("owners_on_node"), result  # the lost node carried at least one owner
    assert removal["stored_before"] < planned  # and was lost mid-run
    lost = removal["owners_on_node"]
    assert all(result["owners"][o]["resubmits"] >= 1 for o in lost), result  # their work was resubmitted
    assert result["summary"]["completed"] + result["summary"]["errors"] >= planned - 0, result
    done, distinct, _, _ = _store_counts(pg_url)
    assert done == distinct == planned, result  # every test, each once
    _never_over_limit(server)


def _cli_run(db: str, config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pilotbench", "run", "--model", "mock/strong,mock/weak", "--prompt-types", "baseline,cot",
            "--task-types", "all", "-n", "3", "--db", db, "--config", str(config), "--no-progress",
            "--progress-interval", "1", "--checkpoint-interval", "5", *extra]


def test_two_concurrent_runs_share_one_postgres_store(tmp_path: Path, home: Path, server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    import time

    from pilotbench.store import open_store
    from pilotbench.store.postgres import AdvisoryLock

    config = _config(tmp_path, server)
    env = _env(home)
    with open_store(pg_url) as store:
        # Someone else owns the first key for a while: both runs must wait for it.
        holder = AdvisoryLock(pg_url, "mock/...aaaa")
        assert holder.try_acquire()
        first = _start(_cli_run(pg_url, config, "--executor", "ray"), env=env, cwd=tmp_path)
        second = _start(_cli_run(pg_url, config, "--executor", "ray"), env=env, cwd=tmp_path)
        deadline = time.monotonic() + 90
        first_row: float | None = None
        while time.monotonic() < deadline and first.poll() is None and second.poll() is None:
            n = store.count()
            if n and first_row is None:
                first_row = time.monotonic()
            # Long enough after the first stored result that the key-0 owner of the run that
            # stored it has been refused at least once (it gives up a try after 2 s).
            if n >= 10 and first_row is not None and time.monotonic() - first_row > 5:
                break
            time.sleep(0.2)
        assert store.count() >= 10, "the runs stored nothing while the first key was held"
        assert store.count("key_label = ?", ("...aaaa",)) == 0  # nobody drove the held key
        holder.close()
    a, b = _finish(first, 120), _finish(second, 120)
    assert a.returncode == 0, a.stderr[-3000:]
    assert b.returncode == 0, b.stderr[-3000:]
    # The run whose owners came up while the key was held waited for it (a run that came up later,
    # the machine being slow, may find it free).
    assert any("key mock/...aaaa is held by another owner" in out.stderr for out in (a, b)), a.stderr[-3000:]
    planned = 2 * 2 * 5 * 3
    done, distinct, keys, _ = _store_counts(pg_url)
    assert done == distinct == planned and keys == 3  # each test once, whichever run did it
    _never_over_limit(server)  # the key lock kept the two runs' owners of one key apart


def test_cli_ray_run_on_postgres_reports_like_sqlite(tmp_path: Path, home: Path, server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """The issue's done-when: three keys, every planned test once, no key over its limit, and
    `pilotbench report` on PostgreSQL gives the same tables as a local run on SQLite."""
    config = _config(tmp_path, server)
    env = _env(home)
    ray_run = _hard(_cli_run(pg_url, config, "--executor", "ray"), env=env, cwd=tmp_path, timeout=120)
    assert ray_run.returncode == 0, ray_run.stderr[-3000:]
    planned = 2 * 2 * 5 * 3
    assert f"planned {planned}, already done 0, completed {planned}, infrastructure errors 0" in ray_run.stdout
    done, distinct, keys, _ = _store_counts(pg_url)
    assert done == distinct == planned and keys == 3
    _never_over_limit(server)
    lite = tmp_path / "local.db"
    local = _hard(_cli_run(str(lite), config), env=env, cwd=tmp_path, timeout=120)
    assert local.returncode == 0, local.stderr[-3000:]

    def report(db: str) -> dict:  # type: ignore[type-arg]
        out = _hard([sys.executable, "-m", "pilotbench", "report", "--db", db, "--format", "json"], env=env, cwd=tmp_path,
                    timeout=60)
        assert out.returncode == 0, out.stderr
        rep = json.loads(out.stdout)
        for volatile in ("generated_at", "operations"):  # when, and which key and how fast, differ by run
            rep.pop(volatile)
        rep["conditions"].pop("run_id")  # which run wrote the rows: two different runs here
        return rep

    def rounded(value):  # type: ignore[no-untyped-def]
        # Sums of floats differ in the last bit between the two databases' aggregation orders.
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    assert rounded(report(pg_url)) == rounded(report(str(lite)))
    md = _hard([sys.executable, "-m", "pilotbench", "report", "--db", pg_url, "--format", "md"], env=env, cwd=tmp_path,
               timeout=60)
    assert md.returncode == 0 and "5.1" in md.stdout


def test_ray_owners_record_the_limits_their_lanes_learnt_for_status(tmp_path: Path, home: Path, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """Each key owner records what its lane learnt from the x-ratelimit-* headers in the run's row,
    so `pilotbench status` shows every key's learnt limits for a distributed run too."""
    limits = KeyLimits(max_concurrency=LIMIT, rpm=600_000, tpm=60_000_000)
    cfg = MockConfig(keys={k: limits for k in FAKE_KEYS}, latency=0.03, limits_per_model=True, budget_seconds=1.0)
    with MockServerThread(cfg) as srv:
        config = _config(tmp_path, srv)
        env = _env(home)
        run = _hard(_cli_run(pg_url, config, "--executor", "ray"), env=env, cwd=tmp_path, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
    status = _hard([sys.executable, "-m", "pilotbench", "status", "--db", pg_url], env={**env, "COLUMNS": "200"},
                   cwd=tmp_path, timeout=60)
    assert status.returncode == 0, status.stderr
    assert "limits learnt" in status.stdout
    learnt = [line for line in status.stdout.splitlines() if "60000000 (" in line]
    # one lane per key and model, recorded by the three key owners
    assert len(learnt) == 3 * 2, status.stdout
    assert all("600000 (" in line for line in learnt)
    assert not any(key in status.stdout for key in FAKE_KEYS)


def test_a_ray_run_and_a_local_run_at_once_share_the_pending_tests(tmp_path: Path, home: Path, server, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    """Ray key owners lease each test before running it, as a local run does: a local run started
    beside a Ray run takes only tests no owner holds, and no test's calls are made twice."""
    import time

    from pilotbench.store import open_store

    config = _config(tmp_path, server)
    env = _env(home)
    planned = 2 * 2 * 5 * 20  # long enough that the local run comes up while the owners still run
    ray_run = _start(_cli_run(pg_url, config, "--executor", "ray", "-n", "20"), env=env, cwd=tmp_path)
    deadline = time.monotonic() + 90
    with open_store(pg_url) as store:
        while store.count() == 0:  # the owners are running
            assert time.monotonic() < deadline and ray_run.poll() is None, "the Ray run stored nothing"
            time.sleep(0.1)
    local = _start(_cli_run(pg_url, config, "-n", "20"), env=env, cwd=tmp_path)
    a, b = _finish(ray_run, 150), _finish(local, 150)
    assert a.returncode == 0, a.stderr[-3000:]
    assert b.returncode == 0, b.stderr[-3000:]
    done, distinct, _, errors = _store_counts(pg_url)
    assert done == distinct == planned and errors == 0
    with open_store(pg_url, create=False) as store:
        ((calls, runs),) = store.query("SELECT SUM(model_calls), COUNT(DISTINCT run_id) FROM results")
    assert server.stats.requests == calls  # every call made was a stored test's: none twice
    assert runs == 2, "the local run took no share of the pending tests"
