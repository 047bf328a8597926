"""A lane's limits: the flags, MAX_WORKERS and the model's and provider's entries, merged."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError
from ..models.registry import provider_kind
from .model import Config


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
