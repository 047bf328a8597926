"""The report as long-format CSV: one row per figure."""

from __future__ import annotations

import csv
import io
from typing import Any

from ...benchmark.types import BASE_PROMPT_TYPES
from ..units import _show

# ---------------------------------------------------------------------------- csv (long format)

CSV_HEADER = ("section", "model", "group", "key", "n", "rate", "ci_low", "ci_high", "conditions")


def _cond(e: dict[str, Any] | None) -> str:
    conds = (e or {}).get("conditions") or {}
    return ";".join(f"{k}={_show(v)}" for k, v in conds.items() if v is not None)


def _rate_row(section: str, model: str, group: str, key: str, r: dict[str, Any] | None, cond: str = "") -> list[Any] | None:
    if r is None:
        return None
    ci = r.get("ci95") or [None, None]
    value = r.get("rate", r.get("mean"))
    return [section, model, group, key, r.get("n"), value, ci[0], ci[1], cond]


def _value_row(section: str, model: str, group: str, key: str, value: Any, n: Any = None, cond: str = "") -> list[Any]:
    return [section, model, group, key, n, value, None, None, cond]


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Long-format rows: section, model, group, key, n, rate, ci_low, ci_high, conditions.

    Rates and means fill `rate` and the interval; counts and plain figures put their value in
    `rate`; `conditions` holds the split conditions of the row (`seed=7;max_turns=3`)."""
    rows: list[list[Any] | None] = []
    rows.append(_value_row("summary", "", "", "total", report["total"], report["total"]))
    rows.append(_value_row("summary", "", "", "tests", report["tests"], report["tests"]))
    for k, v in report["by_status"].items():
        rows.append(_value_row("summary", "", "by_status", k, v, v))
    for k, v in report["by_success_level"].items():
        rows.append(_value_row("summary", "", "by_success_level", k, v, v))
    for axis, vals in (report.get("conditions") or {}).items():
        for v, c in vals:
            rows.append(_value_row("conditions", "", axis, _show(v), c, c))
    for _, e in (report.get("headline") or {}).items():
        m, cond = e.get("model", ""), _cond(e)
        for k in ("success", "full_success", "partial_success", "failure", "weighted_score"):
            rows.append(_rate_row("headline", m, "overall", k, e.get(k), cond))
        for g in ("by_prompt_type", "by_difficulty"):
            for t, r in e.get(g, {}).items():
                rows.append(_rate_row("headline", m, g.removeprefix("by_"), t, r, cond))
    for _, e in report["baseline"].items():
        m, cond = e.get("model", ""), _cond(e)
        for k in ("success", "full_success", "partial_success", "failure", "weighted_score", "tool_coverage",
                  "workflow_adherence", "efficiency", "precision", "avg_turns", "avg_tool_calls"):
            rows.append(_rate_row("baseline", m, "overall", k, e.get(k), cond))
        for g in ("by_task_type", "by_difficulty", "by_workflow"):
            for t, r in e.get(g, {}).items():
                rows.append(_rate_row("baseline", m, g.removeprefix("by_"), t, r, cond))
    for fam in report["scale"]:
        cond = _cond(fam)
        for x in fam["models"]:
            g = f"{fam['family']}:{x['size_b']:g}b"
            rows.append(_rate_row("scale", x["model"], g, "overall", x["success"], cond))
            for t, r in x["by_task_type"].items():
                rows.append(_rate_row("scale", x["model"], g, f"task_type:{t}", r, cond))
            for d, r in x["by_difficulty"].items():
                rows.append(_rate_row("scale", x["model"], g, f"difficulty:{d}", r, cond))
    for _, e in report["flaw_robustness"].items():
        m, cond = e.get("model", ""), _cond(e)
        for k, v in e.items():
            if k in ("model", "conditions"):
                continue
            group = "reference" if k == "optimal" else ("summary" if k == "mean" else "flaw")
            rows.append(_rate_row("flaw_robustness", m, group, k, v, cond))
    for _, e in report["tool_reliability"].items():
        for k, r in e["by_rate"].items():
            rows.append(_rate_row("tool_reliability", e.get("model", ""), "tool_success_rate", k, r, _cond(e)))
    for _, e in report["prompt_sensitivity"].items():
        m, cond = e.get("model", ""), _cond(e)
        for k in BASE_PROMPT_TYPES:
            rows.append(_rate_row("prompt_sensitivity", m, "prompt_type", k, e.get(k), cond))
        rows.append(_rate_row("prompt_sensitivity", m, "summary", "flawed_mean", e.get("flawed_mean"), cond))
        rows.append(_rate_row("prompt_sensitivity", m, "summary", "spread", e.get("spread"), cond))
        for k, r in e.get("by_prompt_type", {}).items():
            if k not in BASE_PROMPT_TYPES:
                rows.append(_rate_row("prompt_sensitivity", m, "prompt_type", k, r, cond))
    for _, e in report["error_categories"].items():
        m, cond = e.get("model", ""), _cond(e)
        for k, c in e["counts"].items():
            rows.append(["error_categories", m, "category", k, e["n"], e["shares"][k], None, None, cond])
            rows.append(_value_row("error_categories", m, "count", k, c, e["n"], cond))
    for o in report["operations"]:
        g = f"{o['provider']}/{o['key_label']}"
        for k in ("tests", "attempts", "calls", "rate_limited", "retries", "infra_errors", "latency_p50",
                  "latency_p95", "prompt_tokens", "completion_tokens", "cost_usd"):
            rows.append(_value_row("operations", "", g, k, o.get(k), o["latency_calls"] if k.startswith("latency") else None))
    for section, comps in (("paired", report.get("paired") or []), ("comparisons", report["comparisons"])):
        for c in comps:
            label = f"{c['a']} vs {c['b']}"
            metric = c.get("metric", "success")
            ci = c.get("ci95") or [None, None]
            rows.append([section, label, metric, "diff", c["n_pairs"], c.get("diff"), ci[0], ci[1], ""])
            rows.append(_value_row(section, label, metric, "mean_a", c.get("mean_a"), c["n_pairs"]))
            rows.append(_value_row(section, label, metric, "mean_b", c.get("mean_b"), c["n_pairs"]))
            rows.append(_value_row(section, label, metric, "p_value", c.get("p_value"), c["n_pairs"]))
            rows.append(_value_row(section, label, metric, "clusters", c.get("clusters"), c["n_pairs"]))
    return [r for r in rows if r is not None]


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for r in csv_rows(report):
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue()
