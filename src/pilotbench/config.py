"""Configuration: providers, models and groups, from built-in entries and `pilotbench.toml`.

Flags, the config file and the environment are merged here and nowhere else. Precedence for a
lane's concurrency: `--max-concurrency` flag > `MAX_WORKERS` > the model's entry > the
provider's entry > the default for the provider's kind. API keys are references (`env:VAR`, or
`env:VAR:-default` with a default); a variable may hold several keys, comma-separated;
`<PROVIDER>_API_KEY_OVERRIDE` replaces a provider's keys. A resolved key is held in a
`ResolvedKey` whose repr shows only its last four characters. An OpenAI-compatible provider with
no keys (a local vLLM, Ollama or llama.cpp server) gets one keyless lane, labelled "none".

Models outside the catalog are named by provider, as inspect_ai users expect (`openai/gpt-4o`,
`azure/<deployment>`, `vllm/<model>`, `ollama/<model>`, `llamacpp/<model>`,
`openai-api/<name>/<model>`, and `human/<name>` for a person playing the model); `open_model`
turns such a name into a catalog entry.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from .errors import ConfigError
from .models.registry import AZURE_API_VERSION, OPENAI_BASE_URL, kinds, provider_kind  # noqa: F401 (both re-exported)
from .secrets import key_label, unsendable

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


def _builtin() -> dict[str, Any]:
    idealab_models = {
        name: {"provider": "idealab", **({"max_tokens": 16384} if name in ("DeepSeek-R1-671B", "o1-1217") else {})}
        for name in (
            "qwen2.5-3b-instruct", "qwen2.5-7b-instruct", "qwen2.5-14b-instruct", "qwen2.5-32b-instruct",
            "qwen2.5-72b-instruct", "DeepSeek-V3-671B", "DeepSeek-R1-671B", "Llama-4-Scout-17B", "o1-1217",
            "kimi-k2",
        )
    }
    return {
        "providers": {
            "sim": {"kind": "simulated"},
            "human": {"kind": "human"},
            # The azure kind's preset: AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION, AZURE_OPENAI_API_KEY.
            "azure": {**provider_kind("azure").entry(), "max_concurrency": 50},
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
            # Reasoning models spend completion tokens on reasoning: a larger cap.
            "gpt-5-mini": {"provider": "azure", "drop_params": ["temperature"], "max_tokens": 16384},
            "DeepSeek-V3-0324": {"provider": "user_azure"},
            "DeepSeek-R1-0528": {"provider": "user_azure", "max_tokens": 16384},
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


def _nested_table_hint(section: str, raw: Mapping[str, Any], required: str) -> str | None:
    """TOML reads `[models.local-1.5b]` as table "local-1" holding table "5b". An entry without
    its required key whose every value is a table is that mistake: the hint to quote the name."""
    for name, entry in raw.items():
        if not isinstance(entry, Mapping) or not entry or required in entry:
            continue
        if not all(isinstance(v, Mapping) for v in entry.values()):
            continue
        parts = [name]
        while isinstance(entry, Mapping) and len(entry) == 1 and required not in entry:
            (sub, inner), = entry.items()
            if not isinstance(inner, Mapping):
                break
            parts.append(sub)
            entry = inner
        if len(parts) > 1:
            dotted = ".".join(parts)
            return (f"[{section}.{dotted}] was read as nested tables; a name with a dot must be quoted: "
                    f'[{section}."{dotted}"]')
    return None


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
        for section, required in (("models", "provider"), ("providers", "kind")):
            hint = _nested_table_hint(section, raw.get(section) or {}, required)
            if hint is not None:
                raise ConfigError(f"{file}: {hint}")
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
    for name, m in config.models.items():
        if config.providers[m.provider].kind == "human" and not is_human_name(name):
            raise ConfigError(f"{source}: models.{name}: a model of a human provider is named human/<name>")
    for group, members in config.groups.items():
        for m in members:
            if m not in config.models:
                raise ConfigError(f"{source}: groups.{group}: unknown model {m!r}")
    return config


# ---------------------------------------------------------------------- keys


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """An API key read from the environment. Only `label` (last four characters) is ever shown;
    the keyless lane of a local server has an empty secret and the label "none"."""

    ref: str
    secret: str

    @property
    def label(self) -> str:
        return key_label(self.secret) if self.secret else NO_KEY_LABEL

    def __repr__(self) -> str:
        return f"ResolvedKey({self.ref!r}, {self.label!r})"

    __str__ = __repr__


NO_KEY_LABEL = "none"
NO_KEY = ResolvedKey("none", "")


def override_var(provider: str) -> str:
    return f"{provider.upper().replace('-', '_')}_API_KEY_OVERRIDE"


def env_ref(value: str) -> tuple[str, str | None]:
    """`env:VAR` -> (VAR, None); `env:VAR:-default` -> (VAR, default)."""
    var, sep, default = value[4:].partition(":-")
    return var, (default if sep else None)


def _split_keys(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


def keyless(provider: ProviderConfig) -> bool:
    """An OpenAI-compatible provider that may be called without a key (a local server)."""
    return provider_kind(provider.kind).keys == "optional" and (not provider.key_required or not provider.api_keys)


def resolve_keys(name: str, provider: ProviderConfig, env: Mapping[str, str] | None = None) -> list[ResolvedKey]:
    """The provider's keys from the environment; missing variables are one ConfigError naming them all.
    A variable may hold several keys, comma-separated."""
    env = os.environ if env is None else env
    rule = provider_kind(provider.kind).keys
    if rule == "builtin":  # the kind's own pseudo key ("simulated")
        return [ResolvedKey(provider.kind, provider.kind)]
    if rule == "none":
        return [NO_KEY]
    override = env.get(override_var(name))
    if override and _split_keys(override):
        return [ResolvedKey(f"env:{override_var(name)}", _sendable(s, f"variable {override_var(name)}"))
                for s in _split_keys(override)]
    keys: list[ResolvedKey] = []
    missing: list[str] = []
    for i, ref in enumerate(provider.api_keys):
        if ref.startswith("env:"):
            var, default = env_ref(ref)
            value = env.get(var, "").strip() or (default or "")
            if not _split_keys(value):
                missing.append(var)
                continue
            keys.extend(ResolvedKey(ref, _sendable(s, f"variable {var}")) for s in _split_keys(value))
        else:
            keys.append(ResolvedKey("literal", _sendable(ref, f"providers.{name}.api_keys[{i}]")))
    if keyless(provider) and (not keys or not provider.key_required):
        return keys or [NO_KEY]
    if missing:
        raise ConfigError(_missing_message([Missing(name, "keys", v) for v in missing]))
    if not keys:
        raise ConfigError(f"provider {name!r} has no api_keys; add some to its entry or set {override_var(name)}")
    return keys


def _sendable(key: str, where: str) -> str:
    """`key`, if it can go into an HTTP header; a ConfigError naming `where` (never the key) if not."""
    problem = unsendable(key)
    if problem is not None:
        raise ConfigError(f"{where} holds an API key with {problem}, which cannot be sent in an HTTP header; "
                          "set it to the key alone")
    return key


def resolve_value(value: str | None, env: Mapping[str, str] | None = None, what: str = "value") -> str | None:
    """`env:VAR` (or `env:VAR:-default`) references in endpoints; a literal passes through."""
    if value is None or not value.startswith("env:"):
        return value
    env = os.environ if env is None else env
    var, default = env_ref(value)
    resolved = env.get(var, "").strip() or (default or "")
    if not resolved:
        raise ConfigError(f"{what}: variable {var} is not set")
    return resolved


@dataclass(frozen=True, slots=True)
class Missing:
    """An environment variable a run needs and does not have."""

    provider: str
    what: str  # "base_url", "endpoint", "api_version" or "keys"
    var: str


def missing_variables(config: Config, models: Sequence[str], env: Mapping[str, str] | None = None) -> list[Missing]:
    """Every variable the providers of `models` need and the environment lacks, in order, once each."""
    env = os.environ if env is None else env
    out: list[Missing] = []
    seen: set[str] = set()
    for model in models:
        entry = config.models.get(model)
        if entry is None or entry.provider in seen:
            continue
        seen.add(entry.provider)
        p = config.providers[entry.provider]
        kind = provider_kind(p.kind)
        for what, value in (("base_url", p.base_url), ("endpoint", p.endpoint), ("api_version", p.api_version)):
            if kind.remote and value and value.startswith("env:"):
                var, default = env_ref(value)
                if not env.get(var, "").strip() and not default:
                    out.append(Missing(entry.provider, what, var))
        if kind.keys in ("builtin", "none") or _split_keys(env.get(override_var(entry.provider), "")) or keyless(p):
            continue
        for ref in p.api_keys:
            if ref.startswith("env:"):
                var, default = env_ref(ref)
                if not _split_keys(env.get(var, "")) and not default:
                    out.append(Missing(entry.provider, "keys", var))
    return out


def _missing_message(missing: Sequence[Missing]) -> str:
    parts = []
    by_provider: dict[str, list[Missing]] = {}
    for m in missing:
        by_provider.setdefault(m.provider, []).append(m)
    for provider, items in by_provider.items():
        keys = [m.var for m in items if m.what == "keys"]
        others = [f"{m.var} ({m.what})" for m in items if m.what != "keys"]
        text = ", ".join(others + keys)
        if len(keys) > 1:
            text += f" (keys; with fewer keys, set {override_var(provider)}=KEY[,KEY...] instead)"
        elif keys:
            text += " (key)"
        parts.append(f"provider {provider!r}: {text}")
    noun = "variable" if len(missing) == 1 else "variables"
    return f"environment {noun} not set: " + "; ".join(parts)


def check_environment(config: Config, models: Sequence[str], env: Mapping[str, str] | None = None) -> None:
    """Raise one ConfigError listing every variable `models` need and do not have, or naming a
    variable whose key cannot be sent (a line break, a space, a non-ASCII character)."""
    env = os.environ if env is None else env
    missing = missing_variables(config, models, env)
    if not missing:
        for provider in dict.fromkeys(config.models[m].provider for m in models if m in config.models):
            resolve_keys(provider, config.providers[provider], env)  # keys that cannot be sent are named
        return
    message = _missing_message(missing)
    hint = open_name_hint(config, models, {m.provider for m in missing}, env)
    raise ConfigError(message + (f"; {hint}" if hint else ""))


def open_name_hint(config: Config, models: Sequence[str], short: set[str], env: Mapping[str, str]) -> str:
    """For a built-in catalog name whose provider's variables are missing, the open name that
    would reach the same model another way (`-m gpt-4o-mini` is the catalog's Azure deployment;
    OpenAI's own API is `openai/gpt-4o-mini`, with OPENAI_API_KEY)."""
    builtin = _builtin_entries()
    for name in models:
        m = config.models.get(name)
        if m is None or m.provider not in short or name not in builtin or "/" in name:
            continue
        deployment = m.deployment or name
        kind = config.providers[m.provider].kind
        if kind == "azure":
            state = "OPENAI_API_KEY is set" if env.get("OPENAI_API_KEY", "").strip() else "with OPENAI_API_KEY"
            return f"{name} is the catalog's Azure deployment; for OpenAI's own API name it openai/{deployment} ({state})"
        if kind == "openai":
            return (f"{name} is the catalog's entry on provider {m.provider!r}; on another OpenAI-compatible server "
                    f"name it openai-api/<name>/{deployment} (<NAME>_BASE_URL, <NAME>_API_KEY) or vllm/{deployment}")
    return ""


def _builtin_entries() -> set[str]:
    return set(_builtin()["models"])


# ---------------------------------------------------------------------- open model names

# Local servers: default base URL, the variable that overrides it, and an optional key variable.
LOCAL_SERVERS: dict[str, tuple[str, str, str]] = {
    "vllm": ("VLLM_BASE_URL", "http://localhost:8000/v1", "VLLM_API_KEY"),
    "ollama": ("OLLAMA_BASE_URL", "http://localhost:11434/v1", "OLLAMA_API_KEY"),
    "llamacpp": ("LLAMACPP_BASE_URL", "http://localhost:8080/v1", "LLAMACPP_API_KEY"),
}
# Local servers answer slowly on small machines (a first call with 30 tool schemas took 80-400 s on
# two cores, BENCHMARKS.md) and llama.cpp and Ollama serve one request at a time unless told otherwise.
LOCAL_DEFAULTS: dict[str, dict[str, int]] = {
    "vllm": {"request_timeout": 600},
    "ollama": {"request_timeout": 600, "max_concurrency": 1},
    "llamacpp": {"request_timeout": 600, "max_concurrency": 1},
}
OPEN_PREFIXES = ("openai", "azure", *LOCAL_SERVERS, "openai-api", "human")
HUMAN_PREFIX = "human/"
_PLAYER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_GATEWAY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def _ollama_host(host: str) -> str:
    """OLLAMA_HOST as Ollama reads it (`host`, `host:port`, `http://host:port`) as an OpenAI base URL."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    scheme, _, rest = host.partition("://")
    if ":" not in rest.split("/")[0]:
        rest = rest.split("/")[0] + ":11434"
    return f"{scheme}://{rest.split('/')[0]}/v1"


def _open_provider(prefix: str, rest: str, name: str, env: Mapping[str, str]) -> tuple[str, dict[str, Any], str]:
    """(provider name, its entry, deployment) for an open model name."""
    if prefix == "human":
        if not _PLAYER_NAME.fullmatch(rest):
            raise ConfigError(f"model {name!r}: a human player is named human/<name>, the name in letters, digits, "
                              "'.', '_' or '-' (e.g. human/alice)")
        return "human", {"kind": "human"}, rest
    if prefix == "openai-api":
        gateway, sep, model = rest.partition("/")
        if not sep or not model or not _GATEWAY_NAME.fullmatch(gateway):
            raise ConfigError(
                f"model {name!r}: gateway models are named openai-api/<name>/<model>, "
                "e.g. openai-api/together/meta-llama/Llama-3.3-70B-Instruct-Turbo"
            )
        var = gateway.upper().replace("-", "_")
        return gateway, {"kind": "openai", "base_url": f"env:{var}_BASE_URL", "api_keys": [f"env:{var}_API_KEY"]}, model
    if prefix == "openai":  # the kind's preset: OPENAI_BASE_URL (else OpenAI's API), OPENAI_API_KEY
        return "openai", provider_kind("openai").entry(), rest
    if prefix == "azure":  # the built-in provider: AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY, OPENAI_API_VERSION
        return "azure", _builtin()["providers"]["azure"], rest
    url_var, default, key_var = LOCAL_SERVERS[prefix]
    base_url = f"env:{url_var}:-{default}"
    if prefix == "ollama" and not env.get(url_var, "").strip() and env.get("OLLAMA_HOST", "").strip():
        base_url = _ollama_host(env["OLLAMA_HOST"])
    entry = {"kind": "openai", "base_url": base_url, "api_keys": [f"env:{key_var}"], "key_required": False,
             **LOCAL_DEFAULTS[prefix]}
    return prefix, entry, rest


def open_model(config: Config, name: str, env: Mapping[str, str] | None = None) -> bool:
    """Make `name` usable: True if it is in the catalog, or is an open model name (`openai/gpt-4o`,
    `vllm/...`, `openai-api/<gateway>/<model>`, ...), which is then added to `config`'s catalog.
    A provider of that name already in the config (built in or from TOML) is used as it is."""
    if name in config.models:
        return True
    prefix, sep, rest = name.partition("/")
    if not sep or prefix not in OPEN_PREFIXES:
        return False
    if not rest.strip() or rest != rest.strip():
        raise ConfigError(f"model {name!r}: no model name after {prefix}/")
    env = os.environ if env is None else env
    provider, entry, deployment = _open_provider(prefix, rest, name, env)
    if provider not in config.providers:
        config.providers[provider] = ProviderConfig(**entry)
    config.models[name] = ModelConfig(provider=provider, deployment=deployment)
    return True


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


def is_human_name(name: str) -> bool:
    """Whether a model name (or a report row label that starts with one) is a human player's."""
    return name.startswith(HUMAN_PREFIX)


def player_label(label: str, tests: int | None = None) -> str:
    """A row label with human players marked: `human/alice (human, N=12) [seed=1]`; others as they are."""
    if not is_human_name(label):
        return label
    name, sep, rest = label.partition(" [")
    mark = "human" if tests is None else f"human, N={tests}"
    return f"{name} ({mark})" + (f" [{rest}" if sep else "")


def is_human(config: Config, model: str) -> bool:
    """Whether `model` is played by a person (a `human/<name>` model, or any model of a human provider)."""
    entry = config.models.get(model)
    if entry is None:
        return model.startswith(HUMAN_PREFIX)
    provider = config.providers.get(entry.provider)
    return provider is not None and provider.kind == "human"


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
    defaults = provider_kind(p.kind)
    concurrency = m.max_concurrency or p.max_concurrency or defaults.max_concurrency
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
        request_timeout=request_timeout or p.request_timeout or defaults.request_timeout,
        max_retries=p.max_retries,
        ceiling=p.adaptive_ceiling,
        retry_after_max=p.retry_after_max,
    )


def expand_models(
    config: Config, value: str, group: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """`--model a,b` and `--group NAME` into model names; unknown names are ConfigErrors.
    Open model names (`openai/gpt-4o`, ...) are added to `config`'s catalog on the way."""
    names: list[str] = []
    if group:
        for g in (x.strip() for x in group.split(",") if x.strip()):
            if g not in config.groups:
                raise ConfigError(f"unknown group {g!r}; known groups: {', '.join(sorted(config.groups))}")
            names.extend(config.groups[g])
    for part in (x.strip() for x in (value or "").split(",") if x.strip()):
        if part in config.groups and part not in config.models:
            names.extend(config.groups[part])
        elif open_model(config, part, env):
            names.append(part)
        else:
            raise ConfigError(
                f"unknown model {part!r}; see `pilotbench models` for the catalog, or name one by provider: "
                "openai/<model>, azure/<deployment>, vllm/<model>, ollama/<model>, llamacpp/<model>, "
                "openai-api/<name>/<model>, human/<name>"
            )
    out = tuple(dict.fromkeys(names))
    if not out:
        raise ConfigError("no model given")
    return out


# ---------------------------------------------------------------------- generation parameters

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
