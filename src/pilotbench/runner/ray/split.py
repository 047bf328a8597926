"""The plan split by key, and the configuration the key owners get: nothing secret travels."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...config import Config, override_var
from ...errors import UsageError
from ...models.registry import provider_kind
from ...plan import TestSpec
from ..runtime import build_runtime


@dataclass(frozen=True, slots=True, order=True)
class OwnerRef:
    """Which key an owner drives: a provider and the index of one of its keys. No secret."""

    provider: str
    key_index: int

    @property
    def label(self) -> str:
        return f"{self.provider}#{self.key_index}"


def key_count(config: Config, provider: str, env: Mapping[str, str]) -> int:
    """How many keys a provider has, as the driver sees them: `<PROVIDER>_API_KEY_OVERRIDE`
    (comma-separated) or the configured references. Only counted: the driver needs no key."""
    p = config.providers[provider]
    if provider_kind(p.kind).keys == "builtin":  # no key to split the work by
        return 1
    override = env.get(override_var(provider), "")
    if override.strip():
        return len([k for k in override.split(",") if k.strip()])
    return max(1, len(p.api_keys))


def partition(
    specs: Iterable[TestSpec], config: Config, *, key_policy: str | None = None, env: Mapping[str, str] | None = None
) -> dict[OwnerRef, list[TestSpec]]:
    """Each pending test to one key owner, following the key policy: under `prompt-affinity`,
    baseline, cot and optimal go to keys 1, 2 and 3 (as in one process) and the other prompt
    types rotate over all keys; under `pool` and `round-robin` each model's tests rotate over its
    provider's keys, so every key gets an equal share."""
    env = os.environ if env is None else env
    rotation: dict[str, int] = defaultdict(int)
    pools: dict[str, Any] = {}
    out: dict[OwnerRef, list[TestSpec]] = {}
    for spec in specs:
        m = config.models[spec.model]
        n = key_count(config, m.provider, env)
        policy = key_policy or config.providers[m.provider].key_policy
        index: int | None = None
        if policy == "prompt-affinity" and n > 1:
            pool = pools.get(spec.model)
            if pool is None:
                pool = build_runtime(config, [spec.model], key_policy=policy, env=env, connect=False).models[spec.model].pool
                pools[spec.model] = pool
            lanes = pool.lanes_for(spec.prompt_type)
            if len(lanes) == 1:
                index = pool.lanes.index(lanes[0])
        if index is None:
            index = rotation[spec.model] % n
            rotation[spec.model] += 1
        out.setdefault(OwnerRef(m.provider, index), []).append(spec)
    return out


def portable_config(config: Config, models: Iterable[str]) -> dict[str, Any]:
    """The part of the configuration owners need, with nothing secret in it: only `env:`
    key references travel; a literal key in the config is refused."""
    models = list(dict.fromkeys(models))
    providers = sorted({config.models[m].provider for m in models})
    data: dict[str, Any] = {"providers": {}, "models": {}, "groups": {}, "source": config.source}
    for name in providers:
        p = config.providers[name]
        if provider_kind(p.kind).keys != "builtin" and any(not ref.startswith("env:") for ref in p.api_keys):
            raise UsageError(
                f"provider {name!r} has a literal key in {config.source}; with --executor ray keys must be "
                "env:VAR references, set on every node"
            )
        data["providers"][name] = p.model_dump()
    for m in models:
        data["models"][m] = config.models[m].model_dump()
    return data
