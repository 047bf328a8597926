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
import re
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..benchmark.types import (
    BASE_PROMPT_TYPES,
    DIFFICULTIES,
    ERROR_CATEGORIES,
    FLAW_TYPES,
    PROMPT_TYPES,
    SUCCESS_LEVELS,
    TASK_TYPES,
)
from ..config import is_human_name
from ..errors import UsageError
from ..plan import rate_label
from ..store.base import Store
from .stats import (
    BOOT_SEED,
    N_BOOT,
    ClusterResampler,
    cluster_sums,
    clustered_mean,
    clustered_paired,
    clustered_rate,
    derived,
    natural_key,
    percentile,
    rate,
    ratio_replicates,
)

SPEC_FIELDS: tuple[str, ...] = (
    "model", "prompt_type", "task_type", "difficulty", "tool_success_rate",
    "instance", "seed", "suite_version", "severity", "max_turns",
)
FLAWED_PREFIX = "flawed_"
DONE = "status = 'done'"
BASELINE_PROMPT = "baseline"
CLUSTER_LEVELS = ("instance", "workflow")
BREAKDOWNS = ("workflow",)
MIN_STRATUM = 10  # clusters per task type needed to resample within task types

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


def _and(*conds: str) -> str:
    return " AND ".join(c for c in conds if c)


def _where(cond: str) -> str:
    return f"WHERE {cond}" if cond else ""


# ---------------------------------------------------------------------------- ordering helpers


def _ordered(values: Iterable[Any], canonical: Sequence[Any]) -> list[Any]:
    """Known values in their canonical order, then unknown ones in natural order."""
    present = set(values)
    return [v for v in canonical if v in present] + sorted(present - set(canonical), key=natural_key)


def natural_sorted(values: Iterable[str]) -> list[str]:
    """Model names in natural order: family-3b before family-14b."""
    return sorted(values, key=natural_key)


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


# ---------------------------------------------------------------------------- units

# A unit's key: the test's spec (severity only for flawed prompts, where it changes the test).
K_MODEL, K_PROMPT, K_TASK, K_DIFF, K_RATE, K_SEED, K_SEV, K_TURNS, K_SUITE, K_INST = range(10)
KEY_FIELDS = ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate", "seed",
              "severity", "max_turns", "suite_version", "instance")

# Axes a section's rows are split by when they differ (position in the key, label in row names).
SPLIT_AXES: dict[str, tuple[int, str]] = {
    "suite_version": (K_SUITE, "suite"),
    "seed": (K_SEED, "seed"),
    "max_turns": (K_TURNS, "max_turns"),
    "tool_success_rate": (K_RATE, "rate"),
    "severity": (K_SEV, "severity"),
    "prompt_type": (K_PROMPT, "prompt"),
}
CONDITION_AXES = ("suite_version", "seed", "max_turns", "tool_success_rate", "severity")
# What each section states it covers.
COVER_AXES: dict[str, int] = {
    "prompt_type": K_PROMPT, "task_type": K_TASK, "difficulty": K_DIFF, "tool_success_rate": K_RATE,
    "seed": K_SEED, "severity": K_SEV, "max_turns": K_TURNS, "suite_version": K_SUITE,
}

# Sums kept per unit, in this column order.
VALUES = ("n", "full", "partial", "success", "failure", "ws_n", "ws", "turns", "calls",
          "wa_n", "wa", "cov_n", "cov", "eff_n", "eff", "prec_n", "prec")
V = {name: i for i, name in enumerate(VALUES)}
RATE_METRICS = {"success": "success", "full_success": "full", "partial_success": "partial", "failure": "failure"}
MEAN_METRICS: dict[str, tuple[str, str, tuple[float, float] | None]] = {
    "weighted_score": ("ws", "ws_n", (0.0, 1.0)),
    "tool_coverage": ("cov", "cov_n", (0.0, 1.0)),
    "workflow_adherence": ("wa", "wa_n", (0.0, 1.0)),
    "efficiency": ("eff", "eff_n", (0.0, 1.0)),
    "precision": ("prec", "prec_n", (0.0, 1.0)),
    "avg_turns": ("turns", "n", None),
    "avg_tool_calls": ("calls", "n", None),
}
OVERALL_METRICS = tuple(RATE_METRICS) + tuple(MEAN_METRICS)

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


def _is_flawed(prompt: str) -> bool:
    return prompt.startswith(FLAWED_PREFIX)


def workflow_label(required_tools: str | None) -> str | None:
    """`["a", "b"]` (stored JSON text) -> `a → b`; None when the row has no chain."""
    if not required_tools:
        return None
    try:
        chain = json.loads(required_tools)
    except (TypeError, ValueError):
        return str(required_tools)
    if isinstance(chain, list):
        return " → ".join(str(t) for t in chain)
    return str(chain)


def _sortable(x: Any) -> tuple[int, Any]:
    """A total order over the values of a unit key (None, numbers, text), the same on every backend."""
    if x is None:
        return (0, 0)
    if isinstance(x, (int, float)):
        return (1, x)
    return (2, str(x))


def _unit_order(k: tuple[Any, ...]) -> tuple[Any, ...]:
    """A unit key's sort key: its values, with None first in each (numbers and text never mix)."""
    return (str(k[0]), str(k[1]), str(k[2]), str(k[3]),
            -1.0 if k[4] is None else k[4], -1 if k[5] is None else k[5], k[6] or "",
            -1 if k[7] is None else k[7], str(k[8] or ""), -1 if k[9] is None else k[9])


class Units:
    """The done rows of the report, one unit per test, with cluster ids and the bootstrap."""

    def __init__(self, rows: Iterable[Sequence[Any]], *, cluster: str = "instance",
                 n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> None:
        if cluster not in CLUSTER_LEVELS:
            raise UsageError(f"unknown cluster level {cluster!r}; choose from {', '.join(CLUSTER_LEVELS)}")
        rows = list(rows)
        first: dict[tuple[Any, ...], int] = {}  # unit key -> its position in `keys`
        keys: list[tuple[Any, ...]] = []
        chains: list[Any] = []
        where = []  # each row's unit
        for r in rows:
            prompt = r[1]
            key = (
                r[0], prompt, r[2], r[3], round(float(r[4]), 6) if r[4] is not None else None,
                int(r[5]) if r[5] is not None else None,
                r[6] if prompt.startswith(FLAWED_PREFIX) else None,
                int(r[7]) if r[7] is not None else None, r[8], int(r[9]) if r[9] is not None else None,
            )
            j = first.get(key)
            if j is None:
                j = first[key] = len(keys)
                keys.append(key)
                chains.append(r[10])
            elif chains[j] is None:
                chains[j] = r[10]
            where.append(j)
        raw = np.array([r[11:26] for r in rows], dtype=np.float64).reshape(len(rows), 15)
        sums = np.zeros((len(keys), 15))
        np.add.at(sums, np.asarray(where, dtype=np.int64), raw)  # rows of one unit (a severity merge) add up
        n, full, partial = sums[:, 0], sums[:, 1], sums[:, 2]
        values = np.column_stack([n, full, partial, full + partial, n - full - partial, sums[:, 3:]])
        # Sorted, so that the clusters' order, hence the bootstrap, never depends on the backend.
        order_units = sorted(range(len(keys)), key=lambda i: _unit_order(keys[i]))
        self.keys: list[tuple[Any, ...]] = [keys[i] for i in order_units]
        self.values = values[np.asarray(order_units, dtype=np.int64)] if keys else np.zeros((0, len(VALUES)))
        labels: dict[Any, str | None] = {}
        for text in chains:
            if text not in labels:
                labels[text] = workflow_label(text)
        self.workflows: list[str | None] = [labels[chains[i]] for i in order_units]
        cluster_keys: list[Any] = []
        strata: dict[Any, Any] = {}
        for k, wf in zip(self.keys, self.workflows):
            instance = (k[K_SUITE], k[K_SEED], k[K_TASK], k[K_INST])
            ck: Any = ("workflow", wf) if (cluster == "workflow" and wf) else ("instance",) + instance
            cluster_keys.append(ck)
            strata[ck] = 0 if cluster == "workflow" else k[K_TASK]
        order = sorted(set(cluster_keys), key=lambda c: tuple(_sortable(x) for x in c))
        index = {c: i for i, c in enumerate(order)}
        self.cluster = np.array([index[c] for c in cluster_keys], dtype=np.int64)
        self.cluster_level = cluster
        sizes: dict[Any, int] = defaultdict(int)
        for c in order:
            sizes[strata[c]] += 1
        # Resampling within tiny strata understates the variance (by (k-1)/k with k clusters a
        # stratum): stratify by task type only when every task type has enough instances.
        self.stratified = bool(sizes) and len(sizes) > 1 and min(sizes.values()) >= MIN_STRATUM
        self.resampler = ClusterResampler([strata[c] if self.stratified else 0 for c in order],
                                          n_boot=n_boot, seed=seed)
        self.instances = len({(k[K_SUITE], k[K_SEED], k[K_TASK], k[K_INST]) for k in self.keys})
        self.n_workflows = len({w for w in self.workflows if w})

    def __len__(self) -> int:
        return len(self.keys)

    def select(self, pred: Callable[[tuple[Any, ...]], bool]) -> list[int]:
        return [i for i, k in enumerate(self.keys) if pred(k)]

    def stats(self, idx: Sequence[int] | np.ndarray, metrics: Sequence[str] = ("success",)
              ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Each metric of the units `idx` with its clustered interval, and its replicates."""
        idx = np.asarray(idx, dtype=np.int64)
        cols: list[int] = [V["n"]]
        for m in metrics:
            if m in RATE_METRICS:
                cols.append(V[RATE_METRICS[m]])
            else:
                num, den, _ = MEAN_METRICS[m]
                cols += [V[num], V[den]]
        cols = sorted(set(cols))
        at = {c: j for j, c in enumerate(cols)}
        ids, sums = cluster_sums(self.cluster[idx], self.values[idx][:, cols])
        reps = self.resampler.replicate_totals(ids, sums)
        totals = sums.sum(axis=0) if len(ids) else np.zeros(len(cols))
        out: dict[str, Any] = {}
        rep_out: dict[str, np.ndarray] = {}
        for m in metrics:
            if m in RATE_METRICS:
                num, den, bounds = RATE_METRICS[m], "n", None
            else:
                num, den, bounds = MEAN_METRICS[m]
            jn, jd = at[V[num]], at[V[den]]
            r = ratio_replicates(reps[:, jn], reps[:, jd])
            rep_out[m] = r
            clusters = int(np.count_nonzero(sums[:, jd] > 0)) if len(ids) else 0
            if m in RATE_METRICS:
                out[m] = clustered_rate(totals[jn], totals[jd], r, clusters)
            else:
                out[m] = clustered_mean(totals[jn], totals[jd], r, clusters, bounds)
        return out, rep_out

    def rate(self, idx: Sequence[int]) -> tuple[dict[str, Any], np.ndarray]:
        objs, reps = self.stats(idx, ("success",))
        return objs["success"], reps["success"]

    def per_test(self, metric: str) -> np.ndarray:
        """Every unit's value of a metric (the mean over its rows; NaN where it has none)."""
        if metric in RATE_METRICS:
            num, den = RATE_METRICS[metric], "n"
        else:
            num, den, _ = MEAN_METRICS[metric]
        return ratio_replicates(self.values[:, V[num]], self.values[:, V[den]])


# ---------------------------------------------------------------------------- series (row splits)


class Series:
    """How a section's units map to rows: the model plus the condition axes that differ."""

    def __init__(self, units: Units, idx: Sequence[int], candidates: Sequence[str], pool: bool) -> None:
        self.units = units
        differing = []
        for axis in candidates:
            pos = SPLIT_AXES[axis][0]
            if len({units.keys[i][pos] for i in idx} - {None}) > 1:
                differing.append(axis)
        self.split_by = [] if pool else differing
        self.pooled = differing if pool else []
        self.positions = [SPLIT_AXES[a][0] for a in self.split_by]

    def key(self, i: int) -> tuple[Any, ...]:
        k = self.units.keys[i]
        return (k[K_MODEL],) + tuple(k[p] for p in self.positions)

    def conditions(self, skey: tuple[Any, ...]) -> dict[str, Any]:
        return {a: v for a, v in zip(self.split_by, skey[1:])}

    def label(self, skey: tuple[Any, ...]) -> str:
        parts = [f"{SPLIT_AXES[a][1]}={_show(v)}" for a, v in zip(self.split_by, skey[1:]) if v is not None]
        return skey[0] + (f" [{', '.join(parts)}]" if parts else "")

    def without_severity(self, skey: tuple[Any, ...]) -> tuple[Any, ...]:
        """The key a non-flawed prompt's cell has in the row `skey` (it has no severity)."""
        if "severity" not in self.split_by:
            return skey
        j = 1 + self.split_by.index("severity")
        return skey[:j] + (None,) + skey[j + 1:]

    def ordered(self, keys: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted(set(keys), key=lambda k: tuple(natural_key(x) for x in k))


def _show(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _group(units_idx: Iterable[int], key: Callable[[int], Any]) -> dict[Any, list[int]]:
    groups: dict[Any, list[int]] = defaultdict(list)
    for i in units_idx:
        groups[key(i)].append(i)
    return groups


def _covers(units: Units, idx: Sequence[int]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    canon = {"prompt_type": PROMPT_TYPES, "task_type": TASK_TYPES, "difficulty": DIFFICULTIES}
    for axis, pos in COVER_AXES.items():
        vals = {units.keys[i][pos] for i in idx} - {None}
        if axis == "tool_success_rate":
            out[axis] = sorted(vals, reverse=True)
        else:
            out[axis] = _ordered(vals, canon.get(axis, ()))
    return out


def _meta(definition: str, units: Units, idx: Sequence[int], series: Series | None) -> dict[str, Any]:
    return {
        "definition": definition,
        "n": int(units.values[np.asarray(idx, dtype=np.int64), V["n"]].sum()) if len(idx) else 0,
        "covers": _covers(units, idx),
        "split_by": list(series.split_by) if series else [],
        "pooled": list(series.pooled) if series else [],
    }


# ---------------------------------------------------------------------------- sections

DEFINITIONS = {
    "headline": (
        "Every done test of each model, over the prompt types, task types, difficulties and flaw severities "
        "listed; success by prompt type and by difficulty break it down (rows split by suite version, seed, "
        "max turns and tool success rate when those differ)."
    ),
    "baseline": (
        "Tests with the `baseline` prompt type only (the study's definition of 5.1), pooled over the "
        "task types and difficulties listed; success by task type and by difficulty break it down."
    ),
    "scale": "Model families with two or more sizes, over every prompt type present (rows split by prompt type when several).",
    "flaw_robustness": (
        "Tests with a flawed_* prompt type; the mean is the mean of the flaw types' success rates; "
        "`optimal` (the same plan without the flaw) is the reference."
    ),
    "tool_reliability": (
        "Success by the simulated tools' success rate, for each model (and prompt type, when several) "
        "run at two or more rates."
    ),
    "prompt_sensitivity": (
        "Success per prompt type under the same conditions; spread = max - min over the available "
        "baseline, CoT, optimal and flawed-mean rates."
    ),
    "error_categories": "Non-full done tests by error category, over every prompt type, task type and difficulty.",
}


def _instance(k: tuple[Any, ...]) -> tuple[Any, ...]:
    return (k[K_SUITE], k[K_SEED], k[K_TASK], k[K_INST])


HEADLINE_AXES = ("suite_version", "seed", "max_turns", "tool_success_rate")
HEADLINE_METRICS = ("success", "full_success", "partial_success", "failure", "weighted_score")


def _headline(units: Units, pool: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per model, every done test: success, full success and weighted score with their intervals and
    N, and success by prompt type and by difficulty (the report's first table and the viewer's)."""
    idx = list(range(len(units)))
    series = Series(units, idx, HEADLINE_AXES, pool)
    groups = _group(idx, series.key)
    out: dict[str, Any] = {}
    for skey in series.ordered(groups):
        members = groups[skey]
        entry, _ = units.stats(members, HEADLINE_METRICS)
        by_prompt = _group(members, lambda i: units.keys[i][K_PROMPT])
        by_diff = _group(members, lambda i: units.keys[i][K_DIFF])
        out[series.label(skey)] = {
            "model": skey[0], "conditions": series.conditions(skey), "n": entry["success"]["n"],
            "instances": len({_instance(units.keys[i]) for i in members}), **entry,
            "by_prompt_type": {p: units.rate(by_prompt[p])[0] for p in _ordered(by_prompt, PROMPT_TYPES)},
            "by_difficulty": {d: units.rate(by_diff[d])[0] for d in _ordered(by_diff, DIFFICULTIES)},
        }
    meta = _meta(DEFINITIONS["headline"], units, idx, series)
    meta["uneven"] = _uneven(units, groups, prompts=True)
    return out, meta


def _baseline(units: Units, pool: bool, by: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    idx = units.select(lambda k: k[K_PROMPT] == BASELINE_PROMPT)
    series = Series(units, idx, CONDITION_AXES, pool)
    groups = _group(idx, series.key)
    tasks = _ordered((units.keys[i][K_TASK] for i in idx), TASK_TYPES)
    diffs = _ordered((units.keys[i][K_DIFF] for i in idx), DIFFICULTIES)
    out: dict[str, Any] = {}
    for skey in series.ordered(groups):
        members = groups[skey]
        entry, _ = units.stats(members, OVERALL_METRICS)
        entry = {"model": skey[0], "conditions": series.conditions(skey), "n": entry["success"]["n"],
                 "instances": len({_instance(units.keys[i]) for i in members}),
                 "workflows": len({units.workflows[i] for i in members} - {None}), **entry}
        by_task = _group(members, lambda i: units.keys[i][K_TASK])
        entry["by_task_type"] = {t: units.rate(by_task[t])[0] for t in tasks if t in by_task}
        by_diff = _group(members, lambda i: units.keys[i][K_DIFF])
        entry["by_difficulty"] = {d: units.rate(by_diff[d])[0] for d in diffs if d in by_diff}
        if "workflow" in by:
            by_wf = _group(members, lambda i: units.workflows[i] or "(not recorded)")
            entry["by_workflow"] = {w: units.rate(by_wf[w])[0] for w in sorted(by_wf, key=natural_key)}
        out[series.label(skey)] = entry
    meta = _meta(DEFINITIONS["baseline"], units, idx, series)
    meta["uneven"] = _uneven(units, groups)
    return out, meta


def _uneven(units: Units, groups: dict[Any, list[int]], prompts: bool = False) -> list[str]:
    """The pooled axes (task type, difficulty; with `prompts` the prompt type too) whose values are
    not the same for every row: the rows' overall figures then average different mixes, which the
    report must say."""
    out = []
    axes = (("prompt_type", K_PROMPT),) if prompts else ()
    for axis, pos in axes + (("task_type", K_TASK), ("difficulty", K_DIFF)):
        seen = {frozenset(units.keys[i][pos] for i in members) for members in groups.values()}
        if len(seen) > 1:
            out.append(axis)
    return out


def _scale(units: Units, pool: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    idx = list(range(len(units)))
    series = Series(units, idx, CONDITION_AXES + ("prompt_type",), pool)
    groups = _group(idx, series.key)
    families: dict[tuple[Any, ...], list[tuple[float, tuple[Any, ...]]]] = defaultdict(list)
    for skey in groups:
        parsed = parse_family(skey[0])
        if parsed:
            families[(parsed[0],) + skey[1:]].append((parsed[1], skey))
    out = []
    used: list[int] = []
    for fkey in sorted(families, key=lambda k: tuple(natural_key(x) for x in k)):
        members = sorted(families[fkey], key=lambda m: (m[0], natural_key(m[1][0])))
        sizes = sorted({s for s, _ in members})
        if len(sizes) < 2:
            continue
        rows = []
        for size, skey in members:
            m_idx = groups[skey]
            used += m_idx
            by_task = _group(m_idx, lambda i: units.keys[i][K_TASK])
            by_diff = _group(m_idx, lambda i: units.keys[i][K_DIFF])
            overall = units.rate(m_idx)[0]
            rows.append({
                "model": skey[0],
                "size_b": size,
                "n": overall["n"],
                "success": overall,
                "by_task_type": {t: units.rate(by_task[t])[0] for t in _ordered(by_task, TASK_TYPES)},
                "by_difficulty": {d: units.rate(by_diff[d])[0] for d in _ordered(by_diff, DIFFICULTIES)},
            })
        label = series.label((fkey[0],) + fkey[1:])
        out.append({"family": fkey[0], "label": label, "conditions": series.conditions((fkey[0],) + fkey[1:]),
                    "sizes": sizes, "models": rows})
    return out, _meta(DEFINITIONS["scale"], units, used, series)


def _prompt_rows(series: Series, groups: dict[tuple[Any, ...], list[int]]) -> list[tuple[Any, ...]]:
    """Row keys of a section whose columns are prompt types: a row per severity when split, with
    the non-flawed prompts' cells (which have no severity) shared by those rows."""
    keys = series.ordered(k[0] for k in groups)
    if "severity" not in series.split_by:
        return keys
    with_sev = [k for k in keys if k[1 + series.split_by.index("severity")] is not None]
    bare = {series.without_severity(k) for k in with_sev}
    return series.ordered(with_sev + [k for k in keys if k not in bare and k not in with_sev])


def _prompt_cells(units: Units, idx: Sequence[int], series: Series) -> dict[tuple[Any, ...], list[int]]:
    return _group(idx, lambda i: (series.key(i), units.keys[i][K_PROMPT]))


def _cell(cells: dict[Any, list[int]], series: Series, skey: tuple[Any, ...], prompt: str) -> list[int] | None:
    key = skey if _is_flawed(prompt) else series.without_severity(skey)
    return cells.get((key, prompt))


def _mean_of(points: list[float], reps: list[np.ndarray]) -> tuple[float | None, np.ndarray | None]:
    if not points:
        return None, None
    with np.errstate(all="ignore"):
        stacked = np.vstack(reps)
        return float(np.mean(points)), np.where(np.isnan(stacked).any(axis=0), np.nan, stacked.mean(axis=0))


def _flaw_robustness(units: Units, pool: bool) -> tuple[dict[str, Any], dict[str, Any], dict[Any, Any]]:
    idx = units.select(lambda k: _is_flawed(k[K_PROMPT]) or k[K_PROMPT] == "optimal")
    series = Series(units, idx, CONDITION_AXES, pool)
    cells = _prompt_cells(units, idx, series)
    flawed = _ordered({p for _, p in cells if _is_flawed(p)}, [FLAWED_PREFIX + f for f in FLAW_TYPES])
    out: dict[str, Any] = {}
    means: dict[Any, Any] = {}
    flawed_idx: list[int] = []
    for skey in _prompt_rows(series, cells):
        entry: dict[str, Any] = {}
        points, reps, clusters = [], [], set()
        for p in flawed:
            members = _cell(cells, series, skey, p)
            if not members:
                continue
            flawed_idx += members
            r, rep = units.rate(members)
            entry[p] = r
            points.append(r["rate"])
            reps.append(rep)
            clusters |= {int(units.cluster[i]) for i in members}
        if not entry:
            continue
        point, mean_reps = _mean_of(points, reps)
        entry["mean"] = derived(point, mean_reps, len(clusters), (0.0, 1.0))
        means[skey] = (point, mean_reps, len(clusters))
        ref = _cell(cells, series, skey, "optimal")
        if ref:
            entry["optimal"] = units.rate(ref)[0]
        out[series.label(skey)] = {"model": skey[0], "conditions": series.conditions(skey), **entry}
    return out, _meta(DEFINITIONS["flaw_robustness"], units, flawed_idx, series), means


def _tool_reliability(units: Units, pool: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    idx = list(range(len(units)))
    series = Series(units, idx, tuple(a for a in CONDITION_AXES if a != "tool_success_rate") + ("prompt_type",), pool)
    groups = _group(idx, lambda i: (series.key(i), units.keys[i][K_RATE]))
    rates = sorted({r for _, r in groups if r is not None}, reverse=True)
    out: dict[str, Any] = {}
    used: list[int] = []
    for skey in series.ordered(k for k, _ in groups):
        present = [r for r in rates if (skey, r) in groups]
        if len(present) < 2:
            continue  # one rate is no reliability curve (and would repeat 5.5)
        entry = {rate_label(r): units.rate(groups[(skey, r)])[0] for r in present}
        used += [i for r in present for i in groups[(skey, r)]]
        out[series.label(skey)] = {"model": skey[0], "conditions": series.conditions(skey), "by_rate": entry}
    return out, _meta(DEFINITIONS["tool_reliability"], units, used, series)


def _prompt_sensitivity(units: Units, pool: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    idx = list(range(len(units)))
    series = Series(units, idx, CONDITION_AXES, pool)
    cells = _prompt_cells(units, idx, series)
    prompts = _ordered({p for _, p in cells}, PROMPT_TYPES)
    flawed = [p for p in prompts if _is_flawed(p)]
    out: dict[str, Any] = {}
    for skey in _prompt_rows(series, cells):
        entry: dict[str, Any] = {"model": skey[0], "conditions": series.conditions(skey)}
        points: list[float] = []
        reps: list[np.ndarray] = []
        clusters: set[int] = set()
        by_prompt: dict[str, Any] = {}
        rep_of: dict[str, np.ndarray] = {}
        for p in prompts:
            members = _cell(cells, series, skey, p)
            if not members:
                continue
            by_prompt[p], rep_of[p] = units.rate(members)
            clusters |= {int(units.cluster[i]) for i in members}
        for p in BASE_PROMPT_TYPES:
            entry[p] = by_prompt.get(p)
            if p in by_prompt:
                points.append(by_prompt[p]["rate"])
                reps.append(rep_of[p])
        fpoints = [by_prompt[p]["rate"] for p in flawed if p in by_prompt]
        fpoint, freps = _mean_of(fpoints, [rep_of[p] for p in flawed if p in by_prompt])
        fclusters = {int(units.cluster[i]) for p in flawed for i in (_cell(cells, series, skey, p) or [])}
        entry["flawed_mean"] = derived(fpoint, freps, len(fclusters), (0.0, 1.0))
        if fpoint is not None and freps is not None:
            points.append(fpoint)
            reps.append(freps)
        if len(points) >= 2:
            with np.errstate(all="ignore"):
                stacked = np.vstack(reps)
                spread_reps = np.where(np.isnan(stacked).any(axis=0), np.nan, stacked.max(axis=0) - stacked.min(axis=0))
            entry["spread"] = derived(max(points) - min(points), spread_reps, len(clusters), (0.0, 1.0))
        else:
            entry["spread"] = derived(None, None, len(clusters))
        entry["by_prompt_type"] = by_prompt
        if not by_prompt:
            continue
        out[series.label(skey)] = entry
    return out, _meta(DEFINITIONS["prompt_sensitivity"], units, idx, series)


def _paired_models(units: Units, metrics: Sequence[str] = ("success", "weighted_score", "precision"),
                   max_models: int = 20) -> list[dict[str, Any]]:
    """Every pair of models over the tests both ran (same spec but the model), clustered."""
    test_ids: dict[tuple[Any, ...], int] = {}
    by_model: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i, k in enumerate(units.keys):
        tid = test_ids.setdefault(k[1:], len(test_ids))  # the test, whoever ran it
        by_model[k[K_MODEL]][0].append(tid)
        by_model[k[K_MODEL]][1].append(i)
    models = natural_sorted(by_model)[:max_models]
    arrays = {m: (np.array(by_model[m][0], dtype=np.int64), np.array(by_model[m][1], dtype=np.int64)) for m in models}
    per_test = {metric: units.per_test(metric) for metric in metrics}
    out = []
    for ai, a in enumerate(models):
        for b in models[ai + 1:]:
            _, ja, jb = np.intersect1d(arrays[a][0], arrays[b][0], assume_unique=True, return_indices=True)
            if not len(ja):
                continue
            ia, ib = arrays[a][1][ja], arrays[b][1][jb]
            for metric in metrics:
                va, vb = per_test[metric][ia], per_test[metric][ib]
                ok = np.isfinite(va) & np.isfinite(vb)
                if not ok.any():
                    continue
                res = clustered_paired(units.cluster[ia[ok]], va[ok], vb[ok], units.resampler)
                out.append({"a": a, "b": b, "field": "model", "metric": metric, **res})
    return out


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
