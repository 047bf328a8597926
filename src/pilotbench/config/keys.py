"""API keys and environment variables: `env:` references, resolved keys, the variables a run lacks."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..models.registry import provider_kind
from ..secrets import key_label, unsendable
from .load import builtin_catalog
from .model import Config, ProviderConfig


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
    return set(builtin_catalog()["models"])
