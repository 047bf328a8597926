"""The mock server's configuration: keys and their limits, faults, latency."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ALL_FAULT_KINDS", "CONTEXT_WORDINGS", "FAULT_KINDS", "Faults", "KeyLimits", "MockConfig", "config_from_options", "mask_key"]

FAULT_KINDS: tuple[str, ...] = (
    "error_500",
    "hang",
    "malformed_json",
    "empty_content",
    "reasoning_only",
    "drop_connection",
    "rate_limit_storm",
)
# Kinds added since; drawn after the ones above, so a seed keeps mapping to the same faults.
# `error_503` answers 503 with ``Retry-After: retry_after_503`` (an overloaded service).
ALL_FAULT_KINDS: tuple[str, ...] = (*FAULT_KINDS, "error_503")
# How a conversation longer than the context is refused (`MockConfig.context_wording`).
CONTEXT_WORDINGS: tuple[str, ...] = ("openai", "vllm", "llamacpp")
# What `config_from_options(fault_rate=...)` spreads over: everything but hangs.
_SPREAD_FAULT_KINDS: tuple[str, ...] = tuple(k for k in FAULT_KINDS if k != "hang")


def mask_key(key: str | None) -> str:
    """The only form in which a key may be shown: its last four characters."""
    if not key:
        return "<none>"
    return "..." + key[-4:]


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """Limits of one API key (or of one key+model when `MockConfig.limits_per_model`)."""

    max_concurrency: int | None = None
    rpm: int | None = None
    quota_exhausted: bool = False
    tpm: int | None = None

    def __post_init__(self) -> None:
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1 or None, got {self.max_concurrency!r}")
        if self.rpm is not None and self.rpm < 1:
            raise ValueError(f"rpm must be >= 1 or None, got {self.rpm!r}")
        if self.tpm is not None and self.tpm < 1:
            raise ValueError(f"tpm must be >= 1 or None, got {self.tpm!r}")

    @classmethod
    def coerce(cls, value: KeyLimits | Mapping[str, Any] | None) -> KeyLimits:
        if value is None:
            return cls()
        if isinstance(value, KeyLimits):
            return value
        return cls(**dict(value))


@dataclass(frozen=True, slots=True)
class Faults:
    """Per-request fault probabilities (drawn from the server's seeded RNG) and their knobs.

    At most one fault applies to a request; the probabilities must sum to at most 1.
    `fail_first_n` makes the first N admitted requests (counted from start or from the last
    fault replacement) answer 500, whatever the probabilities say.
    """

    error_500: float = 0.0
    hang: float = 0.0
    malformed_json: float = 0.0
    empty_content: float = 0.0
    reasoning_only: float = 0.0
    drop_connection: float = 0.0
    rate_limit_storm: float = 0.0
    hang_seconds: float = 3600.0
    storm_retry_after: float | None = 1.0
    fail_first_n: int = 0
    error_503: float = 0.0
    retry_after_503: float | None = 1.0

    def __post_init__(self) -> None:
        total = 0.0
        for kind in ALL_FAULT_KINDS:
            p = float(getattr(self, kind))
            _check_probability(kind, p)
            total += p
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities sum to {total:.4g} > 1")
        if self.hang_seconds < 0:
            raise ValueError("hang_seconds must be >= 0")
        if self.storm_retry_after is not None and self.storm_retry_after < 0:
            raise ValueError("storm_retry_after must be >= 0 or None")
        if self.retry_after_503 is not None and self.retry_after_503 < 0:
            raise ValueError("retry_after_503 must be >= 0 or None")
        if self.fail_first_n < 0:
            raise ValueError("fail_first_n must be >= 0")

    @property
    def total_probability(self) -> float:
        return sum(float(getattr(self, k)) for k in ALL_FAULT_KINDS)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        """Build from a JSON-like mapping; unknown fields are an error, not silently ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MockConfig:
    """Everything the mock server needs; immutable except faults, replaceable at runtime.

    keys: accepted API key -> its limits (a plain list of keys is accepted too and gets
        `default_limits`). Empty: any non-empty key is accepted, each with `default_limits`.
    limits_per_model: count concurrency and RPM per key+model instead of per key.
    latency / latency_jitter: seconds each admitted request waits (uniform in mean +- jitter),
        holding its concurrency slot.
    models: model (or Azure deployment) names accepted besides, when `accept_sim_prefix`, any
        name starting with ``sim/``. Anything else is answered 404 ``model_not_found``.
    concurrency_retry_after: Retry-After sent on a concurrency 429: 1 s by default, as Azure
        OpenAI sends (1 s or more); None derives it from the latency (the time a slot takes to
        free up, at least 0.05 s).
    rpm_window: the sliding window, in seconds, that `rpm` is counted over (60 in real life).
    budget_seconds: count `rpm` as a token bucket holding this many seconds of budget instead of
        over a window; `tpm` is always such a bucket (6 s of budget unless set). See `limits`.
    ratelimit_headers: send OpenAI's ``x-ratelimit-*`` headers on every answer to a key with
        `rpm` or `tpm` limits.
    context_tokens / context_messages: the model's context, in tokens (counted as the request's
        bytes / 4, as the usage it reports) or in messages; a longer conversation is answered 400
        in `context_wording`: "openai" (and Azure: code ``context_length_exceeded``), "vllm" or
        "llamacpp" (type ``exceed_context_size_error``), as those servers word it.
    seed: seeds the fault and jitter draws, so a run is repeatable.
    usage_divisor: report ``usage.prompt_tokens`` this many times lower than the prompt really is
        (1: as counted). The token budget is still charged the full request: a provider whose usage
        disagrees with its rate-limit headers.
    """

    keys: Mapping[str, KeyLimits] = field(default_factory=dict)
    default_limits: KeyLimits = field(default_factory=KeyLimits)
    limits_per_model: bool = False
    latency: float = 0.0
    latency_jitter: float = 0.0
    models: tuple[str, ...] | None = None
    accept_sim_prefix: bool = True
    faults: Faults = field(default_factory=Faults)
    concurrency_retry_after: float | None = 1.0
    rpm_window: float = 60.0
    seed: int = 0
    budget_seconds: float | None = None
    ratelimit_headers: bool = True
    context_tokens: int | None = None
    context_messages: int | None = None
    context_wording: str = "openai"
    usage_divisor: float = 1.0

    def __post_init__(self) -> None:
        if not self.usage_divisor >= 1.0 or self.usage_divisor == float("inf"):
            raise ValueError(f"usage_divisor must be a finite number >= 1, got {self.usage_divisor!r}")
        for name in ("context_tokens", "context_messages"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {value!r}")
        if self.context_wording not in CONTEXT_WORDINGS:
            raise ValueError(f"context_wording must be one of {', '.join(CONTEXT_WORDINGS)}, got {self.context_wording!r}")
        keys = self.keys
        if isinstance(keys, Mapping):
            coerced = {str(k): KeyLimits.coerce(v) for k, v in keys.items()}
        else:  # an iterable of key strings
            coerced = {str(k): self.default_limits for k in keys}
        if any(not k for k in coerced):
            raise ValueError("API keys must be non-empty strings")
        object.__setattr__(self, "keys", coerced)
        object.__setattr__(self, "default_limits", KeyLimits.coerce(self.default_limits))
        if self.models is not None:
            object.__setattr__(self, "models", tuple(self.models))
        if isinstance(self.faults, Mapping):
            object.__setattr__(self, "faults", Faults.from_mapping(self.faults))
        if self.latency < 0 or self.latency_jitter < 0:
            raise ValueError("latency and latency_jitter must be >= 0")
        if self.rpm_window <= 0:
            raise ValueError("rpm_window must be > 0")
        if self.budget_seconds is not None and self.budget_seconds <= 0:
            raise ValueError("budget_seconds must be > 0 or None")
        if self.concurrency_retry_after is not None and self.concurrency_retry_after < 0:
            raise ValueError("concurrency_retry_after must be >= 0 or None")

    def __repr__(self) -> str:  # keys masked: reprs end up in logs and tracebacks
        keys = {mask_key(k): v for k, v in self.keys.items()}
        return (
            f"MockConfig(keys={keys!r}, default_limits={self.default_limits!r}, "
            f"limits_per_model={self.limits_per_model!r}, latency={self.latency!r}, "
            f"latency_jitter={self.latency_jitter!r}, models={self.models!r}, "
            f"accept_sim_prefix={self.accept_sim_prefix!r}, faults={self.faults!r}, "
            f"concurrency_retry_after={self.concurrency_retry_after!r}, "
            f"rpm_window={self.rpm_window!r}, seed={self.seed!r}, budget_seconds={self.budget_seconds!r}, "
            f"ratelimit_headers={self.ratelimit_headers!r}, context_tokens={self.context_tokens!r}, "
            f"context_messages={self.context_messages!r}, context_wording={self.context_wording!r}, "
            f"usage_divisor={self.usage_divisor!r})"
        )


def config_from_options(
    keys: Iterable[str] = (),
    max_concurrency: int | None = None,
    rpm: int | None = None,
    latency: float = 0.0,
    fault_rate: float = 0.0,
    seed: int = 0,
    *,
    latency_jitter: float = 0.0,
    models: Iterable[str] | None = None,
    limits_per_model: bool = False,
    quota_exhausted_keys: Iterable[str] = (),
    hang_rate: float = 0.0,
    hang_seconds: float = 3600.0,
    storm_retry_after: float | None = 1.0,
    fail_first_n: int = 0,
    tpm: int | None = None,
    budget_seconds: float | None = None,
    concurrency_retry_after: float | None = 1.0,
    ratelimit_headers: bool = True,
    error_503_rate: float = 0.0,
    context_tokens: int | None = None,
    context_messages: int | None = None,
    context_wording: str = "openai",
    usage_divisor: float = 1.0,
) -> MockConfig:
    """Turn simple CLI-style options into a `MockConfig`.

    Every key (or, with no keys, any key) gets the same `max_concurrency`, `rpm` and `tpm`.
    `fault_rate` is spread evenly over all fault kinds except hangs (`hang_rate` adds those).
    Keys in `quota_exhausted_keys` answer every request with ``insufficient_quota``.
    """
    _check_probability("fault_rate", fault_rate)
    _check_probability("hang_rate", hang_rate)
    _check_probability("error_503_rate", error_503_rate)
    limits = KeyLimits(max_concurrency=max_concurrency, rpm=rpm, tpm=tpm)
    exhausted = set(quota_exhausted_keys)
    key_map: dict[str, KeyLimits] = {}
    for k in keys:
        key_map[k] = dataclasses.replace(limits, quota_exhausted=k in exhausted)
    for k in exhausted - set(key_map):
        key_map[k] = dataclasses.replace(limits, quota_exhausted=True)
    share = fault_rate / len(_SPREAD_FAULT_KINDS)
    faults = Faults(
        **{k: share for k in _SPREAD_FAULT_KINDS},
        hang=hang_rate,
        hang_seconds=hang_seconds,
        storm_retry_after=storm_retry_after,
        fail_first_n=fail_first_n,
        error_503=error_503_rate,
    )
    return MockConfig(
        keys=key_map,
        default_limits=limits,
        limits_per_model=limits_per_model,
        latency=latency,
        latency_jitter=latency_jitter,
        models=tuple(models) if models is not None else None,
        faults=faults,
        seed=seed,
        budget_seconds=budget_seconds,
        concurrency_retry_after=concurrency_retry_after,
        ratelimit_headers=ratelimit_headers,
        context_tokens=context_tokens,
        context_messages=context_messages,
        context_wording=context_wording,
        usage_divisor=usage_divisor,
    )

