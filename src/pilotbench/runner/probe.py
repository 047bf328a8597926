"""A probe: one minimal request per key and model, to prove before a run that each key is taken,
each model name is known and each server answers (`pilotbench run ... --dry-run --probe`).

Each request is one short user message with no tools and `max_tokens` 1, sent through the same
client the run uses (the model's other parameters included, so a parameter the server refuses
shows here too), once, with no retries. Its outcome is classified as the run classifies a call,
and said in the run's words: a refused key disables its lane, an unknown model or an unreachable
server stops the model (exit status 4, as the run would end).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ..errors import ProviderError
from ..models.base import ModelRequest
from ..models.registry import provider_kind
from .breaker import is_connection_error
from .calls import TIMEOUT_GRACE, _classify, _storable
from .runtime import Runtime

PROBE_MESSAGES = [{"role": "user", "content": "Reply with OK."}]
PROBE_TIMEOUT = 20.0  # seconds at most per request (less if the model's request_timeout is shorter)
TOKEN_CAPS = ("max_tokens", "max_completion_tokens", "max_output_tokens")

# outcomes
OK = "ok"
KEY_REFUSED = "key refused"
UNKNOWN_MODEL = "model stopped"
UNREACHABLE = "unreachable"
NO_ANSWER = "no answer"
QUOTA = "quota exhausted"


@dataclass(slots=True)
class ProbeResult:
    model: str
    lane: str
    key_label: str
    outcome: str  # one of the outcomes above
    message: str  # in the run's words, key-free
    seconds: float
    tokens: int = 0

    @property
    def usable(self) -> bool:
        return self.outcome == OK


async def _probe_lane(rt, lane, timeout: float) -> ProbeResult:  # type: ignore[no-untyped-def]
    provider = rt.providers[lane.name]
    params = {k: v for k, v in rt.params.items() if k not in TOKEN_CAPS}
    request = ModelRequest(rt.deployment, [dict(m) for m in PROBE_MESSAGES], None, {**params, "max_tokens": 1})
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout + TIMEOUT_GRACE):
            output = await provider.generate(request, timeout)
    except Exception as exc:  # noqa: BLE001 - classified as the run classifies it
        err = _storable(exc if isinstance(exc, ProviderError) else _classify(provider, exc))
        return ProbeResult(rt.name, lane.name, lane.key_label, *_outcome(rt.name, lane.key_label, err),
                           time.monotonic() - started)
    tokens = output.usage.total_tokens or 0
    return ProbeResult(rt.name, lane.name, lane.key_label, OK, "answered", time.monotonic() - started, tokens)


def _outcome(model: str, key_label: str, err: ProviderError) -> tuple[str, str]:
    if err.kind == "fatal" and err.scope == "model":
        return UNKNOWN_MODEL, f"{model}: {err}"
    if err.kind == "fatal" and err.scope == "lane":
        return KEY_REFUSED, str(err) if key_label in str(err) else f"key {key_label} refused: {err}"
    if err.kind == "fatal":  # this request only (a content filter, ...): the key and the name were taken
        return OK, f"answered with an error for this request: {err}"
    if err.kind == "rate_limit":  # a 429 comes after the key is checked
        return OK, f"answered: rate limited now ({err})"
    if err.kind == "quota":
        return QUOTA, f"quota exhausted on key {key_label}: {err}"
    if is_connection_error(err):
        return UNREACHABLE, (f"{model}: provider unreachable: {err}; check the provider's base_url and that its "
                             "server is up")
    return NO_ANSWER, f"no answer to the probe: {err}"


async def probe(runtime: Runtime, timeout: float = PROBE_TIMEOUT) -> list[ProbeResult]:
    """One request per lane (key and deployment) of every model that calls a server, all at once."""
    jobs = []
    for rt in runtime.models.values():
        if provider_kind(rt.kind).keys == "builtin":  # nothing to probe: in process, no key
            continue
        for lane in rt.pool.lanes:
            jobs.append(_probe_lane(rt, lane, min(timeout, rt.request_timeout)))
    return list(await asyncio.gather(*jobs))


@dataclass(slots=True)
class ProbeVerdict:
    stopped_models: dict[str, str]  # model -> why a run would stop it
    key_problems: dict[str, str]  # lane -> "disabled: why" / "parked: why"
    unanswered: int  # requests with no answer (5xx, timeout): inconclusive

    @property
    def exit_status(self) -> int:
        from .outcome import exit_status

        return exit_status(interrupted=False, stopped_models=len(self.stopped_models), errors=self.unanswered,
                           not_run=0)


def verdict(results: list[ProbeResult]) -> ProbeVerdict:
    """What the run would do with these answers: a model is stopped when the server does not know
    it or cannot be reached, or when no key of it is usable."""
    stopped: dict[str, str] = {}
    problems: dict[str, str] = {}
    by_model: dict[str, list[ProbeResult]] = {}
    for r in results:
        by_model.setdefault(r.model, []).append(r)
        if r.outcome == KEY_REFUSED:
            problems[r.lane] = f"disabled: {r.message}"
        elif r.outcome == QUOTA:
            problems[r.lane] = f"parked: {r.message}"
    for model, rs in by_model.items():
        fatal = [r for r in rs if r.outcome in (UNKNOWN_MODEL, UNREACHABLE)]
        if fatal:
            stopped[model] = fatal[0].message
        elif all(r.outcome in (KEY_REFUSED, QUOTA) for r in rs):
            lanes = "; ".join(f"{r.lane}: {problems[r.lane]}" for r in rs)
            stopped[model] = f"{model}: no usable key left (no usable lane among {len(rs)}: {lanes})"
    unanswered = sum(1 for r in results if r.outcome == NO_ANSWER and r.model not in stopped)
    return ProbeVerdict(stopped, problems, unanswered)
