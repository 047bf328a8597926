"""`--dry-run`: everything the real run checks before its first call, then the plan and an ETA."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .base import _console, _fmt


def _dry_run(plan, cfg, db_path: str, params: dict[str, Any] | None = None, **limits: Any) -> None:  # type: ignore[no-untyped-def]
    """Everything the real run checks before its first call (variables, keys, models, the store),
    then the plan and an ETA. Any problem is the same one-line error and exit 2 as the real run's."""
    from rich.table import Table

    from ..config import check_environment
    from ..runner.runtime import build_runtime, check_models
    from ..store import is_postgres_url, open_store

    check_environment(cfg, list(plan.models))  # every missing variable at once
    rt = build_runtime(cfg, list(plan.models), connect=False, **limits)
    check_models(cfg, list(plan.models))
    done: set[str] = set()
    measured: dict[str, tuple[int, float, float]] = {}
    if is_postgres_url(db_path) or Path(db_path).exists():
        with open_store(db_path, create=False) as store:
            done = store.done_ids(plan.models)
            measured = _measured_tokens(store, plan.models)
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
    total_eta = 0.0
    total_in = total_out = 0.0
    total_cost: float | None = None
    sources: set[str] = set()
    for model, n in per_model.items():
        m = rt.models[model]
        lanes = m.pool.lanes
        conc = sum(lane.limit for lane in lanes)
        rpm_total = sum(lane.rpm_bucket.rate_per_minute for lane in lanes if lane.rpm_bucket) if all(l.rpm_bucket for l in lanes) else None
        latency = {"simulated": SIM_SECONDS_PER_CALL, "human": HUMAN_SECONDS_PER_CALL}.get(m.kind, REAL_SECONDS_PER_CALL)
        eta = estimate_seconds(n, conc, latency, rpm_total, CALLS_PER_TEST)
        total_eta = max(total_eta, eta)
        if model in measured:
            stored_n, per_in, per_out = measured[model]
            tokens_in, tokens_out = n * per_in, n * per_out
            sources.add("measured")
        else:
            tokens_in, tokens_out = _estimated_tokens(cells[model], m.tool_mode, plan.seed, plan.severity)
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
    if params:
        console.print(f"generation parameters: {json.dumps(params, sort_keys=True)}", markup=False, highlight=False)
    how = {"measured": "the mean of this model's stored tests", "estimated":
           f"~{CALLS_PER_TEST:g} calls per test, the prompt and tool schemas counted at ~4 characters a token, "
           f"~{TURN_GROWTH_TOKENS} tokens added per turn, ~{COMPLETION_TOKENS_PER_CALL} completion tokens per call"}
    cost_text = (f", cost about ${total_cost:,.2f} for the priced models (price_input/price_output, USD per million tokens)"
                 if total_cost is not None else " (no prices configured: price_input/price_output in a model's entry)")
    console.print(
        f"ETA about {_fmt(total_eta)} with all models in parallel (assumes ~{CALLS_PER_TEST:g} calls per test, one "
        f"after another, {REAL_SECONDS_PER_CALL:g} s per real call, the lanes' limits); tokens about "
        f"{_tokens(total_in)} in and {_tokens(total_out)} out{cost_text}; tokens from "
        + "; ".join(how[k] for k in sorted(sources)),
        markup=False, highlight=False, soft_wrap=True,
    )


TURN_GROWTH_TOKENS = 150  # an assistant's tool call and the tool's result, added to the next request
COMPLETION_TOKENS_PER_CALL = 100


def _estimated_tokens(cells: dict[tuple[str, str, str], int], tool_mode: str, seed: int, severity: str) -> tuple[float, float]:
    """Prompt and completion tokens for the pending tests of one model: each test is ~CALLS_PER_TEST
    calls, each sending the whole conversation so far (the first request's size, measured on the
    rendered prompt of each cell, plus TURN_GROWTH_TOKENS a turn)."""
    from ..benchmark.prompts import render_prompt
    from ..benchmark.tasks import generate_instance
    from ..models.base import ModelRequest
    from ..runner.calls import estimate_prompt_tokens

    calls = int(CALLS_PER_TEST)
    tokens_in = tokens_out = 0.0
    first: dict[tuple[str, str, str], int] = {}
    for cell, n in cells.items():
        task_type, difficulty, prompt_type = cell
        if cell not in first:
            rendered = render_prompt(generate_instance(task_type, 0, seed), difficulty, prompt_type, severity=severity,
                                     tool_mode=tool_mode)
            request = ModelRequest("", list(rendered.messages), list(rendered.tools) if rendered.tools else None, {})
            first[cell] = estimate_prompt_tokens(request)
        per_test = calls * first[cell] + TURN_GROWTH_TOKENS * calls * (calls - 1) / 2
        tokens_in += n * per_test
        tokens_out += n * calls * COMPLETION_TOKENS_PER_CALL
    return tokens_in, tokens_out


def _measured_tokens(store, models) -> dict[str, tuple[int, float, float]]:  # type: ignore[no-untyped-def]
    """Per model with stored done tests that counted tokens: (tests, prompt, completion tokens per test)."""
    out: dict[str, tuple[int, float, float]] = {}
    for model in models:
        [(n, tin, tout)] = store.query(
            "SELECT COUNT(*), AVG(prompt_tokens), AVG(completion_tokens) FROM results "
            "WHERE model = ? AND status = 'done' AND prompt_tokens > 0", (model,))
        if n:
            out[model] = (int(n), float(tin), float(tout or 0.0))
    return out


def _tokens(n: float) -> str:
    """1234 -> 1.2k, 3456789 -> 3.5M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


CALLS_PER_TEST = 5.0
REAL_SECONDS_PER_CALL = 2.0
SIM_SECONDS_PER_CALL = 0.002
HUMAN_SECONDS_PER_CALL = 60.0  # a person reading a turn and typing the next


def estimate_seconds(tests: int, concurrency: int, latency: float, rpm: float | None, calls_per_test: float) -> float:
    """A model's time for `tests` conversations. The turns of one conversation run one after another,
    so the run takes at least one conversation's length; `concurrency` calls in flight and the rpm
    budget bound the throughput. Whole waves of conversations, as they start together."""
    if tests <= 0:
        return 0.0
    conversation = calls_per_test * latency
    waves = -(-tests // max(1, concurrency))
    seconds = waves * conversation
    if rpm:
        seconds = max(seconds, tests * calls_per_test / (rpm / 60.0))
    return seconds

