"""The stored figures `pilotbench run` states at its end, and those its dry run reads: per model
results of a run or of a whole plan, infrastructure errors by cause, tests ended by the context
length, the mean tokens of stored tests. Dialect-neutral SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from ..store.base import Store
from .build import count_if

FULL = "success_level = 'full_success'"
PARTIAL = "success_level = 'partial_success'"
CONTEXT_LENGTH = "context_length_errors"


def run_rows(store: Store, run_id: str) -> list[tuple[Any, ...]]:
    """Per model: this run's done tests, successes, full, partial, mean turns."""
    return store.query(
        f"SELECT model, COUNT(*), SUM(success), {count_if(FULL)}, {count_if(PARTIAL)}, AVG(turns) "
        "FROM results WHERE status='done' AND run_id=? GROUP BY model ORDER BY model",
        (run_id,),
    )


def plan_rows(store, plan) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    """Per model: done tests of the plan (this run's and earlier runs'), successes, full, partial,
    mean turns."""
    ids: set[str] = set()
    models: set[str] = set()
    for spec in plan.expand() if hasattr(plan, "expand") else plan:
        ids.add(spec.id)
        models.add(spec.model)
    acc: dict[str, list[float]] = {}
    for model in sorted(models):
        for test_id, success, level, turns in store.query(
            "SELECT test_id, success, success_level, turns FROM results WHERE status='done' AND model=?", (model,)
        ):
            if test_id not in ids:
                continue
            a = acc.setdefault(model, [0, 0, 0, 0, 0.0])
            a[0] += 1
            a[1] += success or 0
            a[2] += level == "full_success"
            a[3] += level == "partial_success"
            a[4] += turns or 0
    return [(m, int(a[0]), a[1], a[2], a[3], a[4] / a[0]) for m, a in sorted(acc.items())]


def error_causes(store, run_id: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from ..runner.outcome import error_cause

    causes: dict[str, int] = {}
    for (message,) in store.query("SELECT infra_error FROM results WHERE status='error' AND run_id=?", (run_id,)):
        cause = error_cause(message)
        causes[cause] = causes.get(cause, 0) + 1
    return causes


def context_length_counts(store: Store, run_id: str) -> list[tuple[str, int]]:
    """Per model: this run's tests that ended when the conversation outgrew the model's context."""
    return store.query(
        "SELECT model, COUNT(*) FROM results WHERE status='done' AND run_id=? AND error_category=? "
        "GROUP BY model ORDER BY model", (run_id, CONTEXT_LENGTH),
    )


def measured_tokens(store, models) -> dict[str, tuple[int, float, float]]:  # type: ignore[no-untyped-def]
    """Per model with stored done tests that counted tokens: (tests, prompt, completion tokens per test)."""
    out: dict[str, tuple[int, float, float]] = {}
    for model in models:
        [(n, tin, tout)] = store.query(
            "SELECT COUNT(*), AVG(prompt_tokens), AVG(completion_tokens) FROM results "
            "WHERE model = ? AND status = 'done' AND prompt_tokens > 0", (model,))
        if n:
            out[model] = (int(n), float(tin), float(tout or 0.0))
    return out


def stored_models(store: Store) -> set[str]:
    """Every model with a row in the store."""
    return {m for m in store.distinct_values("model") if m is not None}
