"""Model names: open names by provider (`openai/...`, `vllm/...`, `openai-api/<name>/...`) and `--model`/`--group` lists."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..models.registry import provider_kind
from .load import builtin_catalog
from .model import Config, ModelConfig, ProviderConfig
from .players import PLAYER_NAME


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
        if not PLAYER_NAME.fullmatch(rest):
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
        return "azure", builtin_catalog()["providers"]["azure"], rest
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
