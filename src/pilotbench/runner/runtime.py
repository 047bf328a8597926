"""Live objects for a run: one lane per (provider, key, deployment), one key pool per model.

Lanes are shared by every model that uses the same provider, key and deployment, so one limiter
governs each of them however many models or prompt types route through it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import (
    KEY_POLICIES, Config, ConfigError, check_environment, lane_limits, open_model, request_params, resolve_keys,
    resolve_value,
)
from ..limits import Clock, KeyPool, Lane, MonotonicClock
from ..models.base import Provider
from ..models.human import HumanOptions
from ..models.registry import provider_kind
from .settings import RunSettings
from .tokens import TokenCalibration


@dataclass
class ModelRuntime:
    name: str
    provider_name: str
    kind: str
    deployment: str
    pool: KeyPool
    providers: dict[str, Provider]  # lane name -> provider client for that key
    params: dict[str, Any]
    tool_mode: str
    request_timeout: float
    max_retries: int
    dead: str | None = None  # why the model was stopped (a fatal, model-wide error)
    connection_failures: int = 0  # in a row, with no answer from the server in between (circuit breaker)
    connection_failing_since: float | None = None
    token_calibration: TokenCalibration = field(default_factory=TokenCalibration)
    retry_after_max: float = 120.0  # longer Retry-Afters park the key instead

    @property
    def uses_tpm(self) -> bool:
        """Whether calls must carry a token estimate: a declared TPM, or budgets the provider states
        (or may state: the first answer has not come yet)."""
        return any(lane.tpm_bucket is not None or lane.learns_limits for lane in self.pool.lanes)

    @property
    def capacity(self) -> int:
        return sum(lane.limit for lane in self.pool.lanes if lane.is_usable)

    @property
    def max_capacity(self) -> int:
        return sum(max(lane.max_concurrency, lane.controller.ceiling if lane.controller else 0) for lane in self.pool.lanes)


@dataclass
class Runtime:
    models: dict[str, ModelRuntime] = field(default_factory=dict)
    lanes: dict[str, Lane] = field(default_factory=dict)

    async def aclose(self) -> None:
        seen: set[int] = set()
        for m in self.models.values():
            for p in m.providers.values():
                if id(p) not in seen:
                    seen.add(id(p))
                    await p.aclose()


def _make_provider(kind: str, base_url: str | None, secret: str, api_version: str | None, drop: Sequence[str], model: str,
                   client: str = "sdk", human: HumanOptions | None = None, deployment: str | None = None,
                   max_response_bytes: int | None = None) -> Provider:
    """One provider client, built by its kind's factory (`models.registry`)."""
    from ..models.registry import ProviderArgs, make_provider

    return make_provider(ProviderArgs(kind=kind, base_url=base_url, api_key=secret, api_version=api_version, drop_params=drop,
                                      model=model, client=client, human=human, deployment=deployment,
                                      max_response_bytes=max_response_bytes))


def _distinct(labels: list[str]) -> list[str]:
    """Key labels made distinct within a provider (`...****#2`): keys that share a label (short
    keys are all ``...****``; long ones may share their last four) still get a lane each."""
    seen: set[str] = set()
    out = []
    for i, label in enumerate(labels, 1):
        out.append(label if label not in seen else f"{label}#{i}")
        seen.add(out[-1])
    return out


def build_runtime(
    config: Config,
    models: Sequence[str],
    settings: RunSettings | None = None,
    *,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
    connect: bool = True,
    **overrides: Any,
) -> Runtime:
    """Lanes and key pools for `models`, as the run's `settings` say (RunSettings; `overrides` are
    any of its fields, e.g. `key_policy="pool"`, over `settings`). With connect=False no provider
    client is created (for dry runs and the `keys` command), and keys that are not set get
    placeholder lanes. `settings.params` (the run's generation settings) override each model's
    configured params. `settings.human` says how human players (`human/<name>`) play: at the
    terminal, or through files; their lanes take one call at a time, and a turn's limit is
    `human.timeout`, not a request timeout."""
    settings = dataclasses.replace(settings or RunSettings(), **overrides)
    key_policy, adaptive, params, human = settings.key_policy, settings.adaptive, settings.params, settings.human
    max_concurrency, rpm, request_timeout = settings.max_concurrency, settings.rpm, settings.request_timeout
    env = os.environ if env is None else env
    if key_policy is not None and key_policy not in KEY_POLICIES:
        raise ConfigError(f"unknown key policy {key_policy!r}; choose from {', '.join(KEY_POLICIES)}")
    for name in models:
        if not open_model(config, name, env):
            raise ConfigError(f"unknown model {name!r}; see `pilotbench models` for the catalog")
    if connect:
        check_environment(config, models, env)  # every missing variable at once
    clock = clock or MonotonicClock()
    rt = Runtime()
    clients: dict[tuple[str, str, str], Provider] = {}
    for name in models:
        m = config.models[name]
        p = config.providers[m.provider]
        limits = lane_limits(config, name, env=env, max_concurrency=max_concurrency, rpm=rpm, request_timeout=request_timeout)
        deployment = m.deployment or name
        if p.kind == "human":
            # One turn at a time, whatever the flags say; the player enforces the turn's time limit,
            # so the request timeout only has to outlast it.
            human = human or HumanOptions()
            if human.clock is None:
                human = dataclasses.replace(human, clock=clock)  # the run's clock: turn times and limits agree
            limits = dataclasses.replace(limits, max_concurrency=1, rpm=None, tpm=None, ceiling=None,
                                         request_timeout=human.timeout + 60.0, max_retries=0)
        if not provider_kind(p.kind).remote:
            base_url = None
        else:
            where = f"provider {m.provider!r} base_url" if p.base_url else f"provider {m.provider!r} endpoint"
            raw = p.base_url or p.endpoint
            if raw is None:
                raise ConfigError(f"provider {m.provider!r} has no base_url or endpoint")
            base_url = resolve_value(raw, env, where) if connect else raw
        try:
            keys = resolve_keys(m.provider, p, env)
        except ConfigError:
            if connect:
                raise
            keys = []
        labels = _distinct([k.label for k in keys]) or [f"<unset {ref}>" for ref in p.api_keys]
        share = len(labels) if p.keys_share_limits and len(labels) > 1 else 1
        lanes: list[Lane] = []
        providers: dict[str, Provider] = {}
        for i, label in enumerate(labels):
            lane_name = f"{m.provider}/{label}" + (f"/{deployment}" if p.lane_scope == "deployment" else "")
            lane = rt.lanes.get(lane_name)
            if lane is None:
                # Adaptive lanes search below the declared limit; `adaptive_ceiling` lets them go above.
                # Keys that share one budget: each lane gets its share of the declared limits.
                concurrency = max(1, limits.max_concurrency // share)
                lane_adaptive = adaptive and p.kind != "human"
                ceiling = limits.ceiling or (limits.max_concurrency if lane_adaptive else None)
                if ceiling:
                    ceiling = max(1, ceiling // share)
                lane = Lane(
                    lane_name,
                    provider=m.provider,
                    key_label=label,
                    deployment=deployment,
                    max_concurrency=concurrency,
                    rpm=limits.rpm / share if limits.rpm is not None else None,
                    tpm=limits.tpm / share if limits.tpm is not None else None,
                    clock=clock,
                    adaptive=lane_adaptive,
                    ceiling=max(ceiling, concurrency) if ceiling else None,
                    slow_start=lane_adaptive,
                    learn_limits=connect and provider_kind(p.kind).remote and p.learn_limits,
                )
                rt.lanes[lane_name] = lane
            lanes.append(lane)
            if connect:
                secret = keys[i].secret
                # One client per (provider, key, model): parameters a server rejects are learned per model.
                ck = (m.provider, secret, name)
                client = clients.get(ck)
                if client is None:
                    api_version = resolve_value(p.api_version, env, f"provider {m.provider!r} api_version")
                    # A keyless lane (a local server) still sends a placeholder, as vLLM's docs do.
                    client = _make_provider(p.kind, base_url, secret or "EMPTY", api_version, m.drop_params, name, p.client,
                                            human=human, deployment=deployment,
                                            max_response_bytes=p.max_response_bytes)
                    clients[ck] = client
                if hasattr(client, "rate_limit_listener"):  # the HTTP providers: stated limits go to the lane
                    client.rate_limit_listener = lane.observe
                providers[lane_name] = client
        rt.models[name] = ModelRuntime(
            name=name,
            provider_name=m.provider,
            kind=p.kind,
            deployment=deployment,
            pool=KeyPool(lanes, key_policy or p.key_policy),
            providers=providers,
            params={**request_params(m, p.kind), **(params or {})},
            tool_mode=m.tool_mode,
            request_timeout=limits.request_timeout,
            max_retries=limits.max_retries,
            retry_after_max=limits.retry_after_max,
        )
    # Lanes of one key (one per deployment) tell a concurrency refusal from a spent budget together.
    by_key: dict[tuple[str, str], list[Lane]] = {}
    for lane in rt.lanes.values():
        by_key.setdefault((lane.provider, lane.key_label), []).append(lane)
    for group in by_key.values():
        for lane in group:
            lane.siblings = tuple(other for other in group if other is not lane)
    return rt


def check_models(config: Config, models: Sequence[str]) -> None:
    """What can be known about the models without calling anyone: simulated ones must exist.
    (A remote model's name is checked by its server at the first call; a wrong one stops it.)"""
    for name in models:
        m = config.models[name]
        if config.providers[m.provider].kind == "simulated":
            _make_provider("simulated", None, "", None, (), name)
