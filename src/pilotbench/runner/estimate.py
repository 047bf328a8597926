"""Estimates for a plan before it runs (`run --dry-run`): how long it takes and how many tokens it
sends. Pure arithmetic over the runtime's lanes and the rendered prompts; nothing is called."""

from __future__ import annotations

from collections.abc import Iterable

from ..models.registry import provider_kind

CALLS_PER_TEST = 5.0
REAL_SECONDS_PER_CALL = provider_kind("openai").seconds_per_call  # said in the dry run's footnote


def estimate_seconds(tests: int, concurrency: int, latency: float, rpm: float | None, calls_per_test: float) -> float:
    """A model's time for `tests` conversations. The turns of one conversation run one after another,
    so the run takes at least one conversation's length; `concurrency` calls in flight and the rpm
    budget bound the throughput. Whole waves of conversations, as they start together."""
    if tests <= 0:
        return 0.0
    conversation = calls_per_test * latency
    waves = -(-tests // max(1, concurrency))
    seconds = waves * conversation
    if rpm:
        seconds = max(seconds, tests * calls_per_test / (rpm / 60.0))
    return seconds


def seconds_per_call(kind: str, request_timeout: float) -> float:
    """How long one call of a model of this kind is assumed to take: a typical answer's time, and
    never more than the request timeout (a call that takes longer is cut off)."""
    return min(provider_kind(kind).seconds_per_call, request_timeout)


SERIAL_WORDING = {
    "none": "with all models in parallel",
    "model": "with the models one after another",
    "provider": "with the providers one after another",
    "prompt": "with the prompt types one after another",
}


def plan_seconds(groups: Iterable[Iterable[float]]) -> float:
    """A plan's time from the times of its parts: the groups run one after another (RunOptions.serial_by:
    one group per model, provider or prompt type; a single group when nothing is serial), the parts of
    a group side by side, so a group takes as long as its longest part."""
    return sum(max(group, default=0.0) for group in groups)


TURN_GROWTH_TOKENS = 150  # an assistant's tool call and the tool's result, added to the next request
COMPLETION_TOKENS_PER_CALL = 100


def estimated_tokens(cells: dict[tuple[str, str, str], int], tool_mode: str, seed: int, severity: str) -> tuple[float, float]:
    """Prompt and completion tokens for the pending tests of one model: each test is ~CALLS_PER_TEST
    calls, each sending the whole conversation so far (the first request's size, measured on the
    rendered prompt of each cell, plus TURN_GROWTH_TOKENS a turn)."""
    from ..benchmark.prompts import render_prompt
    from ..benchmark.tasks import generate_instance
    from ..models.base import ModelRequest
    from .calls import estimate_prompt_tokens

    calls = int(CALLS_PER_TEST)
    tokens_in = tokens_out = 0.0
    first: dict[tuple[str, str, str], int] = {}
    for cell, n in cells.items():
        task_type, difficulty, prompt_type = cell
        if cell not in first:
            rendered = render_prompt(generate_instance(task_type, 0, seed), difficulty, prompt_type, severity=severity,
                                     tool_mode=tool_mode)
            request = ModelRequest("", list(rendered.messages), list(rendered.tools) if rendered.tools else None, {})
            first[cell] = estimate_prompt_tokens(request)
        per_test = calls * first[cell] + TURN_GROWTH_TOKENS * calls * (calls - 1) / 2
        tokens_in += n * per_test
        tokens_out += n * calls * COMPLETION_TOKENS_PER_CALL
    return tokens_in, tokens_out

