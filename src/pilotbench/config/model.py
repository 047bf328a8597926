"""The configuration's shape (providers, models, groups) and what a model's entry sends with each call."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ..errors import ConfigError
from ..models.registry import kinds, provider_kind


DEFAULT_CONFIG_FILE = "pilotbench.toml"
KEY_POLICIES = ("pool", "prompt-affinity", "round-robin")
# The built-in provider kinds. Each kind's defaults (limits, key rules, the entry of a model named by
# kind) are registered once, in models.registry; the configuration reads them there.
PROVIDER_KINDS = kinds()


# The completion cap sent with every call unless a model sets its own (`max_tokens`, or one in its
# `params`): enough for a tool call or a final answer, and it keeps one runaway reply from
# generating until the context is full (minutes on a local server). A server that rejects the
# parameter gets it renamed or dropped automatically (models.wire.ParameterMemory).
DEFAULT_MAX_TOKENS = 1024


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expected(names: Sequence[str]) -> str:
    """`names` in the words pydantic uses for a Literal's choices: 'a', 'b' or 'c'."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class ProviderConfig(_Strict):
    kind: str  # a registered kind (models.registry)
    base_url: str | None = None
    endpoint: str | None = None
    api_version: str | None = None
    api_keys: list[str] = Field(default_factory=list)
    max_concurrency: int | None = Field(default=None, ge=1)
    rpm: float | None = Field(default=None, gt=0)
    tpm: float | None = Field(default=None, gt=0)
    request_timeout: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=5, ge=0, le=50)
    key_policy: Literal["pool", "prompt-affinity", "round-robin"] = "pool"
    adaptive_ceiling: int | None = Field(default=None, ge=1)
    # What one set of limits covers: each (key, deployment) by default, as on gateways that
    # limit per model per key; "key" when the provider limits a key across all its models.
    lane_scope: Literal["deployment", "key"] = "deployment"
    # The HTTP path of the OpenAI-compatible kinds: the official SDK, or plain aiohttp ("lean"),
    # which costs a fraction of the SDK's CPU per call (BENCHMARKS.md); same requests, same errors.
    client: Literal["sdk", "lean"] = "sdk"
    # Whether a run needs a key: local servers (vLLM, Ollama, llama.cpp) take calls without one and
    # use a key only when its variable is set.
    key_required: bool = True
    # The longest Retry-After the runner waits out; a server asking for more parks the key with a
    # message saying so, instead of sleeping silently.
    retry_after_max: float = Field(default=120.0, gt=0)
    # The largest response body read (bytes): a server that sends more (a gateway streaming without
    # end) is cut off there, as a transient provider error, instead of filling the memory.
    max_response_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Pace each lane to the budgets the provider states in x-ratelimit-* headers (never above a
    # declared limit); the first call of a lane goes alone until the first answer says.
    learn_limits: bool = True
    # The declared limits (max_concurrency, rpm, tpm) are one budget shared by all the provider's
    # keys (several keys of one OpenAI organisation), not each key's: each key's lane gets its share.
    keys_share_limits: bool = False

    @field_validator("kind", mode="before")
    @classmethod
    def _known_kind(cls, v: Any) -> Any:
        if not isinstance(v, str) or v not in kinds():
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": _expected(kinds())})
        return v

    @field_validator("api_keys")
    @classmethod
    def _keys_not_empty(cls, v: list[str]) -> list[str]:
        for ref in v:
            if not ref.strip():
                raise ValueError("an api_keys entry is empty")
        return v


class ModelConfig(_Strict):
    provider: str
    deployment: str | None = None
    max_concurrency: int | None = Field(default=None, ge=1)
    rpm: float | None = Field(default=None, gt=0)
    tpm: float | None = Field(default=None, gt=0)
    params: dict[str, Any] = Field(default_factory=dict)
    drop_params: list[str] = Field(default_factory=list)
    tool_mode: Literal["native", "text"] = "native"
    # Completion tokens per call: DEFAULT_MAX_TOKENS when unset; 0 sends no cap.
    max_tokens: int | None = Field(default=None, ge=0)
    price_input: float | None = Field(default=None, ge=0, description="USD per million prompt tokens")
    price_output: float | None = Field(default=None, ge=0, description="USD per million completion tokens")


class Config(_Strict):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    source: str = "built-in"


def request_params(model: ModelConfig, kind: str) -> dict[str, Any]:
    """The parameters sent with each call of `model`: its `params`, plus the completion cap
    (`max_tokens`, else DEFAULT_MAX_TOKENS) unless `params` already sets one, it is in
    `drop_params`, it is 0, or the model is played in process (a kind that is not remote:
    simulated models, human players; no server to cap)."""
    params = dict(model.params)
    if not provider_kind(kind).remote or "max_tokens" in params or "max_completion_tokens" in params:
        return params
    if "max_tokens" in model.drop_params:
        return params
    cap = DEFAULT_MAX_TOKENS if model.max_tokens is None else model.max_tokens
    if cap > 0:
        params["max_tokens"] = cap
    return params


_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def generation_params(
    pairs: Sequence[str] = (), *, temperature: float | None = None, max_tokens: int | None = None
) -> dict[str, Any]:
    """A run's generation parameters from `-M name=value` (a value is read as JSON when it parses:
    numbers, true/false, null, lists, objects; else it is a string), then `--temperature` and
    `--max-tokens`. They override each model's configured `params` and are stored with the results."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not _PARAM_NAME.fullmatch(name):
            raise ConfigError(f"-M takes name=value, e.g. -M top_p=0.9; got {pair!r}")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"-M {name}: {text!r} is not a finite number")
        out[name] = value
    if temperature is not None:
        out["temperature"] = temperature
    if max_tokens is not None:
        out["max_tokens"] = max_tokens
    return out
