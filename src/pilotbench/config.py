"""Configuration: providers, models and groups, from built-in entries and `pilotbench.toml`.

Flags, the config file and the environment are merged here and nowhere else. Precedence for a
lane's concurrency: `--max-concurrency` flag > `MAX_WORKERS` > the model's entry > the
provider's entry > the default for the provider's kind. API keys are references (`env:VAR`);
`<PROVIDER>_API_KEY_OVERRIDE` replaces a provider's keys. A resolved key is held in a
`ResolvedKey` whose repr shows only its last four characters.
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

DEFAULT_CONFIG_FILE = "pilotbench.toml"
KEY_POLICIES = ("pool", "prompt-affinity", "round-robin")
PROVIDER_KINDS = ("azure", "openai", "simulated")

# Defaults by kind, from the guide's measurements: Azure deployments take 50+ concurrent calls,
# an IdealLab-like gateway about 10 per model per key; simulated models are in process.
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "azure": {"max_concurrency": 50, "request_timeout": 120.0},
    "openai": {"max_concurrency": 10, "request_timeout": 120.0},
    "simulated": {"max_concurrency": 256, "request_timeout": 30.0},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Strict):
    kind: Literal["azure", "openai", "simulated"]
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
    # The longest Retry-After the runner waits out; a server asking for more parks the key with a
    # message saying so, instead of sleeping silently.
    retry_after_max: float = Field(default=120.0, gt=0)
    # Pace each lane to the budgets the provider states in x-ratelimit-* headers (never above a
    # declared limit); the first call of a lane goes alone until the first answer says.
    learn_limits: bool = True
    # The declared limits (max_concurrency, rpm, tpm) are one budget shared by all the provider's
    # keys (several keys of one OpenAI organisation), not each key's: each key's lane gets its share.
    keys_share_limits: bool = False

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
    price_input: float | None = Field(default=None, ge=0, description="USD per million prompt tokens")
    price_output: float | None = Field(default=None, ge=0, description="USD per million completion tokens")


class Config(_Strict):
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    source: str = "built-in"


def _builtin() -> dict[str, Any]:
    idealab_models = {
        name: {"provider": "idealab"}
        for name in (
            "qwen2.5-3b-instruct", "qwen2.5-7b-instruct", "qwen2.5-14b-instruct", "qwen2.5-32b-instruct",
            "qwen2.5-72b-instruct", "DeepSeek-V3-671B", "DeepSeek-R1-671B", "Llama-4-Scout-17B", "o1-1217",
            "kimi-k2",
        )
    }
    return {
        "providers": {
            "sim": {"kind": "simulated"},
            "azure": {
                "kind": "azure",
                "endpoint": "env:AZURE_OPENAI_ENDPOINT",
                "api_version": "2024-10-21",
                "api_keys": ["env:AZURE_OPENAI_API_KEY"],
                "max_concurrency": 50,
            },
            "user_azure": {
                "kind": "openai",
                "base_url": "env:USER_AZURE_ENDPOINT",
                "api_keys": ["env:USER_AZURE_API_KEY"],
                "max_concurrency": 30,
            },
            "idealab": {
                "kind": "openai",
                "base_url": "env:IDEALAB_BASE_URL",
                "api_keys": ["env:IDEALAB_API_KEY_1", "env:IDEALAB_API_KEY_2", "env:IDEALAB_API_KEY_3"],
                "max_concurrency": 10,
            },
        },
        "models": {
            "sim/weak": {"provider": "sim"},
            "sim/medium": {"provider": "sim"},
            "sim/strong": {"provider": "sim"},
            **{f"sim/family-{size}b": {"provider": "sim"} for size in (3, 7, 14, 72)},
            "gpt-4o-mini": {"provider": "azure", "price_input": 0.15, "price_output": 0.6},
            "gpt-5-mini": {"provider": "azure", "drop_params": ["temperature"]},
            "DeepSeek-V3-0324": {"provider": "user_azure"},
            "DeepSeek-R1-0528": {"provider": "user_azure"},
            "Llama-3.3-70B-Instruct": {"provider": "user_azure"},
            **idealab_models,
        },
        "groups": {
            "sim": ["sim/weak", "sim/medium", "sim/strong"],
            "sim-family": [f"sim/family-{size}b" for size in (3, 7, 14, 72)],
            "idealab": list(idealab_models),
            "qwen": [m for m in idealab_models if m.startswith("qwen")],
            "azure": ["gpt-4o-mini", "gpt-5-mini"],
            "user_azure": ["DeepSeek-V3-0324", "DeepSeek-R1-0528", "Llama-3.3-70B-Instruct"],
        },
    }


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for section in ("providers", "models", "groups"):
        if section in over:
            merged = dict(out.get(section, {}))
            merged.update(over[section])
            out[section] = merged
    return out


def _validation_message(e: ValidationError, source: str) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return f"{source}: {where}: {msg}"


def _warn_literal_keys(path: Path, data: Mapping[str, Any]) -> None:
    literal = [
        name for name, p in (data.get("providers") or {}).items()
        if isinstance(p, Mapping) and isinstance(p.get("api_keys"), list)  # any other type fails validation later
        and any(isinstance(k, str) and not k.startswith("env:") for k in p["api_keys"])
    ]
    if not literal:
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        print(
            f"warning: {path} holds a literal API key (provider {', '.join(literal)}) and is readable by other "
            f"users; use env:VAR references or chmod 600 {path}",
            file=sys.stderr,
        )


def load_config(path: str | os.PathLike[str] | None = None, *, cwd: Path | None = None) -> Config:
    """Built-in entries, overlaid with `path` (or ./pilotbench.toml when present)."""
    data = _builtin()
    source = "built-in"
    file: Path | None = Path(path) if path is not None else (cwd or Path.cwd()) / DEFAULT_CONFIG_FILE
    if path is None and not file.exists():
        file = None
    if file is not None:
        if not file.is_file():
            raise ConfigError(f"config file {file} not found")
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{file}: not valid TOML: {e}") from None
        except RecursionError:  # tomllib recurses on nested arrays and inline tables
            raise ConfigError(f"{file}: not valid TOML: arrays or tables nested too deeply") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{file}: cannot be read: {e}") from None
        unknown = set(raw) - {"providers", "models", "groups"}
        if unknown:
            raise ConfigError(f"{file}: unknown section {sorted(unknown)[0]!r} (expected providers, models, groups)")
        for section in ("providers", "models", "groups"):
            if section in raw and not isinstance(raw[section], dict):
                raise ConfigError(f"{file}: [{section}] must be a table")
        _warn_literal_keys(file, raw)
        data = _merge(data, raw)
        source = str(file)
    try:
        config = Config(**data, source=source)
    except ValidationError as e:
        raise ConfigError(_validation_message(e, source)) from None
    for name, m in config.models.items():
        if m.provider not in config.providers:
            raise ConfigError(f"{source}: models.{name}.provider: unknown provider {m.provider!r}")
    for group, members in config.groups.items():
        for m in members:
            if m not in config.models:
                raise ConfigError(f"{source}: groups.{group}: unknown model {m!r}")
    return config


# ---------------------------------------------------------------------- keys


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """An API key read from the environment. Only `label` (last four characters) is ever shown."""

    ref: str
    secret: str

    @property
    def label(self) -> str:
        return key_label(self.secret)

    def __repr__(self) -> str:
        return f"ResolvedKey({self.ref!r}, {self.label!r})"

    __str__ = __repr__


def key_label(secret: str) -> str:
    return "..." + secret[-4:] if len(secret) >= 4 else "..." + "*" * len(secret)


def override_var(provider: str) -> str:
    return f"{provider.upper().replace('-', '_')}_API_KEY_OVERRIDE"


def resolve_keys(name: str, provider: ProviderConfig, env: Mapping[str, str] | None = None) -> list[ResolvedKey]:
    """The provider's keys from the environment; a missing variable is a ConfigError naming it."""
    env = os.environ if env is None else env
    if provider.kind == "simulated":
        return [ResolvedKey("simulated", "simulated")]
    override = env.get(override_var(name))
    if override:
        secrets = [k.strip() for k in override.split(",") if k.strip()]
        return [ResolvedKey(f"env:{override_var(name)}", s) for s in secrets]
    if not provider.api_keys:
        raise ConfigError(f"provider {name!r} has no api_keys")
    keys = []
    for ref in provider.api_keys:
        if ref.startswith("env:"):
            var = ref[4:]
            value = env.get(var, "").strip()
            if not value:
                raise ConfigError(f"provider {name!r}: key variable {var} is not set")
            keys.append(ResolvedKey(ref, value))
        else:
            keys.append(ResolvedKey("literal", ref))
    return keys


def resolve_value(value: str | None, env: Mapping[str, str] | None = None, what: str = "value") -> str | None:
    """`env:VAR` references in endpoints; a literal passes through."""
    if value is None or not value.startswith("env:"):
        return value
    env = os.environ if env is None else env
    var = value[4:]
    resolved = env.get(var, "").strip()
    if not resolved:
        raise ConfigError(f"{what}: variable {var} is not set")
    return resolved


# ---------------------------------------------------------------------- limits


@dataclass(frozen=True, slots=True)
class LaneLimits:
    max_concurrency: int
    rpm: float | None
    tpm: float | None
    request_timeout: float
    max_retries: int
    ceiling: int | None
    retry_after_max: float = 120.0


def lane_limits(
    config: Config,
    model: str,
    *,
    env: Mapping[str, str] | None = None,
    max_concurrency: int | None = None,
    rpm: float | None = None,
    request_timeout: float | None = None,
) -> LaneLimits:
    env = os.environ if env is None else env
    m = config.models[model]
    p = config.providers[m.provider]
    defaults = KIND_DEFAULTS[p.kind]
    concurrency = m.max_concurrency or p.max_concurrency or defaults["max_concurrency"]
    workers = env.get("MAX_WORKERS", "").strip()
    if workers:
        try:
            concurrency = int(workers)
        except ValueError:
            raise ConfigError(f"MAX_WORKERS must be a whole number, got {workers!r}") from None
        if concurrency < 1:
            raise ConfigError(f"MAX_WORKERS must be at least 1, got {workers}")
    if max_concurrency is not None:
        concurrency = max_concurrency
    return LaneLimits(
        max_concurrency=concurrency,
        rpm=rpm if rpm is not None else (m.rpm or p.rpm),
        tpm=m.tpm or p.tpm,
        request_timeout=request_timeout or p.request_timeout or defaults["request_timeout"],
        max_retries=p.max_retries,
        ceiling=p.adaptive_ceiling,
        retry_after_max=p.retry_after_max,
    )


def expand_models(config: Config, value: str, group: str | None = None) -> tuple[str, ...]:
    """`--model a,b` and `--group NAME` into model names; unknown names are ConfigErrors."""
    names: list[str] = []
    if group:
        for g in (x.strip() for x in group.split(",") if x.strip()):
            if g not in config.groups:
                raise ConfigError(f"unknown group {g!r}; known groups: {', '.join(sorted(config.groups))}")
            names.extend(config.groups[g])
    for part in (x.strip() for x in (value or "").split(",") if x.strip()):
        if part in config.groups and part not in config.models:
            names.extend(config.groups[part])
        elif part in config.models:
            names.append(part)
        else:
            raise ConfigError(f"unknown model {part!r}; see `pilotbench models` for the catalog")
    out = tuple(dict.fromkeys(names))
    if not out:
        raise ConfigError("no model given")
    return out
