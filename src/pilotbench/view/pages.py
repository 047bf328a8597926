"""The viewer's pages as HTML, for the live server and the static export alike.

Pages are rendered by jinja2 with autoescaping on: every value from the store (a model's reply,
a tool's result, an error message) is text, never markup. Links come from a `Links` object, so
the same templates produce `/tests?model=...` on the server and `tests-<hash>.html` in an export.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from typing import Any
from urllib.parse import urlencode

import jinja2

from ..config import is_human_name, player_label
from .data import FILTERS, TestsPage, ViewData

from ..reports.render.model import Cell, Column, Table
from ..reports.words import SECTION_TITLES, category_rule, level_rule

_OVERVIEW_KEYS = ("generated_at", "filters", "total", "tests", "by_status", "by_success_level", "models", "headline")
# Keys of a report that describe it rather than hold a section of results: never offered as a page.
_NOT_SECTIONS = _OVERVIEW_KEYS + ("pooled", "statistics", "conditions", "players", "sections")


# ---------------------------------------------------------------------- links


class Links:
    """URLs of the live server."""

    static = False

    def runs(self) -> str:
        return "/runs"

    def run(self, run_id: str) -> str:
        return "/runs/" + _quote(run_id)

    def run_json(self, run_id: str) -> str:
        return "/api/runs/" + _quote(run_id)

    def results(self, section: str | None = None) -> str:
        return "/results" + (f"/{_quote(section)}" if section else "")

    def tests(self, **params: Any) -> str:
        clean = {k: _text(v) for k, v in params.items() if v is not None and v != ""}
        return "/tests" + ("?" + urlencode(clean) if clean else "")

    def test(self, attempt_id: str) -> str:
        return "/tests/" + _quote(attempt_id)

    def tests_count(self, **params: Any) -> str:
        clean = {k: _text(v) for k, v in params.items() if v is not None and v != ""}
        return "/api/tests/count" + ("?" + urlencode(clean) if clean else "")

    def compare(self, a: str, b: str) -> str:
        return "/compare?" + urlencode({"a": a, "b": b})

    def asset(self, name: str) -> str:
        return "/static/" + name


class StaticLinks(Links):
    """File names of a static export (one flat directory); every page linked is recorded to be written."""

    static = True

    def __init__(self) -> None:
        self.wanted: dict[str, tuple[str, dict[str, Any]]] = {}

    def _want(self, name: str, kind: str, **args: Any) -> str:
        self.wanted.setdefault(name, (kind, args))
        return name

    def runs(self) -> str:
        return "index.html"

    def run(self, run_id: str) -> str:
        return self._want(f"run-{_slug(run_id)}.html", "run", run_id=run_id)

    def run_json(self, run_id: str) -> str:
        return ""

    def results(self, section: str | None = None) -> str:
        if not section:
            return self._want("results.html", "results")
        return self._want(f"results-{_slug(section)}.html", "results", section=section)

    def tests(self, **params: Any) -> str:
        clean = {k: _text(v) for k, v in sorted(params.items()) if v is not None and v != ""}
        if not clean:
            return self._want("tests.html", "tests", params={})
        digest = hashlib.blake2b(json.dumps(clean, sort_keys=True).encode(), digest_size=6).hexdigest()
        return self._want(f"tests-{digest}.html", "tests", params=clean)

    def test(self, attempt_id: str) -> str:
        return self._want(f"test-{_slug(attempt_id)}.html", "test", attempt_id=attempt_id)

    def compare(self, a: str, b: str) -> str:
        return self._want(f"compare-{_slug(a)}-{_slug(b)}.html", "compare", a=a, b=b)

    def asset(self, name: str) -> str:
        return name


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(str(text), safe="")


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))[:80]
    if s != str(text):
        s += "-" + hashlib.blake2b(str(text).encode(), digest_size=4).hexdigest()
    return s


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# ---------------------------------------------------------------------- formatting


def fmt(value: Any) -> str:
    """A report or record value as short text."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict) and "rate" in value and "n" in value:
        r = value.get("rate")
        if r is None:
            return "–"
        k = value.get("k")
        return f"{r:.1%}" + (f" ({k}/{value['n']})" if k is not None else f" (n={value['n']})")
    if isinstance(value, dict) and "mean" in value:
        return fmt(value.get("mean"))
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def fmt_time(t: Any) -> str:
    if not t:
        return "–"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(t)))
    except (TypeError, ValueError, OverflowError):
        return str(t)


def fmt_seconds(s: Any) -> str:
    if s is None:
        return "–"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} min"


def _tooltip(value: Any) -> str:
    if isinstance(value, dict):
        ci = value.get("ci95")
        if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
            if "rate" in value:
                return f"95% interval {ci[0]:.1%} – {ci[1]:.1%}"
            return f"95% interval {ci[0]:.3g} – {ci[1]:.3g}"
    return ""


# ---------------------------------------------------------------------- report -> tables


def _kind(values: list[Any]) -> str:
    """What a column of report values holds (the table model's kinds), from its first value."""
    v = next((x for x in values if x is not None), None)
    if _is_rate(v):
        return "rate"
    if isinstance(v, dict) and "mean" in v:
        return "mean"
    if isinstance(v, bool) or v is None:
        return "text"
    if isinstance(v, int):
        return "count"
    return "number" if isinstance(v, float) else "text"


class _Vocabulary:
    """Which test filter a report key names: a model, a prompt type, a task type, ..."""

    def __init__(self, report: dict[str, Any]) -> None:
        from ..benchmark import types as t

        self.values: dict[str, str] = {}
        for field_name, names in (
            ("prompt_type", getattr(t, "PROMPT_TYPES", ())), ("task_type", getattr(t, "TASK_TYPES", ())),
            ("difficulty", getattr(t, "DIFFICULTIES", ())), ("error_category", getattr(t, "ERROR_CATEGORIES", ())),
            ("success_level", getattr(t, "SUCCESS_LEVELS", ())), ("model", report.get("models") or ()),
        ):
            for n in names:
                self.values[str(n)] = field_name
        self.values.setdefault("done", "status")
        self.values.setdefault("error", "status")

    def field_of(self, key: Any) -> str | None:
        k = str(key)
        if k in self.values:
            return self.values[k]
        try:
            rate = float(k)
        except ValueError:
            return None
        return "tool_success_rate" if 0.0 < rate <= 1.0 and ("." in k or k == "1") else None

    def context(self, keys: list[Any]) -> dict[str, str]:
        ctx: dict[str, str] = {}
        for k in keys:
            f = self.field_of(k)
            if f and f not in ctx:
                ctx[f] = str(k)
        return ctx


def _is_rate(v: Any) -> bool:
    return isinstance(v, dict) and "rate" in v and "n" in v


def _is_stat(v: Any) -> bool:
    """A rate ({"rate", "n", ...}) or an estimate ({"mean", ...}): one cell, not a nested table."""
    return _is_rate(v) or (isinstance(v, dict) and "mean" in v and not any(isinstance(x, dict) for x in v.values()))


def _rows_of(sub: dict[str, Any]) -> dict[str, Any]:
    """Rows whose values are plain leaves keep them; a row that is itself a stat becomes {"value": stat}."""
    return {rk: ({"value": rv} if _is_stat(rv) else rv) for rk, rv in sub.items()}


def _is_leaf(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool)) or _is_stat(v) or (
        isinstance(v, (list, tuple)) and all(isinstance(x, (str, int, float, bool)) or x is None for x in v)
    )


def _flatten(record: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """A row's leaves with their key paths (nested dicts become several columns)."""
    out: list[tuple[tuple[str, ...], Any]] = []
    for k, v in record.items():
        if _is_leaf(v):
            out.append((path + (str(k),), v))
        elif isinstance(v, dict):
            out.extend(_flatten(v, path + (str(k),)))
    return out


_CONDITION_FILTERS = ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate", "seed", "severity",
                      "max_turns", "suite_version")


def _row_conditions(row: Any) -> dict[str, str]:
    """Filters a report row states about itself: its model and the conditions it was split by."""
    if not isinstance(row, dict):
        return {}
    ctx: dict[str, str] = {}
    if isinstance(row.get("model"), str):
        ctx["model"] = row["model"]
    conditions = row.get("conditions")
    if isinstance(conditions, dict):
        for k, v in conditions.items():
            if k in _CONDITION_FILTERS and isinstance(v, (str, int, float)) and not isinstance(v, bool):
                ctx[k] = f"{v:g}" if isinstance(v, float) else str(v)
    return ctx


def section_filters(report: dict[str, Any], section: str) -> dict[str, str]:
    """Filters every test of a section shares: the conditions its `covers` lists with one value."""
    covers = ((report.get("sections") or {}).get(section) or {}).get("covers") or {}
    ctx: dict[str, str] = {}
    for k, values in covers.items():
        if k in _CONDITION_FILTERS and isinstance(values, list) and len(values) == 1:
            v = values[0]
            ctx[k] = f"{v:g}" if isinstance(v, float) else str(v)
    return ctx


def _row_label(label: str, report: dict[str, Any]) -> str:
    """A row's label, a human player's marked as human with the player's number of tests."""
    if not is_human_name(label):
        return label
    tests = ((report.get("players") or {}).get(label.partition(" [")[0]) or {}).get("tests")
    return player_label(label, tests)


_COLUMN_WORDS = {"ci95": "95% interval", "n": "N", "n pairs": "pairs", "ci method": "interval method",
                 "p value": "p", "mcnemar p": "McNemar p", "a": "A", "b": "B", "size b": "size (billions)",
                 "key label": "key", "infra errors": "infrastructure errors", "rate limited": "429s",
                 "cost usd": "cost (USD)", "latency p50": "latency p50 (s)", "latency p95": "latency p95 (s)",
                 "latency calls": "latencies"}


def _column(key: str, vocab: _Vocabulary) -> str:
    """A report key as a column title: names (a model, a task type, a prompt type) as they are,
    everything else in words."""
    parts = []
    for k in key.split(" / "):
        if vocab.field_of(k) in ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate"):
            parts.append(k)
        else:
            words = k.replace("_", " ")
            parts.append(_COLUMN_WORDS.get(words, words))
    return " / ".join(parts)


def report_tables(name: str, value: Any, report: dict[str, Any], links: Links, base: dict[str, str] | None = None,
                  title: str | None = None, row_filters: dict[str, dict[str, str]] | None = None) -> list[Table]:
    """A report section as tables, whatever its keys: every cell links to the tests it counts."""
    vocab = _Vocabulary(report)
    base = dict(base or {})
    title = title or SECTION_TITLES.get(name, name.replace("_", " ").capitalize())
    tables: list[Table] = []
    status = {"status": "done"}

    def link(ctx: dict[str, str], column: str = "") -> str:
        filters = {**status, **ctx}
        if column in ("infra_errors", "errors", "error"):
            filters["status"] = "error"
        if filters.get("status") == "error":
            filters.pop("success_level", None)
        return links.tests(**filters)

    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()) and not any(_is_stat(v) for v in value.values()):
        # rows keyed by a name (usually a model): a table of their leaves, then one per nested group
        leaf_cols: list[str] = []
        groups: list[str] = []
        for rv in value.values():
            for k, v in rv.items():
                target = leaf_cols if _is_leaf(v) else groups if isinstance(v, dict) else None
                if target is not None and k not in target:
                    target.append(k)
        if leaf_cols:
            t = Table(title, [Column("", "label")] + [Column(_column(c, vocab), _kind([rv.get(c) for rv in value.values()]))
                                                      for c in leaf_cols])
            for rk, rv in value.items():
                row_ctx = {**base, **vocab.context([rk]), **(row_filters or {}).get(rk, {}), **_row_conditions(rv)}
                cells = [Cell(_row_label(str(rk), report), link(row_ctx))]
                for c in leaf_cols:
                    v = rv.get(c)
                    cells.append(Cell(fmt(v), link({**row_ctx, **vocab.context([c])}, c) if c in rv else None, _tooltip(v)))
                t.rows.append(cells)
            tables.append(t)
        for g in groups:
            sub = {rk: rv[g] for rk, rv in value.items() if isinstance(rv.get(g), dict)}
            if all(not v for v in sub.values()):
                continue
            tables.extend(report_tables(g, _rows_of(sub), report, links, {**base, **vocab.context([g])},
                                        f"{title}: {g.replace('_', ' ')}",
                                        {rk: {**(row_filters or {}).get(rk, {}), **_row_conditions(rv)} for rk, rv in value.items()}))
        for rk, rv in value.items():  # lists of records inside rows (rare): their own tables
            for k, v in rv.items():
                if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                    tables.extend(report_tables(k, v, report, links, {**base, **vocab.context([rk])}, f"{title}: {rk} {k}"))
    elif isinstance(value, dict):
        t = Table(title, [Column("", "label"), Column("value", "text")])
        for k, v in _flatten(value):
            t.rows.append([Cell(_column(" / ".join(k), vocab)), Cell(fmt(v), link({**base, **vocab.context(list(k))}), _tooltip(v))])
        tables.append(t)
    elif isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        columns = []
        for item in value:
            for path, _ in _flatten(item):
                if path not in columns:
                    columns.append(path)
        flat = [dict(_flatten(item)) for item in value]
        t = Table(title, [Column(_column(" / ".join(c), vocab), _kind([got.get(c) for got in flat])) for c in columns])
        for item, got in zip(value, flat):
            row_ctx = {**base}
            for k in FILTERS:
                if isinstance(item.get(k), (str, int, float)) and k != "status":
                    row_ctx[k] = _text(item[k])
            for v in item.values():
                if isinstance(v, str):
                    row_ctx = {**vocab.context([v]), **row_ctx}
            cells = []
            for c in columns:
                v = got.get(c)
                cells.append(Cell(fmt(v), link({**row_ctx, **vocab.context(list(c))}, c[-1]) if c in got else None, _tooltip(v)))
            t.rows.append(cells)
        tables.append(t)
        for item in value:
            for k, v in item.items():
                if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                    label = next((str(item[x]) for x in item if isinstance(item[x], str)), "")
                    tables.extend(report_tables(k, v, report, links, base, f"{title}: {label} {k}".strip()))
    elif value not in (None, [], {}):
        tables.append(Table(title, [Column("value", _kind([value]))], [[Cell(fmt(value))]]))
    return tables


def report_sections(report: dict[str, Any]) -> list[str]:
    """The report's sections a person can open, in the report's order (the headline is the overview)."""
    return [k for k in report if k not in _NOT_SECTIONS and isinstance(report[k], (dict, list))]


def section_title(key: str) -> str:
    """A section's title in words (a key without one is spelled out, never shown raw)."""
    return SECTION_TITLES.get(key) or key.replace("_", " ").capitalize()


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


def _chart(title: str, field_name: str, groups: list[str], rows: list[dict[str, Any]], key: str,
           links: Links) -> dict[str, Any]:
    """One panel of the headline chart: for each group (a prompt type or a difficulty), one bar per
    model with its 95% interval; each bar links to the tests it counts."""
    label_w = 8 + 7 * max((len(g) for g in groups), default=4)
    x0 = label_w + 6
    bars, labels = [], []
    y = 22
    for g in groups:
        labels.append({"y": y + _BAR_H * len(rows) / 2 + 4, "text": g})
        for j, row in enumerate(rows):
            r = row["entry"].get(key, {}).get(g)
            if isinstance(r, dict) and r.get("rate") is not None:
                ci = r.get("ci95") or [r["rate"], r["rate"]]
                text, interval = _pct(r)
                bars.append({
                    "x": x0, "y": y + j * _BAR_H, "w": max(1.0, r["rate"] * _CHART_W), "h": _BAR_H - 3,
                    "lo": x0 + ci[0] * _CHART_W, "hi": x0 + ci[1] * _CHART_W, "color": _PALETTE[j % len(_PALETTE)],
                    "href": links.tests(status="done", **{**row["filters"], field_name: g}),
                    "title": f"{row['label']}, {g}: {text} success (95% interval {interval}), N={r.get('n')}",
                    "text": f"{text}", "tx": x0 + _CHART_W + 8,
                })
        y += _BAR_H * len(rows) + _GAP * 2
    ticks = [{"x": x0 + f * _CHART_W, "text": f"{f:.0%}"} for f in (0, 0.25, 0.5, 0.75, 1.0)]
    return {"title": title, "bars": bars, "labels": labels, "ticks": ticks, "width": x0 + _CHART_W + 50,
            "height": y + 18, "x0": x0, "axis_y": y, "label_w": label_w}


def headline_view(report: dict[str, Any], links: Links) -> dict[str, Any]:
    """The Results page's opening: per model, success, full success and weighted score with their
    95% intervals and N (the report's own `headline` figures), the conditions, and one chart."""
    head = report.get("headline") or {}
    meta = (report.get("sections") or {}).get("headline") or {}
    rows = []
    for label, e in head.items():
        filters = {"model": e.get("model", label), **_row_conditions(e)}
        cells = []
        for key, level, mean in (("success", None, False), ("full_success", "full_success", False),
                                 ("weighted_score", None, True)):
            text, interval = _pct(e.get(key), mean)
            cells.append({"text": text, "interval": interval, "title": f"95% interval {interval}" if interval else "",
                          "href": links.tests(status="done", success_level=level, **filters)})
        rows.append({"label": _row_label(label, report), "entry": e, "filters": filters, "n": e.get("n"),
                     "n_href": links.tests(status="done", **filters), "cells": cells})
    prompts = list(dict.fromkeys(p for e in head.values() for p in e.get("by_prompt_type", {})))
    diffs = list(dict.fromkeys(d for e in head.values() for d in e.get("by_difficulty", {})))
    breakdowns = []
    for title, field_name, key, groups in (("Success by prompt type", "prompt_type", "by_prompt_type", prompts),
                                            ("Success by difficulty", "difficulty", "by_difficulty", diffs)):
        table = Table(title, [Column("model", "player")] + [Column(g, "rate") for g in groups])
        for row in rows:
            cells = [Cell(row["label"], links.tests(status="done", **row["filters"]))]
            for g in groups:
                r = row["entry"].get(key, {}).get(g)
                text, interval = _pct(r)
                n = r.get("n") if isinstance(r, dict) else None
                cells.append(Cell(f"{text} (N={n})" if n is not None else "–",
                                      links.tests(status="done", **{**row["filters"], field_name: g}) if n else None,
                                      f"95% interval {interval}" if interval else ""))
            table.rows.append(cells)
        breakdowns.append({"table": table, "chart": _chart(title, field_name, groups, rows, key, links) if rows else None})
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


# ---------------------------------------------------------------------- a test


def _pretty(text: Any) -> str:
    """JSON text pretty-printed when it parses, else as it was."""
    if isinstance(text, (dict, list)):
        return json.dumps(text, indent=2, ensure_ascii=False)
    if not isinstance(text, str):
        return "" if text is None else str(text)
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _result_ok(text: Any) -> bool | None:
    try:
        obj = json.loads(text) if isinstance(text, str) else text
    except (ValueError, RecursionError):
        return None
    if isinstance(obj, dict) and "status" in obj:
        return obj.get("status") == "success"
    return None


LONG_RESULT_LINES = 12  # a tool result longer than this (or LONG_RESULT_CHARS) is collapsed
LONG_RESULT_CHARS = 800


def _result(name: Any, content: Any) -> dict[str, Any]:
    body = _pretty(content)
    lines = body.count("\n") + 1
    return {"name": name, "body": body, "ok": _result_ok(content), "lines": lines,
            "long": lines > LONG_RESULT_LINES or len(body) > LONG_RESULT_CHARS}


_TEXT_RESULT = re.compile(r'<tool_result name="([^"]*)">(.*?)</tool_result>', re.S)


def turns_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation after the prompt as turns: the assistant's text and calls, then what came back."""
    turns: list[dict[str, Any]] = []
    for m in messages:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "assistant":
            calls = []
            for c in m.get("tool_calls") or []:
                fn = (c or {}).get("function") or {}
                calls.append({"id": c.get("id"), "name": fn.get("name"), "arguments": _pretty(fn.get("arguments"))})
            turns.append({"n": len(turns) + 1, "text": m.get("content"), "calls": calls, "results": [], "help": None})
        elif not turns:
            continue
        elif role == "tool":
            name = next((c["name"] for c in turns[-1]["calls"] if c["id"] == m.get("tool_call_id")), None)
            turns[-1]["results"].append(_result(name, m.get("content")))
        elif role == "user":
            content = m.get("content") or ""
            found = _TEXT_RESULT.findall(content) if isinstance(content, str) else []
            if found:
                for name, body in found:
                    turns[-1]["results"].append(_result(name, body))
            else:
                turns[-1]["help"] = content
        else:
            turns[-1].setdefault("other", []).append(m)
    return turns


def _wall(rec: dict[str, Any]) -> float | None:
    """Seconds from the test's start to its end, as recorded."""
    start, end = rec.get("started_at"), rec.get("finished_at")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and start and end >= start:
        return float(end) - float(start)
    return None


def _rebuild(rec: dict[str, Any]) -> dict[str, Any]:
    """The task, prompt and plans rebuilt from the record's spec (only if the task is the same)."""
    out: dict[str, Any] = {"task": None, "prompt": None, "flaw_lines": set(), "note": ""}
    try:
        from ..benchmark import prompts
        from ..benchmark.tasks import generate_instance

        task = generate_instance(rec["task_type"], int(rec["instance"]), int(rec["seed"]))
        if rec.get("task_hash") and getattr(task, "content_hash", None) != rec["task_hash"]:
            out["note"] = "this test was made by another suite version: its prompt cannot be rebuilt here"
            return out
        out["task"] = task
        out["prompt"] = prompts.render_prompt(task, rec["difficulty"], rec["prompt_type"], severity=rec.get("severity") or "severe")
        pt = rec["prompt_type"]
        if pt.startswith("flawed_"):
            clean = set(prompts.render_plan(prompts.plan_for(task, "optimal")).splitlines())
            flawed = prompts.plan_for(task, pt, rec.get("severity") or "severe")
            out["flaw_lines"] = {ln for ln in prompts.render_plan(flawed).splitlines() if ln not in clean and ln.strip()}
    except Exception as e:  # noqa: BLE001 - the benchmark core may not match this record; the page still shows
        out["note"] = f"the prompt could not be rebuilt: {type(e).__name__}"
    return out


_PROMPT_TITLES = {"system": "system prompt", "user": "user message (the task)"}


def test_title(rec: dict[str, Any]) -> str:
    """A test as a person names it: its task type, difficulty, model and prompt type."""
    parts = [rec.get("task_type"), rec.get("difficulty"), rec.get("model"), rec.get("prompt_type")]
    return " · ".join(str(p) for p in parts if p) or f"Test {rec.get('test_id')}"


def _steps_of(rec: dict[str, Any], task: Any) -> int | None:
    """The task's number of steps (its graph, else its required tools), for rules stated per task."""
    steps = getattr(task, "steps", None)
    if steps:
        return len(steps)
    required = rec.get("required_tools")
    return len(required) if isinstance(required, list) and required else None


def required_steps(rec: dict[str, Any], task: Any) -> list[dict[str, Any]]:
    """Each required tool: done or not, and why, from the stored trajectory."""
    required = rec.get("required_tools")
    if not isinstance(required, list):
        required = list(getattr(task, "required_tools", ()) or ())
    deps: dict[str, Any] = {}
    try:
        deps = dict(task.dependencies) if task is not None else {}
    except Exception:  # noqa: BLE001
        deps = {}
    traj = rec.get("trajectory") if isinstance(rec.get("trajectory"), dict) else {}
    calls = [c for c in traj.get("calls") or [] if isinstance(c, dict)]
    first: dict[str, int] = {}
    for i, c in enumerate(calls):
        if c.get("success") and c.get("name") not in first:
            first[c.get("name")] = i
    out = []
    for tool in dict.fromkeys(required):
        tries = [c for c in calls if c.get("name") == tool]
        if tool in first:
            i = first[tool]
            late = [d for d in deps.get(tool, ()) if d not in first or first[d] > i]
            if late:
                why = f"succeeded at call {i + 1} (turn {calls[i].get('turn')}), but not after its dependency {', '.join(late)} had"
                done = False
            else:
                why = f"succeeded at call {i + 1} (turn {calls[i].get('turn')})"
                done = True
        elif tries:
            codes = [c.get("error_code") or "error" for c in tries]
            why = f"called {len(tries)} time(s), never succeeded: {', '.join(codes)}"
            done = False
        else:
            why = "never called"
            done = False
        out.append({"tool": tool, "done": done, "why": why})
    return out


def analysed_steps(rec: dict[str, Any], task: Any) -> list[dict[str, Any]] | None:
    """Each step of a task graph (`task.steps`) as the scorer's own `analyse` judged it, with why a
    step did not count; None when the benchmark core has no such analysis (then required_steps)."""
    import dataclasses

    from ..benchmark import scoring, types

    analyse = getattr(scoring, "analyse", None)
    steps = getattr(task, "steps", None)
    if analyse is None or not steps:
        return None
    names = {f.name for f in dataclasses.fields(types.CallRecord)}
    traj = rec.get("trajectory") if isinstance(rec.get("trajectory"), dict) else {}
    try:
        calls = [types.CallRecord(**{k: v for k, v in c.items() if k in names})
                 for c in traj.get("calls") or [] if isinstance(c, dict)]
        verdicts = scoring.explain_steps(task, calls)
    except Exception:  # noqa: BLE001 - a trajectory from another core version: explain it the simple way
        return None
    return [{"tool": f"{i + 1}. {step.tool}", "done": v.done, "why": v.why} for i, (step, v) in enumerate(zip(steps, verdicts))]


# ---------------------------------------------------------------------- the renderer


class Pages:
    def __init__(self, data: ViewData, links: Links, *, poll_ms: int = 2000) -> None:
        self.data = data
        self.links = links
        self.poll_ms = poll_ms
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("pilotbench.view", "templates"),
            autoescape=True,  # every page, whatever the file name: values are text, never markup
            undefined=jinja2.ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(fmt=fmt, fmt_time=fmt_time, fmt_seconds=fmt_seconds, pretty=_pretty,
                                tojson_text=lambda v: json.dumps(v, ensure_ascii=False))

    def _render(self, template: str, **ctx: Any) -> str:
        return self.env.get_template(template).render(links=self.links, static=self.links.static, poll_ms=self.poll_ms, **ctx)

    def runs(self) -> str:
        return self._render("runs.html.j2", runs=self.data.runs(), title="Runs")

    def run(self, run_id: str, *, figures: bool = True) -> str | None:
        """A run's page; without `figures` its lanes and causes are left for run.js to fetch (their
        first reading scans the run's rows: seconds for a run of a million tests)."""
        run = self.data.run(run_id) if figures else self.data.run_brief(run_id)
        if run is None:
            return None
        return self._render("run.html.j2", run=run, title=f"Run {run_id}")

    def results(self, section: str | None = None) -> str | None:
        rep = self.data.report()
        sections = report_sections(rep)
        if section is not None and section not in sections:
            return None
        tables: list[Table] = []
        head = None
        note = ""
        if section is None:
            head = headline_view(rep, self.links)
            overview = {"by_status": "Attempts by status", "by_success_level": "Done tests by success level"}
            for k, name in overview.items():
                if k in rep:
                    tables.extend(report_tables(k, rep[k], rep, self.links, title=name))
        else:
            from ..reports.render import _note

            tables = report_tables(section, rep[section], rep, self.links, section_filters(rep, section),
                                   title=section_title(section))
            note = _note(rep, section) if section in (rep.get("sections") or {}) else ""
        return self._render(
            "results.html.j2", report=rep, sections=sections, section=section, tables=tables, head=head, note=note,
            titles={s: section_title(s) for s in sections}, title=section_title(section) if section else "Results",
        )

    def tests(self, page: TestsPage, choices: dict[str, list[str]]) -> str:
        from . import data as d

        return self._render("tests.html.j2", page=page, choices=choices, count_cap=d.COUNT_CAP, title="Tests",
                            text_search=any(k in page.filters for k in d.TEXT_FILTERS),
                            scan_limit=d.TRANSCRIPT_SCAN_LIMIT if "q" in page.filters else d.TEXT_SCAN_LIMIT,
                            filter_names={"q": "conversation contains", "answer": "final answer contains"})

    def test(self, attempt_id: str) -> str | None:
        rec = self.data.test(attempt_id)
        if rec is None:
            return None
        ctx = self._test_context(rec)
        return self._render("test.html.j2", title=test_title(rec), c=ctx, **ctx)

    def _test_context(self, rec: dict[str, Any]) -> dict[str, Any]:
        from ..benchmark.types import PROMPT_TYPES

        transcript = rec.get("transcript")
        rebuilt = _rebuild(rec)
        prompt_msgs: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        prompt_rebuilt = False
        if transcript:
            n = int(transcript.get("prompt_messages") or 0)
            prompt_msgs, rest = transcript["messages"][:n], transcript["messages"][n:]
        if not prompt_msgs and rebuilt["prompt"] is not None:
            prompt_msgs = list(rebuilt["prompt"].messages)
            prompt_rebuilt = True
        prompt_view = []
        for m in prompt_msgs:
            content = m.get("content") if isinstance(m, dict) else str(m)
            lines = [{"text": ln, "flaw": ln in rebuilt["flaw_lines"]} for ln in str(content or "").splitlines()]
            role = (m or {}).get("role", "?") if isinstance(m, dict) else "?"
            # collapsed, but a plan with an injected flaw opens on it: the flaw is what the test is about
            prompt_view.append({"role": role, "lines": lines, "open": any(ln["flaw"] for ln in lines),
                                "title": _PROMPT_TITLES.get(role, f"{role} message")})
        text_tools = any("Available tools:" in "".join(ln["text"] for ln in m["lines"]) for m in prompt_view if m["role"] == "system")
        tools = list(getattr(rebuilt["prompt"], "tools", None) or []) if not text_tools else []
        traj = rec.get("trajectory") if isinstance(rec.get("trajectory"), dict) else {}
        turns = turns_of(rest) if transcript else []
        seconds = traj.get("turn_seconds") if isinstance(traj.get("turn_seconds"), list) else []
        tokens = traj.get("turn_tokens") if isinstance(traj.get("turn_tokens"), list) else []
        for t in turns:  # each turn of the conversation is one answered call, in order
            value = seconds[t["n"] - 1] if t["n"] <= len(seconds) else None
            t["seconds"] = value if isinstance(value, (int, float)) else None
            pair = tokens[t["n"] - 1] if t["n"] <= len(tokens) else None
            t["tokens"] = pair if isinstance(pair, (list, tuple)) and len(pair) == 2 else None
        category = rec.get("error_category")
        n_steps = _steps_of(rec, rebuilt["task"])
        siblings = self.data.siblings(rec, PROMPT_TYPES)
        return {
            "rec": rec,
            "traj": traj,
            "prompt": prompt_view,
            "prompt_rebuilt": prompt_rebuilt,
            "rebuild_note": rebuilt["note"],
            "has_flaw": bool(rebuilt["flaw_lines"]),
            "turns": turns,
            "turn_seconds": [x for x in seconds if isinstance(x, (int, float))],
            "human": is_human_name(str(rec.get("model") or "")),
            "wall_seconds": _wall(rec),
            "transcript_mode": (transcript or {}).get("mode"),
            "steps": analysed_steps(rec, rebuilt["task"]) or required_steps(rec, rebuilt["task"]),
            "category_rule": category_rule(category or "", n_steps),
            "level_rule": level_rule(rec.get("success_level") or "", n_steps),
            "tools": tools,
            "tools_rebuilt": bool(tools),
            "turn_tokens": bool(tokens),
            "siblings": siblings,
            "attempts": self.data.attempts_of(rec["test_id"]),
            "cell": {k: rec.get(k) for k in ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate")},
        }

    def compare(self, a: str, b: str) -> str | None:
        ra, rb = self.data.test(a), self.data.test(b)
        if ra is None or rb is None:
            return None
        ca, cb = self._test_context(ra), self._test_context(rb)
        differ = [k for k in ("model", "prompt_type", "task_type", "difficulty", "tool_success_rate", "instance", "seed")
                  if ra.get(k) != rb.get(k)]
        return self._render("compare.html.j2", a=ca, b=cb, differ=differ, title="Side by side")

    def error(self, status: int, message: str) -> str:
        return self._render("error.html.j2", status=status, message=message, title=f"{status}")


def render_choices(data: ViewData) -> dict[str, list[str]]:
    """The values offered by the tests list's filter menus."""
    from ..benchmark import types as t

    return {
        "model": data.distinct("model"),
        "prompt_type": list(getattr(t, "PROMPT_TYPES", ())),
        "task_type": list(getattr(t, "TASK_TYPES", ())),
        "difficulty": list(getattr(t, "DIFFICULTIES", ())),
        "tool_success_rate": [f"{r:g}" for r in getattr(t, "TOOL_SUCCESS_RATES", ())],
        "success_level": list(getattr(t, "SUCCESS_LEVELS", ())),
        "error_category": list(getattr(t, "ERROR_CATEGORIES", ())) + ["-"],
        "status": ["done", "error"],
        "run_id": data.distinct("run_id"),
    }

