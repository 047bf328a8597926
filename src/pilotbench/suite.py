"""Experiment suites: a whole study in one TOML file, run as one plan on one event loop.

    [suite]
    name = "study"
    [defaults]                 # any plan axis, applied to every experiment
    num_instances = 2
    [[experiment]]
    name = "5.1 baseline"
    models = ["sim/weak", "sim/strong"]     # or a group: group = "sim"
    prompt_types = "baseline"
    task_types = "all"
    difficulties = "easy"
    tool_success_rates = "0.8"
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import Config
from .errors import ConfigError
from .plan import PlanSpec, TestSpec


class _Axes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str] | str | None = None
    group: str | None = None
    prompt_types: list[str] | str | None = None
    task_types: list[str] | str | None = None
    difficulties: list[str] | str | None = None
    tool_success_rates: list[float] | str | float | None = None
    num_instances: int | None = Field(default=None, ge=0)
    seed: int | None = None
    severity: str | None = None
    max_turns: int | None = Field(default=None, ge=1)


class _Experiment(_Axes):
    name: str


class _SuiteHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "suite"
    description: str = ""


class _SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: _SuiteHeader = Field(default_factory=_SuiteHeader)
    defaults: _Axes = Field(default_factory=_Axes)
    experiment: list[_Experiment]


@dataclass(frozen=True)
class Suite:
    name: str
    experiments: tuple[tuple[str, PlanSpec], ...]

    def expand(self) -> Iterator[TestSpec]:
        """Every test of every experiment, each id once (experiments may overlap)."""
        seen: set[str] = set()
        for _, plan in self.experiments:
            for spec in plan.expand():
                if spec.id not in seen:
                    seen.add(spec.id)
                    yield spec

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m for _, p in self.experiments for m in p.models))


def _text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def load_suite(path: str | Path, config: Config) -> Suite:
    from .api import build_plan

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"suite file {p} not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    try:
        parsed = _SuiteFile(**raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"{p}: {where}: {'unknown field' if err['type'] == 'extra_forbidden' else err['msg']}") from None
    experiments = []
    for exp in parsed.experiment:
        axes = {**parsed.defaults.model_dump(exclude_none=True), **exp.model_dump(exclude_none=True, exclude={"name"})}
        kwargs: dict[str, Any] = {}
        for key in ("prompt_types", "task_types", "difficulties", "tool_success_rates"):
            if key in axes:
                kwargs[key] = _text(axes[key])
        for key in ("num_instances", "seed", "severity", "max_turns"):
            if key in axes:
                kwargs[key] = axes[key]
        models = _text(axes.get("models")) or ""
        try:
            plan = build_plan(models, config=config, group=axes.get("group"), **kwargs)
        except Exception as e:  # noqa: BLE001 - reworded with the experiment's name
            raise ConfigError(f"{p}: experiment {exp.name!r}: {e}") from None
        experiments.append((exp.name, plan))
    return Suite(parsed.suite.name, tuple(experiments))
