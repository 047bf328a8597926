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
