"""Faults over real sockets: the runner against the mock server misbehaving in every way it can.

For each fault the run must end by itself (bounded by `run_bounded`'s timeout), every planned
test must end `done` or `error` in the store, transient faults must be retried away, a dead key
must be parked or disabled while the other keys carry on, and a resumed run must complete the
infrastructure errors. Request timeouts are 0.5 s, so a hang costs half a second, not an hour.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from aiohttp import web

from pilotbench.benchmark.types import ToolCall
from pilotbench.config import load_config
from pilotbench.mock_server import Faults, KeyLimits, MockConfig, MockServer, default_responder
from pilotbench.runner.writer import BatchWriter
from pilotbench.store.records import TestRecord
from pilotbench.store.sqlite import SQLiteStore

from ..factories import record
from .helpers import (
    BAD_KEY,
    GOOD_KEYS,
    QUOTA_KEY,
    assert_accounted,
    attempted_in_run,
    committed,
    eager_options,
    infra_errors,
    key_env,
    make_plan,
    run_bounded,
    settle_in_flight,
    store_outcomes,
    write_config,
)

LATENCY = 0.005


def server_config(keys=GOOD_KEYS, *, faults: Faults | None = None, quota=(), seed: int = 7) -> MockConfig:  # type: ignore[no-untyped-def]
    limits = {k: KeyLimits(max_concurrency=4, quota_exhausted=k in quota) for k in keys}
    return MockConfig(keys=limits, latency=LATENCY, faults=faults or Faults(), seed=seed)


async def wait_until(condition, timeout: float = 20.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------------------------------------
# Transient faults: 500s, hangs past the timeout, malformed JSON, dropped connections
# ------------------------------------------------------------------------------------------------

TRANSIENT = {
    "error_500": "HTTP 500",
    "hang": "timeout",
    "malformed_json": "malformed response",
    "drop_connection": "connection error",
}


@pytest.mark.parametrize("kind", list(TRANSIENT))
def test_transient_faults_are_retried_away(kind, tmp_path: Path, monkeypatch, servers, fast_backoff) -> None:  # type: ignore[no-untyped-def]
    # 0.2: a test gives up only when one call fails every retry (0.2 ** attempts), and suite v3's longer
    # conversations make more calls; at 0.3, 2 of 15 tests gave up now and then (a flaky 0.9 bound).
    rate = 0.15 if kind == "hang" else 0.2  # each hang costs a 0.5 s timeout
    srv = servers(server_config(faults=Faults(**{kind: rate}, hang_seconds=30)))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS))
    plan = make_plan(load_config(cfg), num_instances=3)
    db = tmp_path / "r.db"
    started = time.monotonic()
    result = run_bounded(plan, cfg, db)
    elapsed = time.monotonic() - started
    done, errors = assert_accounted(db, plan)
    faults = srv.stats.faults[kind]
    retries = sum(r.retries for r in result.records)
    assert faults > 0
    # Every injected fault was noticed and retried, except the last try of a test that gave up.
    assert retries + len(errors) == faults, (retries, len(errors), faults)
    assert len(done) >= 0.9 * len(plan), f"retries did not recover: {len(errors)} errors"
    assert all(TRANSIENT[kind] in e for e in infra_errors(db))
    if kind == "hang":  # each hang cost one request timeout, and the server got its slot back
        assert elapsed < 20
        assert settle_in_flight(srv) == 0


@pytest.mark.parametrize("kind", list(TRANSIENT))
def test_exhausted_retries_are_infra_errors_that_resume_completes(kind, tmp_path: Path, monkeypatch, servers, fast_backoff) -> None:  # type: ignore[no-untyped-def]
    srv = servers(server_config(faults=Faults(**{kind: 0.3}, hang_seconds=30)))
    refs = key_env(monkeypatch, GOOD_KEYS)
    cfg = write_config(tmp_path / "c.toml", srv.base_url, refs, max_retries=0)
    plan = make_plan(load_config(cfg), "mock/text", num_instances=2)  # text mode: cheaper calls, same HTTP path
    db = tmp_path / "r.db"
    first = run_bounded(plan, cfg, db)
    done, errors = assert_accounted(db, plan)
    assert errors, "with no retries allowed, some tests must end as infrastructure errors"
    assert first.summary.errors == len(errors) and first.summary.completed == len(done)
    messages = infra_errors(db)
    assert all(TRANSIENT[kind] in m and "gave up after 1 transient" in m for m in messages), messages
    # Resume once the provider is healthy again: exactly the errored tests run, and all end done.
    srv.set_faults(Faults())
    second = run_bounded(plan, cfg, db)
    assert second.summary.skipped == len(done)
    assert attempted_in_run(db, second.summary.run_id) == errors
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan)


# ------------------------------------------------------------------------------------------------
# Bodies no real provider should send, but gateways do
# ------------------------------------------------------------------------------------------------

GARBAGE: list[tuple[int, str, bytes]] = [
    (200, "application/json", b'{"choices": []}'),
    (200, "application/json", b'{"choices": [{"index": 0, "message": null}]}'),
    (200, "application/json", b"[]"),
    (200, "application/json", b"null"),
    (200, "application/json", b'{"choices": "nope"}'),
    (200, "text/html", b"<html><body>502 Bad Gateway</body></html>"),
    (200, "application/json", b'{"choices": [{"message": {"role": "assistant", "content": 5, "tool_calls": "x"}}]}'),
    (200, "application/json", b'{"choices": [{"message": {"role": "assistant", "content": null, "tool_calls": [{"id": 1, "function": null}]}}]}'),
    (200, "application/json", b'{"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": "many"}}'),
    (502, "text/html", b"<html>Bad Gateway</html>"),
    (503, "application/json", b'{"error": "overloaded"}'),
    (200, "application/json", b""),
    (200, "application/json", b"\xff\xfe\x00garbage"),
]


class GarbageServer(MockServer):
    """Every third admitted request gets the next body of GARBAGE instead of an answer."""

    def __init__(self, config: MockConfig) -> None:
        super().__init__(config)
        self.sent = 0
        self.garbage = 0

    async def _admitted(self, request, body, model, raw, fault):  # type: ignore[no-untyped-def]
        self.sent += 1
        if self.sent % 3 == 0:
            status, ctype, payload = GARBAGE[self.garbage % len(GARBAGE)]
            self.garbage += 1
            return web.Response(status=status, body=payload, content_type=ctype)
        return await super()._admitted(request, body, model, raw, fault)


def test_garbage_bodies_are_classified_not_crashed_on(tmp_path: Path, monkeypatch, servers, fast_backoff) -> None:  # type: ignore[no-untyped-def]
    config = server_config()
    srv = servers(config, server=GarbageServer(config))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS))
    plan = make_plan(load_config(cfg), num_instances=3)
    db = tmp_path / "r.db"
    run_bounded(plan, cfg, db)
    done, errors = assert_accounted(db, plan)  # includes: no "harness error" rows
    assert srv.server.garbage >= len(GARBAGE)  # every kind of garbage was served at least once
    assert len(done) >= 0.9 * len(plan)


# ------------------------------------------------------------------------------------------------
# Model-side format problems: empty replies and replies with only reasoning_content
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, rate, model",
    [
        ("empty_content", 0.4, "mock/strong"),
        ("reasoning_only", 0.4, "mock/strong"),
        ("empty_content", 1.0, "mock/text"),
        ("reasoning_only", 1.0, "mock/strong"),
    ],
)
def test_empty_and_reasoning_only_replies_get_format_help_and_end_done(kind, rate, model, tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    srv = servers(server_config(faults=Faults(**{kind: rate})))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS))
    plan = make_plan(load_config(cfg), model, num_instances=2 if rate < 1 else 1)
    db = tmp_path / "r.db"
    result = run_bounded(plan, cfg, db)
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan), "a format problem is the model's, never an infrastructure error"
    assert sum(r.retries for r in result.records) == 0  # not retried as transient
    assert sum(r.format_errors for r in result.records) >= srv.stats.faults[kind] > 0
    assert sum(r.assistance_turns for r in result.records) >= srv.stats.faults[kind]
    if rate == 1.0:  # the model never answered: every test ran out of turns, a model failure
        assert {r.success_level for r in result.records} == {"failure"}
        assert {r.trajectory["stop_reason"] for r in result.records} == {"max_turns"}
    else:
        assert any(r.success_level != "failure" for r in result.records)


# ------------------------------------------------------------------------------------------------
# 429 storms, switched on at runtime, with and without Retry-After
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [0.2, None], ids=["retry-after", "no-retry-after"])
def test_rate_limit_storm_is_waited_out_without_costing_attempts(retry_after, tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    srv = servers(server_config())
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS))
    plan = make_plan(load_config(cfg), num_instances=3)
    db = tmp_path / "r.db"
    storm_seconds = 0.4

    async def storm() -> None:
        await wait_until(lambda: srv.stats.ok >= 15, what="the run to get going")
        await asyncio.to_thread(srv.set_faults, Faults(rate_limit_storm=1.0, storm_retry_after=retry_after))
        await asyncio.sleep(storm_seconds)
        await asyncio.to_thread(srv.set_faults, Faults())

    result = run_bounded(plan, cfg, db, during=storm)
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan)
    storm_429 = srv.stats.storm_429
    assert storm_429 > 0
    assert sum(r.rate_limited for r in result.records) == storm_429  # each one seen and waited out
    assert sum(r.retries for r in result.records) == 0  # a rate limit is not a test attempt
    # Waiting, not hammering: 3 lanes x 4 slots can only come back a few times in 0.4 s.
    assert storm_429 < 12 * 8, storm_429


# ------------------------------------------------------------------------------------------------
# Dead keys: a 401 key and an insufficient_quota key among good ones
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["pool", "round-robin", "prompt-affinity"])
def test_401_key_is_disabled_while_the_other_keys_carry_on(policy, tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    srv = servers(server_config(GOOD_KEYS))  # BAD_KEY is configured below but unknown to the server
    refs = key_env(monkeypatch, (GOOD_KEYS[0], BAD_KEY, GOOD_KEYS[1]))  # affinity sends cot to the bad key
    cfg = write_config(tmp_path / "c.toml", srv.base_url, refs, key_policy=policy)
    plan = make_plan(load_config(cfg), prompt_types="all", num_instances=1)
    db = tmp_path / "r.db"
    result = run_bounded(plan, cfg, db)
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan), "a dead key must not cost a test"
    bad = [s for s in result.lane_stats.values() if s["key"] == "...4444"]
    good = [s for s in result.lane_stats.values() if s["key"] != "...4444"]
    assert len(bad) == 1 and bad[0]["disabled"] and "401" in bad[0]["disabled"]
    assert all(s["disabled"] is None and s["parked"] is None and s["ok"] > 0 for s in good)
    assert 1 <= srv.stats.unauthorized <= 4  # at most the calls in flight on it when it died
    assert {r.key_label for r in result.records} <= {"...1111", "...2222"}


def test_quota_exhausted_key_is_parked_while_the_other_keys_carry_on(tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    srv = servers(server_config((*GOOD_KEYS, QUOTA_KEY), quota={QUOTA_KEY}))
    refs = key_env(monkeypatch, (QUOTA_KEY, GOOD_KEYS[0], GOOD_KEYS[1]))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, refs)
    plan = make_plan(load_config(cfg), num_instances=3)
    db = tmp_path / "r.db"
    result = run_bounded(plan, cfg, db)
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan)
    parked = [s for s in result.lane_stats.values() if s["key"] == "...5555"]
    assert len(parked) == 1 and parked[0]["parked"] and "quota" in parked[0]["parked"]
    assert 1 <= srv.stats.quota_exhausted <= 4
    assert sum(r.retries for r in result.records) == 0


def test_every_key_dead_ends_the_run_quickly_and_resume_completes(tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    srv = servers(server_config((*GOOD_KEYS, QUOTA_KEY), quota={QUOTA_KEY}))
    refs = key_env(monkeypatch, (BAD_KEY, QUOTA_KEY))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, refs)
    plan = make_plan(load_config(cfg), num_instances=3)
    db = tmp_path / "r.db"
    started = time.monotonic()
    first = run_bounded(plan, cfg, db, timeout=20)
    assert time.monotonic() - started < 10
    done, errors = assert_accounted(db, plan)
    assert not done and len(errors) == len(plan)
    assert "no usable key" in first.summary.stopped_models["mock/strong"]
    assert all(m.startswith("model stopped:") for m in infra_errors(db))
    assert srv.stats.unauthorized + srv.stats.quota_exhausted <= 8  # not hammered
    # With working keys configured, the same command finishes exactly what failed.
    refs = key_env(monkeypatch, GOOD_KEYS)
    write_config(cfg, srv.base_url, refs)
    second = run_bounded(plan, cfg, db)
    assert attempted_in_run(db, second.summary.run_id) == errors
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan)


# ------------------------------------------------------------------------------------------------
# The server going away mid-run
# ------------------------------------------------------------------------------------------------


def test_server_outage_mid_run_is_ridden_out_by_retries(tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    """Real backoff (no fast_backoff): a short outage is well inside the retry budget."""
    first = servers(server_config())
    port = first.port
    cfg = write_config(tmp_path / "c.toml", first.base_url, key_env(monkeypatch, GOOD_KEYS))
    plan = make_plan(load_config(cfg), num_instances=3)
    db = tmp_path / "r.db"
    second = []

    async def outage() -> None:
        await wait_until(lambda: committed(db) >= 3, what="the first results")
        await asyncio.to_thread(first.stop)
        await asyncio.sleep(0.5)
        second.append(await asyncio.to_thread(servers, server_config(), port=port))

    result = run_bounded(plan, cfg, db, during=outage, options=eager_options())
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan)
    assert second and second[0].stats.ok > 0, "the run carried on against the server that came back"
    assert sum(r.retries for r in result.records) > 0


def test_server_gone_for_good_ends_the_run_and_resume_completes(tmp_path: Path, monkeypatch, servers, fast_backoff) -> None:  # type: ignore[no-untyped-def]
    """The resumed run goes to a new server on a port of its own (the config is pointed at it), so
    nothing else on the machine can take the port between the two servers."""
    first = servers(server_config())
    refs = key_env(monkeypatch, GOOD_KEYS)
    cfg = write_config(tmp_path / "c.toml", first.base_url, refs, max_retries=2)
    plan = make_plan(load_config(cfg), "mock/text", num_instances=3)
    db = tmp_path / "r.db"

    async def gone() -> None:
        await wait_until(lambda: committed(db) >= 3, what="the first results")
        await asyncio.to_thread(first.stop)

    run = run_bounded(plan, cfg, db, during=gone, options=eager_options())
    outcomes = store_outcomes(db)
    done = {t for t, s in outcomes.items() if "done" in s}
    errors = set(outcomes) - done
    assert done and errors, (len(done), len(errors))
    assert set(outcomes) <= {s.id for s in plan.expand()}
    assert run.summary.completed == len(done) and run.summary.errors == len(errors)
    # Stopped by the circuit breaker (or each test out of retries): never a model result.
    assert all("connection error" in m or "timeout" in m for m in infra_errors(db)), set(infra_errors(db))
    back = servers(server_config())
    write_config(cfg, back.base_url, refs, max_retries=2)
    resumed = run_bounded(plan, cfg, db)
    assert attempted_in_run(db, resumed.summary.run_id) == {s.id for s in plan.expand()} - done
    done, errors = assert_accounted(db, plan)
    assert not errors and len(done) == len(plan)
    assert back.stats.ok > 0


# ------------------------------------------------------------------------------------------------
# Text that JSON can carry but UTF-8 cannot: lone surrogates ("\ud800" escapes)
# ------------------------------------------------------------------------------------------------


def _surrogate_responder(model, messages, tools, params):  # type: ignore[no-untyped-def]
    """The simulated model, with a lone surrogate in its text and in every tool call's arguments."""
    out = default_responder(model, messages, tools, params)
    calls = tuple(
        ToolCall(tc.id, tc.name, tc.arguments[:-1] + ', "note": "x\ud800y"}' if tc.arguments.endswith("}") and tc.arguments != "{}" else tc.arguments)
        for tc in out.tool_calls
    )
    return dataclasses.replace(out, content=(out.content or "") + " \udfff", tool_calls=calls)


class SurrogateServer(MockServer):
    """Replies carrying lone surrogates, and every fifth request a 500 whose message carries one."""

    def __init__(self, config: MockConfig) -> None:
        super().__init__(config, _surrogate_responder)
        self.n = 0

    async def _complete(self, request, deployment):  # type: ignore[no-untyped-def]
        self.n += 1
        if self.n % 5 == 0:
            body = b'{"error": {"message": "upstream said \\ud800 boom", "type": "server_error", "code": null}}'
            return web.Response(status=500, body=body, content_type="application/json")
        return await super()._complete(request, deployment)


@pytest.mark.parametrize("client, model", [("sdk", "mock/strong"), ("sdk", "mock/text"), ("lean", "mock/strong")])
def test_lone_surrogates_in_replies_and_errors_neither_fail_requests_nor_lose_results(client, model, tmp_path: Path, monkeypatch, servers) -> None:  # type: ignore[no-untyped-def]
    config = server_config()
    srv = servers(config, server=SurrogateServer(config))
    cfg = write_config(tmp_path / "c.toml", srv.base_url, key_env(monkeypatch, GOOD_KEYS), max_retries=0,
                       provider_extra=f'client = "{client}"')
    plan = make_plan(load_config(cfg), model, num_instances=2)
    db = tmp_path / "r.db"
    result = run_bounded(plan, cfg, db)  # used to raise StoreError: SQLite refused the whole batch
    done, errors = assert_accounted(db, plan)
    assert done, "replies carrying lone surrogates must not make the next request fail"
    assert errors and all("HTTP 500: upstream said \ufffd boom" in m for m in infra_errors(db))
    assert all("UnicodeEncodeError" not in (r.infra_error or "") for r in result.records)


def _record(i: int, infra_error: str) -> TestRecord:
    return record(f"t{i}", "error", attempt=f"a{i}", run_id="r", model="m", provider="p", instance=i, suite_version="v",
                  infra_error=infra_error)


def test_one_unstorable_record_does_not_block_the_others(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "w.db")
    records = [_record(i, "fine") for i in range(6)]
    records[1].infra_error = "not storable \ud800"

    async def go() -> None:
        writer = BatchWriter(store, batch_size=2, interval=0.05)
        writer.start()
        for r in records:
            writer.add(r)
            await asyncio.sleep(0.1)
        await writer.close()

    try:
        asyncio.run(go())
        assert store.count() >= 5
    finally:
        store.close()
