"""Build the report (SPEC section 5) from the store alone, by aggregate queries.

Model statistics use `done` rows only (the scored result; at most one per test id); `error`
rows are infrastructure failures, counted in `by_status` and in the operational figures but
never as a model failure. Everything is computed from grouped SQL sums, so the cost grows with
the number of cells (model x prompt x task x difficulty x rate), not with the number of rows.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..benchmark.types import (
    BASE_PROMPT_TYPES,
    DIFFICULTIES,
    ERROR_CATEGORIES,
    FLAW_TYPES,
    PROMPT_TYPES,
    SUCCESS_LEVELS,
    TASK_TYPES,
)
from ..plan import rate_label
from .stats import mean_ci_from_moments, paired_comparison, percentile, rate

SPEC_FIELDS: tuple[str, ...] = (
    "model", "prompt_type", "task_type", "difficulty", "tool_success_rate",
    "instance", "seed", "suite_version", "severity", "max_turns",
)
FLAWED_PREFIX = "flawed_"
DONE = "status = 'done'"

Filter = str | Iterable[str] | None
NOTHING = "1 = 0"  # a portable false condition (SQLite and PostgreSQL)


def count_if(cond: str) -> str:
    """The portable form of SQLite's `SUM(cond)`: how many rows satisfy `cond`."""
    return f"COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)"


def total(expr: str) -> str:
    """The portable form of SQLite's `TOTAL(expr)`: a sum that is 0 over no rows."""
    return f"COALESCE(SUM({expr}), 0)"


# ---------------------------------------------------------------------------- filters


def _as_list(values: Any) -> list[Any] | None:
    if values is None:
        return None
    if isinstance(values, (str, int, float)):
        return [values]
    return list(values)


def where_clause(
    *,
    models: Filter = None,
    prompt_types: Filter = None,
    difficulties: Filter = None,
    task_types: Filter = None,
    tool_success_rates: Iterable[float] | float | None = None,
    statuses: Filter = None,
) -> tuple[str, list[Any]]:
    """A SQL condition (without WHERE) and its parameters for the given filters.

    A filter left as None does not restrict; an empty list matches nothing."""
    parts: list[str] = []
    params: list[Any] = []
    for column, values in (
        ("model", models), ("prompt_type", prompt_types), ("difficulty", difficulties),
        ("task_type", task_types), ("status", statuses),
    ):
        vals = _as_list(values)
        if vals is None:
            continue
        if not vals:
            parts.append(NOTHING)
            continue
        parts.append(f"{column} IN ({', '.join('?' * len(vals))})")
        params.extend(str(v) for v in vals)
    rates = _as_list(tool_success_rates)
    if rates is not None:
        if not rates:
            parts.append(NOTHING)
        else:
            parts.append(f"ROUND(CAST(tool_success_rate AS NUMERIC), 6) IN ({', '.join('?' * len(rates))})")
            params.extend(round(float(r), 6) for r in rates)
    return " AND ".join(parts), params


def _and(*conds: str) -> str:
    return " AND ".join(c for c in conds if c)


def _where(cond: str) -> str:
    return f"WHERE {cond}" if cond else ""


# ---------------------------------------------------------------------------- ordering helpers


def _ordered(values: Iterable[str], canonical: Sequence[str]) -> list[str]:
    """Known values in their canonical order, then unknown ones sorted."""
    present = set(values)
    return [v for v in canonical if v in present] + sorted(present - set(canonical))


# ---------------------------------------------------------------------------- model families

_SIZE_RE = re.compile(r"(?<=[-_:/ ])(\d+(?:\.\d+)?)b(?![a-z0-9])", re.IGNORECASE)


def parse_family(model: str) -> tuple[str, float] | None:
    """`qwen2.5-72b-instruct` -> ("qwen2.5", 72.0); `llama-3.3-70b` -> ("llama-3.3", 70.0).

    The size is the first `<number>b` token that follows a separator; the family is the name
    before it. Models with no such token (e.g. `gpt-4o`, `mixtral-8x7b`) have no family."""
    m = _SIZE_RE.search(model)
    if not m:
        return None
    family = model[: m.start()].rstrip("-_:/ ")
    if not family:
        return None
    return family, float(m.group(1))


# ---------------------------------------------------------------------------- cell aggregates


@dataclass(slots=True)
class Agg:
    """Additive sums over done rows; merged freely across cells."""

    n: int = 0
    full: int = 0
    partial: int = 0
    ws_n: int = 0
    ws_sum: float = 0.0
    ws_sq: float = 0.0
    turns: float = 0.0
    tool_calls: float = 0.0
    wa_n: int = 0
    wa_sum: float = 0.0
    cov_n: int = 0
    cov_sum: float = 0.0
    eff_n: int = 0
    eff_sum: float = 0.0

    def __iadd__(self, o: Agg) -> Agg:
        for name in self.__slots__:  # type: ignore[attr-defined]
            setattr(self, name, getattr(self, name) + getattr(o, name))
        return self

    @property
    def success(self) -> int:
        return self.full + self.partial

    def success_rate(self) -> dict[str, Any]:
        return rate(self.success, self.n)

    @staticmethod
    def _mean(total: float, n: int) -> float | None:
        return total / n if n else None

    def summary(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "success": rate(self.success, self.n),
            "full_success": rate(self.full, self.n),
            "partial_success": rate(self.partial, self.n),
            "failure": rate(self.n - self.success, self.n),
            "weighted_score": mean_ci_from_moments(self.ws_n, self.ws_sum, self.ws_sq, (0.0, 1.0)),
            "avg_turns": self._mean(self.turns, self.n),
            "avg_tool_calls": self._mean(self.tool_calls, self.n),
            "tool_coverage": self._mean(self.cov_sum, self.cov_n),
            "workflow_adherence": self._mean(self.wa_sum, self.wa_n),
            "efficiency": self._mean(self.eff_sum, self.eff_n),
        }


_CELL_KEYS = ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate")
_CELL_SQL = f"""
SELECT model, prompt_type, task_type, difficulty, tool_success_rate,
       COUNT(*),
       {count_if("success_level = 'full_success'")}, {count_if("success_level = 'partial_success'")},
       COUNT(weighted_score), {total("weighted_score")}, {total("weighted_score * weighted_score")},
       {total("turns")}, {total("tool_calls")},
       COUNT(workflow_adherence), {total("workflow_adherence")},
       COUNT(tool_coverage), {total("tool_coverage")},
       COUNT(efficiency), {total("efficiency")}
FROM results {{where}}
GROUP BY model, prompt_type, task_type, difficulty, tool_success_rate
"""


@dataclass(frozen=True, slots=True)
class Cell:
    model: str
    prompt_type: str
    task_type: str
    difficulty: str
    tool_success_rate: float


def done_cells(store: Any, cond: str, params: Sequence[Any]) -> list[tuple[Cell, Agg]]:
    """Grouped sums of the done rows matching `cond`, one per (model, prompt, task, difficulty, rate)."""
    sql = _CELL_SQL.format(where=_where(_and(DONE, cond)))
    out = []
    for r in store.query(sql, params):
        cell = Cell(r[0], r[1], r[2], r[3], float(r[4]) if r[4] is not None else float("nan"))
        agg = Agg(
            n=int(r[5]), full=int(r[6]), partial=int(r[7]),
            ws_n=int(r[8]), ws_sum=float(r[9]), ws_sq=float(r[10]),
            turns=float(r[11]), tool_calls=float(r[12]),
            wa_n=int(r[13]), wa_sum=float(r[14]),
            cov_n=int(r[15]), cov_sum=float(r[16]),
            eff_n=int(r[17]), eff_sum=float(r[18]),
        )
        out.append((cell, agg))
    return out


def _group(cells: Iterable[tuple[Cell, Agg]], key: Any) -> dict[Any, Agg]:
    groups: dict[Any, Agg] = defaultdict(Agg)
    for cell, agg in cells:
        groups[key(cell)] += agg
    return dict(groups)


# ---------------------------------------------------------------------------- sections


def _baseline(cells: list[tuple[Cell, Agg]], models: list[str]) -> dict[str, Any]:
    by_model = _group(cells, lambda c: c.model)
    by_task = _group(cells, lambda c: (c.model, c.task_type))
    by_prompt = _group(cells, lambda c: (c.model, c.prompt_type))
    tasks = _ordered((c.task_type for c, _ in cells), TASK_TYPES)
    prompts = _ordered((c.prompt_type for c, _ in cells), PROMPT_TYPES)
    out: dict[str, Any] = {}
    for m in models:
        entry = by_model[m].summary()
        entry["by_task_type"] = {t: by_task[(m, t)].success_rate() for t in tasks if (m, t) in by_task}
        entry["by_prompt_type"] = {p: by_prompt[(m, p)].success_rate() for p in prompts if (m, p) in by_prompt}
        out[m] = entry
    return out


def _scale(cells: list[tuple[Cell, Agg]], models: list[str]) -> list[dict[str, Any]]:
    families: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for m in models:
        parsed = parse_family(m)
        if parsed:
            families[parsed[0]].append((parsed[1], m))
    by_model = _group(cells, lambda c: c.model)
    by_task = _group(cells, lambda c: (c.model, c.task_type))
    by_diff = _group(cells, lambda c: (c.model, c.difficulty))
    tasks = _ordered((c.task_type for c, _ in cells), TASK_TYPES)
    diffs = _ordered((c.difficulty for c, _ in cells), DIFFICULTIES)
    out = []
    for family in sorted(families):
        members = sorted(families[family])
        sizes = sorted({s for s, _ in members})
        if len(sizes) < 2:
            continue
        out.append({
            "family": family,
            "sizes": sizes,
            "models": [
                {
                    "model": m,
                    "size_b": size,
                    "n": by_model[m].n,
                    "success": by_model[m].success_rate(),
                    "by_task_type": {t: by_task[(m, t)].success_rate() for t in tasks if (m, t) in by_task},
                    "by_difficulty": {d: by_diff[(m, d)].success_rate() for d in diffs if (m, d) in by_diff},
                }
                for size, m in members
            ],
        })
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return math.fsum(vals) / len(vals) if vals else None


def _flaw_robustness(cells: list[tuple[Cell, Agg]], models: list[str]) -> dict[str, Any]:
    by_prompt = _group(cells, lambda c: (c.model, c.prompt_type))
    flawed = _ordered(
        (c.prompt_type for c, _ in cells if c.prompt_type.startswith(FLAWED_PREFIX)),
        [FLAWED_PREFIX + f for f in FLAW_TYPES],
    )
    out: dict[str, Any] = {}
    for m in models:
        rates = {p: by_prompt[(m, p)].success_rate() for p in flawed if (m, p) in by_prompt}
        if not rates:
            continue
        entry: dict[str, Any] = dict(rates)
        entry["mean"] = _mean(r["rate"] for r in rates.values())
        if (m, "optimal") in by_prompt:
            entry["optimal"] = by_prompt[(m, "optimal")].success_rate()
        out[m] = entry
    return out


def _tool_reliability(cells: list[tuple[Cell, Agg]], models: list[str]) -> dict[str, Any]:
    by_rate = _group(cells, lambda c: (c.model, c.tool_success_rate))
    rates = sorted({c.tool_success_rate for c, _ in cells}, reverse=True)
    return {
        m: {rate_label(r): by_rate[(m, r)].success_rate() for r in rates if (m, r) in by_rate}
        for m in models
    }


def _prompt_sensitivity(cells: list[tuple[Cell, Agg]], models: list[str], flaws: dict[str, Any]) -> dict[str, Any]:
    by_prompt = _group(cells, lambda c: (c.model, c.prompt_type))
    out: dict[str, Any] = {}
    for m in models:
        entry: dict[str, Any] = {}
        for p in BASE_PROMPT_TYPES:
            entry[p] = by_prompt[(m, p)].success_rate() if (m, p) in by_prompt else None
        entry["flawed_mean"] = flaws.get(m, {}).get("mean")
        available = [entry[p]["rate"] for p in BASE_PROMPT_TYPES if entry[p] is not None and entry[p]["n"]]
        if entry["flawed_mean"] is not None:
            available.append(entry["flawed_mean"])
        entry["spread"] = (max(available) - min(available)) if len(available) >= 2 else None
        out[m] = entry
    return out


def _error_categories(store: Any, cond: str, params: Sequence[Any], models: list[str]) -> dict[str, Any]:
    sql = (
        "SELECT model, error_category, COUNT(*) FROM results "
        + _where(_and(DONE, "(success_level IS NULL OR success_level != 'full_success')", cond))
        + " GROUP BY model, error_category"
    )
    counts: dict[str, dict[str | None, int]] = defaultdict(dict)
    for model, category, c in store.query(sql, params):
        counts[model][category] = int(c)
    out: dict[str, Any] = {}
    for m in models:
        got = counts.get(m, {})
        n = sum(got.values())
        cats = list(ERROR_CATEGORIES) + sorted(k for k in got if k is not None and k not in ERROR_CATEGORIES)
        cat_counts = {k: got.get(k, 0) for k in cats}
        out[m] = {
            "n": n,
            "counts": cat_counts,
            "shares": {k: (v / n if n else 0.0) for k, v in cat_counts.items()},
            "uncategorized": got.get(None, 0),
        }
    return out


_LAT_GROUP = "COALESCE(r.provider, ''), COALESCE(r.key_label, '')"
# Each stored call_latencies (a JSON list) as rows of `j.value`, in each backend's dialect.
_LAT_FROM = {
    "sqlite": "FROM results AS r, json_each(r.call_latencies) AS j",
    "postgres": "FROM results AS r, jsonb_array_elements_text(CAST(r.call_latencies AS jsonb)) AS j(value)",
}
_LAT_VALID = {"sqlite": "json_valid(r.call_latencies)", "postgres": "r.call_latencies LIKE '[%'"}


def _sql_quantiles(store: Any, cond: str, params: Sequence[Any], qs: Sequence[int]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (provider, key): the number of call latencies and their q-th percentiles (integer q),
    computed in the database (json_each or jsonb_array_elements_text, and a window sort), so no
    latency list is held in memory. Both backends pick the same values, so reports agree."""
    backend = getattr(store, "backend", "sqlite")
    base = _and("r.call_latencies IS NOT NULL", _LAT_VALID[backend], cond)
    # The filter columns are unambiguous (the JSON rows have no such columns), so cond applies as is.
    wanted = ", ".join(f"(cnt - 1) * {int(q)} / 100, (cnt - 1) * {int(q)} / 100 + 1" for q in qs)
    value = "CAST(j.value AS DOUBLE PRECISION)"
    sql = f"""
        SELECT g1, g2, cnt, rn, v FROM (
            SELECT COALESCE(r.provider, '') AS g1, COALESCE(r.key_label, '') AS g2, {value} AS v,
                   ROW_NUMBER() OVER (PARTITION BY {_LAT_GROUP} ORDER BY {value}) - 1 AS rn,
                   COUNT(*) OVER (PARTITION BY {_LAT_GROUP}) AS cnt
            {_LAT_FROM[backend]} {_where(base)}
        ) AS q WHERE rn IN ({wanted})
    """
    picked: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    counts: dict[tuple[str, str], int] = {}
    for g1, g2, cnt, rn, v in store.query(sql, params):
        counts[(g1, g2)] = int(cnt)
        picked[(g1, g2)][int(rn)] = float(v)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for gk, n in counts.items():
        at = picked[gk]
        entry: dict[str, Any] = {"n": n}
        for q in qs:
            lo, rest = divmod((n - 1) * int(q), 100)
            low = at[lo]
            high = at.get(lo + 1, low)
            entry[q] = low + (high - low) * rest / 100.0
        out[gk] = entry
    return out


def _python_quantiles(store: Any, cond: str, params: Sequence[Any], qs: Sequence[int]) -> dict[tuple[str, str], dict[str, Any]]:
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


def _latency_quantiles(store: Any, cond: str, params: Sequence[Any], qs: Sequence[int] = (50, 95)) -> dict[tuple[str, str], dict[str, Any]]:
    if getattr(store, "backend", "sqlite") not in _LAT_FROM:
        return _python_quantiles(store, cond, params, qs)
    try:
        return _sql_quantiles(store, cond, params, qs)
    except sqlite3.OperationalError:  # no json_each in this SQLite build
        return _python_quantiles(store, cond, params, qs)


_ERRORS = count_if("status = 'error'")


def _operations(
    store: Any, cond: str, params: Sequence[Any], prices: dict[str, tuple[float, float]] | None
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
    lat = _latency_quantiles(store, cond, params, (50, 95))
    out = []
    for gk in sorted(groups):
        g = groups[gk]
        q = lat.get(gk, {})
        g["latency_calls"] = q.get("n", 0)
        g["latency_p50"] = q.get(50)
        g["latency_p95"] = q.get(95)
        g["models"] = sorted(g["models"])
        if prices is None:
            del g["unpriced_models"]
        out.append(g)
    return out


def _parse_side(text: str) -> tuple[str, str]:
    if text.startswith("prompt:"):
        return "prompt_type", text[len("prompt:"):]
    if text.startswith("model:"):
        return "model", text[len("model:"):]
    return "model", text


def compare_pair(
    store: Any,
    a: str,
    b: str,
    *,
    models: Filter = None,
    prompt_types: Filter = None,
    difficulties: Filter = None,
    task_types: Filter = None,
) -> dict[str, Any]:
    """Paired comparison of success between two models (`m1`, `m2`) or two prompt types
    (`prompt:baseline`, `prompt:optimal`) over tests that agree on every other spec field.

    The filter on the compared field is ignored (both sides are always read); the others apply.
    For prompt comparisons the flaw severity is not part of the pairing key."""
    fa, va = _parse_side(a)
    fb, vb = _parse_side(b)
    if fa != fb:
        raise ValueError(f"cannot compare {a!r} with {b!r}: one is a model, the other a prompt type")
    field = fa
    filters = {"models": models, "prompt_types": prompt_types, "difficulties": difficulties, "task_types": task_types}
    filters["models" if field == "model" else "prompt_types"] = [va, vb]
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
        sides[value][key].append(1.0 if level in ("full_success", "partial_success") else 0.0)
    da = {k: sum(v) / len(v) for k, v in sides[va].items()}
    db = {k: sum(v) / len(v) for k, v in sides[vb].items()}
    result = paired_comparison(da, db)
    return {"a": a, "b": b, "field": field, "metric": "success", **result}


# ---------------------------------------------------------------------------- the report


def build_report(
    store: Any,
    *,
    models: Filter = None,
    prompt_types: Filter = None,
    difficulties: Filter = None,
    task_types: Filter = None,
    prices: dict[str, tuple[float, float]] | None = None,
    compare: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The whole report as a JSON-ready dict; see the module docstring and SPEC section 5."""
    cond, params = where_clause(
        models=models, prompt_types=prompt_types, difficulties=difficulties, task_types=task_types
    )
    total, tests = store.query(f"SELECT COUNT(*), COUNT(DISTINCT test_id) FROM results {_where(cond)}", params)[0]
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
    model_list = sorted(r[0] for r in store.query(f"SELECT DISTINCT model FROM results {_where(cond)}", params))
    cells = done_cells(store, cond, params)
    done_models = sorted({c.model for c, _ in cells})
    flaws = _flaw_robustness(cells, done_models)
    comparisons = []
    for a, b in compare or []:
        comparisons.append(compare_pair(
            store, a, b, models=models, prompt_types=prompt_types, difficulties=difficulties, task_types=task_types
        ))
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "filters": {
            "models": _as_list(models), "prompt_types": _as_list(prompt_types),
            "difficulties": _as_list(difficulties), "task_types": _as_list(task_types),
        },
        "total": int(total),
        "tests": int(tests),
        "by_status": by_status,
        "by_success_level": by_level,
        "models": model_list,
        "baseline": _baseline(cells, done_models),
        "scale": _scale(cells, done_models),
        "flaw_robustness": flaws,
        "tool_reliability": _tool_reliability(cells, done_models),
        "prompt_sensitivity": _prompt_sensitivity(cells, done_models, flaws),
        "error_categories": _error_categories(store, cond, params, done_models),
        "operations": _operations(store, cond, params, prices),
        "comparisons": comparisons,
    }

