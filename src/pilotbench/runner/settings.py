"""How a run uses its models' providers, decided once (from the command's flags or the API's
arguments) and passed down as one value: to `api.run_async`, `build_runtime`, the Ray driver and
each of its key owners. What is not set here comes from the config (lane_limits, key_policy, params).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models.human import HumanOptions


@dataclass(frozen=True)
class RunSettings:
    key_policy: str | None = None  # how calls are spread over a provider's keys (None: the provider's own)
    adaptive: bool = False  # each lane adapts its concurrency (AIMD on 429s)
    max_concurrency: int | None = None  # per lane, over the config and MAX_WORKERS
    rpm: float | None = None  # requests per minute, per lane
    request_timeout: float | None = None  # seconds per request
    params: Mapping[str, Any] | None = field(default=None)  # generation parameters over each model's configured ones
    human: HumanOptions | None = None  # how human/<name> players play (files or the terminal)

    def __post_init__(self) -> None:
        if self.params is not None:  # a copy: a caller's later change to its dict does not reach the run
            object.__setattr__(self, "params", dict(self.params))
