"""Render a report dict (from `build_report`) as Markdown, long-format CSV, JSON or one
self-contained HTML file with embedded plots.

Markdown and HTML share one table model (`tables(report)`), so both show the same cells: every
rate as `0.62 [0.55, 0.69] n=120`, every mean with its interval and N.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from ..benchmark.types import BASE_PROMPT_TYPES, ERROR_CATEGORIES
from ..config import player_label

REPORT_FORMATS: tuple[str, ...] = ("markdown", "csv", "json", "html")
DASH = "–"

# ---------------------------------------------------------------------------- cell formatting


def fmt_num(v: Any, digits: int = 2) -> str:
    if v is None:
        return DASH
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def fmt_rate(r: dict[str, Any] | None) -> str:
    """`0.62 [0.55, 0.69] n=120`; `– n=0` for an empty cell."""
    if r is None:
        return DASH
    n = r.get("n", 0)
    if not n or r.get("rate") is None:
        return f"{DASH} n={n}"
    lo, hi = r["ci95"]
    return f"{r['rate']:.2f} [{lo:.2f}, {hi:.2f}] n={n}"


def fmt_mean(m: dict[str, Any] | None) -> str:
    """A mean_ci object: `0.55 [0.48, 0.62] n=120` (no interval below two values)."""
    if m is None:
        return DASH
    n = m.get("n", 0)
    if not n or m.get("mean") is None:
        return f"{DASH} n={n}"
    if m.get("ci95") is None:
        return f"{m['mean']:.2f} n={n}"
    lo, hi = m["ci95"]
    return f"{m['mean']:.2f} [{lo:.2f}, {hi:.2f}] n={n}"


def fmt_p(p: float | None) -> str:
    if p is None:
        return DASH
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_stat(m: dict[str, Any] | None) -> str:
    """A statistic derived from other cells (a mean of rates, a spread): `0.40 [0.31, 0.52]`."""
    if m is None or m.get("mean") is None:
        return DASH
    if m.get("ci95") is None:
        return f"{m['mean']:.2f}"
    lo, hi = m["ci95"]
    return f"{m['mean']:.2f} [{lo:.2f}, {hi:.2f}]"


def fmt_diff(c: dict[str, Any]) -> str:
    if c.get("diff") is None:
        return DASH
    ci = c.get("ci95")
    return f"{c['diff']:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "")


def _union(dicts: Iterable[dict[str, Any]], skip: Iterable[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    skip = set(skip)
    for d in dicts:
        for k in d:
            if k not in skip:
                seen.setdefault(k, None)
    return list(seen)


# ---------------------------------------------------------------------------- table model

SCORING_DOC = "docs/scoring.md"
AXIS_NAMES = {
    "suite_version": "suite versions", "seed": "seeds", "max_turns": "max turns",
    "tool_success_rate": "tool success rates", "difficulty": "difficulties", "severity": "flaw severities",
    "run_id": "runs", "prompt_type": "prompt types", "task_type": "task types",
}
SPLIT_NAMES = {"suite_version": "suite version", "seed": "seed", "max_turns": "max turns",
               "tool_success_rate": "tool success rate", "severity": "flaw severity", "prompt_type": "prompt type"}

# "How to read this report": every figure the tables show, defined in one place.
READING_GUIDE: tuple[tuple[str, str], ...] = (
    ("Test", "One multi-turn conversation: a model, a task instance (its tool chain, the workflow), a prompt "
             "type, a difficulty (wording only), a tool success rate, a seed, a flaw severity, max turns and "
             "a suite version. Statistics count done tests only; error rows are infrastructure failures."),
    ("Success", "Full or partial success: the share of tests that reached either level."),
    ("Full", "Every step done (a step is done only by a successful call of its tool on the outputs of the "
             "steps it depends on), a final answer whose RESULT line names the final step's output handle, "
             "and no more than max(3, steps) calls that were not useful."),
    ("Partial", "Not full, but at least half of the required steps done (and at least two) and at least half of the model's calls useful."),
    ("Failure", "Anything less than partial success."),
    ("Weighted score", "1 for a full success, 0.5 for a partial one, 0 for a failure, averaged over tests."),
    ("Tool coverage", "Steps done over the task's steps."),
    ("Workflow adherence", "Longest common subsequence of the order in which steps were first done and the "
                           "task's order, over the steps."),
    ("Efficiency", "Steps over calls made, capped at 1; 0 when no step was done."),
    ("Precision", "Useful calls over calls made (0 with no call): calls the task did not need, refused calls "
                  "and repeats of a done step lower it (– for rows stored before precision existed)."),
    ("Flawed mean", "The mean of the success rates of the flawed_* prompt types present."),
    ("Spread", "Largest minus smallest of the baseline, CoT, optimal and flawed-mean success rates."),
    ("Cells", "`0.62 [0.55, 0.69] n=120`: the value, its 95% interval and the number of tests."),
    ("Instances", "Distinct task instances behind a row (suite version, seed, task type, instance): the "
                  "independent units of the intervals. A workflow is an instance's tool chain; several "
                  "instances can share one (`--by workflow` breaks 5.1 down by it)."),
    ("Intervals", "Tests of one task instance are correlated (same task, same tool chain), so every interval "
                  "comes from a cluster bootstrap over task instances (within task types when each has 10 or "
                  "more), with a fixed seed. "
                  "Rates use the Wilson interval at the effective sample size n / design effect; when every test "
                  "agrees (0 or 1), each instance counts once. Means use the bootstrap percentiles."),
    ("Paired comparisons", "Two models on the same tests: mean difference A - B with its clustered interval; p "
                           "from a sign-flip permutation test in which the tests of one instance flip together."),
    ("Conditions", "A section never mixes conditions silently: rows are split (the label says by what) when "
                   "suite version, seed, max turns, tool success rate or flaw severity differ, unless --pool was given."),
)


def _table(caption: str, headers: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"caption": caption, "headers": headers, "rows": rows}


def _section(sid: str, title: str, tables: list[dict[str, Any]], note: str = "",
             link: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": sid, "title": title, "tables": tables, "note": note, "link": link}


def _show(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _covers_text(meta: dict[str, Any]) -> str:
    parts = []
    for axis, vals in (meta.get("covers") or {}).items():
        if vals:
            parts.append(f"{AXIS_NAMES.get(axis, axis)} {', '.join(_show(v) for v in vals)}")
    return ("Covers: " + "; ".join(parts) + ".") if parts else "No results."


def _split_text(meta: dict[str, Any]) -> str:
    if meta.get("split_by"):
        names = ", ".join(SPLIT_NAMES.get(a, a) for a in meta["split_by"])
        return f"Rows are split by {names} (not the same across this section's tests) (pass --pool to pool them)."
    if meta.get("pooled"):
        names = ", ".join(SPLIT_NAMES.get(a, a) for a in meta["pooled"])
        return f"Pooled on request over differing {names}: these rows mix conditions."
    return ""


def _note(report: dict[str, Any], sid: str, extra: str = "") -> str:
    meta = (report.get("sections") or {}).get(sid) or {}
    if not meta.get("n"):
        return " ".join(p for p in (meta.get("definition", ""), extra) if p)
    uneven = ""
    if meta.get("uneven"):
        names = " and ".join(AXIS_NAMES.get(a, a) for a in meta["uneven"])
        uneven = (f"Warning: the rows do not cover the same {names}, so their overall figures average "
                  "different mixes; compare them in the breakdowns below.")
    parts = [meta.get("definition", ""), _covers_text(meta) if "covers" in meta else "", _split_text(meta), uneven, extra]
    return " ".join(p for p in parts if p)


HEADLINE_TITLE = "Results per model"


def headline_section(report: dict[str, Any]) -> dict[str, Any]:
    """The report's first table: per model, success, full success and weighted score with their 95%
    intervals and N over every done test, then success by prompt type and by difficulty."""
    head = report.get("headline") or {}
    t1 = _table("Success, full success and weighted score (95% intervals)",
                ["Model", "N", "Instances", "Success", "Full", "Weighted score"],
                [[m, fmt_num(e["n"]), fmt_num(e.get("instances")), fmt_rate(e.get("success")),
                  fmt_rate(e.get("full_success")), fmt_mean(e.get("weighted_score"))] for m, e in head.items()])
    prompts = _union(e.get("by_prompt_type", {}) for e in head.values())
    t2 = _table("Success by prompt type", ["Model"] + prompts,
                [[m] + [fmt_rate(e.get("by_prompt_type", {}).get(p)) for p in prompts] for m, e in head.items()])
    diffs = _union(e.get("by_difficulty", {}) for e in head.values())
    t3 = _table("Success by difficulty", ["Model"] + diffs,
                [[m] + [fmt_rate(e.get("by_difficulty", {}).get(d)) for d in diffs] for m, e in head.items()])
    return _section("headline", HEADLINE_TITLE, [t1, t2, t3] if head else [],
                    _note(report, "headline", "" if head else "No done tests."))


def tables(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as sections of plain string tables (shared by Markdown and HTML): the headline
    per-model table first, the bookkeeping (operations, reply shapes) last."""
    sections = []
    if "headline" in report:  # a report dict from before the headline existed renders without it
        sections.append(headline_section(report))

    filters = report.get("filters") or {}
    active = ", ".join(f"{k}={','.join(map(_show, v))}" for k, v in filters.items() if v is not None) or "none"
    st = report.get("statistics") or {}
    summary_rows = [
        ["Attempt rows", fmt_num(report["total"])],
        ["Distinct tests", fmt_num(report["tests"])],
    ]
    summary_rows += [[f"Status: {k}", fmt_num(v)] for k, v in report["by_status"].items()]
    summary_rows += [[f"Done: {k}", fmt_num(v)] for k, v in report["by_success_level"].items()]
    summary_rows += [
        ["Models", ", ".join(report["models"]) or DASH],
        ["Task instances", fmt_num(st.get("instances"))],
        ["Distinct workflows (tool chains)", fmt_num(st.get("workflows")) if st.get("workflows") else f"{DASH} (not recorded)"],
        ["Filters", active],
        ["Conditions pooled on request", "yes" if report.get("pooled") else "no"],
    ]
    if st:
        summary_rows.append(["Intervals", f"cluster bootstrap over {st.get('cluster')}s ({st.get('clusters')} clusters, "
                                          f"{st.get('bootstrap_replicates')} replicates, seed {st.get('bootstrap_seed')})"])
    if report.get("generated_at"):
        summary_rows.append(["Generated", report["generated_at"]])
    cond_rows = [
        [AXIS_NAMES.get(axis, axis).capitalize(), ", ".join(f"{_show(v)} ({c})" for v, c in vals) or DASH]
        for axis, vals in (report.get("conditions") or {}).items()
    ]
    sections.append(_section(
        "summary", "Summary",
        [_table("", ["Item", "Value"], summary_rows),
         _table("Conditions covered (done tests per value)", ["Condition", "Values (tests)"], cond_rows)],
        "Model statistics count done rows only (one per test); error rows are infrastructure failures.",
    ))

    sections.append(_section(
        "how_to_read", "How to read this report",
        [_table("", ["Term", "Meaning"], [[t, d] for t, d in READING_GUIDE])],
        "Every metric below is computed by the scorer for each test and stored with it; the report only aggregates.",
        {"text": f"Scoring rules with worked examples: {SCORING_DOC}", "href": SCORING_DOC},
    ))

    base = report["baseline"]
    t1 = _table("Success levels", ["Model", "N", "Instances", "Success", "Full", "Partial", "Failure"],
                [[m, fmt_num(e["n"]), fmt_num(e.get("instances")), fmt_rate(e["success"]), fmt_rate(e["full_success"]),
                  fmt_rate(e["partial_success"]), fmt_rate(e["failure"])] for m, e in base.items()])
    t2 = _table("Scores (means with 95% intervals)",
                ["Model", "Weighted score", "Tool coverage", "Workflow adherence", "Efficiency", "Precision",
                 "Avg turns", "Avg tool calls"],
                [[m] + [fmt_mean(e.get(k)) for k in ("weighted_score", "tool_coverage", "workflow_adherence",
                                                     "efficiency", "precision", "avg_turns", "avg_tool_calls")]
                 for m, e in base.items()])
    tasks = _union(e["by_task_type"] for e in base.values())
    t3 = _table("Success by task type", ["Model"] + tasks,
                [[m] + [fmt_rate(e["by_task_type"].get(t)) for t in tasks] for m, e in base.items()])
    diffs = _union(e.get("by_difficulty", {}) for e in base.values())
    t4 = _table("Success by difficulty", ["Model"] + diffs,
                [[m] + [fmt_rate(e.get("by_difficulty", {}).get(d)) for d in diffs] for m, e in base.items()])
    base_tables = [t1, t2, t3, t4]
    if any("by_workflow" in e for e in base.values()):
        wf_rows = [[m, wf, fmt_rate(r)] for m, e in base.items() for wf, r in e.get("by_workflow", {}).items()]
        base_tables.append(_table("Success by workflow (tool chain)", ["Model", "Workflow", "Success"], wf_rows))
    sections.append(_section("baseline", "5.1 Baseline", base_tables,
                             _note(report, "baseline", "" if base else "No baseline-prompt results.")))

    scale_tables = []
    for fam in report["scale"]:
        ftasks = _union(x["by_task_type"] for x in fam["models"])
        fdiffs = _union(x["by_difficulty"] for x in fam["models"])
        name = fam.get("label", fam["family"])
        scale_tables.append(_table(
            f"{name}: success by task type", ["Size (B)", "Model", "Overall"] + ftasks,
            [[fmt_num(x["size_b"], 1), x["model"], fmt_rate(x["success"])]
             + [fmt_rate(x["by_task_type"].get(t)) for t in ftasks] for x in fam["models"]],
        ))
        scale_tables.append(_table(
            f"{name}: success by difficulty", ["Size (B)", "Model"] + fdiffs,
            [[fmt_num(x["size_b"], 1), x["model"]] + [fmt_rate(x["by_difficulty"].get(d)) for d in fdiffs]
             for x in fam["models"]],
        ))
    sections.append(_section(
        "scale", "5.2 Scale", scale_tables,
        _note(report, "scale", "" if scale_tables else "No model family with two or more sizes in the results."),
    ))

    flaws = report["flaw_robustness"]
    flaw_cols = _union(flaws.values(), skip=("mean", "optimal", "model", "conditions"))
    sections.append(_section(
        "flaw_robustness", "5.3 Flaw robustness",
        [_table("Success per flaw type", ["Model"] + [c.removeprefix("flawed_") for c in flaw_cols] + ["Mean", "Optimal (reference)"],
                [[m] + [fmt_rate(e.get(c)) for c in flaw_cols] + [fmt_stat(e.get("mean")), fmt_rate(e.get("optimal"))]
                 for m, e in flaws.items()])] if flaws else [],
        _note(report, "flaw_robustness", "" if flaws else "No flawed-prompt results."),
    ))

    rel = report["tool_reliability"]
    rates = sorted(_union(e["by_rate"] for e in rel.values()), key=lambda s: -float(s))
    sections.append(_section(
        "tool_reliability", "5.4 Tool reliability",
        [_table("Success by tool success rate", ["Model"] + rates,
                [[m] + [fmt_rate(e["by_rate"].get(r)) for r in rates] for m, e in rel.items()])] if rel else [],
        _note(report, "tool_reliability", "" if rel else "No model was run at two or more tool success rates."),
    ))

    sens = report["prompt_sensitivity"]
    t1 = _table("Success by prompt type", ["Model", "Baseline", "CoT", "Optimal", "Flawed mean", "Spread"],
                [[m, fmt_rate(e.get("baseline")), fmt_rate(e.get("cot")), fmt_rate(e.get("optimal")),
                  fmt_stat(e.get("flawed_mean")), fmt_stat(e.get("spread"))] for m, e in sens.items()])
    prompts = _union(e.get("by_prompt_type", {}) for e in sens.values())
    t2 = _table("Every prompt type", ["Model"] + [p.removeprefix("flawed_") if p.startswith("flawed_") else p for p in prompts],
                [[m] + [fmt_rate(e.get("by_prompt_type", {}).get(p)) for p in prompts] for m, e in sens.items()])
    sections.append(_section("prompt_sensitivity", "5.5 Prompt sensitivity", [t1, t2], _note(report, "prompt_sensitivity")))

    errs = report["error_categories"]
    cats = _union((e["counts"] for e in errs.values())) or list(ERROR_CATEGORIES)
    rows = []
    for m, e in errs.items():
        row = [m, fmt_num(e["n"])]
        row += [f"{e['counts'].get(c, 0)} ({100 * e['shares'].get(c, 0.0):.0f}%)" for c in cats]
        row.append(fmt_num(e.get("uncategorized", 0)))
        rows.append(row)
    emeta = (report.get("sections") or {}).get("error_categories") or {}
    sections.append(_section(
        "error_categories", "Error categories",
        [_table("Error categories of non-full done results (count, share)", ["Model", "N"] + cats + ["Uncategorized"], rows)],
        " ".join(p for p in (emeta.get("definition", ""), _split_text(emeta)) if p),
    ))

    paired = report.get("paired") or []
    rows = [[c.get("metric", "success"), c["a"], c["b"], fmt_num(c["n_pairs"]), fmt_num(c.get("clusters")),
             fmt_num(c.get("mean_a")), fmt_num(c.get("mean_b")), fmt_diff(c), fmt_p(c.get("p_value"))]
            for c in paired]
    sections.append(_section(
        "paired", "Paired comparisons",
        [_table("Every pair of models on the tests both ran (A - B)",
                ["Metric", "A", "B", "Pairs", "Instances", "Mean A", "Mean B", "Diff [95% CI]", "p"], rows)] if rows else [],
        ("Pairs are the same test (task instance, prompt type, difficulty, tool success rate, seed, severity, "
         "max turns, suite version) run by both models. The interval is a cluster bootstrap over task "
         "instances; p is a permutation test that flips the sign of each instance's differences together.")
        if rows else "Fewer than two models with shared tests.",
    ))

    comps = report["comparisons"]
    rows = []
    for c in comps:
        rows.append([c["a"], c["b"], fmt_num(c["n_pairs"]), fmt_num(c.get("clusters")), fmt_num(c.get("mean_a")),
                     fmt_num(c.get("mean_b")), fmt_diff(c), fmt_p(c.get("p_value")), c.get("test") or DASH])
    sections.append(_section(
        "comparisons", "Requested comparisons",
        [_table("Paired success comparisons (A - B)", ["A", "B", "Pairs", "Instances", "Success A", "Success B",
                                                        "Diff [95% CI]", "p", "Test"], rows)] if rows else [],
        "" if rows else "No comparisons requested (--compare A:B).",
    ))
    ops = report["operations"]
    rows = [
        [o["provider"] or DASH, o["key_label"] or DASH, fmt_num(o["tests"]), fmt_num(o["attempts"]), fmt_num(o["calls"]),
         fmt_num(o["rate_limited"]), fmt_num(o["retries"]), fmt_num(o["infra_errors"]),
         fmt_num(o["latency_p50"], 3), fmt_num(o["latency_p95"], 3), fmt_num(o["latency_calls"]),
         fmt_num(o["prompt_tokens"]), fmt_num(o["completion_tokens"]),
         DASH if o.get("cost_usd") is None else f"${o['cost_usd']:.4f}" + (" (partial)" if o.get("unpriced_models") else ""),
         o.get("state") or "ok"]
        for o in ops
    ]
    sections.append(_section(
        "operations", "Operations",
        [_table("Per provider and key (all attempt rows)",
                ["Provider", "Key", "Tests", "Attempts", "Calls", "429s", "Retries", "Infra errors",
                 "Latency p50 (s)", "Latency p95 (s)", "N latencies", "Prompt tokens", "Completion tokens", "Cost (USD)",
                 "State"],
                rows)],
    ))

    shapes = report.get("reply_shapes") or []
    rows = [[r["model"], fmt_num(r["tests"]), fmt_num(r["tool_calls"]), fmt_num(r["text_calls"]),
             fmt_num(r["text_call_share"]), fmt_rate(r["tests_with_text_calls"]), fmt_num(r["truncated_replies"]),
             fmt_rate(r["tests_with_truncation"]), fmt_num(r["format_errors"]), fmt_rate(r.get("plain_results"))]
            for r in shapes]
    sections.append(_section(
        "reply_shapes", "Reply shapes",
        [_table("Tool calls written as text (no native tool_calls), replies cut off at the token limit and results "
                "reported in plain words, done tests",
                ["Model", "Tests", "Tool calls", "Text calls", "Share as text", "Tests with text calls",
                 "Truncated replies", "Tests with truncation", "Format errors", "Plain results"], rows)] if rows else [],
        "A text call is a tool call the model wrote in its reply's text (bare or fenced JSON, Hermes, Llama or "
        "Mistral forms) in native mode, run as a call; a truncated reply is never scored as an answer. A plain "
        "result is a final answer with no RESULT line naming a handle that names exactly one handle in its words "
        "(\"The results are stored in the `h_0af9be40` handle\"): it reports that handle (docs/scoring.md).",
    ))

    _mark_players(sections, report)
    return sections


PLAYER_COLUMNS = ("Model", "A", "B")


def _mark_players(sections: list[dict[str, Any]], report: dict[str, Any]) -> None:
    """Human players sit beside the models in every table, marked: `human/alice (human, N=12)`."""
    players = report.get("players") or {}
    humans = {m: p.get("tests") for m, p in players.items() if p.get("kind") == "human"}
    if not humans:
        return

    def mark(label: str) -> str:
        name = label.partition(" [")[0]
        return player_label(label, humans[name]) if name in humans else label

    for section in sections:
        for table in section["tables"]:
            cols = [i for i, h in enumerate(table["headers"]) if h in PLAYER_COLUMNS]
            for row in table["rows"]:
                for i in cols:
                    if i < len(row) and isinstance(row[i], str):
                        row[i] = mark(row[i])
                if row and row[0] == "Models" and len(row) > 1:
                    row[1] = ", ".join(mark(m) for m in report.get("models") or []) or DASH


# ---------------------------------------------------------------------------- markdown


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: dict[str, Any]) -> str:
    out = ["# pilotbench report", ""]
    for sec in tables(report):
        out += [f"## {sec['title']}", ""]
        if sec["note"]:
            out += [sec["note"], ""]
        if sec.get("link"):
            out += [f"[{sec['link']['text']}]({sec['link']['href']})", ""]
        for t in sec["tables"]:
            if t["caption"]:
                out += [f"**{t['caption']}**", ""]
            if not t["rows"]:
                out += ["_No data._", ""]
                continue
            out.append("| " + " | ".join(_md_cell(h) for h in t["headers"]) + " |")
            out.append("|" + "|".join("---" for _ in t["headers"]) + "|")
            for r in t["rows"]:
                out.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


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


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------- plots


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _yerr(rates: list[dict[str, Any] | None]) -> tuple[list[float], list[list[float]]]:
    vals, lo, hi = [], [], []
    for r in rates:
        if r is None or not r.get("n") or r.get("rate") is None:
            vals.append(float("nan"))
            lo.append(0.0)
            hi.append(0.0)
        else:
            vals.append(r["rate"])
            lo.append(max(0.0, r["rate"] - r["ci95"][0]))
            hi.append(max(0.0, r["ci95"][1] - r["rate"]))
    return vals, [lo, hi]


def _plot_success_by_model(report: dict[str, Any]) -> str | None:
    base = report["baseline"]
    if not base:
        return None
    models = list(base)
    vals, err = _yerr([base[m]["success"] for m in models])
    fig = _figure(max(5.0, 0.8 * len(models) + 2), 3.6)
    ax = fig.add_subplot()
    ax.bar(range(len(models)), vals, yerr=err, capsize=4, color="#4C72B0")
    ax.set_xticks(range(len(models)), models, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (95% CI)")
    ax.set_title("Success by model")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _plot_by_prompt(report: dict[str, Any]) -> str | None:
    base = report["prompt_sensitivity"]
    prompts = _union(e.get("by_prompt_type", {}) for e in base.values())
    if not prompts:
        return None
    models = list(base)
    fig = _figure(max(6.0, 0.7 * len(prompts) * max(1, len(models)) ** 0.5 + 3), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        vals, err = _yerr([base[m].get("by_prompt_type", {}).get(p) for p in prompts])
        xs = [j - 0.4 + width * (i + 0.5) for j in range(len(prompts))]
        ax.bar(xs, vals, width=width, yerr=err, capsize=2, label=m)
    ax.set_xticks(range(len(prompts)), [p.removeprefix("flawed_") for p in prompts], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (95% CI)")
    ax.set_title("Success by prompt type")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _plot_reliability(report: dict[str, Any]) -> str | None:
    rel = report["tool_reliability"]
    if not any(e["by_rate"] for e in rel.values()):
        return None
    fig = _figure(6.0, 3.8)
    ax = fig.add_subplot()
    for m, e in rel.items():
        e = e["by_rate"]
        keys = sorted(e, key=float)
        if not keys:
            continue
        vals, err = _yerr([e[k] for k in keys])
        ax.errorbar([float(k) for k in keys], vals, yerr=err, marker="o", capsize=3, label=m)
    ax.set_xlabel("tool success rate")
    ax.set_ylabel("success rate (95% CI)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Tool reliability")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _plot_errors(report: dict[str, Any]) -> str | None:
    errs = {m: e for m, e in report["error_categories"].items() if e["n"]}
    if not errs:
        return None
    models = list(errs)
    cats = _union(e["counts"] for e in errs.values())
    fig = _figure(max(6.0, 0.8 * len(models) + 4), 4.0)
    ax = fig.add_subplot()
    bottom = [0.0] * len(models)
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for i, c in enumerate(cats):
        vals = [errs[m]["shares"].get(c, 0.0) for m in models]
        ax.bar(range(len(models)), vals, bottom=bottom, label=c, color=cmap(i % 10))
        bottom = [b + v for b, v in zip(bottom, vals)]
    unknown = [errs[m].get("uncategorized", 0) / errs[m]["n"] for m in models]
    if any(unknown):
        ax.bar(range(len(models)), unknown, bottom=bottom, label="uncategorized", color="#bbbbbb", hatch="//")
    ax.set_xticks(range(len(models)), [f"{m}\nn={errs[m]['n']}" for m in models], rotation=30, ha="right")
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("share of non-full results")
    ax.set_title("Error categories")
    ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return _png(fig)


def _plot_scale(report: dict[str, Any]) -> str | None:
    if not report["scale"]:
        return None
    fig = _figure(6.0, 3.8)
    ax = fig.add_subplot()
    for fam in report["scale"]:
        xs = [x["size_b"] for x in fam["models"]]
        vals, err = _yerr([x["success"] for x in fam["models"]])
        ax.errorbar(xs, vals, yerr=err, marker="o", capsize=3, label=fam.get("label", fam["family"]))
    ax.set_xscale("log")
    sizes = sorted({x["size_b"] for fam in report["scale"] for x in fam["models"]})
    ax.set_xticks(sizes, [f"{s:g}B" for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("parameters (B)")
    ax.set_ylabel("success rate (95% CI)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Success by model size")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def make_plots(report: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Base64 PNG plots keyed by section id."""
    made: dict[str, list[dict[str, str]]] = {}
    for sid, title, fn in (
        ("baseline", "Success by model", _plot_success_by_model),
        ("scale", "Success by model size", _plot_scale),
        ("tool_reliability", "Tool reliability", _plot_reliability),
        ("prompt_sensitivity", "Success by prompt type", _plot_by_prompt),
        ("error_categories", "Error categories", _plot_errors),
    ):
        png = fn(report)
        if png:
            made.setdefault(sid, []).append({"title": title, "png": png})
    return made


# ---------------------------------------------------------------------------- html


def _breakable(text: Any) -> Any:
    """Escaped text with a line-break opportunity after each `_` and `/` (long identifiers wrap)."""
    from markupsafe import Markup, escape

    return Markup(str(escape(text)).replace("_", "_<wbr>").replace("/", "/<wbr>"))


def _template() -> Any:
    import jinja2

    text = resources.files(__package__).joinpath("templates", "report.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["wbr"] = _breakable
    return env.from_string(text)


WIDE_COLUMNS = 8  # an HTML table with more columns than this and fewer rows is transposed


def transpose_wide(table: dict[str, Any]) -> dict[str, Any]:
    """A table with more than WIDE_COLUMNS columns but fewer rows than columns, turned so that
    its rows become columns: it then fits the page's width (and its print width)."""
    headers, rows = table["headers"], table["rows"]
    if len(headers) <= WIDE_COLUMNS or not rows or len(rows) + 1 >= len(headers):
        return table
    new_headers = [headers[0]] + [r[0] for r in rows]
    new_rows = [[headers[j]] + [r[j] for r in rows] for j in range(1, len(headers))]
    return {**table, "headers": new_headers, "rows": new_rows, "transposed": True}


PART_COLUMNS = 6  # data columns per part when a wide table with many rows is split


def fit_width(table: dict[str, Any]) -> list[dict[str, Any]]:
    """The table as it fits a page: as is, transposed (wide with few rows), or split into parts
    of at most PART_COLUMNS data columns, each repeating the first column (wide with many rows)."""
    turned = transpose_wide(table)
    if turned is not table or len(table["headers"]) <= WIDE_COLUMNS:
        return [turned]
    cols = list(range(1, len(table["headers"])))
    chunks = [cols[i:i + PART_COLUMNS] for i in range(0, len(cols), PART_COLUMNS)]
    parts = []
    for n, chunk in enumerate(chunks, 1):
        parts.append({
            **table,
            "caption": f"{table['caption']} (part {n} of {len(chunks)})".strip(),
            "headers": [table["headers"][0]] + [table["headers"][j] for j in chunk],
            "rows": [[r[0]] + [r[j] for j in chunk] for r in table["rows"]],
        })
    return parts


def to_html(report: dict[str, Any], plots: bool = True) -> str:
    """One self-contained HTML page: inline CSS, tables, plots as embedded base64 PNGs.

    Tables fit the page: cells wrap, wide tables with few rows are transposed, and wide tables
    with many rows are split into parts (`fit_width`)."""
    images = make_plots(report) if plots else {}
    sections = [{**s, "tables": [part for t in s["tables"] for part in fit_width(t)]} for s in tables(report)]
    return _template().render(
        sections=sections,
        images=images,
        report=report,
        title="pilotbench report",
    )



def render(report: dict[str, Any], fmt: str, *, plots: bool = True) -> str:
    """Render in one of REPORT_FORMATS."""
    if fmt in ("markdown", "md"):
        return to_markdown(report)
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    if fmt == "html":
        return to_html(report, plots=plots)
    raise ValueError(f"unknown report format {fmt!r}; choose from {', '.join(REPORT_FORMATS)}")
