"""The plan: every test a run is asked to do, as frozen specs with stable ids.

A test id is a hash of what defines the test (model, prompt type, task type, difficulty, tool
success rate, instance, suite version, seed, and any non-default variant such as the flaw
severity), so the same test has the same id in every run and process, and resume is
"the plan minus the ids the store already has done".
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .benchmark.flaws import DEFAULT_SEVERITY
from .benchmark.tasks import DEFAULT_SEED
from .benchmark.versions import suite_version
from .benchmark.types import DIFFICULTIES, SEVERITIES, TASK_TYPES, TOOL_SUCCESS_RATES

DEFAULT_MAX_TURNS = 10


@dataclass(frozen=True, slots=True)
class TestSpec:
    """One test of the plan. `id` is derived from the other fields."""

    id: str
    model: str
    prompt_type: str
    task_type: str
    difficulty: str
    tool_success_rate: float
    instance: int
    seed: int
    suite_version: str
    severity: str = DEFAULT_SEVERITY
    max_turns: int = DEFAULT_MAX_TURNS

    __test__ = False  # not a pytest test class

    def cell(self) -> tuple[str, str, str, str, float]:
        return (self.model, self.prompt_type, self.task_type, self.difficulty, self.tool_success_rate)


def rate_label(rate: float) -> str:
    """A tool success rate as text: 0.8 -> "0.8" (the legacy summary's keys)."""
    return f"{rate:g}"


def test_id(
    model: str,
    prompt_type: str,
    task_type: str,
    difficulty: str,
    tool_success_rate: float,
    instance: int,
    suite_version: str,
    seed: int,
    severity: str = DEFAULT_SEVERITY,
    max_turns: int = DEFAULT_MAX_TURNS,
) -> str:
    parts = [model, prompt_type, task_type, difficulty, rate_label(tool_success_rate), str(instance), suite_version, str(seed)]
    if prompt_type.startswith("flawed_") and severity != DEFAULT_SEVERITY:
        parts.append(f"severity={severity}")
    if max_turns != DEFAULT_MAX_TURNS:
        parts.append(f"max_turns={max_turns}")
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).hexdigest()


def world_id(spec: TestSpec) -> str:
    """The test without the model, prompt type and wording: suite, seed, task instance and tool success
    rate. Tool failures are drawn from it, so every model and prompt meets the same failures on the same
    task, and paired comparisons compare like with like."""
    parts = ["world", spec.suite_version, str(spec.seed), spec.task_type, str(spec.instance), rate_label(spec.tool_success_rate)]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).hexdigest()


def make_spec(
    model: str,
    prompt_type: str,
    task_type: str,
    difficulty: str,
    tool_success_rate: float,
    instance: int,
    *,
    seed: int = DEFAULT_SEED,
    severity: str = DEFAULT_SEVERITY,
    max_turns: int = DEFAULT_MAX_TURNS,
    version: str | None = None,
) -> TestSpec:
    version = version or suite_version(seed)
    return TestSpec(
        id=test_id(model, prompt_type, task_type, difficulty, tool_success_rate, instance, version, seed, severity, max_turns),
        model=model,
        prompt_type=prompt_type,
        task_type=task_type,
        difficulty=difficulty,
        tool_success_rate=tool_success_rate,
        instance=instance,
        seed=seed,
        suite_version=version,
        severity=severity,
        max_turns=max_turns,
    )


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """The axes of a plan; `expand()` yields its tests lazily, in a stable order."""

    models: tuple[str, ...]
    prompt_types: tuple[str, ...]
    task_types: tuple[str, ...] = TASK_TYPES
    difficulties: tuple[str, ...] = ("easy",)
    tool_success_rates: tuple[float, ...] = (0.8,)
    num_instances: int = 1
    seed: int = DEFAULT_SEED
    severity: str = DEFAULT_SEVERITY
    max_turns: int = DEFAULT_MAX_TURNS

    def __post_init__(self) -> None:
        if self.num_instances < 0:
            raise ValueError(f"--num-instances must be >= 0, got {self.num_instances}")
        if self.max_turns < 1:
            raise ValueError(f"--max-turns must be >= 1, got {self.max_turns}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; choose from {', '.join(SEVERITIES)}")
        for rate in self.tool_success_rates:
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"tool success rate must be between 0 and 1, got {rate}")
        for t in self.task_types:
            if t not in TASK_TYPES:
                raise ValueError(f"unknown task type {t!r}; choose from {', '.join(TASK_TYPES)}")
        for d in self.difficulties:
            if d not in DIFFICULTIES:
                raise ValueError(f"unknown difficulty {d!r}; choose from {', '.join(DIFFICULTIES)}")

    def __len__(self) -> int:
        return (
            len(self.models) * len(self.prompt_types) * len(self.task_types) * len(self.difficulties)
            * len(self.tool_success_rates) * self.num_instances
        )

    def to_dict(self) -> dict[str, object]:
        """The plan's axes as JSON-ready data (stored with each run, so `status` can re-expand it)."""
        return {
            "models": list(self.models), "prompt_types": list(self.prompt_types), "task_types": list(self.task_types),
            "difficulties": list(self.difficulties), "tool_success_rates": [rate_label(r) for r in self.tool_success_rates],
            "num_instances": self.num_instances, "seed": self.seed, "severity": self.severity, "max_turns": self.max_turns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PlanSpec:
        return cls(
            models=tuple(data["models"]), prompt_types=tuple(data["prompt_types"]),  # type: ignore[arg-type]
            task_types=tuple(data["task_types"]), difficulties=tuple(data["difficulties"]),  # type: ignore[arg-type]
            tool_success_rates=tuple(float(x) for x in data["tool_success_rates"]),  # type: ignore[attr-defined]
            num_instances=int(data["num_instances"]), seed=int(data["seed"]),  # type: ignore[call-overload]
            severity=str(data.get("severity", DEFAULT_SEVERITY)), max_turns=int(data.get("max_turns", DEFAULT_MAX_TURNS)),  # type: ignore[call-overload]
        )

    def expand(self) -> Iterator[TestSpec]:
        """Every test, lazily. Within a model the prompt type varies fastest and the instance
        slowest, so every prompt type and cell progresses together and a partial run is balanced."""
        version = suite_version(self.seed)
        for model in self.models:
            for i, rate, diff, task, prompt in itertools.product(
                range(self.num_instances), self.tool_success_rates, self.difficulties, self.task_types,
                self.prompt_types,
            ):
                yield make_spec(
                    model, prompt, task, diff, rate, i,
                    seed=self.seed, severity=self.severity, max_turns=self.max_turns, version=version,
                )


def parse_choices(value: str, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    """A comma-separated flag value, with `all` for every allowed value; unknown names are errors."""
    out: list[str] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if part == "all":
            out.extend(a for a in allowed if a not in out)
        elif part in allowed:
            if part not in out:
                out.append(part)
        else:
            raise ValueError(f"unknown {what} {part!r}; choose from {', '.join(allowed)}, all")
    if not out:
        raise ValueError(f"no {what} given")
    return tuple(out)


def parse_rates(value: str) -> tuple[float, ...]:
    if value.strip() == "all":
        return TOOL_SUCCESS_RATES
    out: list[float] = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        try:
            rate = float(part)
        except ValueError:
            raise ValueError(f"tool success rate {part!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"tool success rate must be between 0 and 1, got {part}")
        if rate not in out:
            out.append(rate)
    if not out:
        raise ValueError("no tool success rate given")
    return tuple(out)
