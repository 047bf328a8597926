"""Token estimates calibrated against reported usage: the TPM budget learns a model's tokenizer."""

from __future__ import annotations

import asyncio
import random

import pytest

from pilotbench.benchmark.prompts import render_prompt
from pilotbench.benchmark.tasks import generate_instance
from pilotbench.benchmark.types import ModelOutput, Usage
from pilotbench.limits import FakeClock, TokenBucket
from pilotbench.models.base import ModelRequest
from pilotbench.runner.calls import CallStats, calibrated_estimate, call_model, estimate_prompt_tokens, estimate_tokens
from pilotbench.runner.tokens import RATIO_BOUNDS, TokenCalibration

from .test_runner import ScriptedProvider, _runtime_with

# What Qwen2.5's chat template made of the first native-mode call of a simple_task (llama.cpp
# server, tests/fixtures/real_replies): 5,436 prompt tokens.
QWEN_FIRST_PROMPT_TOKENS = 5436


def test_no_usage_seen_means_no_correction() -> None:
    cal = TokenCalibration()
    assert cal.ratio == 1.0 and cal.scale(3000) == 3000
    cal.observe(3000, 0)  # a server that reports no usage teaches nothing
    cal.observe(0, 500)
    assert cal.ratio == 1.0 and cal.calls == 0


def test_ratio_is_reported_over_estimated_across_calls_and_bounded() -> None:
    cal = TokenCalibration()
    cal.observe(1000, 1700)
    assert cal.ratio == pytest.approx(1.7)
    cal.observe(3000, 4100)
    assert cal.ratio == pytest.approx(5800 / 4000) and cal.scale(2000) == 2900
    wild = TokenCalibration()
    wild.observe(10, 10_000)
    assert wild.ratio == RATIO_BOUNDS[1]


def _first_request() -> ModelRequest:
    task = generate_instance("simple_task", 0)
    prompt = render_prompt(task, "easy", "baseline", tool_mode="native")
    return ModelRequest("sim/strong", list(prompt.messages), list(prompt.tools or ()), {"max_tokens": 512})


def test_the_tpm_estimate_learns_the_real_prompt_size() -> None:
    class QwenSized(ScriptedProvider):
        async def generate(self, request, timeout):  # type: ignore[no-untyped-def]
            self.calls += 1
            return ModelOutput(content="FINAL ANSWER: done", usage=Usage(QWEN_FIRST_PROMPT_TOKENS, 60))

    clock = FakeClock()
    rt = _runtime_with(QwenSized([]), clock=clock)
    model = rt.models["sim/strong"]
    model.pool.lanes[0].tpm_bucket = TokenBucket(600_000, clock)
    req = _first_request()
    first = calibrated_estimate(model, req)
    assert first == estimate_tokens(req)  # nothing learnt yet
    # The uncalibrated prompt estimate is far below what the tokenizer counted.
    assert estimate_prompt_tokens(req) < 0.75 * QWEN_FIRST_PROMPT_TOKENS

    async def go() -> None:
        await call_model(model, "baseline", req, CallStats(), clock=clock, rng=random.Random(1), tokens=first)

    asyncio.run(go())
    after = calibrated_estimate(model, req)
    assert after - 512 == pytest.approx(QWEN_FIRST_PROMPT_TOKENS, abs=2)
    assert model.token_calibration.calls == 1


def test_without_a_tpm_budget_nothing_is_learnt() -> None:
    clock = FakeClock()
    rt = _runtime_with(ScriptedProvider([]), clock=clock)
    model = rt.models["sim/strong"]

    async def go() -> None:
        await call_model(model, "baseline", _first_request(), CallStats(), clock=clock, rng=random.Random(1), tokens=0)

    asyncio.run(go())
    assert model.token_calibration.calls == 0


# ---------------------------------------------------------------------- usage against the header


def test_usage_that_disagrees_with_the_header_is_set_aside() -> None:
    cal = TokenCalibration()
    cal.observe(3000, 60)  # usage 50 times lower than the estimate: scaled down to the bound
    assert cal.ratio == RATIO_BOUNDS[0]
    assert not cal.check(None)  # the header told nothing
    assert not cal.check(1.1)  # the header agrees well enough
    assert not cal.check(3.0) and not cal.check(3.5)
    assert cal.check(3.2)  # the header keeps counting far more than the calibrated charge
    assert cal.distrusted and cal.ratio == 1.0 and cal.scale(2000) == 2000
    cal.observe(3000, 60)
    assert cal.ratio == 1.0  # usage is no longer learnt from


def test_usage_that_agrees_with_the_header_stays_trusted() -> None:
    cal = TokenCalibration()
    cal.observe(3000, 5400)  # a real tokenizer counting more than the estimate
    for counted in (1.1, 0.9, 1.6, 1.0, 0.95, 1.2, 0.8, 1.05):  # noise around what was charged
        assert not cal.check(counted)
    assert not cal.distrusted and cal.ratio == pytest.approx(1.8)
    # Scaled up, a header counting far less than charged is the disagreement.
    for _ in range(3):
        cal.check(0.5)
    assert cal.distrusted


def _run_against(tmp_path, monkeypatch, usage_divisor: float, tpm: int = 12_000_000, prompt_types: str = "baseline,cot"):  # type: ignore[no-untyped-def]
    """A small run of mock/strong against a server charging each request its bytes / 4 (plus
    max_tokens) against a TPM budget stated in x-ratelimit-* headers; (server stats, the
    model's token calibration at the end)."""
    from pilotbench import api
    from pilotbench.config import load_config
    from pilotbench.mock_server import KeyLimits, MockConfig, MockServerThread

    from ..factories import FAKE_KEYS, mock_config_file

    made: list[TokenCalibration] = []
    init = TokenCalibration.__init__

    def recording(self: TokenCalibration) -> None:
        init(self)
        made.append(self)

    monkeypatch.setattr(TokenCalibration, "__init__", recording)
    cfg = MockConfig(keys={FAKE_KEYS[0]: KeyLimits(tpm=tpm)}, budget_seconds=0.25, latency=0.05,
                     usage_divisor=usage_divisor)
    with MockServerThread(cfg) as srv:
        config = load_config(mock_config_file(tmp_path, srv.base_url, keys=1, max_concurrency=64))
        plan = api.build_plan("mock/strong", prompt_types=prompt_types, num_instances=1, config=config)
        result = api.run(plan, db=tmp_path / f"u{usage_divisor:g}.db", config=config,
                         env={"PB_TEST_KEY_0": FAKE_KEYS[0]})
        stats = srv.stats.to_dict()
    assert result.summary.completed == len(plan) and result.summary.errors == 0
    (calibration,) = made
    return stats, calibration


def test_a_server_whose_usage_undercounts_its_charge_is_paced_by_its_header(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """usage.prompt_tokens 50 times lower than what the server charges: the header's drops
    disagree, so the header wins: estimates are no longer scaled down, few 429s."""
    # A budget that binds throughout (a full one hides what calls cost), so the header tells.
    stats, calibration = _run_against(tmp_path, monkeypatch, 50, tpm=3_000_000, prompt_types="baseline")
    assert stats["ok"] >= 20, stats  # enough answers for the check to act
    assert calibration.distrusted and calibration.ratio == 1.0
    assert stats["rate_limited"] <= 3, stats


def test_honest_usage_stays_trusted_against_the_header(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stats, calibration = _run_against(tmp_path, monkeypatch, 1)
    assert not calibration.distrusted and calibration.calls >= 40
    assert stats["rate_limited"] <= 3, stats
