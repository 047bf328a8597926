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


def _union(dicts: Iterable[dict[str, Any]], skip: Iterable[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    skip = set(skip)
    for d in dicts:
        for k in d:
            if k not in skip:
                seen.setdefault(k, None)
    return list(seen)


# ---------------------------------------------------------------------------- table model


def _table(caption: str, headers: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"caption": caption, "headers": headers, "rows": rows}


def _section(sid: str, title: str, tables: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
    return {"id": sid, "title": title, "tables": tables, "note": note}


def tables(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as sections of plain string tables (shared by Markdown and HTML)."""
    sections = []

    filters = report.get("filters") or {}
    active = ", ".join(f"{k}={','.join(map(str, v))}" for k, v in filters.items() if v is not None) or "none"
    summary_rows = [
        ["Attempt rows", fmt_num(report["total"])],
        ["Distinct tests", fmt_num(report["tests"])],
    ]
    summary_rows += [[f"Status: {k}", fmt_num(v)] for k, v in report["by_status"].items()]
    summary_rows += [[f"Done: {k}", fmt_num(v)] for k, v in report["by_success_level"].items()]
    summary_rows += [["Models", ", ".join(report["models"]) or DASH], ["Filters", active]]
    if report.get("generated_at"):
        summary_rows.append(["Generated", report["generated_at"]])
    sections.append(_section(
        "summary", "Summary", [_table("", ["Item", "Value"], summary_rows)],
        "Model statistics count done rows only (one per test); error rows are infrastructure failures.",
    ))

    base = report["baseline"]
    rows = [
        [m, fmt_num(e["n"]), fmt_rate(e["success"]), fmt_rate(e["full_success"]), fmt_rate(e["partial_success"]),
         fmt_rate(e["failure"]), fmt_mean(e["weighted_score"]), fmt_num(e["avg_turns"]),
         fmt_num(e["tool_coverage"]), fmt_num(e["workflow_adherence"]), fmt_num(e["efficiency"])]
        for m, e in base.items()
    ]
    t1 = _table("Overall (all done rows matching the filters)",
                ["Model", "N", "Success", "Full", "Partial", "Failure", "Weighted score", "Avg turns",
                 "Tool coverage", "Workflow adherence", "Efficiency"], rows)
    tasks = _union(e["by_task_type"] for e in base.values())
    t2 = _table("Success by task type", ["Model"] + tasks,
                [[m] + [fmt_rate(e["by_task_type"].get(t)) for t in tasks] for m, e in base.items()])
    sections.append(_section("baseline", "5.1 Baseline", [t1, t2]))

    scale_tables = []
    for fam in report["scale"]:
        ftasks = _union(x["by_task_type"] for x in fam["models"])
        fdiffs = _union(x["by_difficulty"] for x in fam["models"])
        scale_tables.append(_table(
            f"{fam['family']}: success by task type", ["Size (B)", "Model", "Overall"] + ftasks,
            [[fmt_num(x["size_b"], 1), x["model"], fmt_rate(x["success"])]
             + [fmt_rate(x["by_task_type"].get(t)) for t in ftasks] for x in fam["models"]],
        ))
        scale_tables.append(_table(
            f"{fam['family']}: success by difficulty", ["Size (B)", "Model"] + fdiffs,
            [[fmt_num(x["size_b"], 1), x["model"]] + [fmt_rate(x["by_difficulty"].get(d)) for d in fdiffs]
             for x in fam["models"]],
        ))
    sections.append(_section(
        "scale", "5.2 Scale", scale_tables,
        "" if scale_tables else "No model family with two or more sizes in the results.",
    ))

    flaws = report["flaw_robustness"]
    flaw_cols = _union(flaws.values(), skip=("mean", "optimal"))
    sections.append(_section(
        "flaw_robustness", "5.3 Flaw robustness",
        [_table("Success per flaw type", ["Model"] + [c.removeprefix("flawed_") for c in flaw_cols] + ["Mean", "Optimal (reference)"],
                [[m] + [fmt_rate(e.get(c)) for c in flaw_cols] + [fmt_num(e.get("mean")), fmt_rate(e.get("optimal"))]
                 for m, e in flaws.items()])] if flaws else [],
        "" if flaws else "No flawed-prompt results.",
    ))

    rel = report["tool_reliability"]
    rates = sorted(_union(rel.values()), key=lambda s: -float(s))
    sections.append(_section(
        "tool_reliability", "5.4 Tool reliability",
        [_table("Success by tool success rate", ["Model"] + rates,
                [[m] + [fmt_rate(e.get(r)) for r in rates] for m, e in rel.items()])],
    ))

    sens = report["prompt_sensitivity"]
    t1 = _table("Success by prompt type", ["Model", "Baseline", "CoT", "Optimal", "Flawed mean", "Spread"],
                [[m, fmt_rate(e.get("baseline")), fmt_rate(e.get("cot")), fmt_rate(e.get("optimal")),
                  fmt_num(e.get("flawed_mean")), fmt_num(e.get("spread"))] for m, e in sens.items()])
    prompts = _union(e.get("by_prompt_type", {}) for e in base.values())
    t2 = _table("Every prompt type", ["Model"] + prompts,
                [[m] + [fmt_rate(e.get("by_prompt_type", {}).get(p)) for p in prompts] for m, e in base.items()])
    sections.append(_section("prompt_sensitivity", "5.5 Prompt sensitivity", [t1, t2],
                             "Spread = max - min over the available baseline, CoT, optimal and flawed-mean rates."))

    errs = report["error_categories"]
    cats = _union((e["counts"] for e in errs.values())) or list(ERROR_CATEGORIES)
    rows = []
    for m, e in errs.items():
        row = [m, fmt_num(e["n"])]
        row += [f"{e['counts'].get(c, 0)} ({100 * e['shares'].get(c, 0.0):.0f}%)" for c in cats]
        row.append(fmt_num(e.get("uncategorized", 0)))
        rows.append(row)
    sections.append(_section(
        "error_categories", "Error categories",
        [_table("Error categories of non-full done results (count, share)", ["Model", "N"] + cats + ["Uncategorized"], rows)],
    ))

    ops = report["operations"]
    rows = [
        [o["provider"] or DASH, o["key_label"] or DASH, fmt_num(o["tests"]), fmt_num(o["attempts"]), fmt_num(o["calls"]),
         fmt_num(o["rate_limited"]), fmt_num(o["retries"]), fmt_num(o["infra_errors"]),
         fmt_num(o["latency_p50"], 3), fmt_num(o["latency_p95"], 3), fmt_num(o["latency_calls"]),
         fmt_num(o["prompt_tokens"]), fmt_num(o["completion_tokens"]),
         DASH if o.get("cost_usd") is None else f"${o['cost_usd']:.4f}" + (" (partial)" if o.get("unpriced_models") else "")]
        for o in ops
    ]
    sections.append(_section(
        "operations", "Operations",
        [_table("Per provider and key (all attempt rows)",
                ["Provider", "Key", "Tests", "Attempts", "Calls", "429s", "Retries", "Infra errors",
                 "Latency p50 (s)", "Latency p95 (s)", "N latencies", "Prompt tokens", "Completion tokens", "Cost (USD)"],
                rows)],
    ))

    comps = report["comparisons"]
    rows = []
    for c in comps:
        ci = c.get("ci95")
        diff = DASH if c.get("diff") is None else (
            f"{c['diff']:+.2f}" + (f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else "") + f" n={c['n_pairs']}"
        )
        rows.append([c["a"], c["b"], fmt_num(c["n_pairs"]), fmt_num(c.get("mean_a")), fmt_num(c.get("mean_b")),
                     diff, fmt_p(c.get("p_value")), c.get("test") or DASH])
    sections.append(_section(
        "comparisons", "Comparisons",
        [_table("Paired success comparisons (A - B)", ["A", "B", "Pairs", "Success A", "Success B", "Diff [95% CI]",
                                                        "p", "Test"], rows)] if rows else [],
        "" if rows else "No comparisons requested.",
    ))
    return sections


# ---------------------------------------------------------------------------- markdown


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: dict[str, Any]) -> str:
    out = ["# pilotbench report", ""]
    for sec in tables(report):
        out += [f"## {sec['title']}", ""]
        if sec["note"]:
            out += [sec["note"], ""]
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

CSV_HEADER = ("section", "model", "group", "key", "n", "rate", "ci_low", "ci_high")


def _rate_row(section: str, model: str, group: str, key: str, r: dict[str, Any] | None) -> list[Any] | None:
    if r is None:
        return None
    ci = r.get("ci95") or [None, None]
    value = r.get("rate", r.get("mean"))
    return [section, model, group, key, r.get("n"), value, ci[0], ci[1]]


def _value_row(section: str, model: str, group: str, key: str, value: Any, n: Any = None) -> list[Any]:
    return [section, model, group, key, n, value, None, None]


def csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Long-format rows: section, model, group, key, n, rate, ci_low, ci_high.

    Rates and means fill `rate` and the interval; counts and plain figures put their value in `rate`."""
    rows: list[list[Any] | None] = []
    rows.append(_value_row("summary", "", "", "total", report["total"], report["total"]))
    rows.append(_value_row("summary", "", "", "tests", report["tests"], report["tests"]))
    for k, v in report["by_status"].items():
        rows.append(_value_row("summary", "", "by_status", k, v, v))
    for k, v in report["by_success_level"].items():
        rows.append(_value_row("summary", "", "by_success_level", k, v, v))
    for m, e in report["baseline"].items():
        for k in ("success", "full_success", "partial_success", "failure"):
            rows.append(_rate_row("baseline", m, "overall", k, e[k]))
        rows.append(_rate_row("baseline", m, "overall", "weighted_score", e["weighted_score"]))
        for k in ("avg_turns", "avg_tool_calls", "tool_coverage", "workflow_adherence", "efficiency"):
            rows.append(_value_row("baseline", m, "overall", k, e.get(k), e["n"]))
        for t, r in e["by_task_type"].items():
            rows.append(_rate_row("baseline", m, "task_type", t, r))
        for p, r in e.get("by_prompt_type", {}).items():
            rows.append(_rate_row("baseline", m, "prompt_type", p, r))
    for fam in report["scale"]:
        for x in fam["models"]:
            g = f"{fam['family']}:{x['size_b']:g}b"
            rows.append(_rate_row("scale", x["model"], g, "overall", x["success"]))
            for t, r in x["by_task_type"].items():
                rows.append(_rate_row("scale", x["model"], g, f"task_type:{t}", r))
            for d, r in x["by_difficulty"].items():
                rows.append(_rate_row("scale", x["model"], g, f"difficulty:{d}", r))
    for m, e in report["flaw_robustness"].items():
        for k, v in e.items():
            if k == "mean":
                rows.append(_value_row("flaw_robustness", m, "flaw", "mean", v))
            else:
                rows.append(_rate_row("flaw_robustness", m, "flaw" if k != "optimal" else "reference", k, v))
    for m, e in report["tool_reliability"].items():
        for k, r in e.items():
            rows.append(_rate_row("tool_reliability", m, "tool_success_rate", k, r))
    for m, e in report["prompt_sensitivity"].items():
        for k in BASE_PROMPT_TYPES:
            rows.append(_rate_row("prompt_sensitivity", m, "prompt_type", k, e.get(k)))
        rows.append(_value_row("prompt_sensitivity", m, "prompt_type", "flawed_mean", e.get("flawed_mean")))
        rows.append(_value_row("prompt_sensitivity", m, "summary", "spread", e.get("spread")))
    for m, e in report["error_categories"].items():
        for k, c in e["counts"].items():
            rows.append([ "error_categories", m, "category", k, e["n"], e["shares"][k], None, None])
            rows.append(_value_row("error_categories", m, "count", k, c, e["n"]))
    for o in report["operations"]:
        g = f"{o['provider']}/{o['key_label']}"
        for k in ("tests", "attempts", "calls", "rate_limited", "retries", "infra_errors", "latency_p50",
                  "latency_p95", "prompt_tokens", "completion_tokens", "cost_usd"):
            rows.append(_value_row("operations", "", g, k, o.get(k), o["latency_calls"] if k.startswith("latency") else None))
    for c in report["comparisons"]:
        label = f"{c['a']} vs {c['b']}"
        ci = c.get("ci95") or [None, None]
        rows.append(["comparisons", label, c.get("field", ""), "diff", c["n_pairs"], c.get("diff"), ci[0], ci[1]])
        rows.append(_value_row("comparisons", label, c.get("field", ""), "mean_a", c.get("mean_a"), c["n_pairs"]))
        rows.append(_value_row("comparisons", label, c.get("field", ""), "mean_b", c.get("mean_b"), c["n_pairs"]))
        rows.append(_value_row("comparisons", label, c.get("field", ""), "p_value", c.get("p_value"), c["n_pairs"]))
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
    base = report["baseline"]
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
    if not any(rel.values()):
        return None
    fig = _figure(6.0, 3.8)
    ax = fig.add_subplot()
    for m, e in rel.items():
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
        ax.errorbar(xs, vals, yerr=err, marker="o", capsize=3, label=fam["family"])
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


def _template() -> Any:
    import jinja2

    text = resources.files(__package__).joinpath("templates", "report.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.from_string(text)


def to_html(report: dict[str, Any], plots: bool = True) -> str:
    """One self-contained HTML page: inline CSS, tables, plots as embedded base64 PNGs."""
    images = make_plots(report) if plots else {}
    return _template().render(
        sections=tables(report),
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
