"""The report's sections computed from the units in memory: the headline, 5.1 baseline, 5.2 scale,
5.3 flaw robustness, 5.4 tool reliability, 5.5 prompt sensitivity and the paired comparisons of models."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..benchmark.types import BASE_PROMPT_TYPES, DIFFICULTIES, FLAW_TYPES, PROMPT_TYPES, TASK_TYPES
from ..plan import rate_label
from .stats import clustered_paired, derived, natural_key
from .units import (
    CONDITION_AXES,
    FLAWED_PREFIX,
    K_DIFF,
    K_INST,
    K_MODEL,
    K_PROMPT,
    K_RATE,
    K_SEED,
    K_SUITE,
    K_TASK,
    OVERALL_METRICS,
    Series,
    Units,
    _group,
    _is_flawed,
    _meta,
    _ordered,
    natural_sorted,
    parse_family,
)

BASELINE_PROMPT = "baseline"

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
