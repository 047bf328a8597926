"""The report's plots, as base64 PNGs for the HTML page."""

from __future__ import annotations

import base64
import io
from typing import Any

from .cells import _union

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
