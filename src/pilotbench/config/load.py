"""Loading the configuration: the built-in entries, overlaid with `pilotbench.toml`."""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..models.registry import provider_kind
from .model import Config, DEFAULT_CONFIG_FILE
from .players import is_human_name


def builtin_catalog() -> dict[str, Any]:
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
    data = builtin_catalog()
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
