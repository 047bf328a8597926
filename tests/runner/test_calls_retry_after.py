"""Retry-After on every retried status, capped by retry_after_max; adaptive lanes that keep
succeeding make only the refused call wait. All on virtual time."""

from __future__ import annotations

import asyncio
import random

import pytest

from pilotbench.config import load_config
from pilotbench.errors import ProviderError
from pilotbench.limits import FakeClock
from pilotbench.models.base import ModelRequest
from pilotbench.models.simulated import get_simulated_model
from pilotbench.runner.calls import CallStats, InfraError, ModelStopped, call_model
from pilotbench.runner.runtime import build_runtime


class Scripted:
    """Raises the given errors in order, then answers like sim/strong; records when it was called."""

    def __init__(self, errors: list[BaseException], clock: FakeClock) -> None:
        self.errors = list(errors)
        self.clock = clock
        self.times: list[float] = []
        self.sim = get_simulated_model("sim/strong")

    async def generate(self, request, timeout):  # type: ignore[no-untyped-def]
        self.times.append(self.clock.now())
        if self.errors:
            raise self.errors.pop(0)
        return self.sim.respond(request.messages, request.tools)

    def classify(self, error: BaseException) -> ProviderError:
        return error if isinstance(error, ProviderError) else ProviderError("transient", type(error).__name__)

    async def aclose(self) -> None:
        return None


def _runtime(provider: Scripted, clock: FakeClock, *, adaptive: bool = False, retry_after_max: float = 120.0):  # type: ignore[no-untyped-def]
    rt = build_runtime(load_config(), ["sim/strong"], clock=clock, adaptive=adaptive)
    model = rt.models["sim/strong"]
    model.retry_after_max = retry_after_max
    for lane in model.pool.lanes:
        model.providers[lane.name] = provider
    return rt


def _request() -> ModelRequest:
    return ModelRequest("sim/strong", [{"role": "user", "content": "hi"}], None)


def _call(rt, clock: FakeClock, stats: CallStats | None = None):  # type: ignore[no-untyped-def]
    return asyncio.run(call_model(rt.models["sim/strong"], "baseline", _request(), stats or CallStats(),
                                  clock=clock, rng=random.Random(1)))


def test_503_retry_after_is_waited_exactly_not_a_jittered_backoff() -> None:
    clock = FakeClock()
    provider = Scripted([ProviderError("transient", "HTTP 503: overloaded", status=503, retry_after=7.0)], clock)
    stats = CallStats()
    _call(_runtime(provider, clock), clock, stats)
    assert provider.times == [0.0, pytest.approx(7.0)]
    assert stats.retries == 1


def test_transient_without_retry_after_still_backs_off_with_jitter() -> None:
    clock = FakeClock()
    provider = Scripted([ProviderError("transient", "HTTP 500", status=500)], clock)
    _call(_runtime(provider, clock), clock)
    assert 0.0 <= provider.times[1] <= 1.0  # full jitter over [0, 2 * 0.5]


def test_a_retry_after_beyond_the_cap_parks_the_key_with_a_message() -> None:
    clock = FakeClock()
    provider = Scripted([ProviderError("rate_limit", "HTTP 429: come back later", status=429, retry_after=3600.0)], clock)
    rt = _runtime(provider, clock, retry_after_max=60.0)
    with pytest.raises(ModelStopped) as info:
        _call(rt, clock)
    message = str(info.value)
    assert "3600 s" in message and "retry_after_max = 60 s" in message and "HTTP 429" in message
    assert clock.now() < 1.0  # it did not sleep for the hour
    (lane,) = rt.models["sim/strong"].pool.lanes
    assert not lane.is_usable and "Retry-After" in (lane.park_reason or "")


def test_a_503_retry_after_beyond_the_cap_parks_too() -> None:
    clock = FakeClock()
    provider = Scripted([ProviderError("transient", "HTTP 503", status=503, retry_after=500.0)], clock)
    with pytest.raises(ModelStopped, match="500 s"):
        _call(_runtime(provider, clock, retry_after_max=100.0), clock)


def test_rate_limit_retry_after_on_a_fixed_lane_holds_the_lane() -> None:
    clock = FakeClock()
    provider = Scripted([ProviderError("rate_limit", "429", status=429, retry_after=3.0)], clock)
    rt = _runtime(provider, clock)
    _call(rt, clock)
    assert provider.times == [0.0, pytest.approx(3.0)]


def test_adaptive_lane_that_keeps_succeeding_makes_only_the_refused_call_wait() -> None:
    """Concurrency overflow: other calls on the lane succeed, so the lane is not frozen; the
    refused call alone waits its Retry-After and others start meanwhile."""
    clock = FakeClock()
    rt = _runtime(Scripted([], clock), clock, adaptive=True)
    (lane,) = rt.models["sim/strong"].pool.lanes

    async def scenario() -> None:
        await lane.acquire()
        await lane.acquire()
        lane.release("ok")  # a success just now
        lane.release("rate_limited", retry_after=1.0)
        # Nothing else in flight at the 429: not a concurrency refusal, so the lane cools down.
        assert lane.cooldown_until == pytest.approx(1.0)

    asyncio.run(scenario())

    clock2 = FakeClock()
    rt2 = _runtime(Scripted([], clock2), clock2, adaptive=True)
    (lane2,) = rt2.models["sim/strong"].pool.lanes

    async def scenario2() -> None:
        for _ in range(3):
            await lane2.acquire()
        lane2.release("ok")
        lane2.release("rate_limited", retry_after=1.0)  # one call still in flight and succeeding
        assert lane2.cooldown_until < clock2.now()  # not frozen
        assert lane2.limit == 1  # the window is the calls still running
        assert lane2.try_acquire() is False  # the window is full, so the next call waits for a slot

    asyncio.run(scenario2())


def test_refused_call_sleeps_its_retry_after_when_the_lane_is_not_frozen() -> None:
    clock = FakeClock()
    provider = Scripted([ProviderError("rate_limit", "429", status=429, retry_after=1.5)], clock)
    rt = _runtime(provider, clock, adaptive=True)
    (lane,) = rt.models["sim/strong"].pool.lanes

    async def scenario() -> None:
        # Another call of the lane is in flight and one just succeeded: the 429 is about concurrency.
        await lane.acquire()
        await lane.acquire()
        lane.release("ok")

        async def other_call_returns() -> None:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            lane.release("ok")  # the call that kept its slot comes back (virtual time has not moved)

        returning = asyncio.create_task(other_call_returns())
        await call_model(rt.models["sim/strong"], "baseline", _request(), CallStats(), clock=clock, rng=random.Random(1))
        await returning

    asyncio.run(scenario())
    assert provider.times == [0.0, pytest.approx(1.5)]
    assert lane.cooldown_until < 0  # the lane itself never cooled down


def test_rate_limits_without_retry_after_give_up_after_the_budget() -> None:
    clock = FakeClock()
    provider = Scripted([ProviderError("rate_limit", "429", status=429)] * 100, clock)
    with pytest.raises(InfraError, match="still rate limited"):
        _call(_runtime(provider, clock), clock)


# ---------------------------------------------------------------------- shared budgets, stated limits


def test_keys_that_share_one_budget_split_the_declared_limits(tmp_path, fake_env) -> None:  # type: ignore[no-untyped-def]
    from ..factories import mock_config_file

    cfg = load_config(mock_config_file(tmp_path, "http://127.0.0.1:9", max_concurrency=12,
                                       provider_extra="rpm = 600\ntpm = 90000\nkeys_share_limits = true"))
    rt = build_runtime(cfg, ["mock/strong"], connect=False)
    lanes = rt.models["mock/strong"].pool.lanes
    assert len(lanes) == 3
    assert [lane.max_concurrency for lane in lanes] == [4, 4, 4]
    assert all(lane.rpm_bucket.rate_per_minute == 200 and lane.tpm_bucket.rate_per_minute == 30000 for lane in lanes)
    separate = build_runtime(load_config(mock_config_file(tmp_path, "http://127.0.0.1:9", max_concurrency=12)),
                             ["mock/strong"], connect=False)
    assert [lane.max_concurrency for lane in separate.models["mock/strong"].pool.lanes] == [12, 12, 12]


def test_http_lanes_learn_limits_simulated_ones_do_not(tmp_path, fake_env) -> None:  # type: ignore[no-untyped-def]
    from ..factories import mock_config_file

    cfg = load_config(mock_config_file(tmp_path, "http://127.0.0.1:9"))
    http = build_runtime(cfg, ["mock/strong"], env=fake_env)
    try:
        model = http.models["mock/strong"]
        assert all(lane.learns_limits and lane.limit == 1 for lane in model.pool.lanes)  # the first call goes alone
        assert model.uses_tpm  # calls carry token estimates for the budgets the answers will state
        assert all(p.rate_limit_listener is not None for p in model.providers.values())
        assert model.max_capacity == 12  # the scheduler still plans for the declared concurrency
    finally:
        asyncio.run(http.aclose())
    sim = build_runtime(load_config(), ["sim/strong"])
    assert not any(lane.learns_limits for lane in sim.models["sim/strong"].pool.lanes)
    off = load_config(mock_config_file(tmp_path, "http://127.0.0.1:9", provider_extra="learn_limits = false"))
    assert not any(lane.learns_limits for lane in build_runtime(off, ["mock/strong"], connect=False).lanes.values())


# ---------------------------------------------------------------------- over HTTP


def test_a_run_paces_itself_to_limits_stated_only_in_headers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Nothing declared but concurrency; the server's token budget, stated in x-ratelimit-*
    headers, binds. The run keeps to it: next to no 429s, and it takes the time the budget allows."""
    import time

    from pilotbench import api
    from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread

    from ..factories import FAKE_KEYS, mock_config_file

    cfg = MockConfig(keys={FAKE_KEYS[0]: KeyLimits(tpm=6_000_000)}, budget_seconds=0.25, latency=0.02)
    with MockServerThread(cfg) as srv:
        config = load_config(mock_config_file(tmp_path, srv.base_url, keys=1, max_concurrency=64))
        plan = api.build_plan("mock/strong", prompt_types="baseline,cot", num_instances=1, config=config)
        started = time.monotonic()
        result = api.run(plan, db=tmp_path / "h.db", config=config, env={"PB_TEST_KEY_0": FAKE_KEYS[0]})
        wall = time.monotonic() - started
        stats = srv.stats
        assert result.summary.completed == len(plan) and result.summary.errors == 0
        budget_time = (stats.tokens_charged - 25_000) / 100_000  # less what the full bucket held
        assert stats.rate_limited <= 2, stats.to_dict()
        assert wall >= 0.8 * budget_time > 0
        # The same run not listening to the headers floods the budget.
        srv.reset_stats()
        blind = load_config(mock_config_file(tmp_path, srv.base_url, keys=1, max_concurrency=64,
                                             provider_extra="learn_limits = false"))
        api.run(plan, db=tmp_path / "blind.db", config=blind, env={"PB_TEST_KEY_0": FAKE_KEYS[0]})
        assert srv.stats.rate_limited > 5
