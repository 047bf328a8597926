"""`--dry-run`: everything the real run checks before its first call, then the plan and an ETA."""

from __future__ import annotations

import json
from pathlib import Path

from .base import _console, _fmt


def _dry_run(plan, cfg, db_path: str, settings, serial_by: str = "none") -> None:  # type: ignore[no-untyped-def]
    """Everything the real run checks before its first call (variables, keys, models, the store),
    then the plan and an ETA (for the run's order: `serial_by` as RunOptions'). Any problem is the same
    one-line error and exit 2 as the real run's."""
    from rich.table import Table

    from ..config import check_environment
    from ..runner.runtime import build_runtime, check_models
    from ..reports.summary import measured_tokens
    from ..runner.estimate import (
        CALLS_PER_TEST, COMPLETION_TOKENS_PER_CALL, REAL_SECONDS_PER_CALL, SERIAL_WORDING, TURN_GROWTH_TOKENS,
        estimate_seconds, estimated_tokens, plan_seconds, seconds_per_call,
    )
    from ..store import is_postgres_url, open_store

    check_environment(cfg, list(plan.models))  # every missing variable at once
    rt = build_runtime(cfg, list(plan.models), settings, connect=False)
    check_models(cfg, list(plan.models))
    done: set[str] = set()
    measured: dict[str, tuple[int, float, float]] = {}
    if is_postgres_url(db_path) or Path(db_path).exists():
        with open_store(db_path, create=False) as store:
            done = store.done_ids(plan.models)
            measured = measured_tokens(store, plan.models)
    per_model: dict[str, int] = {}
    cells: dict[str, dict[tuple[str, str, str], int]] = {}  # model -> (task type, difficulty, prompt type) -> pending
    for spec in plan.expand():
        if spec.id not in done:
            per_model[spec.model] = per_model.get(spec.model, 0) + 1
            cell = (spec.task_type, spec.difficulty, spec.prompt_type)
            counts = cells.setdefault(spec.model, {})
            counts[cell] = counts.get(cell, 0) + 1
    console = _console()
    table = Table(title=f"plan: {len(plan)} tests, {len(plan) - sum(per_model.values())} already done")
    for col in ("model", "pending", "lanes", "concurrency", "rpm", "est. calls", "est. tokens in/out", "est. cost", "ETA"):
        table.add_column(col)
    groups: dict[str, list[float]] = {}  # what runs one after another -> the times of what runs side by side
    capped = False
    total_in = total_out = 0.0
    total_cost: float | None = None
    sources: set[str] = set()
    for model, n in per_model.items():
        m = rt.models[model]
        lanes = m.pool.lanes
        conc = sum(lane.limit for lane in lanes)
        rpm_total = sum(lane.rpm_bucket.rate_per_minute for lane in lanes if lane.rpm_bucket) if all(l.rpm_bucket for l in lanes) else None
        latency = seconds_per_call(m.kind, m.request_timeout)
        capped = capped or latency < seconds_per_call(m.kind, float("inf"))
        eta = estimate_seconds(n, conc, latency, rpm_total, CALLS_PER_TEST)
        if serial_by == "prompt":  # each prompt type's tests of this model, with all of its lanes
            by_prompt: dict[str, int] = {}
            for (_, _, prompt_type), k in cells[model].items():
                by_prompt[prompt_type] = by_prompt.get(prompt_type, 0) + k
            for prompt_type, k in by_prompt.items():
                groups.setdefault(prompt_type, []).append(estimate_seconds(k, conc, latency, rpm_total, CALLS_PER_TEST))
        else:
            group = {"model": model, "provider": m.provider_name}.get(serial_by, "")
            groups.setdefault(group, []).append(eta)
        if model in measured:
            stored_n, per_in, per_out = measured[model]
            tokens_in, tokens_out = n * per_in, n * per_out
            sources.add("measured")
        else:
            tokens_in, tokens_out = estimated_tokens(cells[model], m.tool_mode, plan.seed, plan.severity)
            sources.add("estimated")
        total_in += tokens_in
        total_out += tokens_out
        entry = cfg.models[model]
        cost = None
        if entry.price_input is not None or entry.price_output is not None:
            cost = ((entry.price_input or 0.0) * tokens_in + (entry.price_output or 0.0) * tokens_out) / 1e6
            total_cost = (total_cost or 0.0) + cost
        table.add_row(
            model, str(n), ", ".join(lane.key_label for lane in lanes), str(conc), f"{rpm_total:g}" if rpm_total else "-",
            f"{n * CALLS_PER_TEST:.0f}", f"{_tokens(tokens_in)} / {_tokens(tokens_out)}",
            f"${cost:,.2f}" if cost is not None else "-", _fmt(eta),
        )
    console.print(table)
    if settings.params:
        console.print(f"generation parameters: {json.dumps(settings.params, sort_keys=True)}", markup=False,
                      highlight=False)
    how = {"measured": "the mean of this model's stored tests", "estimated":
           f"~{CALLS_PER_TEST:g} calls per test, the prompt and tool schemas counted at ~4 characters a token, "
           f"~{TURN_GROWTH_TOKENS} tokens added per turn, ~{COMPLETION_TOKENS_PER_CALL} completion tokens per call"}
    cost_text = (f", cost about ${total_cost:,.2f} for the priced models (price_input/price_output, USD per million tokens)"
                 if total_cost is not None else " (no prices configured: price_input/price_output in a model's entry)")
    console.print(
        f"ETA about {_fmt(plan_seconds(groups.values()))} {SERIAL_WORDING[serial_by]} (assumes ~{CALLS_PER_TEST:g} "
        f"calls per test, one after another, {REAL_SECONDS_PER_CALL:g} s per real call"
        + (", at most the request timeout" if capped else "") + ", the lanes' limits); tokens about "
        f"{_tokens(total_in)} in and {_tokens(total_out)} out{cost_text}; tokens from "
        + "; ".join(how[k] for k in sorted(sources)),
        markup=False, highlight=False, soft_wrap=True,
    )


def _tokens(n: float) -> str:
    """1234 -> 1.2k, 3456789 -> 3.5M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"
