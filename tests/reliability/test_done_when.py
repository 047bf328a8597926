"""Issue 7's "done when": against a mock server failing in all these ways at once (a mix of
fault kinds at modest rates, one quota-exhausted key, one 401 key among several good ones), a run
of 150 tests ends by itself with at least 140 done and the rest recorded as infrastructure
errors; a resumed run then completes them. The real retry policy (no shortened backoff).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pilotbench.config import load_config
from pilotbench.mock_server import FAULT_KINDS, Faults, KeyLimits, MockConfig

from .helpers import (
    BAD_KEY,
    GOOD_KEYS,
    QUOTA_KEY,
    assert_accounted,
    attempted_in_run,
    infra_errors,
    key_env,
    make_plan,
    run_bounded,
    settle_in_flight,
    write_config,
)

MIXED_FAULTS = Faults(
    error_500=0.02,
    hang=0.01,
    malformed_json=0.02,
    empty_content=0.02,
    reasoning_only=0.02,
    drop_connection=0.02,
    rate_limit_storm=0.02,
    storm_retry_after=0.2,
    hang_seconds=30,
)
TRANSIENT_REASONS = ("HTTP 500", "timeout", "malformed response", "connection error", "rate limited")


# The default HTTP client (the OpenAI SDK) in every CI run; the lean aiohttp client in the slow set.
@pytest.mark.parametrize("client", ["sdk", pytest.param("lean", marks=pytest.mark.slow)])
def test_150_tests_against_everything_failing_at_once(client: str, tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    server_keys = {k: KeyLimits(max_concurrency=4) for k in GOOD_KEYS}
    server_keys[QUOTA_KEY] = KeyLimits(max_concurrency=4, quota_exhausted=True)
    srv = servers(MockConfig(keys=server_keys, latency=0.005, faults=MIXED_FAULTS, seed=11))
    refs = key_env(monkeypatch, (GOOD_KEYS[0], QUOTA_KEY, GOOD_KEYS[1], BAD_KEY, GOOD_KEYS[2]))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, refs, provider_extra=f'client = "{client}"')
    plan = make_plan(load_config(cfg), "mock/strong,mock/text", prompt_types="all", num_instances=5)
    assert len(plan) == 150
    db = tmp_path / "r.db"

    started = time.monotonic()
    result = run_bounded(plan, cfg, db, timeout=120)
    elapsed = time.monotonic() - started

    done, errors = assert_accounted(db, plan)
    assert len(done) >= 140, f"only {len(done)} of 150 done"
    assert result.summary.completed == len(done) and result.summary.errors == len(errors)
    assert all(any(r in m for r in TRANSIENT_REASONS) for m in infra_errors(db)), set(infra_errors(db))
    # Every kind of fault really happened, and the dead keys died quietly while the good ones worked.
    assert all(srv.stats.faults[k] > 0 for k in FAULT_KINDS), srv.stats.faults
    lanes = {s["key"]: s for s in result.lane_stats.values()}
    assert all(s["disabled"] and "401" in s["disabled"] for k, s in lanes.items() if k == "...4444")
    assert all(s["parked"] and "quota" in s["parked"] for k, s in lanes.items() if k == "...5555")
    assert all(s["ok"] > 0 and not s["disabled"] and not s["parked"] for k, s in lanes.items() if k in ("...1111", "...2222", "...3333"))
    assert srv.stats.unauthorized <= 8 and srv.stats.quota_exhausted <= 8  # 4 slots per lane, 2 models
    assert settle_in_flight(srv) == 0  # hung requests were let go, nothing leaked
    print(f"\n{client}: 150 tests in {elapsed:.1f}s: {len(done)} done, {len(errors)} infrastructure errors; "
          f"faults {srv.stats.faults}")

    # Resume, with the server still failing: the infrastructure errors are run again, nothing else.
    again = run_bounded(plan, cfg, db, timeout=120)
    assert attempted_in_run(db, again.summary.run_id) == errors
    done, errors = assert_accounted(db, plan)
    assert len(done) >= 148
