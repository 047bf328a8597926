"""The Results page's opening: per model, success, full success and weighted score with their
intervals and N, the conditions, and a chart per breakdown."""

from __future__ import annotations

from typing import Any

from ..reports.render.model import Cell, Table, headline_section
from .links import Links, _text


# ---------------------------------------------------------------------- the headline


def _pct(r: dict[str, Any] | None, mean: bool = False) -> tuple[str, str]:
    """A rate or mean as `62%` (or `0.62` for a mean) and its interval in words."""
    if not isinstance(r, dict):
        return "–", ""
    v = r.get("mean" if mean else "rate")
    if v is None:
        return "–", ""
    ci = r.get("ci95")
    text = f"{v:.2f}" if mean else f"{v:.0%}"
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and ci[0] is not None:
        interval = f"{ci[0]:.2f} – {ci[1]:.2f}" if mean else f"{ci[0]:.0%} – {ci[1]:.0%}"
        return text, interval
    return text, ""


_CHART_W, _BAR_H, _GAP = 300, 13, 5
_PALETTE = ("#3b6fd4", "#d2803a", "#2f9e57", "#8a63d2", "#c2413a", "#5f7a8a", "#b59a1f", "#2aa3a3")


def _chart(table: Table, field_name: str, links: Links) -> dict[str, Any]:
    """One panel of the headline chart from a breakdown table of the report (a column per prompt type
    or difficulty, a row per model): for each group, one bar per model with its 95% interval; each bar
    links to the tests it counts."""
    groups = [c.title for c in table.columns[1:]]
    label_w = 8 + 7 * max((len(g) for g in groups), default=4)
    x0 = label_w + 6
    bars, labels = [], []
    y = 22
    for gi, g in enumerate(groups, 1):
        labels.append({"y": y + _BAR_H * len(table.rows) / 2 + 4, "text": g})
        for j, row in enumerate(table.rows):
            cell = row[gi]
            r = cell.value
            if isinstance(r, dict) and r.get("rate") is not None:
                ci = r.get("ci95") or [r["rate"], r["rate"]]
                text, interval = _pct(r)
                bars.append({
                    "x": x0, "y": y + j * _BAR_H, "w": max(1.0, r["rate"] * _CHART_W), "h": _BAR_H - 3,
                    "lo": x0 + ci[0] * _CHART_W, "hi": x0 + ci[1] * _CHART_W, "color": _PALETTE[j % len(_PALETTE)],
                    "href": links.tests(status="done", **(cell.filters or {field_name: g})),
                    "title": f"{row[0].text}, {g}: {text} success (95% interval {interval}), N={r.get('n')}",
                    "text": f"{text}", "tx": x0 + _CHART_W + 8,
                })
        y += _BAR_H * len(table.rows) + _GAP * 2
    ticks = [{"x": x0 + f * _CHART_W, "text": f"{f:.0%}"} for f in (0, 0.25, 0.5, 0.75, 1.0)]
    return {"title": table.caption, "bars": bars, "labels": labels, "ticks": ticks, "width": x0 + _CHART_W + 50,
            "height": y + 18, "x0": x0, "axis_y": y, "label_w": label_w}


def _linked(table: Table, links: Links) -> Table:
    """A table of the report's model as the viewer shows it: a rate as `62% (N=8)` with its interval on
    hover, and every figure and row label linked to the done tests it counts."""
    out = Table(table.caption, list(table.columns))
    for row in table.rows:
        cells = []
        for col, cell in zip(table.columns, row):
            if col.kind == "rate":
                r = cell.value
                text, interval = _pct(r)
                n = r.get("n") if isinstance(r, dict) else None
                cells.append(Cell(f"{text} (N={n})" if n is not None else "–",
                                  links.tests(status="done", **(cell.filters or {})) if n else None,
                                  f"95% interval {interval}" if interval else ""))
            else:
                cells.append(Cell(cell.text, links.tests(status="done", **cell.filters) if cell.filters is not None else None))
        out.rows.append(cells)
    return out


def headline_view(report: dict[str, Any], links: Links) -> dict[str, Any]:
    """The Results page's opening: per model, success, full success and weighted score with their
    95% intervals and N, the conditions, and one chart: the report's own headline tables (the table
    model), each figure written as the viewer writes it and linked to the tests it counts."""
    meta = (report.get("sections") or {}).get("headline") or {}
    tables = headline_section(report).tables
    rows = []
    for label, n, _instances, *figures in (tables[0].rows if tables else []):
        cells = []
        for cell, mean in zip(figures, (False, False, True)):
            text, interval = _pct(cell.value, mean)
            cells.append({"text": text, "interval": interval, "title": f"95% interval {interval}" if interval else "",
                          "href": links.tests(status="done", **(cell.filters or {}))})
        rows.append({"label": label.text, "n": n.value, "n_href": links.tests(status="done", **(n.filters or {})),
                     "cells": cells})
    breakdowns = [{"table": _linked(table, links), "chart": _chart(table, field_name, links) if rows else None}
                  for table, field_name in zip(tables[1:], ("prompt_type", "difficulty"))]
    covers = meta.get("covers") or {}
    names = (("suite_version", "Suite version"), ("tool_success_rate", "Tool success rates"),
             ("difficulty", "Difficulties"), ("prompt_type", "Prompt types"), ("task_type", "Task types"),
             ("severity", "Flaw severities"), ("seed", "Seeds"), ("max_turns", "Max turns"))
    conditions = []
    for axis, name in names:
        values = covers.get(axis) or []
        if values:
            conditions.append({"name": name, "items": [
                {"text": _text(v), "href": links.tests(status="done", **{axis: _text(v)})} for v in values]})
    from ..reports.render import _split_text, AXIS_NAMES

    notes = [_split_text(meta)]
    if meta.get("uneven"):
        notes.append("The rows do not cover the same " + " and ".join(AXIS_NAMES.get(a, a) for a in meta["uneven"])
                     + ": their overall figures average different mixes; compare them in the breakdowns below.")
    return {"rows": rows, "breakdowns": breakdowns, "conditions": conditions, "definition": meta.get("definition", ""),
            "notes": [n for n in notes if n], "legend": [{"label": r["label"], "color": _PALETTE[j % len(_PALETTE)]}
                                                          for j, r in enumerate(rows)]}
