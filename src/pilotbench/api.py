"""The Python API, for notebooks and scripts; every CLI command is a thin layer over it.

    from pilotbench import api
    specs = api.build_specs(["sim/strong", "sim/weak"], prompt_types="baseline,cot,optimal", num_instances=2)
    result = api.run(specs, db="results.db")
    result.records[0].success_level, result.provider_stats["sim"]["calls"]
    api.which_key("qwen2.5-3b-instruct", "cot", key_policy="prompt-affinity")
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .benchmark.prompts import expand_prompt_types
from .benchmark.types import DIFFICULTIES, TASK_TYPES
from .config import Config, load_config
from .errors import UsageError
from .limits import Clock
from .models.human import HumanOptions
from .plan import PlanSpec, TestSpec, make_spec, parse_choices, parse_rates
from .runner.runtime import Runtime, build_runtime
from .runner.scheduler import RunOptions, Runner, RunSummary
from .runner.settings import RunSettings
from .store.records import TestRecord
from .store import open_store


def _split(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def build_plan(
    models: str | Sequence[str],
    *,
    prompt_types: str | Sequence[str] = "baseline",
    task_types: str | Sequence[str] = "all",
    difficulties: str | Sequence[str] = "easy",
    tool_success_rates: str | Sequence[float] = "0.8",
    num_instances: int = 2,
    seed: int = 42,
    severity: str = "severe",
    max_turns: int = 10,
    config: Config | None = None,
    group: str | None = None,
) -> PlanSpec:
    """The plan's axes, validated; unknown names raise UsageError naming the value."""
    config = config or load_config()
    from .config import expand_models

    try:
        rates = tool_success_rates if isinstance(tool_success_rates, str) else ",".join(map(str, tool_success_rates))
        return PlanSpec(
            models=expand_models(config, _split(models), group),
            prompt_types=expand_prompt_types(_split(prompt_types)),
            task_types=parse_choices(_split(task_types), TASK_TYPES, "task type"),
            difficulties=parse_choices(_split(difficulties), DIFFICULTIES, "difficulty"),
            tool_success_rates=parse_rates(rates),
            num_instances=num_instances,
            seed=seed,
            severity=severity,
            max_turns=max_turns,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None


def build_specs(models: str | Sequence[str], **axes: Any) -> list[TestSpec]:
    """Every test of a plan as a frozen spec with a stable id."""
    return list(build_plan(models, **axes).expand())


def test_spec(model: str, task_type: str, prompt_type: str = "baseline", difficulty: str = "easy",
              tool_success_rate: float = 0.8, instance: int = 0, seed: int = 42) -> TestSpec:
    """One test, the guide's `TestTask(model=..., task_type=..., prompt_type=..., difficulty=...)`."""
    return make_spec(model, prompt_type, task_type, difficulty, tool_success_rate, instance, seed=seed)


test_spec.__test__ = False  # type: ignore[attr-defined]
TestTask = test_spec


@dataclass
class RunResult:
    summary: RunSummary
    records: list[TestRecord]
    provider_stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    lane_stats: dict[str, dict[str, Any]] = field(default_factory=dict)


def _stats(runtime: Runtime, records: Iterable[TestRecord]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    providers: dict[str, dict[str, Any]] = {}
    for r in records:
        p = providers.setdefault(
            r.provider, {"tests": 0, "done": 0, "errors": 0, "success": 0, "calls": 0, "rate_limited": 0, "retries": 0,
                         "tokens": 0, "latency_s": 0.0}
        )
        p["tests"] += 1
        p["done" if r.status == "done" else "errors"] += 1
        p["success"] += r.success or 0
        p["calls"] += r.model_calls
        p["rate_limited"] += r.rate_limited
        p["retries"] += r.retries
        p["tokens"] += r.prompt_tokens + r.completion_tokens
        p["latency_s"] += r.latency_s
    lanes = {
        name: {**lane.stats(), "key": lane.key_label, "provider": lane.provider, "limit": lane.limit,
               "disabled": lane.disabled_reason, "parked": lane.park_reason}
        for name, lane in runtime.lanes.items()
    }
    return providers, lanes


async def run_async(
    plan: PlanSpec | Iterable[TestSpec],
    *,
    db: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    key_policy: str | None = None,
    adaptive: bool = False,
    max_concurrency: int | None = None,
    rpm: float | None = None,
    request_timeout: float | None = None,
    options: RunOptions | None = None,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
    keep_records: bool = True,
    info: dict[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    transcripts: str | None = None,
    human: HumanOptions | None = None,
    settings: RunSettings | None = None,
) -> RunResult:
    """`settings` (RunSettings) says how the run uses its providers: key policy, adaptive lanes,
    concurrency, rpm, request timeout, generation parameters, human players. The keyword arguments
    of the same names are the same settings given one by one (not together with `settings`):
    `params`: generation parameters for every request (temperature, max_tokens, ...), over each
    model's configured ones; stored in each record's `params` and in the run's info.
    `transcripts` (none, calls or full) overrides `options.transcripts`: how much of each conversation is kept.
    `human`: how `human/<name>` players play (models.human.HumanOptions: files in `io_dir`, else the terminal)."""
    from dataclasses import replace

    from .store.transcripts import TRANSCRIPT_MODES

    if transcripts is not None and transcripts not in TRANSCRIPT_MODES:
        raise UsageError(f"unknown transcripts mode {transcripts!r}; choose from {', '.join(TRANSCRIPT_MODES)}")
    one_by_one = RunSettings(key_policy=key_policy, adaptive=adaptive, max_concurrency=max_concurrency, rpm=rpm,
                             request_timeout=request_timeout, params=params or None, human=human)
    if settings is None:
        settings = one_by_one
    elif one_by_one != RunSettings():
        raise UsageError("give the run's settings either as settings=RunSettings(...) or one by one, not both")
    config = config or load_config()
    if settings.params:
        info = {**(info or {}), "params": dict(settings.params)}
    if not isinstance(plan, PlanSpec):
        plan = list(plan)
        models = list(dict.fromkeys(s.model for s in plan))
    else:
        models = list(plan.models)
    runtime = build_runtime(config, models, settings, clock=clock, env=env)
    store = _open_for_run(db)
    options = options or RunOptions(handle_signals=False, live=False, progress_interval=3600)
    if transcripts is not None:
        options = replace(options, transcripts=transcripts)
    runner = Runner(runtime, store, options=options, clock=clock, keep_records=keep_records, info=info)
    try:
        summary = await runner.run(plan)
    finally:
        await runtime.aclose()
        store.close()
    providers, lanes = _stats(runtime, summary.records)
    return RunResult(summary, summary.records, providers, lanes)


def _open_for_run(db: str | os.PathLike[str] | None):  # type: ignore[no-untyped-def]
    """The store a run writes to, created if missing. An empty file becomes a new store, as SQLite
    would make it, but not silently: a 0-byte file is often what a failed copy leaves."""
    from .store import is_postgres_url

    if db is not None and not is_postgres_url(str(db)):
        path = Path(db)
        if path.is_file() and path.stat().st_size == 0:
            print(f"note: {db} is an empty file; making it a new results store", file=sys.stderr, flush=True)
    return open_store(db)


def run(plan: PlanSpec | Iterable[TestSpec], **kwargs: Any) -> RunResult:
    """Run a plan (or a list of specs) to the end and return its records and statistics."""
    return asyncio.run(run_async(plan, **kwargs))


def which_key(model: str, prompt_type: str, *, config: Config | None = None, key_policy: str | None = None,
              env: Mapping[str, str] | None = None) -> str:
    """The key label a (model, prompt type) would use first under the key policy."""
    config = config or load_config()
    rt = build_runtime(config, [model], RunSettings(key_policy=key_policy), env=env, connect=False)
    return rt.models[model].pool.lane_for(prompt_type).key_label

