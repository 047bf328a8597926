"""Shared pieces of the reliability suite: obviously fake keys, configs pointing at a mock
server, a bounded run, and the bookkeeping checks every fault test makes on the store."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import textwrap
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pilotbench import api
from pilotbench.config import Config, load_config
from pilotbench.plan import PlanSpec
from pilotbench.runner import calls
from pilotbench.runner.scheduler import RunOptions

from .. import factories

# Obviously fake keys; the last four characters are the only part that may ever be shown.
GOOD_KEYS = ("fake-secret-key-AAAA1111", "fake-secret-key-BBBB2222", "fake-secret-key-CCCC3333")
BAD_KEY = "fake-secret-key-DDDD4444"  # configured, but the server does not accept it: 401
QUOTA_KEY = "fake-secret-key-EEEE5555"  # accepted, but its quota is exhausted: 429 insufficient_quota
ALL_KEYS = (*GOOD_KEYS, BAD_KEY, QUOTA_KEY)

REQUEST_TIMEOUT = 0.5  # seconds; a hang costs this much, never more
RUN_TIMEOUT = 60.0  # no run in this suite may take longer; a hang fails the test instead


def key_env(monkeypatch: pytest.MonkeyPatch, keys: Sequence[str], prefix: str = "PBR_KEY") -> list[str]:
    """Put `keys` in environment variables PBR_KEY_0.. and return their `env:` references."""
    monkeypatch.delenv("MAX_WORKERS", raising=False)
    refs = []
    for i, key in enumerate(keys):
        monkeypatch.setenv(f"{prefix}_{i}", key)
        refs.append(f"env:{prefix}_{i}")
    return refs


def write_config(
    path: Path,
    base_url: str,
    key_refs: Sequence[str],
    *,
    max_concurrency: int = 4,
    request_timeout: float = REQUEST_TIMEOUT,
    max_retries: int = 5,
    key_policy: str = "pool",
    provider_extra: str = "",
    extra: str = "",
) -> Path:
    """A config with provider `mock` (the given keys) and models mock/strong, mock/weak and mock/text."""
    return factories.write_config(
        path, base_url, key_refs,
        models={"mock/strong": "sim/strong", "mock/weak": "sim/weak", "mock/text": ("sim/strong", 'tool_mode = "text"')},
        max_concurrency=max_concurrency, request_timeout=request_timeout,
        provider_extra=f'max_retries = {max_retries}\nkey_policy = "{key_policy}"\n{textwrap.dedent(provider_extra)}',
        extra=extra,
    )


def make_plan(config: Config, model: str = "mock/strong", **axes: Any) -> PlanSpec:
    axes.setdefault("prompt_types", "baseline")
    axes.setdefault("task_types", "all")
    axes.setdefault("num_instances", 4)
    return api.build_plan(model, config=config, **axes)


def run_bounded(
    plan: PlanSpec,
    config_path: Path,
    db: Path,
    *,
    timeout: float = RUN_TIMEOUT,
    options: RunOptions | None = None,
    during: Callable[[], Awaitable[None]] | None = None,
    **kwargs: Any,
) -> api.RunResult:
    """Run `plan` to its end; fail (rather than hang) if it does not end within `timeout`.
    `during()` runs beside the run (to switch faults or stop the server mid-run); it is
    awaited after the run, so its own failures surface."""
    config = load_config(config_path)

    async def go() -> api.RunResult:
        side = asyncio.create_task(during()) if during is not None else None
        try:
            result = await asyncio.wait_for(
                api.run_async(plan, db=db, config=config, options=options, **kwargs), timeout
            )
        except TimeoutError:
            pytest.fail(f"the run did not finish by itself within {timeout:.0f} s")
        finally:
            if side is not None and not side.done():
                try:
                    await asyncio.wait_for(asyncio.shield(side), 15)
                except TimeoutError:
                    side.cancel()
        if side is not None:
            side.result()
        return result

    return asyncio.run(go())


def store_outcomes(db: Path) -> dict[str, set[str]]:
    """test_id -> the set of statuses its attempts ended with."""
    con = sqlite3.connect(db)
    try:
        out: dict[str, set[str]] = {}
        for test_id, status in con.execute("SELECT test_id, status FROM results"):
            out.setdefault(test_id, set()).add(status)
        return out
    finally:
        con.close()


def assert_accounted(db: Path, plan: PlanSpec) -> tuple[set[str], set[str]]:
    """Every planned test has a row that is `done` or `error`, nothing else is in the store,
    no test is done twice, every error row says why, and every run is marked ended (finished or failed).
    Returns (done ids, ids whose latest state is an infrastructure error)."""
    planned = {s.id for s in plan.expand()}
    outcomes = store_outcomes(db)
    assert set(outcomes) == planned, f"missing {len(planned - set(outcomes))}, unplanned {len(set(outcomes) - planned)}"
    con = sqlite3.connect(db)
    try:
        statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM results")}
        assert statuses <= {"done", "error"}, statuses
        dup = con.execute("SELECT COUNT(*) - COUNT(DISTINCT test_id) FROM results WHERE status='done'").fetchone()[0]
        assert dup == 0, "a test was stored as done twice"
        bare = con.execute("SELECT COUNT(*) FROM results WHERE status='error' AND COALESCE(infra_error, '') = ''").fetchone()[0]
        assert bare == 0, "an infrastructure error without its reason"
        not_model = con.execute("SELECT COUNT(*) FROM results WHERE status='error' AND success_level IS NOT NULL").fetchone()[0]
        assert not_model == 0, "an infrastructure error was scored as a model result"
        harness = con.execute("SELECT COUNT(*) FROM results WHERE infra_error LIKE 'harness error%'").fetchone()[0]
        assert harness == 0, "a harness bug (traceback) was stored"
        runs = [r[0] for r in con.execute("SELECT status FROM runs")]
        assert runs and all(s in ("finished", "failed") for s in runs), runs  # ended, not left running
    finally:
        con.close()
    done = {t for t, s in outcomes.items() if "done" in s}
    return done, planned - done


def infra_errors(db: Path, run_id: str | None = None) -> list[str]:
    con = sqlite3.connect(db)
    try:
        if run_id is None:
            return [r[0] for r in con.execute("SELECT infra_error FROM results WHERE status='error'")]
        return [r[0] for r in con.execute("SELECT infra_error FROM results WHERE status='error' AND run_id=?", (run_id,))]
    finally:
        con.close()


def attempted_in_run(db: Path, run_id: str) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute("SELECT test_id FROM results WHERE run_id=?", (run_id,))}
    finally:
        con.close()


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner's retry policy (full-jitter exponential backoff, same attempt counts) on a
    25x shorter time scale, so fault tests do not sleep for seconds. Retry *logic* is unchanged."""
    original = calls.backoff

    def quick(attempt: int, rng: random.Random, base: float = calls.BACKOFF_BASE / 25, cap: float = 0.4) -> float:
        return original(attempt, rng, base, cap)

    monkeypatch.setattr(calls, "backoff", quick)


def settle_in_flight(srv: Any, timeout: float = 3.0) -> int:
    """Requests the mock server still holds once the client is done (hung ones are freed when
    the client gives up on them); 0 unless something leaked."""
    deadline = time.monotonic() + timeout
    while srv.stats.total_in_flight and time.monotonic() < deadline:
        time.sleep(0.02)
    return int(srv.stats.total_in_flight)


def committed(db: Path, where: str = "status='done'") -> int:
    """Rows committed so far (0 before the store exists); for triggers beside a running run."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute(f"SELECT COUNT(*) FROM results WHERE {where}").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def eager_options() -> RunOptions:
    """Commit every result at once, so a side task can watch the store fill up."""
    return RunOptions(checkpoint_interval=1, handle_signals=False, live=False, progress_interval=3600)
