"""The report's data in memory: the done rows as units (one per test, with the sums of every score,
cluster ids and the bootstrap), how a section's units map to rows (series), model names in order
and model families."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..benchmark.types import DIFFICULTIES, PROMPT_TYPES, TASK_TYPES
from ..errors import UsageError
from .stats import BOOT_SEED, N_BOOT, ClusterResampler, cluster_sums, clustered_mean, clustered_rate, natural_key, ratio_replicates

FLAWED_PREFIX = "flawed_"
CLUSTER_LEVELS = ("instance", "workflow")
MIN_STRATUM = 10  # clusters per task type needed to resample within task types


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
