"""A report's sections as the viewer's tables, every cell linked to the tests it counts: a section is
the report's own tables (the table model, `section_view`); the overview's counts and a key the
model has no section for are shown as their values are (`report_tables`)."""

from __future__ import annotations

from typing import Any

from ..config import is_human_name, player_label
from ..reports.render.model import Cell, Column, Table
from ..reports.render.model import tables as model_tables
from ..reports.words import SECTION_TITLES
from .data import FILTERS
from .formats import _tooltip, fmt
from .links import Links, _text

_OVERVIEW_KEYS = ("generated_at", "filters", "total", "tests", "by_status", "by_success_level", "models", "headline")
# Keys of a report that describe it rather than hold a section of results: never offered as a page.
_NOT_SECTIONS = _OVERVIEW_KEYS + ("pooled", "statistics", "conditions", "players", "sections")


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


def linked_table(table: Table, links: Links, base: dict[str, str] | None = None) -> Table:
    """A table of the report's model as the viewer shows it: each figure written the viewer's way
    (`fmt`: a rate as `62.5% (5/8)`, its interval on hover), and every cell that names the tests it
    is about linked to them (done tests, unless the cell says otherwise)."""
    out = Table(table.caption, list(table.columns), transposed=table.transposed)
    for row in table.rows:
        cells = []
        for cell in row:
            v = cell.value
            text = fmt(v) if isinstance(v, (dict, int, float)) and not isinstance(v, bool) else cell.text
            href = None
            if cell.filters is not None:
                filters = {"status": "done", **(base or {}), **cell.filters}
                if filters["status"] == "error":
                    filters.pop("success_level", None)
                href = links.tests(**filters)
            cells.append(Cell(text, href, _tooltip(v)))
        out.rows.append(cells)
    return out


def section_view(report: dict[str, Any], section: str, links: Links,
                 base: dict[str, str] | None = None) -> tuple[list[Table], str] | None:
    """A section of the report as the viewer shows it: the report's own tables (the table model, as
    Markdown and HTML show them) and note; None for a key the table model has no section for."""
    for s in model_tables(report):
        if s.id == section:
            return [linked_table(t, links, base) for t in s.tables], s.note
    return None


def report_sections(report: dict[str, Any]) -> list[str]:
    """The report's sections a person can open, in the report's order (the headline is the overview)."""
    return [k for k in report if k not in _NOT_SECTIONS and isinstance(report[k], (dict, list))]


def section_title(key: str) -> str:
    """A section's title in words (a key without one is spelled out, never shown raw)."""
    return SECTION_TITLES.get(key) or key.replace("_", " ").capitalize()
