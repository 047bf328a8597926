"""Build the report (SPEC section 5) from the store alone.

One grouped query reads the done rows as *units* (one per test: the spec's fields, the task's
workflow and the sums of every score); every section is computed from the units in memory, so
the cost grows with the number of distinct tests, not with attempts. `error` rows are
infrastructure failures: counted in `by_status` and the operational figures, never as a model
failure.

Conditions are never mixed silently. Each section states what it covers and which rows it takes
(5.1 is the `baseline` prompt type, the study's definition); when the suite version, seed, max
turns, tool success rate, flaw severity (or, where the section does not break results down by it,
the prompt type) differ within a section, its rows are split by them, with the differing values
in the row label, unless the caller asks to pool (`pool=True`), which the report then says.

Every interval accounts for clustering by task instance (or, with `cluster="workflow"`, by tool
chain): a stratified cluster bootstrap with a fixed seed (stats.py), drawn once per report.
With two or more models on shared tests, paired comparisons are always included.
"""

from __future__ import annotations

import json
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..benchmark.types import (
    DIFFICULTIES,
    ERROR_CATEGORIES,
    PROMPT_TYPES,
    SUCCESS_LEVELS,
    TASK_TYPES,
)
from ..config import is_human_name
from ..errors import UsageError
from ..store.base import Store
from ..store.queries import sql_and as _and
from ..store.queries import sql_where as _where
from .sections import (
    DEFINITIONS,
    _baseline,
    _flaw_robustness,
    _headline,
    _paired_models,
    _prompt_sensitivity,
    _scale,
    _tool_reliability,
)
from .stats import (
    N_BOOT,
    ClusterResampler,
    clustered_paired,
    natural_key,
    percentile,
    rate,
)
from .units import (  # parse_family: re-exported (pilotbench.reports.parse_family)
    FLAWED_PREFIX,
    SPLIT_AXES,
    Units,
    _is_flawed,
    _ordered,
    _show,
    natural_sorted,
    parse_family,
)

SPEC_FIELDS: tuple[str, ...] = (
    "model", "prompt_type", "task_type", "difficulty", "tool_success_rate",
    "instance", "seed", "suite_version", "severity", "max_turns",
)
DONE = "status = 'done'"
BREAKDOWNS = ("workflow",)

Filter = str | Iterable[str] | None
NOTHING = "1 = 0"  # a portable false condition (SQLite and PostgreSQL)


def count_if(cond: str) -> str:
    """The portable form of SQLite's `SUM(cond)`: how many rows satisfy `cond`."""
    return f"COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)"


def total(expr: str) -> str:
    """The portable form of SQLite's `TOTAL(expr)`: a sum that is 0 over no rows."""
    return f"COALESCE(SUM({expr}), 0)"


# ---------------------------------------------------------------------------- filters

# Every filterable axis: (keyword of build_report / where_clause, column, how a value is read, label).
FILTER_AXES: tuple[tuple[str, str, Callable[[Any], Any], str], ...] = (
    ("models", "model", str, "model"),
    ("prompt_types", "prompt_type", str, "prompt type"),
    ("task_types", "task_type", str, "task type"),
    ("difficulties", "difficulty", str, "difficulty"),
    ("tool_success_rates", "tool_success_rate", lambda v: round(float(v), 6), "tool success rate"),
    ("seeds", "seed", int, "seed"),
    ("severities", "severity", str, "severity"),
    ("max_turns", "max_turns", int, "max turns"),
    ("suite_versions", "suite_version", str, "suite version"),
    ("run_ids", "run_id", str, "run id"),
    ("statuses", "status", str, "status"),
)


def _as_list(values: Any) -> list[Any] | None:
    if values is None:
        return None
    if isinstance(values, (str, int, float)):
        return [values]
    return list(values)


def where_clause(**filters: Any) -> tuple[str, list[Any]]:
    """A SQL condition (without WHERE) and its parameters for the given filters (FILTER_AXES
    keywords: models, prompt_types, task_types, difficulties, tool_success_rates, seeds,
    severities, max_turns, suite_versions, run_ids, statuses).

    A filter left as None does not restrict; an empty list matches nothing."""
    known = {kw for kw, *_ in FILTER_AXES}
    unknown = set(filters) - known
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(sorted(unknown))}")
    parts: list[str] = []
    params: list[Any] = []
    for kw, column, cast, _label in FILTER_AXES:
        vals = _as_list(filters.get(kw))
        if vals is None:
            continue
        if not vals:
            parts.append(NOTHING)
            continue
        marks = ", ".join("?" * len(vals))
        if column == "tool_success_rate":
            parts.append(f"ROUND(CAST(tool_success_rate AS NUMERIC), 6) IN ({marks})")
        else:
            parts.append(f"{column} IN ({marks})")
        params.extend(cast(v) for v in vals)
    return " AND ".join(parts), params


def check_filters(store: Store, **filters: Any) -> None:
    """Raise UsageError naming the first filter value that matches no row of the store (a typo
    would otherwise give an empty report), with the values the store does have."""
    for kw, column, cast, label in FILTER_AXES:
        vals = _as_list(filters.get(kw))
        if not vals:
            continue
        try:
            wanted = [cast(v) for v in vals]
        except (TypeError, ValueError):
            bad = next(v for v in vals if not _castable(cast, v))
            raise UsageError(f"{label} {bad!r} is not a number") from None
        present_raw = store.distinct_values(column)
        present = {cast(v) for v in present_raw if v is not None}
        for raw, v in zip(vals, wanted):
            if v not in present:
                shown = sorted(present, key=natural_key)
                listing = ", ".join(str(x) for x in shown[:12]) + (", ..." if len(shown) > 12 else "")
                raise UsageError(
                    f"no results with {label} {raw!r} in the store"
                    + (f"; {_PLURAL.get(label, label + 's')} present: {listing}" if shown else "; the store is empty")
                )


_PLURAL = {"max turns": "max-turns values", "severity": "severities", "difficulty": "difficulties", "status": "statuses"}


def _castable(cast: Callable[[Any], Any], v: Any) -> bool:
    try:
        cast(v)
    except (TypeError, ValueError):
        return False
    return True


_UNIT_SQL = f"""
SELECT model, prompt_type, task_type, difficulty, tool_success_rate, seed, severity, max_turns,
       suite_version, instance, MIN(required_tools),
       COUNT(*),
       {count_if("success_level = 'full_success'")}, {count_if("success_level = 'partial_success'")},
       COUNT(weighted_score), {total("weighted_score")},
       {total("turns")}, {total("tool_calls")},
       COUNT(workflow_adherence), {total("workflow_adherence")},
       COUNT(tool_coverage), {total("tool_coverage")},
       COUNT(efficiency), {total("efficiency")},
       COUNT("precision"), {total('"precision"')}
FROM results {{where}}
GROUP BY model, prompt_type, task_type, difficulty, tool_success_rate, seed, severity, max_turns,
         suite_version, instance
"""

def _error_categories(store: Store, cond: str, params: Sequence[Any], pool: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    sql = (
        "SELECT model, suite_version, seed, max_turns, tool_success_rate, error_category, COUNT(*) FROM results "
        + _where(_and(DONE, "(success_level IS NULL OR success_level != 'full_success')", cond))
        + " GROUP BY model, suite_version, seed, max_turns, tool_success_rate, error_category"
    )
    rows = [(m, s, int(sd) if sd is not None else None, int(mt) if mt is not None else None,
             round(float(r), 6) if r is not None else None, cat, int(c))
            for m, s, sd, mt, r, cat, c in store.query(sql, params)]
    axes = ("suite_version", "seed", "max_turns", "tool_success_rate")
    differing = [a for j, a in enumerate(axes) if len({row[1 + j] for row in rows} - {None}) > 1]
    split = [] if pool else differing
    pos = [axes.index(a) for a in split]
    counts: dict[tuple[Any, ...], dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        skey = (row[0],) + tuple(row[1 + j] for j in pos)
        counts[skey][row[5]] += row[6]
    out: dict[str, Any] = {}
    for skey in sorted(counts, key=lambda k: tuple(natural_key(x) for x in k)):
        got = counts[skey]
        n = sum(got.values())
        cats = list(ERROR_CATEGORIES) + sorted(k for k in got if k is not None and k not in ERROR_CATEGORIES)
        cat_counts = {k: got.get(k, 0) for k in cats}
        parts = [f"{SPLIT_AXES[a][1]}={_show(v)}" for a, v in zip(split, skey[1:]) if v is not None]
        label = skey[0] + (f" [{', '.join(parts)}]" if parts else "")
        out[label] = {
            "model": skey[0],
            "conditions": dict(zip(split, skey[1:])),
            "n": n,
            "counts": cat_counts,
            "shares": {k: (v / n if n else 0.0) for k, v in cat_counts.items()},
            "uncategorized": got.get(None, 0),
        }
    meta = {"definition": DEFINITIONS["error_categories"], "split_by": split, "pooled": differing if pool else []}
    return out, meta



def _python_quantiles(store: Store, cond: str, params: Sequence[Any], qs: Sequence[int]) -> dict[tuple[str, str], dict[str, Any]]:
    """The same figures for an SQLite without JSON1: parse each row's latencies in Python."""
    found: dict[tuple[str, str], array[float]] = defaultdict(lambda: array("d"))
    for row in store.iter_rows(cond, params, columns=("provider", "key_label", "call_latencies")):
        try:
            vals = json.loads(row["call_latencies"] or "[]")
        except (TypeError, ValueError):
            continue
        found[(row["provider"] or "", row["key_label"] or "")].extend(float(v) for v in vals)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for gk, values in found.items():
        entry: dict[str, Any] = {"n": len(values)}
        for q in qs:
            entry[q] = percentile(values, q)
        out[gk] = entry
    return out


def _latency_quantiles(store: Store, cond: str, params: Sequence[Any], qs: Sequence[int] = (50, 95)) -> dict[tuple[str, str], dict[str, Any]]:
    found = store.latency_quantiles(cond, params, qs)
    return _python_quantiles(store, cond, params, qs) if found is None else found


_ERRORS = count_if("status = 'error'")


def _operations(
    store: Store, cond: str, params: Sequence[Any], prices: dict[str, tuple[float, float]] | None
) -> list[dict[str, Any]]:
    sql = (
        f"SELECT provider, key_label, model, COUNT(DISTINCT test_id), COUNT(*), {total('model_calls')}, "
        f"{total('rate_limited')}, {total('retries')}, {_ERRORS}, {total('prompt_tokens')}, "
        f"{total('completion_tokens')} FROM results " + _where(cond) + " GROUP BY provider, key_label, model"
    )
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for provider, key, model, tests, attempts, calls, limited, retries, errors, ptok, ctok in store.query(sql, params):
        gk = (provider or "", key or "")
        g = groups.setdefault(gk, {
            "provider": gk[0], "key_label": gk[1], "models": [], "tests": 0, "attempts": 0, "calls": 0,
            "rate_limited": 0, "retries": 0, "infra_errors": 0, "prompt_tokens": 0, "completion_tokens": 0,
            "cost_usd": None, "unpriced_models": [],
        })
        g["models"].append(model)
        g["tests"] += int(tests)
        g["attempts"] += int(attempts)
        g["calls"] += int(calls)
        g["rate_limited"] += int(limited)
        g["retries"] += int(retries)
        g["infra_errors"] += int(errors)
        g["prompt_tokens"] += int(ptok)
        g["completion_tokens"] += int(ctok)
        if prices is not None:
            price = prices.get(model)
            if price is None:
                if ptok or ctok:
                    g["unpriced_models"].append(model)
            else:
                cost = (int(ptok) * float(price[0]) + int(ctok) * float(price[1])) / 1_000_000
                g["cost_usd"] = (g["cost_usd"] or 0.0) + cost
    if prices is not None:
        for g in groups.values():
            if g["cost_usd"] is None and not g["unpriced_models"]:
                g["cost_usd"] = 0.0
    for (provider, key), problem in store.lost_keys(cond, params).items():
        g = groups.setdefault((provider, key), {
            "provider": provider, "key_label": key, "models": [], "tests": 0, "attempts": 0, "calls": 0,
            "rate_limited": 0, "retries": 0, "infra_errors": 0, "prompt_tokens": 0, "completion_tokens": 0,
            "cost_usd": None, "unpriced_models": [],
        })
        g["state"] = problem
    lat = _latency_quantiles(store, cond, params, (50, 95))
    out = []
    for gk in sorted(groups):
        g = groups[gk]
        q = lat.get(gk, {})
        g["latency_calls"] = q.get("n", 0)
        g["latency_p50"] = q.get(50)
        g["latency_p95"] = q.get(95)
        g["models"] = natural_sorted(g["models"])
        g.setdefault("state", "ok")
        if prices is None:
            del g["unpriced_models"]
        out.append(g)
    return out




def _reply_shapes(store: Store, cond: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """Per model: how often its tool calls came as text (no native tool_calls: the parser's fallback), how
    many replies were cut off at the token limit, and how many final answers reported their result in
    plain words rather than on a RESULT line (benchmark.protocol.read_final), over done tests."""
    sql = (
        f"SELECT model, COUNT(*), {total('tool_calls')}, {total('text_calls')}, {count_if('text_calls > 0')}, "
        f"{total('truncated_replies')}, {count_if('truncated_replies > 0')}, {total('format_errors')}, "
        f"{count_if('plain_result > 0')} "
        "FROM results " + _where(_and(DONE, cond)) + " GROUP BY model"
    )
    out = []
    for model, n, calls, text, tests_text, trunc, tests_trunc, fmt, plain in store.query(sql, params):
        n, calls = int(n), int(calls)
        out.append({
            "model": model, "tests": n, "tool_calls": calls, "text_calls": int(text),
            "text_call_share": (int(text) / calls) if calls else None,
            "tests_with_text_calls": rate(int(tests_text), n),
            "truncated_replies": int(trunc), "tests_with_truncation": rate(int(tests_trunc), n),
            "format_errors": int(fmt), "plain_results": rate(int(plain), n),
        })
    return sorted(out, key=lambda r: natural_key(r["model"]))


def _parse_side(text: str) -> tuple[str, str]:
    if text.startswith("prompt:"):
        return "prompt_type", text[len("prompt:"):]
    if text.startswith("model:"):
        return "model", text[len("model:"):]
    return "model", text


def compare_pair(store: Store, a: str, b: str, **filters: Any) -> dict[str, Any]:
    """Paired comparison of success between two models (`m1`, `m2`) or two prompt types
    (`prompt:baseline`, `prompt:optimal`) over tests that agree on every other spec field.

    The filter on the compared field is ignored (both sides are always read); the others apply.
    For prompt comparisons the flaw severity is not part of the pairing key. The interval and
    the test are clustered by task instance (stats.clustered_paired)."""
    fa, va = _parse_side(a)
    fb, vb = _parse_side(b)
    if fa != fb:
        raise UsageError(f"cannot compare {a!r} with {b!r}: one is a model, the other a prompt type")
    field = fa
    filters = dict(filters)
    filters["models" if field == "model" else "prompt_types"] = [va, vb]
    check_filters(store, **filters)
    cond, params = where_clause(**filters)
    drop = {field} | ({"severity"} if field == "prompt_type" else set())
    key_fields = [f for f in SPEC_FIELDS if f not in drop]
    sql = (
        f"SELECT {field}, {', '.join(key_fields)}, success_level FROM results "
        + _where(_and(DONE, cond))
    )
    sides: dict[str, dict[tuple[Any, ...], list[float]]] = {va: defaultdict(list), vb: defaultdict(list)}
    for row in store.query(sql, params):
        value, key, level = row[0], tuple(row[1:-1]), row[-1]
        sides[value][_normal_key(key_fields, key)].append(1.0 if level in ("full_success", "partial_success") else 0.0)
    shared = sorted((k for k in sides[va] if k in sides[vb]), key=lambda k: tuple(str(x) for x in k))
    pos = [key_fields.index(f) for f in ("suite_version", "seed", "task_type", "instance")]
    cluster_keys = [tuple(k[p] for p in pos) for k in shared]
    order = sorted(set(cluster_keys), key=lambda c: tuple(str(x) for x in c))
    index = {c: i for i, c in enumerate(order)}
    resampler = ClusterResampler([c[2] for c in order])
    result = clustered_paired(
        np.array([index[c] for c in cluster_keys], dtype=np.int64),
        np.array([sum(sides[va][k]) / len(sides[va][k]) for k in shared]),
        np.array([sum(sides[vb][k]) / len(sides[vb][k]) for k in shared]),
        resampler,
    )
    return {"a": a, "b": b, "field": field, "metric": "success", **result}


def _normal_key(fields: Sequence[str], key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pairing key with the rate rounded and the severity dropped for prompts it does not change."""
    out = list(key)
    for j, f in enumerate(fields):
        if f == "tool_success_rate" and out[j] is not None:
            out[j] = round(float(out[j]), 6)
    if "severity" in fields and "prompt_type" in fields and not _is_flawed(str(out[fields.index("prompt_type")])):
        out[fields.index("severity")] = None
    return tuple(out)


# ---------------------------------------------------------------------------- the report

_COND_SQL = {
    "suite_version": "suite_version", "seed": "seed", "max_turns": "max_turns",
    "tool_success_rate": "tool_success_rate", "difficulty": "difficulty", "severity": "severity",
    "run_id": "run_id", "prompt_type": "prompt_type", "task_type": "task_type",
}


def _conditions(store: Store, cond: str, params: Sequence[Any]) -> dict[str, list[list[Any]]]:
    """Every condition the done rows cover, with how many rows each: [[value, rows], ...]."""
    out: dict[str, list[list[Any]]] = {}
    canon = {"prompt_type": PROMPT_TYPES, "task_type": TASK_TYPES, "difficulty": DIFFICULTIES}
    for axis, column in _COND_SQL.items():
        extra = f"prompt_type LIKE '{FLAWED_PREFIX}%'" if axis == "severity" else ""
        sql = f"SELECT {column}, COUNT(*) FROM results {_where(_and(DONE, extra, cond))} GROUP BY {column}"
        counts: dict[Any, int] = defaultdict(int)
        for v, c in store.query(sql, params):
            if axis == "tool_success_rate" and v is not None:
                v = round(float(v), 6)
            elif axis in ("seed", "max_turns") and v is not None:
                v = int(v)
            counts[v] += int(c)
        if axis == "tool_success_rate":
            keys = sorted((k for k in counts if k is not None), reverse=True)
        else:
            keys = _ordered((k for k in counts if k is not None), canon.get(axis, ()))
        out[axis] = [[k, counts[k]] for k in keys]
    return out


def _players(store: Store, cond: str, params: Sequence[Any], models: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Every model of the report as a player: `human` (a person played it, `human/<name>`) or `model`,
    with its number of done tests (a human baseline's N is small: every table shows it)."""
    counts = {m: int(n) for m, n in store.query(
        f"SELECT model, COUNT(DISTINCT test_id) FROM results {_where(_and(DONE, cond))} GROUP BY model", params)}
    return {m: {"kind": "human" if is_human_name(m) else "model", "tests": counts.get(m, 0)} for m in models}


def build_report(
    store: Store,
    *,
    models: Filter = None,
    prompt_types: Filter = None,
    difficulties: Filter = None,
    task_types: Filter = None,
    tool_success_rates: Iterable[float] | float | None = None,
    seeds: Iterable[int] | int | None = None,
    severities: Filter = None,
    max_turns: Iterable[int] | int | None = None,
    suite_versions: Filter = None,
    run_ids: Filter = None,
    prices: dict[str, tuple[float, float]] | None = None,
    compare: list[tuple[str, str]] | None = None,
    pool: bool = False,
    by: Sequence[str] = (),
    cluster: str = "instance",
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """The whole report as a JSON-ready dict; see the module docstring and SPEC section 5.

    Filter values that match nothing in the store raise UsageError (a typo must not give an
    empty report); an empty list is a deliberate "nothing" and is accepted."""
    for b in by:
        if b not in BREAKDOWNS:
            raise UsageError(f"unknown breakdown {b!r}; choose from {', '.join(BREAKDOWNS)}")
    filters = {
        "models": models, "prompt_types": prompt_types, "difficulties": difficulties, "task_types": task_types,
        "tool_success_rates": tool_success_rates, "seeds": seeds, "severities": severities,
        "max_turns": max_turns, "suite_versions": suite_versions, "run_ids": run_ids,
    }
    check_filters(store, **filters)
    for a, b in compare or []:
        for side in (a, b):
            f, v = _parse_side(side)
            check_filters(store, **{"models" if f == "model" else "prompt_types": [v]})
    cond, params = where_clause(**filters)
    total_rows, tests = store.query(f"SELECT COUNT(*), COUNT(DISTINCT test_id) FROM results {_where(cond)}", params)[0]
    by_status = {"done": 0, "error": 0}
    for status, c in store.query(f"SELECT status, COUNT(*) FROM results {_where(cond)} GROUP BY status", params):
        by_status[status] = int(c)
    by_level = {lvl: 0 for lvl in SUCCESS_LEVELS}
    for lvl, c in store.query(
        f"SELECT success_level, COUNT(*) FROM results {_where(_and(DONE, cond))} GROUP BY success_level",
        params,
    ):
        if lvl is not None:
            by_level[lvl] = int(c)
    # Sorted here, not by ORDER BY: PostgreSQL may collate by locale, SQLite compares bytes.
    model_list = natural_sorted(r[0] for r in store.query(f"SELECT DISTINCT model FROM results {_where(cond)}", params))
    players = _players(store, cond, params, model_list)
    units = Units(store.query(_UNIT_SQL.format(where=_where(_and(DONE, cond))), params), cluster=cluster, n_boot=n_boot)
    headline, headline_meta = _headline(units, pool)
    baseline, baseline_meta = _baseline(units, pool, by)
    scale, scale_meta = _scale(units, pool)
    flaws, flaws_meta, _ = _flaw_robustness(units, pool)
    reliability, reliability_meta = _tool_reliability(units, pool)
    sensitivity, sensitivity_meta = _prompt_sensitivity(units, pool)
    errors, errors_meta = _error_categories(store, cond, params, pool)
    comparisons = []
    for a, b in compare or []:
        comparisons.append(compare_pair(store, a, b, **filters))
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "filters": {k: _as_list(v) for k, v in filters.items()},
        "pooled": bool(pool),
        "statistics": {
            "cluster": cluster,
            "clusters": units.resampler.n_clusters,
            "instances": units.instances,
            "workflows": units.n_workflows,
            "bootstrap_replicates": units.resampler.n_boot,
            "bootstrap_seed": units.resampler.seed,
            "stratified_by_task_type": units.stratified,
            "rate_interval": "Wilson interval at the effective sample size n / design effect (from the cluster bootstrap)",
            "mean_interval": "percentile interval of the cluster bootstrap",
        },
        "conditions": _conditions(store, cond, params),
        "total": int(total_rows),
        "tests": int(tests),
        "by_status": by_status,
        "by_success_level": by_level,
        "models": model_list,
        "players": players,
        "sections": {
            "headline": headline_meta, "baseline": baseline_meta, "scale": scale_meta, "flaw_robustness": flaws_meta,
            "tool_reliability": reliability_meta, "prompt_sensitivity": sensitivity_meta,
            "error_categories": errors_meta,
        },
        "headline": headline,
        "baseline": baseline,
        "scale": scale,
        "flaw_robustness": flaws,
        "tool_reliability": reliability,
        "prompt_sensitivity": sensitivity,
        "error_categories": errors,
        "paired": _paired_models(units),
        "operations": _operations(store, cond, params, prices),
        "reply_shapes": _reply_shapes(store, cond, params),
        "comparisons": comparisons,
    }
