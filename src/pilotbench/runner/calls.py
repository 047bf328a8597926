"""One model call with limits and retries: the only place retry policy lives.

- rate limit: the lane cools down (Retry-After, or a growing jittered backoff when the server
  gives none); the call is retried, on any lane the key policy allows; not a test attempt. An
  adaptive lane whose other calls keep succeeding does not cool down: only the refused call
  waits its Retry-After.
- transient (5xx, timeout, reset, malformed body): bounded retries with exponential backoff
  and full jitter, or after the server's Retry-After when it sends one (503s do).
- a Retry-After longer than the provider's `retry_after_max` parks the key for the rest of the
  run with a message saying so, rather than sleeping for an hour without a word.
- quota exhausted: the key's lane is parked for the rest of the run; other keys carry on.
- fatal: a bad key disables its lane; a bad model or request stops the model, with its reason.
- context length: the conversation no longer fits the model's context. Never retried, never a
  reason to stop the model: `ContextLimit` tells the runner to end the test there, as the model's
  outcome.
- connection failures many times in a row, for seconds: the model is stopped (runner.breaker).
A call that cannot succeed raises InfraError: the test is stored as an infrastructure error,
never as a model failure.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from ..benchmark.types import ModelOutput
from ..errors import ContextLengthError, PilotbenchError, ProviderError
from ..limits import Clock, LaneDisabled, NoUsableLane
from ..models.base import ModelRequest
from ..models.human import PlayerTimeout
from .breaker import answered, connection_failed, is_connection_error
from .runtime import ModelRuntime

BACKOFF_BASE = 0.5
BACKOFF_CAP = 20.0
MAX_RATE_LIMIT_RETRIES = 40
TIMEOUT_GRACE = 5.0


class InfraError(PilotbenchError):
    """A call that failed for reasons outside the model's control; message is key-free."""


class ModelStopped(InfraError):
    """The model cannot be used any more in this run (fatal error, or every key gone)."""


class ContextLimit(Exception):
    """The provider refused the conversation as longer than the model's context; message is key-free.
    Not an infrastructure error: the conversation cannot go on, which is the test's outcome."""


@dataclass(slots=True)
class CallStats:
    """What the calls of one test cost; stored with the test's record."""

    calls: int = 0
    rate_limited: int = 0
    retries: int = 0
    latencies: list[float] = field(default_factory=list)  # every call, failed ones too
    turn_seconds: list[float] = field(default_factory=list)  # the answered calls: one per turn of the conversation
    # The answered calls' usage as the provider reported it, beside turn_seconds: [prompt, completion],
    # or None for a call whose answer said nothing of usage (`Usage.reported`).
    turn_tokens: list[list[int] | None] = field(default_factory=list)
    timed_out_after: float | None = None  # a human player's turn that got no reply in time
    key_label: str = ""
    lane: str = ""


TOOL_SCHEMA_TOKENS = 3000  # the 30 tool schemas, as a tokenizer counts them, roughly
DEFAULT_COMPLETION_TOKENS = 400


def estimate_tokens(request: ModelRequest) -> int:
    """A cheap upper-ish estimate of a call's tokens for TPM budgets (about 4 characters a token);
    the lane corrects its budget with the real usage when the call returns."""
    return estimate_prompt_tokens(request) + _completion_allowance(request)


def estimate_prompt_tokens(request: ModelRequest) -> int:
    chars = 0
    for m in request.messages:
        content = m.get("content")
        if content:
            chars += len(content)
        for call in m.get("tool_calls") or ():
            chars += len(call["function"]["arguments"]) + 20
    return chars // 4 + (TOOL_SCHEMA_TOKENS if request.tools else 0)


def _completion_allowance(request: ModelRequest) -> int:
    completion = request.params.get("max_tokens") or request.params.get("max_completion_tokens") or DEFAULT_COMPLETION_TOKENS
    return int(completion)


def calibrated_estimate(rt: ModelRuntime, request: ModelRequest) -> int:
    """`estimate_tokens`, with the prompt part scaled by what the model's tokenizer reported so
    far (runner.tokens); `call_model` feeds the calibration when a call returns."""
    return rt.token_calibration.scale(estimate_prompt_tokens(request)) + _completion_allowance(request)


def backoff(attempt: int, rng: random.Random, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0.0, min(cap, base * (2 ** max(0, attempt))))


_OUTCOME = {"rate_limit": "rate_limited", "transient": "transient", "fatal": "fatal", "quota": "quota"}


async def call_model(
    rt: ModelRuntime,
    prompt_type: str,
    request: ModelRequest,
    stats: CallStats,
    *,
    clock: Clock,
    rng: random.Random,
    tokens: int = 0,
) -> ModelOutput:
    transient_failures = 0
    rate_limits = 0
    while True:
        if rt.dead:
            raise ModelStopped(rt.dead)
        try:
            lane = await rt.pool.acquire(prompt_type, tokens)
        except (NoUsableLane, LaneDisabled) as e:
            rt.dead = rt.dead or f"{rt.name}: no usable key left ({e})"
            raise ModelStopped(rt.dead) from None
        provider = rt.providers[lane.name]
        stats.key_label = lane.key_label
        stats.lane = lane.name
        stats.calls += 1
        started = clock.now()
        try:
            async with asyncio.timeout(rt.request_timeout + TIMEOUT_GRACE):
                output = await provider.generate(request, rt.request_timeout)
        except asyncio.CancelledError:
            lane.release("transient", tokens_estimated=tokens)
            raise
        except PlayerTimeout:
            # A person who did not answer in time: the test ends there (runner.scheduler); not retried.
            stats.latencies.append(clock.now() - started)
            stats.timed_out_after = clock.now() - started
            lane.release("ok", tokens_estimated=tokens)
            answered(rt)
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified below
            stats.latencies.append(clock.now() - started)
            err = _storable(exc if isinstance(exc, ProviderError) else _classify(provider, exc))
            retry_after = err.retry_after
            too_long = retry_after is not None and retry_after > rt.retry_after_max
            if too_long:
                retry_after = None
            cooling = lane.cooldown_until
            lane.release(_OUTCOME[err.kind], retry_after=retry_after, tokens_estimated=tokens)
            if err.kind != "transient":
                answered(rt)
            if too_long and err.kind in ("rate_limit", "transient"):
                lane.park(None, f"key {lane.key_label}: the server asked to wait {err.retry_after:.0f} s "
                                f"(Retry-After, HTTP {err.status}), more than retry_after_max = {rt.retry_after_max:g} s")
                continue
            if err.kind == "rate_limit":
                rate_limits += 1
                stats.rate_limited += 1
                if rate_limits > MAX_RATE_LIMIT_RETRIES:
                    raise InfraError(f"still rate limited after {rate_limits} tries: {err}") from None
                if retry_after is None:
                    await clock.sleep(backoff(min(rate_limits, 6), rng))
                elif lane.cooldown_until <= cooling:
                    await clock.sleep(retry_after)  # the lane carries on; this call waits its turn
                continue
            if err.kind == "quota":
                lane.park(None, f"quota exhausted on key {lane.key_label}: {err}")
                continue
            if isinstance(err, ContextLengthError):
                raise ContextLimit(str(err)) from None
            if err.kind == "fatal":
                if err.scope == "test":
                    raise InfraError(str(err)) from None
                if err.scope == "model":
                    rt.dead = rt.dead or f"{rt.name}: {err}"
                    raise ModelStopped(rt.dead) from None
                lane.disable(str(err) if lane.key_label in str(err) else f"key {lane.key_label} refused: {err}")
                continue
            if is_connection_error(err):
                tripped = connection_failed(rt, clock.now(), err)
                if tripped:
                    rt.dead = rt.dead or tripped
                    raise ModelStopped(rt.dead) from None
            else:
                answered(rt)
            transient_failures += 1
            if transient_failures > rt.max_retries:
                raise InfraError(f"gave up after {transient_failures} transient failures: {err}") from None
            stats.retries += 1
            await clock.sleep(backoff(transient_failures, rng) if retry_after is None else retry_after)
            continue
        stats.latencies.append(clock.now() - started)
        stats.turn_seconds.append(stats.latencies[-1])
        usage = output.usage
        stats.turn_tokens.append([usage.prompt_tokens, usage.completion_tokens] if usage.reported else None)
        answered(rt)
        lane.release("ok", tokens_used=output.usage.total_tokens or None, tokens_estimated=tokens)
        if tokens:
            calibration = rt.token_calibration
            if lane.learned_tokens is not None:
                # Where the provider's header states what it counts, usage is checked against it:
                # when they disagree, the header is the truth (runner.tokens).
                calibration.check(lane.take_token_count())
            calibration.observe(estimate_prompt_tokens(request), output.usage.prompt_tokens)
        return output


def _storable(err: ProviderError) -> ProviderError:
    """`err` with a message that can be stored and logged. A server's JSON may carry lone
    surrogates ("\\ud800" escapes) that UTF-8 cannot encode; in an infrastructure error they made
    SQLite refuse the whole batch of results. Each becomes U+FFFD."""
    text = str(err)
    if text.isascii():
        return err
    try:
        text.encode("utf-8")
        return err
    except UnicodeEncodeError:
        clean = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
        if isinstance(err, ContextLengthError):
            return ContextLengthError(clean, status=err.status)
        return ProviderError(err.kind, clean, status=err.status, retry_after=err.retry_after, scope=err.scope)


def _classify(provider: object, exc: BaseException) -> ProviderError:
    classify = getattr(provider, "classify", None)
    if isinstance(exc, asyncio.TimeoutError):
        return ProviderError("transient", "request timed out")
    if classify is None:
        return ProviderError("transient", f"{type(exc).__name__}")
    try:
        return classify(exc)
    except Exception:  # noqa: BLE001 - a broken classifier must not crash the run
        return ProviderError("transient", f"{type(exc).__name__}")
